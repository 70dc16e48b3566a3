package care

import (
	"net/url"
	"strings"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// The care loop's rules as plain functions.

const (
	// SurveyAnswerWindow: an invitation may be answered for 30 days.
	SurveyAnswerWindow = 30 * 24 * time.Hour
	// SurveyEditWindow: an answer may be changed for 7 days after the first
	// answer.
	SurveyEditWindow = 7 * 24 * time.Hour
	// LowScore: a survey with any score at or below it opens a follow-up.
	LowScore = 3
	// LowSurveyDue: a follow-up after a low survey is due a day after it.
	LowSurveyDue = 24 * time.Hour
	// ServiceCallAfter: the 3-day call (3DC) after a delivered order.
	ServiceCallAfter = 3 * 24 * time.Hour
	// NewCarCallDays: calls this many days after a new car's delivery.
	NewCarCall3, NewCarCall7 = 3, 7
	// Lookback bounds how far back the scheduled jobs look for delivered
	// orders and new cars: a job that did not run for up to 30 days still
	// catches up; older deliveries are never surveyed or called.
	Lookback = 30 * 24 * time.Hour
	// MaxCommentLen, MaxNoteLen and MaxDescriptionLen bound free text (runes).
	MaxCommentLen     = 1000
	MaxNoteLen        = 1000
	MaxDescriptionLen = 2000
	// MaxRetryAhead bounds a NOT_REACHED retry time.
	MaxRetryAhead = 30 * 24 * time.Hour
	// Photos of a complaint: at most MaxPhotos https URLs of at most
	// MaxPhotoURLLen characters.
	MaxPhotos      = 9
	MaxPhotoURLLen = 500
)

// Complaint deadlines, from filing. A reopened
// complaint owes a new resolution ResolveWithin after the reopening.
const (
	RespondWithin = 2 * time.Hour
	ProposeWithin = 24 * time.Hour
	ResolveWithin = 48 * time.Hour
)

// ValidateScores checks every score is 1 to 5.
//
// Codes: INVALID_ARGUMENT (the score's field).
func ValidateScores(sc Scores) error {
	for _, f := range []struct {
		name string
		v    int
	}{{"overall", sc.Overall}, {"advisor", sc.Advisor}, {"quality", sc.Quality}, {"timeliness", sc.Timeliness}, {"cleanliness", sc.Cleanliness}} {
		if f.v < 1 || f.v > 5 {
			return models.Invalid(f.name, "评分须在 1 到 5 之间", "scores are 1 to 5")
		}
	}
	return nil
}

// Low reports whether a survey's scores call for a follow-up: any of them
// 3 or less.
func Low(sc Scores) bool {
	return min(sc.Overall, sc.Advisor, sc.Quality, sc.Timeliness, sc.Cleanliness) <= LowScore
}

// ValidatePhotos checks a complaint's photo URLs: at most MaxPhotos,
// each an absolute https URL with a host, of at most MaxPhotoURLLen
// characters.
//
// Codes: INVALID_ARGUMENT ("photoUrls").
func ValidatePhotos(urls []string) ([]string, error) {
	if len(urls) > MaxPhotos {
		return nil, models.Ef(models.CodeInvalidArgument, "最多上传 9 张照片", "at most %d photos", MaxPhotos).On("photoUrls")
	}
	out := make([]string, 0, len(urls))
	for _, raw := range urls {
		raw = strings.TrimSpace(raw)
		u, err := url.Parse(raw)
		if len(raw) > MaxPhotoURLLen || err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			return nil, models.Invalid("photoUrls", "照片地址须为 https 链接", "photo URLs must be https URLs of at most 500 characters")
		}
		out = append(out, raw)
	}
	return out, nil
}

// Valid reports whether c is a known category.
func (c Category) Valid() bool {
	for _, k := range Categories {
		if c == k {
			return true
		}
	}
	return false
}

// Valid reports whether o is a known outcome.
func (o Outcome) Valid() bool { return o == Reached || o == NotReached || o == IssueFound }

// Valid reports whether s is a known complaint status.
func (s ComplaintStatus) Valid() bool {
	switch s {
	case Submitted, Acknowledged, Proposed, Resolved, Reopened, Closed:
		return true
	}
	return false
}

// Valid reports whether s is a known task status.
func (s TaskStatus) Valid() bool { return s == TaskOpen || s == TaskClosed }

// stateAt is a deadline's state once its step happens at: MET when at is
// not after due, MISSED otherwise (a deadline the job already marked
// MISSED stays missed, since then at is after due).
func stateAt(due, at time.Time) DeadlineState {
	if at.After(due) {
		return DeadlineMissed
	}
	return DeadlineMet
}

// Step is something staff or the owner do to a complaint.
type Step string

