package care

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// Service runs the care loop on a database.
//
// The scheduled work (InviteSurveys, CreateFollowUps, MarkMissedDeadlines)
// takes the time it runs for and may run twice, late, or on several
// instances at once: a survey is unique per order and a task per kind and
// subject, inserts skip what exists, notifications carry dedupe keys, and
// deadline states move only from OPEN by conditional updates.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time). Tests and the
	// demo data move it.
	Clock models.Clock
	// Directory reads owners, vehicles and stores (nil: one on DB and
	// Clock).
	Directory *directory.Service
	// Inbox takes the notifications to owners (nil: one on DB and Clock).
	Inbox *inbox.Service
	// Workshop reads the repair orders complaints are about (nil: one on
	// DB and Clock).
	Workshop *workshop.Service
}

// workshop is the wired Workshop, or one on the service's database.
func (s *Service) workshop() *workshop.Service {
	if s.Workshop != nil {
		return s.Workshop
	}
	return &workshop.Service{DB: s.DB, Clock: s.Clock}
}

// Who may do what (docs/authorization.md), one list per operation; GROUP_ADMIN
// holds every role. The GraphQL schema's @auth roles are generated from
// these (docs/architecture.md, "Role lists and the schema's @auth").
var (
	// Follow-up tasks (FollowUps, FollowUpFor, AssignFollowUp,
	// RecordOutcome, CloseFollowUp), complaints (Complaints, and the staff's
	// steps: acknowledge, propose, resolve) and reading owners' surveys: one
	// list, rolesCare.
	rolesFollowUps      = rolesCare
	rolesAssignFollowUp = rolesCare
	rolesRecordOutcome  = rolesCare
	rolesCloseFollowUp  = rolesCare
	rolesComplaints     = rolesCare
	rolesComplaintStep  = rolesCare
	// The reports (Satisfaction, ComplaintStats): one list, rolesReport.
	rolesSatisfaction   = rolesReport
	rolesComplaintStats = rolesReport

	rolesCare   = []auth.Role{auth.RoleCRM, auth.RoleManager}
	rolesReport = []auth.Role{auth.RoleManager}
)

// Inbox notification kinds.
const (
	NotifySurveyInvitation = "SURVEY_INVITATION"
	NotifyComplaintUpdate  = "COMPLAINT_UPDATE"
)

// ComplaintLink links a complaint; updates about it open it.
func ComplaintLink(id uuid.UUID) models.Link {
	return models.LinkTo(models.RefTo(models.RefComplaint, id))
}

// staffFor checks the actor is staff holding one of roles at the store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func staffFor(actor *auth.Principal, storeID uuid.UUID, roles []auth.Role) error {
	return models.StaffAt(actor, storeID, roles...)
}

// careStaff checks the actor is staff holding one of roles (the
// operation's list of rolesCare) in some store, before the row that names
// the store is read.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func careStaff(actor *auth.Principal, roles []auth.Role) error {
	switch {
	case actor == nil:
		return models.ErrUnauthenticated
	case !actor.HasAnyRole(roles...):
		return models.ErrForbidden
	}
	return nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// inbox is the wired Inbox, or one on the service's database.
func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }

// RolesFollowUps is the list rolesFollowUps, copied: a caller cannot change the rule.
func RolesFollowUps() []auth.Role { return slices.Clone(rolesFollowUps) }

// RolesAssignFollowUp is the list rolesAssignFollowUp, copied: a caller cannot change the rule.
func RolesAssignFollowUp() []auth.Role { return slices.Clone(rolesAssignFollowUp) }

// RolesRecordOutcome is the list rolesRecordOutcome, copied: a caller cannot change the rule.
func RolesRecordOutcome() []auth.Role { return slices.Clone(rolesRecordOutcome) }

// RolesCloseFollowUp is the list rolesCloseFollowUp, copied: a caller cannot change the rule.
func RolesCloseFollowUp() []auth.Role { return slices.Clone(rolesCloseFollowUp) }

// RolesComplaints is the list rolesComplaints, copied: a caller cannot change the rule.
func RolesComplaints() []auth.Role { return slices.Clone(rolesComplaints) }

// RolesComplaintStep is the list rolesComplaintStep, copied: a caller cannot change the rule.
func RolesComplaintStep() []auth.Role { return slices.Clone(rolesComplaintStep) }

// RolesSatisfaction is the list rolesSatisfaction, copied: a caller cannot change the rule.
func RolesSatisfaction() []auth.Role { return slices.Clone(rolesSatisfaction) }

// RolesComplaintStats is the list rolesComplaintStats, copied: a caller cannot change the rule.
func RolesComplaintStats() []auth.Role { return slices.Clone(rolesComplaintStats) }
