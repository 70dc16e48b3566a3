package wallet

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
)

// Charging and crediting for the capabilities that sell (the workshop now,
// events later). They run inside the caller's transaction (models.DB.WithTx
// joins it) and do no authorization: the caller has authorized the sale.

// ChargeInput is one sale paid (in part) from an owner's membership.
type ChargeInput struct {
	OwnerID uuid.UUID
	// WalletFen is paid from the stored value, Points are redeemed.
	WalletFen, Points int64
	// MoneyFen is all money paid (wallet and external methods, not points):
	// it earns PointsEarned(MoneyFen) and counts as spend for tiers.
	MoneyFen int64
	// NoEarn is a sale that earns no points and is no spend for tiers (an
	// event fee, refundable in full): MoneyFen must be 0.
	NoEarn bool
	// RefType and RefID name what was sold (RefType "" for none).
	RefType RefType
	RefID   uuid.UUID
	StoreID *uuid.UUID
	StaffID *uuid.UUID
	// Key identifies the sale; the entries' keys are Key+":spend",
	// Key+":redeem" and Key+":earn", unique per owner, so a sale cannot be
	// charged twice.
	Key  string
	Memo string
}

// CreditInput gives back what a sale took: stored value into the wallet
// and/or points (as a new lot valid 24 months), in one REFUND entry.
type CreditInput struct {
	OwnerID           uuid.UUID
	WalletFen, Points int64
	RefType           RefType
	RefID             uuid.UUID
	StoreID           *uuid.UUID
	StaffID           *uuid.UUID
	// Key identifies the credit; the entry's key is Key+":refund".
	Key  string
	Memo string
}

