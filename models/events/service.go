package events

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/coupons"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// Service runs classes, trips and their registrations on a database.
//
// Seats are counted on the event row: seats_taken is the party sizes of
// its CONFIRMED registrations, moved only by conditional UPDATEs that keep
// it within the capacity (and a CHECK in the schema). Every operation that
// changes an event's seats or its waitlist locks the event's row first, so
// registrations, cancellations and promotions of one event happen one after
// another on any number of instances and the waitlist is served in order.
// Fees are charged and refunded through the wallet in the same transaction.
//
// Locks are taken in one order: event, registration, membership accounts
// (several accounts in owner_id order: wallet.LockAccounts). Promotions
// charge waitlisted owners one by one in queue order; two events promoting
// at once with owners queued in both in opposite orders can still deadlock
// on PostgreSQL, which aborts one, and WithTx runs it again. The account
// deletion locks an owner's events first (LockOwner) for the same order.
type Service struct {
	DB     *models.DB
	Wallet *wallet.Service
	// Clock is the service's clock (nil: the real time). Tests and the
	// demo data move it.
	Clock models.Clock
	// Directory reads owners, vehicles and stores (nil: one on DB and
	// Clock).
	Directory *directory.Service
	// Inbox takes the notifications to owners (nil: one on DB and Clock).
	Inbox *inbox.Service
	// Payments takes event fees online (WeChat Pay) and their refunds; nil,
	// or without a provider, WECHAT_PAY is refused.
	Payments *payments.Service
	// Coupons takes coupons off fees and issues check-in rewards (nil: one
	// on DB and Clock).
	Coupons *coupons.Service
	// PaymentHold is how long seats are held for an owner paying with
	// WeChat Pay (0: payments.DefaultHold).
	PaymentHold time.Duration
}

func (s *Service) coupons() *coupons.Service { return s.Coupons.Or(s.DB, s.Clock) }

// hold is how long seats are held while their owner pays online.
func (s *Service) hold() time.Duration {
	if s.PaymentHold <= 0 {
		return payments.DefaultHold
	}
	return s.PaymentHold
}

// online reports whether event fees can be paid with WeChat Pay.
func (s *Service) online() bool { return s.Payments != nil && s.Payments.Provider != nil }

// RegistrationOpenNow is RegistrationOpen on the service's clock.
func (s *Service) RegistrationOpenNow(ctx context.Context, e *Event) bool {
	return e.RegistrationOpen(s.Clock.Now(ctx))
}

// Who may do what (docs/authorization.md), one list per operation; GROUP_ADMIN
// holds every role. The GraphQL schema's @auth roles are generated from
// these (docs/architecture.md, "Role lists and the schema's @auth").
var (
	// Running a store's events (CreateEvent, UpdateEvent, PublishEvent,
	// CancelEvent), its rosters (Roster, Summary) and check-in (CheckIn):
	// one list, rolesManage.
	rolesCreateEvent  = rolesManage
	rolesUpdateEvent  = rolesManage
	rolesPublishEvent = rolesManage
	rolesCancelEvent  = rolesManage
	rolesRoster       = rolesManage
	rolesCheckIn      = rolesManage

	rolesManage = []auth.Role{auth.RoleEvents, auth.RoleManager}
)

// Kinds of the inbox items events send.
const (
	NotifyPromoted        = "EVENT_PROMOTED"
	NotifyPromotionFailed = "EVENT_PAYMENT_FAILED"
	NotifyEventCancelled  = "EVENT_CANCELLED"
	NotifyEventReminder   = "EVENT_REMINDER"
)

// EventLink links an event; notifications about it open it.
func EventLink(id uuid.UUID) models.Link { return models.LinkTo(models.RefTo(models.RefEvent, id)) }

// RegistrationLink links a registration.
func RegistrationLink(id uuid.UUID) models.Link {
	return models.LinkTo(models.RefTo(models.RefRegistration, id))
}

