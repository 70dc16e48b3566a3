package models

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models/validate"
)

// Owner genders, as stored and as the GraphQL enum names them.
const (
	GenderMale   = "MALE"
	GenderFemale = "FEMALE"
)

// Limits of owner input.
const (
	MaxOwnerNameRunes = 40
	MaxSearchRunes    = 40
)

// earliestBirthday bounds birthdays from below.
var earliestBirthday = Date{1900, time.January, 1}

// ProfileChange is what an owner may change in their profile. Nil fields stay
// unchanged.
type ProfileChange struct {
	Name             *string
	Birthday         *Date
	Gender           *string // MALE or FEMALE
	HomeStoreID      *uuid.UUID
	MarketingConsent *bool
}

// check validates the change and returns it with the name trimmed.
func (ch ProfileChange) check(today Date) (ProfileChange, error) {
	if ch.Name != nil {
		name, err := checkText("name", "姓名", *ch.Name, 1, MaxOwnerNameRunes)
		if err != nil {
			return ch, err
		}
		ch.Name = &name
	}
	if err := checkDate("birthday", "生日", ch.Birthday, earliestBirthday, today); err != nil {
		return ch, err
	}
	if ch.Gender != nil && *ch.Gender != GenderMale && *ch.Gender != GenderFemale {
		return ch, Invalid("gender", "性别须为男或女", "gender must be MALE or FEMALE")
	}
	return ch, nil
}

// UpdateProfile changes the signed-in owner's own profile. The name is
// trimmed and must have 1 to 40 characters; the birthday lies between
// 1900-01-01 and today; the home store must exist; a change of the
// marketing consent is recorded in the consent history (ConsentEvent).
//
// Codes: UNAUTHENTICATED (no actor), FORBIDDEN (not an owner), NOT_FOUND
// (another owner's profile, or no such owner), INVALID_ARGUMENT with field
// "name", "birthday", "gender" or "homeStoreId".
func (db *DB) UpdateProfile(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, ch ProfileChange) (*Owner, error) {
	switch {
	case actor == nil:
		return nil, ErrUnauthenticated
	case !actor.IsOwner():
		return nil, ErrForbidden
	case actor.ID != ownerID:
		return nil, errOwnerNotFound
	}
	ch, err := ch.check(db.Today(ctx))
	if err != nil {
		return nil, err
	}
	var o Owner
	err = db.WithTx(ctx, func(ctx context.Context) error {
		tx := db.Conn(ctx)
		if err := db.ForUpdate(tx.Where("id = ?", ownerID)).Take(&o).Error; err != nil {
			return NotFoundAs(err, errOwnerNotFound)
		}
		if ch.HomeStoreID != nil {
			var n int64
			if err := tx.Model(&Store{}).Where("id = ?", *ch.HomeStoreID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return Invalid("homeStoreId", "门店不存在", "no such store")
			}
			o.HomeStoreID = ch.HomeStoreID
		}
		if ch.Name != nil {
			o.Name = *ch.Name
		}
		if ch.Birthday != nil {
			o.Birthday = ch.Birthday
		}
		if ch.Gender != nil {
			o.Gender = ch.Gender
		}
		if ch.MarketingConsent != nil && *ch.MarketingConsent != o.MarketingConsent {
			now := db.Now(ctx)
			o.MarketingConsent = *ch.MarketingConsent
			o.MarketingConsentAt = &now
			// The owner's row is locked: one event per change.
			if err := tx.Create(&ConsentEvent{ID: NewID(), OwnerID: o.ID, Purpose: ConsentMarketing,
				Given: o.MarketingConsent, Source: ConsentByOwner, CreatedAt: now}).Error; err != nil {
				return err
			}
		}
		return tx.Save(&o).Error
	})
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// SearchOwners finds owners for staff at the counter. The search text is
// trimmed and must have 1 to 40 characters. A mainland mobile number finds
// the owner with exactly that phone and a licence plate the owner of that
// plate, anywhere in the group (walk-ins may have bought elsewhere). Other
// text matches the start of the names of the customers of the caller's
// stores (every owner for GROUP_ADMIN). Results are paged by id.
//
// Codes: UNAUTHENTICATED (no actor), FORBIDDEN (not staff, or a technician
// only), INVALID_ARGUMENT with field "search".
func (db *DB) SearchOwners(ctx context.Context, actor *auth.Principal, search string, p Page) ([]*Owner, bool, error) {
	if actor == nil {
		return nil, false, ErrUnauthenticated
	}
	// Finding a customer is front-of-house work; technicians work on cars.
	if !FindsCustomers(actor) {
		return nil, false, ErrForbidden
	}
	s, err := checkText("search", "搜索内容", search, 1, MaxSearchRunes)
	if err != nil {
		return nil, false, err
	}
	q := db.Conn(ctx).Model(&Owner{})
	if phone, err := validate.NormalizePhone(s); err == nil {
		q = q.Where("owners.phone = ?", phone)
	} else if plate, err := validate.NormalizePlate(s); err == nil {
		q = q.Where("owners.id IN (SELECT owner_id FROM vehicles WHERE plate = ?)", plate)
	} else {
		// A range rather than LIKE: it can use owners_name_idx on both
		// dialects (PostgreSQL uses an index for LIKE only under the C
		// collation) and needs no escaping of % and _. U+10FFFF, the last
		// code point, sorts after anything a name can continue with.
		q = q.Where("owners.name >= ? AND owners.name < ?", s, s+"\U0010FFFF")
		v, ok := customersOf(actor)
		if !ok {
			return nil, false, nil
		}
		q = v.scope(q)
	}
	return Fetch[*Owner](q, ByID("owners.id"), p)
}
