package privacy

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"time"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// DeleteAccount deletes the caller's account (confirm must be true): in
// one transaction it
//   - refuses while the membership account holds stored value
//     (WALLET_NOT_EMPTY: it must be refunded first; points are forfeited);
//   - anonymises the owner: name, phone (replaced by a placeholder that no
//     phone can have, so the number is free to sign up afresh), WeChat
//     openid and unionid, birthday, gender, home store, and withdraws the
//     marketing consent (recorded in the consent history);
//   - revokes every refresh token (signs out everywhere) and marks the
//     owner deleted, so access tokens already issued stop working too;
//   - deletes the inbox, the owner's idempotency records, login codes and
//     failed sign-ins of the phone;
//   - runs the Erasers of other capabilities.
//
// Vehicles, repair orders, the ledger and points lots stay (dealers must
// keep them), pointing at the anonymised owner. Of concurrent deletions of
// one account, one deletes it and the others find it gone.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (not an owner), NOT_FOUND (already
// deleted), INVALID_ARGUMENT ("confirm"), WALLET_NOT_EMPTY.
func (s *Service) DeleteAccount(ctx context.Context, actor *auth.Principal, confirm bool) error {
	if actor == nil {
		return models.ErrUnauthenticated
	}
	if !actor.IsOwner() {
		return models.ErrForbidden
	}
	if !confirm {
		return errNotConfirmed
	}
	return s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		now := s.Clock.Now(ctx)
		// Capabilities that lock their own rows before an owner's account
		// (an event before the accounts it refunds) lock them first.
		for _, lock := range s.Lockers {
			if err := lock(ctx, actor.ID); err != nil {
				return err
			}
		}
		// Then the owner's row (booking locks store, owner, appointments,
		// slot counters in that order; we take no store lock). NO KEY
		// UPDATE: rows referencing the owner may still be inserted by
		// transactions holding other locks, without a cycle.
		o, err := s.directory().LockOwner(ctx, actor.ID, true, true)
		if err != nil {
			return notFound(err)
		}
		if deleted, err := s.Deleted(ctx, o.ID); err != nil {
			return err
		} else if deleted {
			return errOwnerNotFound
		}
		if err := s.directory().MarkOwnerDeleted(ctx, o.ID, now); err != nil {
			return err
		}
		for _, keep := range s.BeforeAnonymise {
			if err := keep(ctx, o); err != nil {
				return err
			}
		}
		if err := s.anonymise(ctx, o, now); err != nil {
			return err
		}
		if err := s.DB.EraseOwnerSignIn(ctx, o.ID, o.Phone, models.IdempotencyScope(actor), now); err != nil {
			return err
		}
		// Messages before the notifications they carry; login codes went
		// to the phone, before the owner was known.
		if err := s.inbox().EraseOwner(ctx, o.ID, o.Phone); err != nil {
			return err
		}
		for _, erase := range s.Erasers {
			if err := erase(ctx, o.ID); err != nil {
				return err
			}
		}
		return nil
	})
}

// anonymise replaces what identifies the owner.
func (s *Service) anonymise(ctx context.Context, o *models.Owner, now time.Time) error {
	phone, err := s.placeholderPhone(ctx)
	if err != nil {
		return err
	}
	if err := s.directory().AnonymiseOwner(ctx, o.ID, phone, now); err != nil {
		return err
	}
	if o.MarketingConsent {
		return s.directory().RecordConsent(ctx, o.ID, false, ByDeletion, now)
	}
	return nil
}

// PlaceholderPrefix starts every deleted owner's phone: +86 10x is no
// mobile range, so no one can sign in with it, and the phone column's
// format and uniqueness still hold.
const PlaceholderPrefix = "+8610"

// placeholderPhone draws an unused placeholder: nine random digits after
// PlaceholderPrefix (a billion of them), drawn again on the rare clash.
func (s *Service) placeholderPhone(ctx context.Context) (string, error) {
	for range 10 {
		n, err := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
		if err != nil {
			return "", err
		}
		p := fmt.Sprintf("%s%09d", PlaceholderPrefix, n.Int64())
		if used, err := s.directory().PhoneInUse(ctx, p); err != nil {
			return "", err
		} else if !used {
			return p, nil
		}
	}
	return "", fmt.Errorf("privacy: no free placeholder phone")
}
