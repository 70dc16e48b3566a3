package directory

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
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
var earliestBirthday = models.Date{Year: 1900, Month: time.January, Day: 1}

// ProfileChange is what an owner may change in their profile. Nil fields stay
// unchanged.
type ProfileChange struct {
	Name             *string
	Birthday         *models.Date
	Gender           *string // MALE or FEMALE
	HomeStoreID      *uuid.UUID
	MarketingConsent *bool
}

// check validates the change and returns it with the name trimmed.
func (ch ProfileChange) check(today models.Date) (ProfileChange, error) {
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
		return ch, models.Invalid("gender", "性别须为男或女", "gender must be MALE or FEMALE")
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
func (s *Service) UpdateProfile(ctx context.Context, actor *auth.Principal, ownerID uuid.UUID, ch ProfileChange) (*models.Owner, error) {
	switch {
	case actor == nil:
		return nil, models.ErrUnauthenticated
	case !actor.IsOwner():
		return nil, models.ErrForbidden
	case actor.ID != ownerID:
		return nil, errOwnerNotFound
	}
	ch, err := ch.check(s.Clock.Today(ctx))
	if err != nil {
		return nil, err
	}
	var o models.Owner
	err = s.db().WithTx(ctx, func(ctx context.Context) error {
		tx := s.DB.Conn(ctx)
		if err := s.DB.ForUpdate(tx.Where("id = ?", ownerID)).Take(&o).Error; err != nil {
			return models.NotFoundAs(err, errOwnerNotFound)
		}
		if ch.HomeStoreID != nil {
			var n int64
			if err := tx.Model(&models.Store{}).Where("id = ?", *ch.HomeStoreID).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return models.Invalid("homeStoreId", "门店不存在", "no such store")
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
			now := s.Clock.Now(ctx)
			o.MarketingConsent = *ch.MarketingConsent
			o.MarketingConsentAt = &now
			// The owner's row is locked: one event per change.
			if err := s.RecordConsent(ctx, o.ID, o.MarketingConsent, models.ConsentByOwner, now); err != nil {
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
func (s *Service) SearchOwners(ctx context.Context, actor *auth.Principal, search string, p models.Page) ([]*models.Owner, bool, error) {
	if actor == nil {
		return nil, false, models.ErrUnauthenticated
	}
	// Finding a customer is front-of-house work; technicians work on cars.
	if !FindsCustomers(actor) {
		return nil, false, models.ErrForbidden
	}
	text, err := checkText("search", "搜索内容", search, 1, MaxSearchRunes)
	if err != nil {
		return nil, false, err
	}
	q := s.DB.Conn(ctx).Model(&models.Owner{})
	if phone, err := validate.NormalizePhone(text); err == nil {
		q = q.Where("owners.phone = ?", phone)
	} else if plate, err := validate.NormalizePlate(text); err == nil {
		q = q.Where("owners.id IN (SELECT owner_id FROM vehicles WHERE plate = ?)", plate)
	} else {
		// A range rather than LIKE: it can use owners_name_idx on both
		// dialects (PostgreSQL uses an index for LIKE only under the C
		// collation) and needs no escaping of % and _. U+10FFFF, the last
		// code point, sorts after anything a name can continue with.
		q = q.Where("owners.name >= ? AND owners.name < ?", text, text+"\U0010FFFF")
		v, ok := customersOf(actor)
		if !ok {
			return nil, false, nil
		}
		q = v.scope(q)
	}
	return models.Fetch[*models.Owner](q, models.ByID("owners.id"), p)
}