// staffFor checks the actor is staff holding one of roles (the operation's
// list of rolesManage) at the store.
//
// Codes: UNAUTHENTICATED, FORBIDDEN.
func staffFor(actor *auth.Principal, storeID uuid.UUID, roles []auth.Role) error {
	return models.StaffAt(actor, storeID, roles...)
}

// mayManage reports whether the actor runs events at the store.
func mayManage(actor *auth.Principal, storeID uuid.UUID) bool {
	return staffFor(actor, storeID, rolesManage) == nil
}

// lockEvent reads an event and, when lock, locks its row until the
// transaction ends.
//
// Codes: NOT_FOUND ("eventId").
func (s *Service) lockEvent(ctx context.Context, id uuid.UUID) (*Event, error) {
	var e Event
	err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("id = ?", id)).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errEventNotFound
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// lockRegistration reads a registration by a condition and locks it.
func (s *Service) lockRegistration(ctx context.Context, query string, arg any, nf *models.Error) (*Registration, error) {
	var r Registration
	err := s.DB.ForUpdate(s.DB.Conn(ctx).Where(query, arg)).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nf
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// newCheckInCode is 20 characters of crypto/rand (100 bits): unguessable,
// easy to type when a QR code will not scan, unique by the schema.
func newCheckInCode() string {
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)[:checkInCodeLen]
}

// checkInCodeLen is the length of every check-in code issued.
const checkInCodeLen = 20

// wellFormedCode reports whether code (upper case) could be one that
// newCheckInCode issued: 20 characters of the base32 alphabet.
func wellFormedCode(code string) bool {
	if len(code) != checkInCodeLen {
		return false
	}
	for _, c := range code {
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// notify puts a notification about a registration into its owner's inbox,
// once per dedupe key.
// store is the event's store, which the message names.
func (s *Service) notify(ctx context.Context, ownerID, store uuid.UUID, kind, dedupe, title, body string, link models.Link) error {
	_, err := s.inbox().CreateNotification(ctx, &inbox.Notification{OwnerID: ownerID, Kind: kind, Title: title,
		Body: body, Link: link, DedupeKey: &dedupe, StoreID: &store})
	return err
}

// remind is notify for a reminder, reporting whether it was new.
func (s *Service) remind(ctx context.Context, ownerID, store uuid.UUID, dedupe, title, body string, link models.Link) (bool, error) {
	return s.inbox().CreateNotification(ctx, &inbox.Notification{OwnerID: ownerID, Kind: NotifyEventReminder, Title: title,
		Body: body, Link: link, DedupeKey: &dedupe, StoreID: &store})
}

// storeLocation is the store's time zone, for times in messages.
func (s *Service) storeLocation(ctx context.Context, storeID uuid.UUID) *time.Location {
	st, err := s.directory().Store(ctx, storeID)
	if err != nil {
		return time.UTC
	}
	return st.Location()
}

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// inbox is the wired Inbox, or one on the service's database.
func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }

// RolesCreateEvent is the list rolesCreateEvent, copied: a caller cannot change the rule.
func RolesCreateEvent() []auth.Role { return slices.Clone(rolesCreateEvent) }

// RolesUpdateEvent is the list rolesUpdateEvent, copied: a caller cannot change the rule.
func RolesUpdateEvent() []auth.Role { return slices.Clone(rolesUpdateEvent) }

// RolesPublishEvent is the list rolesPublishEvent, copied: a caller cannot change the rule.
func RolesPublishEvent() []auth.Role { return slices.Clone(rolesPublishEvent) }

// RolesCancelEvent is the list rolesCancelEvent, copied: a caller cannot change the rule.
func RolesCancelEvent() []auth.Role { return slices.Clone(rolesCancelEvent) }

// RolesRoster is the list rolesRoster, copied: a caller cannot change the rule.
func RolesRoster() []auth.Role { return slices.Clone(rolesRoster) }

// RolesCheckIn is the list rolesCheckIn, copied: a caller cannot change the rule.
func RolesCheckIn() []auth.Role { return slices.Clone(rolesCheckIn) }