// Charge takes a sale's payment from the owner's membership, in the
// caller's transaction: a SPEND entry of -WalletFen, a POINTS_REDEEM entry
// of -Points (taken from the lots closest to expiry, after expiring those
// already due), and a POINTS_EARN entry for MoneyFen (a new lot expiring 24
// months on; its spend_fen is MoneyFen), then the tier from the trailing 12
// months' spend. It returns the entries appended (POINTS_EXPIRE ones
// included). The caller enforces its own rules (how much of a bill points
// may pay).
//
// Codes: NOT_FOUND (owner), INSUFFICIENT_BALANCE, INSUFFICIENT_POINTS,
// CONFLICT (Key already charged), INVALID_ARGUMENT (negative amounts,
// MoneyFen below WalletFen, or not 0 with NoEarn; no Key).
func (s *Service) Charge(ctx context.Context, in ChargeInput) ([]*Entry, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var out []*Entry
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		out = nil
		a, err := s.lockAccount(ctx, in.OwnerID)
		if err != nil {
			return err
		}
		now := s.Clock.Now(ctx)
		spent, err := s.spendWallet(ctx, in, now)
		if err != nil {
			return err
		}
		redeemed, err := s.redeemPoints(ctx, in, now)
		if err != nil {
			return err
		}
		earned, err := s.earnPoints(ctx, a, in, now)
		if err != nil {
			return err
		}
		out = slices.Concat(spent, redeemed, earned)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// check refuses a charge with negative amounts, amounts over the bounds,
// MoneyFen below WalletFen (or not 0 with NoEarn), or no Key.
//
// Codes: INVALID_ARGUMENT.
func (in ChargeInput) check() error {
	switch {
	case in.WalletFen < 0 || in.Points < 0 || (!in.NoEarn && in.MoneyFen < in.WalletFen) ||
		(in.NoEarn && in.MoneyFen != 0) || in.WalletFen > MaxAmountFen || in.MoneyFen > MaxAmountFen || in.Points > MaxPoints:
		return models.Invalid("", "扣款金额无效", "wallet, points and money must be non-negative, money covering the wallet part")
	case strings.TrimSpace(in.Key) == "":
		return models.Invalid("", "缺少记账键", "a charge needs a key")
	}
	return nil
}

// entry is a new entry of the charge, of kind, keyed Key+suffix.
func (in ChargeInput) entry(kind EntryKind, suffix string, now time.Time) *Entry {
	e := &Entry{OwnerID: in.OwnerID, Kind: kind, StoreID: in.StoreID, StaffID: in.StaffID,
		IdempotencyKey: in.Key + suffix, Memo: in.Memo, CreatedAt: now}
	if in.RefType != "" {
		ref, id := in.RefType, in.RefID
		e.RefType, e.RefID = &ref, &id
	}
	return e
}

// spendWallet posts the SPEND entry of -WalletFen (none for 0).
func (s *Service) spendWallet(ctx context.Context, in ChargeInput, now time.Time) ([]*Entry, error) {
	if in.WalletFen == 0 {
		return nil, nil
	}
	e := in.entry(Spend, ":spend", now)
	e.AmountFen = -in.WalletFen
	if err := s.post(ctx, e, nil); err != nil {
		return nil, err
	}
	return []*Entry{e}, nil
}

// redeemPoints expires the points already due, then posts the
// POINTS_REDEEM entry of -Points and takes them from the lots closest to
// expiry (none for 0). It returns the expiries and the redemption.
func (s *Service) redeemPoints(ctx context.Context, in ChargeInput, now time.Time) ([]*Entry, error) {
	if in.Points == 0 {
		return nil, nil
	}
	out, err := s.expireDue(ctx, in.OwnerID, now)
	if err != nil {
		return nil, err
	}
	e := in.entry(PointsRedeem, ":redeem", now)
	e.Points = -in.Points
	if err := s.post(ctx, e, nil); err != nil {
		return nil, err
	}
	if err := s.takeLots(ctx, in.OwnerID, in.Points); err != nil {
		return nil, err
	}
	return append(out, e), nil
}

// earnPoints posts the POINTS_EARN entry for MoneyFen, with its lot when it
// earns any, and updates the account's tier (none for 0).
func (s *Service) earnPoints(ctx context.Context, a *Account, in ChargeInput, now time.Time) ([]*Entry, error) {
	if in.MoneyFen == 0 {
		return nil, nil
	}
	e := in.entry(PointsEarn, ":earn", now)
	e.Points, e.SpendFen = PointsEarned(in.MoneyFen), in.MoneyFen
	if err := s.post(ctx, e, nil); err != nil {
		return nil, err
	}
	if e.Points > 0 {
		if err := s.addLot(ctx, e); err != nil {
			return nil, err
		}
	}
	if _, err := s.updateTier(ctx, a, now); err != nil {
		return nil, err
	}
	return []*Entry{e}, nil
}

// Credit gives stored value and/or points back to the owner (an event
// cancelled before its deadline), in the caller's transaction: one REFUND
// entry of +WalletFen and +Points, the points as a new lot valid 24 months.
// The balance cap does not apply: the money was the owner's.
//
// Codes: NOT_FOUND (owner), CONFLICT (Key already credited),
// INVALID_ARGUMENT (negative or both zero, no Key).
func (s *Service) Credit(ctx context.Context, in CreditInput) ([]*Entry, error) {
	switch {
	case in.WalletFen < 0 || in.Points < 0 || in.WalletFen+in.Points == 0 ||
		in.WalletFen > MaxAmountFen || in.Points > MaxPoints:
		return nil, models.Invalid("", "退回金额无效", "wallet and points must be non-negative and not both zero")
	case strings.TrimSpace(in.Key) == "":
		return nil, models.Invalid("", "缺少记账键", "a credit needs a key")
	}
	var out []*Entry
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.lockAccount(ctx, in.OwnerID); err != nil {
			return err
		}
		e := &Entry{OwnerID: in.OwnerID, Kind: Refund, AmountFen: in.WalletFen, Points: in.Points,
			StoreID: in.StoreID, StaffID: in.StaffID, IdempotencyKey: in.Key + ":refund", Memo: in.Memo, CreatedAt: s.Clock.Now(ctx)}
		if in.RefType != "" {
			ref, id := in.RefType, in.RefID
			e.RefType, e.RefID = &ref, &id
		}
		if err := s.post(ctx, e, nil); err != nil {
			return err
		}
		if e.Points > 0 {
			if err := s.addLot(ctx, e); err != nil {
				return err
			}
		}
		out = []*Entry{e}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AwardInput is points given for something other than money (attending an
// event): one POINTS_EARN entry, no spend.
type AwardInput struct {
	OwnerID uuid.UUID
	Points  int64
	RefType RefType
	RefID   uuid.UUID
	StoreID *uuid.UUID
	StaffID *uuid.UUID
	// Key identifies the award; the entry's key is Key+":award".
	Key  string
	Memo string
}

// Award credits points that were not bought (attendance), in the caller's
// transaction: a POINTS_EARN entry with no spend and a lot valid 24 months.
//
// Codes: NOT_FOUND (owner), CONFLICT (Key already awarded),
// INVALID_ARGUMENT (points not positive, no Key).
func (s *Service) Award(ctx context.Context, in AwardInput) (*Entry, error) {
	switch {
	case in.Points <= 0 || in.Points > MaxPoints:
		return nil, models.Invalid("", "奖励积分无效", "awarded points must be positive")
	case strings.TrimSpace(in.Key) == "":
		return nil, models.Invalid("", "缺少记账键", "an award needs a key")
	}
	e := &Entry{OwnerID: in.OwnerID, Kind: PointsEarn, Points: in.Points, StoreID: in.StoreID, StaffID: in.StaffID,
		IdempotencyKey: in.Key + ":award", Memo: in.Memo}
	if in.RefType != "" {
		ref, id := in.RefType, in.RefID
		e.RefType, e.RefID = &ref, &id
	}
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		if _, err := s.lockAccount(ctx, in.OwnerID); err != nil {
			return err
		}
		e.CreatedAt = s.Clock.Now(ctx)
		if err := s.post(ctx, e, nil); err != nil {
			return err
		}
		return s.addLot(ctx, e)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}