// Complaint steps.
const (
	StepAcknowledge Step = "ACKNOWLEDGE"
	StepPropose     Step = "PROPOSE"
	StepResolve     Step = "RESOLVE"
	StepAccept      Step = "ACCEPT"
	StepReopen      Step = "REOPEN"
)

// StepAllowed is the complaint state machine: whether step may happen in
// status, and the refusal when not.
//
//	acknowledge: SUBMITTED
//	propose:     SUBMITTED, ACKNOWLEDGED, PROPOSED (a revised proposal), REOPENED
//	resolve:     SUBMITTED, ACKNOWLEDGED, PROPOSED, REOPENED
//	accept, reopen (owner): RESOLVED
func StepAllowed(status ComplaintStatus, step Step) error {
	switch step {
	case StepAcknowledge:
		if status != Submitted {
			return ErrNotAcknowledge
		}
	case StepPropose, StepResolve:
		if status == Resolved || status == Closed {
			return ErrNotOpen
		}
	case StepAccept, StepReopen:
		if status != Resolved {
			return ErrNotResolved
		}
	}
	return nil
}

// After is a step's status.
func (s Step) After() ComplaintStatus {
	switch s {
	case StepAcknowledge:
		return Acknowledged
	case StepPropose:
		return Proposed
	case StepResolve:
		return Resolved
	case StepAccept:
		return Closed
	}
	return Reopened
}

// Event is the timeline kind of a step.
func (s Step) Event() EventKind {
	switch s {
	case StepAcknowledge:
		return EventAcknowledged
	case StepPropose:
		return EventProposed
	case StepResolve:
		return EventResolved
	case StepAccept:
		return EventAccepted
	}
	return EventReopened
}

// apply records step at now on c: its status, and the deadlines the step
// meets. A proposal or resolution also counts as the first response when
// none came before it, and a resolution as the proposal. Reopening starts
// a new resolution deadline ResolveWithin from now, in state OPEN: the
// owner is owed a new resolution; the earlier one stays on the timeline,
// and a missed resolution deadline stays recorded in ResolutionMissed. The
// response and proposal deadlines keep what they recorded.
func apply(c *Complaint, step Step, now time.Time, note string) {
	respond := func() {
		if c.RespondedAt == nil {
			c.RespondedAt, c.ResponseState = &now, stateAt(c.ResponseDueAt, now)
		}
	}
	propose := func() {
		if c.ProposedAt == nil {
			c.ProposedAt, c.ProposalState = &now, stateAt(c.ProposalDueAt, now)
		}
	}
	switch step {
	case StepAcknowledge:
		respond()
	case StepPropose:
		respond()
		propose()
		c.Proposal = note
	case StepResolve:
		respond()
		propose()
		c.ResolvedAt, c.ResolutionState = &now, stateAt(c.ResolutionDueAt, now)
		if c.ResolutionState == DeadlineMissed {
			c.ResolutionMissed = true
		}
		c.Resolution = note
	case StepAccept:
		c.ClosedAt = &now
	case StepReopen:
		c.ReopenCount++
		c.ResolvedAt = nil
		c.ResolutionDueAt, c.ResolutionState = now.Add(ResolveWithin), DeadlineOpen
	}
	c.Status, c.UpdatedAt = step.After(), now
}

// Response, Proposal and Resolution are the complaint's deadlines as
// shown: a deadline still OPEN whose time has passed shows MISSED even
// before the job has marked it.
func (c *Complaint) Response(now time.Time) Deadline {
	return shown(c.ResponseDueAt, c.RespondedAt, c.ResponseState, now)
}

// Proposal deadline; see Response.
func (c *Complaint) ProposalDeadline(now time.Time) Deadline {
	return shown(c.ProposalDueAt, c.ProposedAt, c.ProposalState, now)
}

// Resolution deadline; see Response.
func (c *Complaint) ResolutionDeadline(now time.Time) Deadline {
	return shown(c.ResolutionDueAt, c.ResolvedAt, c.ResolutionState, now)
}

func shown(due time.Time, done *time.Time, st DeadlineState, now time.Time) Deadline {
	if st == DeadlineOpen && now.After(due) {
		st = DeadlineMissed
	}
	return Deadline{DueAt: due, DoneAt: done, State: st}
}

// Overdue reports whether a complaint still being handled has a deadline
// missed (marked, or passed while open).
func (c *Complaint) Overdue(now time.Time) bool {
	if c.Status == Resolved || c.Status == Closed {
		return false
	}
	for _, d := range []Deadline{c.Response(now), c.ProposalDeadline(now), c.ResolutionDeadline(now)} {
		if d.State == DeadlineMissed && d.DoneAt == nil {
			return true
		}
	}
	return false
}
