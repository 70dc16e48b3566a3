package care

import (
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
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
}

// Who may do what (DESIGN.md section 1). GROUP_ADMIN holds every role.
var (
	// rolesCare handle follow-up tasks and complaints, and read surveys.
	rolesCare = []auth.Role{auth.RoleCRM, auth.RoleManager}
	// rolesReport read the satisfaction and complaint reports.
	rolesReport = []auth.Role{auth.RoleManager}
)

// Inbox notification kinds.
const (
	NotifySurveyInvitation = "SURVEY_INVITATION"
	NotifyComplaintUpdate  = "COMPLAINT_UPDATE"
)

// GlobalID is the Relay global ID of an object as the GraphQL layer encodes
// it (base64url of "<Type>:<uuid>", no padding); notifications link to it.
func GlobalID(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

// staffFor checks the actor is staff holding one of roles at the store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func staffFor(actor *auth.Principal, storeID uuid.UUID, roles []auth.Role) error {
	return models.StaffAt(actor, storeID, roles...)
}

// careStaff checks the actor is staff handling care (CRM or MANAGER) in
// some store, before the row that names the store is read.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func careStaff(actor *auth.Principal) error {
	switch {
	case actor == nil:
		return models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesCare...):
		return models.ErrForbidden
	}
	return nil
}

// scoped restricts a query of rows with owner_id and store_id columns to
// those the actor may see: an owner their own, GROUP_ADMIN all, CRM and
// managers their stores'. Anyone else sees none.
func scoped(q *gorm.DB, actor *auth.Principal, table string) *gorm.DB {
	col := func(c string) string {
		if table == "" {
			return c
		}
		return table + "." + c
	}
	switch {
	case actor.IsOwner():
		return q.Where(col("owner_id")+" = ?", actor.ID)
	case actor.IsGroupAdmin():
		return q
	case actor.HasAnyRole(rolesCare...) && len(actor.StoreIDs) > 0:
		return q.Where(col("store_id")+" IN ?", actor.StoreIDs)
	}
	return q.Where("1 = 0")
}

// staffScoped restricts a query to the stores of a care staff member
// (GROUP_ADMIN: all), optionally to one of them.
//
// Codes: FORBIDDEN (a store not theirs).
func staffScoped(q *gorm.DB, actor *auth.Principal, storeID *uuid.UUID, column string) (*gorm.DB, error) {
	if storeID != nil {
		if !actor.CanAccessStore(*storeID) {
			return nil, errNotYourStore
		}
		return q.Where(column+" = ?", *storeID), nil
	}
	if actor.IsGroupAdmin() {
		return q, nil
	}
	return q.Where(column+" IN ?", actor.StoreIDs), nil
}

// notFoundAs maps GORM's record-not-found to the given domain error.
func notFoundAs(err error, nf *models.Error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nf
	}
	return err
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// fetchByDue reads one page of q ordered by due_at then id, continuing
// after the row with id p.After (keyset on both columns, so the cursor
// stays an id), and reports whether more rows follow.
func fetchByDue[T any](q *gorm.DB, table string, p models.Page) ([]T, bool, error) {
	if p.After != uuid.Nil {
		q = q.Where("("+table+".due_at, "+table+".id) > (SELECT a.due_at, a.id FROM "+table+" a WHERE a.id = ?)", p.After)
	}
	var rows []T
	if err := q.Order(table + ".due_at ASC, " + table + ".id ASC").Limit(p.First + 1).Find(&rows).Error; err != nil {
		return nil, false, err
	}
	if len(rows) > p.First {
		return rows[:p.First], true, nil
	}
	return rows, false, nil
}

// clampPage applies the default and maximum page sizes.
func clampPage(p models.Page) models.Page {
	if p.First <= 0 {
		p.First = models.DefaultPageSize
	}
	p.First = min(p.First, models.MaxPageSize)
	return p
}
