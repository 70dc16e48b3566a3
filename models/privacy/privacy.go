// Package privacy is the owners' data rights under PIPL (个人信息保护法):
// consent to marketing messages with its history, an export of everything
// held about the owner, and deletion of the account, which anonymises the
// person while keeping the records dealers must keep (the wallet ledger,
// repair orders) detached from them.
//
// Other capabilities take part at wiring time: each adds an export Section
// for its tables and, if the owner's data there must change on deletion,
// an Eraser that runs inside the deletion's transaction.
package privacy

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
)

// Section is one part of an owner's data export: Export returns what the
// capability holds about the owner (anything encoding/json can encode).
type Section struct {
	Name   string
	Export func(ctx context.Context, ownerID uuid.UUID) (any, error)
}

// Eraser removes or anonymises what a capability holds about an owner who
// deletes the account (cancel future registrations, ...). It runs inside
// the deletion's transaction (ctx carries it): an error aborts the deletion.
type Eraser func(ctx context.Context, ownerID uuid.UUID) error

// Service runs the owners' data rights.
type Service struct {
	DB *models.DB
	// Clock is the service's clock (nil: the real time). Tests move it.
	Clock models.Clock
	// Sections are added to the built-in ones (owner, vehicles, repair
	// orders, wallet, appointments, notifications, sessions, consent).
	Sections []Section
	// Erasers run, in order, after the built-in deletion steps.
	Erasers []Eraser
	// Lockers run first in the deletion's transaction, before the owner's
	// row and account are locked: a capability whose operations lock its
	// rows before an owner's account (events: the event, then the accounts
	// it charges or refunds) locks the owner's rows here, so that deletion
	// takes locks in the same order and cannot deadlock with them.
	Lockers []Eraser
	// BeforeAnonymise run in the deletion's transaction once the owner's
	// row is locked, while it still holds what identifies the owner: a
	// capability keeping a one-way trace for abuse checks (referrals: the
	// phone's digest, docs/referrals.md) takes it here.
	BeforeAnonymise []func(ctx context.Context, o *models.Owner) error
	// Links writes a notification's link in the export as the owner's app
	// reads it (the API's object IDs); nil keeps the domain's form.
	Links func(models.Link) string
	// Directory tells whether an owner deleted the account (nil: one on
	// DB and Clock).
	Directory *directory.Service
	// Inbox exports and erases the owner's notifications and messages
	// (nil: one on DB and Clock).
	Inbox *inbox.Service
}

// The consent history's type lives in package models and its rows in the
// directory (directory.RecordConsent), next to the consent they prove, so
// that every operation changing a consent (updateMyProfile too) records it
// the same way.
type (
	// Source says why a consent changed.
	Source = models.ConsentSource
	// ConsentEvent is one change of an owner's consent.
	ConsentEvent = models.ConsentEvent
)

// Consent purposes and sources.
const (
	PurposeMarketing = models.ConsentMarketing
	ByOwner          = models.ConsentByOwner
	ByDeletion       = models.ConsentByDeletion
)

// Privacy is an owner's data-protection settings.
type Privacy struct {
	OwnerID            uuid.UUID
	MarketingConsent   bool
	MarketingConsentAt *time.Time
	// History is every change of the consent, oldest first.
	History []*ConsentEvent
}

// self checks the actor is the owner ownerID.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (another
// owner).
func self(actor *auth.Principal, ownerID uuid.UUID) error {
	switch {
	case actor == nil:
		return models.ErrUnauthenticated
	case !actor.IsOwner():
		return models.ErrForbidden
	case actor.ID != ownerID:
		return errOwnerNotFound
	}
	return nil
}

// Privacy reads an owner's consent and its history. Only the owner.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (another
// owner, or a deleted account).
func (s *Service) Privacy(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID) (*Privacy, error) {
	if err := self(actor, ownerID); err != nil {
		return nil, err
	}
	return s.read(ctx, ownerID)
}

func (s *Service) read(ctx context.Context, ownerID uuid.UUID) (*Privacy, error) {
	if deleted, err := s.Deleted(ctx, ownerID); err != nil {
		return nil, err
	} else if deleted {
		return nil, errOwnerNotFound
	}
	o, err := s.directory().Owner(ctx, ownerID)
	if err != nil {
		return nil, notFound(err)
	}
	p := &Privacy{OwnerID: o.ID, MarketingConsent: o.MarketingConsent, MarketingConsentAt: utc(o.MarketingConsentAt)}
	if p.History, err = s.directory().ConsentHistory(ctx, ownerID); err != nil {
		return nil, err
	}
	return p, nil
}

// SetMarketingConsent gives (given) or withdraws the caller's consent to
// marketing messages (birthday and anniversary greetings, offers). A change
// is recorded with its time in the consent history; setting the consent it
// already has changes nothing. Returns the settings after.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (deleted).
func (s *Service) SetMarketingConsent(ctx context.Context, actor *auth.Principal, given bool) (*Privacy, error) {
	if actor == nil {
		return nil, models.ErrUnauthenticated
	}
	if !actor.IsOwner() {
		return nil, models.ErrForbidden
	}
	var out *Privacy
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		// A conditional update: of concurrent identical changes one
		// records the change (the directory writes it in the consent
		// history), the others find nothing to change.
		if _, err := s.directory().SetMarketingConsent(ctx, actor.ID, given, now); err != nil {
			return err
		}
		var err error
		out, err = s.read(ctx, actor.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Deleted reports whether the owner deleted the account: one primary-key
// read, made for every owner request so that access tokens issued before
// the deletion stop working at once.
func (s *Service) Deleted(ctx context.Context, ownerID uuid.UUID) (bool, error) {
	return s.directory().OwnerDeleted(ctx, ownerID)
}

// Active refuses an owner who deleted the account (their access tokens
// would otherwise outlive the deletion by up to their 15 minutes); staff and
// anonymous callers pass. One primary-key read per owner request, which
// also returns the owner's row and home store (none for staff, anonymous
// callers and an owner without a row) for the request's own reads of them.
//
// Codes: UNAUTHENTICATED (ErrAccountDeleted).
func (s *Service) Active(ctx context.Context, who *auth.Principal) (directory.SignedIn, error) {
	if who == nil || !who.IsOwner() {
		return directory.SignedIn{}, nil
	}
	in, err := s.directory().SignedInOwner(ctx, who.ID)
	if err != nil {
		return directory.SignedIn{}, err
	}
	if in.Deleted {
		return directory.SignedIn{}, ErrAccountDeleted
	}
	return in, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return errOwnerNotFound
	}
	return err
}

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }

// inbox is the wired Inbox, or one on the service's database.
func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, s.Clock) }
