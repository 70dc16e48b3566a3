// Package care is the care loop: satisfaction
// surveys after delivered repair orders, follow-up tasks for CRM staff
// (3-day calls after a service, 3- and 7-day calls after a new car's
// delivery, calls after a low survey) and complaints with their deadlines.
//
// care is a higher capability: it reads the workshop's repair orders;
// the workshop knows nothing of it.
package care

import (
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Survey is the satisfaction survey of one delivered repair order. The
// scores are nil until the owner answers; then all five are set.
type Survey struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	RepairOrderID uuid.UUID
	OwnerID       uuid.UUID
	StoreID       uuid.UUID
	VehicleID     uuid.UUID
	AdvisorID     uuid.UUID
	OfferedAt     time.Time
	// AnswerBy is when the owner may no longer answer a survey they have
	// not answered yet.
	AnswerBy     time.Time
	Overall      *int
	AdvisorScore *int
	Quality      *int
	Timeliness   *int
	Cleanliness  *int
	Comment      string
	SubmittedAt  *time.Time
	// EditableUntil is 7 days after the first answer.
	EditableUntil *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Answered reports whether the owner has answered the survey.
func (s *Survey) Answered() bool { return s.SubmittedAt != nil }

// Scores are the five answers of a survey, each 1 (poor) to 5 (excellent).
type Scores struct {
	Overall, Advisor, Quality, Timeliness, Cleanliness int
}

// TaskKind is why a follow-up task exists.
type TaskKind string

// Follow-up task kinds.
const (
	// Service3DC: the 3-day call after a delivered repair order.
	Service3DC TaskKind = "SERVICE_3DC"
	// NewCar3D and NewCar7D: calls 3 and 7 days after a new car's delivery.
	NewCar3D TaskKind = "NEW_CAR_3D"
	NewCar7D TaskKind = "NEW_CAR_7D"
	// LowSurvey: a survey scored 3 or less somewhere.
	LowSurvey TaskKind = "LOW_SURVEY"
)

// TaskStatus is whether a follow-up task still needs doing.
type TaskStatus string

// Follow-up task statuses.
const (
	TaskOpen   TaskStatus = "OPEN"
	TaskClosed TaskStatus = "CLOSED"
)

// Outcome is how a follow-up call went.
type Outcome string

// Call outcomes.
const (
	// Reached: the owner was reached and had nothing to raise; closes the task.
	Reached Outcome = "REACHED"
	// NotReached: nobody answered; the task stays open, due again at the
	// retry time.
	NotReached Outcome = "NOT_REACHED"
	// IssueFound: the owner raised a problem; a complaint is filed for them
	// and the task closes.
	IssueFound Outcome = "ISSUE_FOUND"
)

// FollowUpTask is a call CRM staff owe an owner.
type FollowUpTask struct {
	ID   uuid.UUID `gorm:"primaryKey"`
	Kind TaskKind
	// StoreID: the order's store, or the store that sold the new car.
	StoreID uuid.UUID
	// SubjectID is what the task is about (order, vehicle or survey); one
	// task per kind and subject.
	SubjectID     uuid.UUID
	OwnerID       uuid.UUID
	VehicleID     *uuid.UUID
	RepairOrderID *uuid.UUID
	SurveyID      *uuid.UUID
	ComplaintID   *uuid.UUID // filed from the call (ISSUE_FOUND)
	AssigneeID    *uuid.UUID
	Status        TaskStatus
	Outcome       *Outcome // of the last call
	Attempts      int
	Note          string
	// DueAt is when to call; after NOT_REACHED, the retry time.
	DueAt     time.Time
	ClosedAt  *time.Time
	ClosedBy  *uuid.UUID
	CreatedAt time.Time
	UpdatedAt time.Time
}

// byDue is the order of the task list: due soonest first.
var byDue = models.ByTime("follow_up_tasks.due_at", "follow_up_tasks.id")

// PageKey is the task's place in the task list.
func (t *FollowUpTask) PageKey() models.Cursor { return byDue.Key(t.DueAt, t.ID) }

// Overdue reports whether the task is still open after its due time.
func (t *FollowUpTask) Overdue(now time.Time) bool {
	return t.Status == TaskOpen && t.DueAt.Before(now)
}

// Category is what a complaint is about.
type Category string

// Complaint categories.
const (
	ProductQuality Category = "PRODUCT_QUALITY"
	AfterSales     Category = "AFTER_SALES"
	Sales          Category = "SALES"
	Price          Category = "PRICE"
	Other          Category = "OTHER"
)

// Categories lists every category in a stable order (reports use it).
var Categories = []Category{ProductQuality, AfterSales, Sales, Price, Other}

// ComplaintStatus is where a complaint's handling is.
type ComplaintStatus string

// Complaint statuses.
const (
	Submitted    ComplaintStatus = "SUBMITTED"
	Acknowledged ComplaintStatus = "ACKNOWLEDGED"
	Proposed     ComplaintStatus = "PROPOSED"
	Resolved     ComplaintStatus = "RESOLVED"
	Reopened     ComplaintStatus = "REOPENED"
	Closed       ComplaintStatus = "CLOSED"
)

// DeadlineState is the state of one of a complaint's deadlines.
type DeadlineState string

// Deadline states.
const (
	DeadlineOpen   DeadlineState = "OPEN"
	DeadlineMet    DeadlineState = "MET"
	DeadlineMissed DeadlineState = "MISSED"
)

// Complaint is an owner's complaint (投诉) and how it is handled.
type Complaint struct {
	ID            uuid.UUID `gorm:"primaryKey"`
	OwnerID       uuid.UUID
	StoreID       uuid.UUID
	Category      Category
	Description   string
	RepairOrderID *uuid.UUID
	VehicleID     *uuid.UUID
	Photos        []string `gorm:"serializer:json"`
	Status        ComplaintStatus
	// FiledBy is the staff member who filed it for the owner (from a
	// follow-up call); nil when the owner filed it.
	FiledBy    *uuid.UUID
	Proposal   string
	Resolution string

	ResponseDueAt   time.Time
	RespondedAt     *time.Time
	ResponseState   DeadlineState
	ProposalDueAt   time.Time
	ProposedAt      *time.Time
	ProposalState   DeadlineState
	ResolutionDueAt time.Time
	ResolvedAt      *time.Time
	ResolutionState DeadlineState
	// ResolutionMissed records for good that a resolution deadline was
	// missed (marked MISSED, or a resolution came late): reopening starts a
	// new, OPEN resolution deadline, and the reports still count the late
	// one. Never cleared.
	ResolutionMissed bool

	ReopenCount int
	ClosedAt    *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Deadline is one of a complaint's deadlines as shown to people.
type Deadline struct {
	DueAt time.Time
	// DoneAt is when the step happened (nil: not yet).
	DoneAt *time.Time
	State  DeadlineState
}

// EventKind is a step on a complaint's timeline.
type EventKind string

// Complaint timeline steps.
const (
	EventFiled        EventKind = "FILED"
	EventAcknowledged EventKind = "ACKNOWLEDGED"
	EventProposed     EventKind = "PROPOSED"
	EventResolved     EventKind = "RESOLVED"
	EventAccepted     EventKind = "ACCEPTED"
	EventReopened     EventKind = "REOPENED"
)

// Who acted on a complaint.
const (
	ActorOwner = "OWNER"
	ActorStaff = "STAFF"
)

// ComplaintEvent is one step on a complaint's timeline.
type ComplaintEvent struct {
	ID          uuid.UUID `gorm:"primaryKey"`
	ComplaintID uuid.UUID
	Kind        EventKind
	ActorKind   string
	ActorID     *uuid.UUID
	Note        string
	CreatedAt   time.Time
}
