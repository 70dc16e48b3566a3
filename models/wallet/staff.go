package wallet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// The counter: staff top cards up, pay stored value back out and correct
// accounts. Each operation is idempotent under its (required) key.

// Who may do what (docs/authorization.md), one list per operation; GROUP_ADMIN
// holds every role. The GraphQL schema's @auth roles are generated from
// these (docs/architecture.md, "Role lists and the schema's @auth").
var (
	// rolesTopUp may top cards up (TopUp).
	rolesTopUp = []auth.Role{auth.RoleCashier, auth.RoleManager}
	// rolesRefund (Refund) and rolesAdjust (Adjust) manage accounts: one
	// list, rolesManage.
	rolesRefund = rolesManage
	rolesAdjust = rolesManage

	rolesManage = []auth.Role{auth.RoleManager}
)

// TopUpInput is money taken at a store's counter onto an owner's card.
type TopUpInput struct {
	OwnerID, StoreID uuid.UUID
	AmountFen        int64
	// Method is CASH, CARD, WECHAT_PAY or ALIPAY; Reference (the slip or
	// transaction number) is required except for cash.
	Method, Reference string
	IdempotencyKey    string
}

// RefundInput pays stored value back out to the owner.
type RefundInput struct {
	OwnerID, StoreID  uuid.UUID
	AmountFen         int64
	Method, Reference string
	Reason            string
	IdempotencyKey    string
}

// AdjustInput corrects a balance and/or points; either may be negative, not
// both zero.
type AdjustInput struct {
	OwnerID, StoreID  uuid.UUID
	AmountFen, Points int64
	Reason            string
	IdempotencyKey    string
}

// atCounter reports whether actor works a store's counter (takes money onto
// the group's cards there).
func atCounter(actor *auth.Principal) bool {
	return actor != nil && actor.IsStaff() && len(actor.StoreIDs) > 0 && actor.HasAnyRole(rolesTopUp...)
}

// TopUp puts money on an owner's card: a TOP_UP entry and, when a bonus rule
// applies (the best single one), a TOP_UP_BONUS entry. The balance after
// both may not pass the cap. CASHIER or MANAGER (GROUP_ADMIN) of the store
// where the money was taken; any owner of the group.
//
// Idempotent: a retry with the same key replays the first result; the key
// is required.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (role, or not the caller's store),
// NOT_FOUND ("storeId", "ownerId"), BALANCE_CAP_EXCEEDED ("amountFen"),
// IDEMPOTENCY_KEY_REUSED ("idempotencyKey"), INVALID_ARGUMENT ("amountFen",
// "method", "reference", "idempotencyKey").
func (s *Service) TopUp(ctx context.Context, actor *auth.Principal, in TopUpInput) (*Result, error) {
	if err := s.staffMay(actor, rolesTopUp, in.StoreID); err != nil {
		return nil, err
	}
	cfg := s.cfg()
	if err := cfg.checkTopUpAmount(in.AmountFen); err != nil {
		return nil, err
	}
	var err error
	if in.Method, in.Reference, err = checkMethod(in.Method, in.Reference); err != nil {
		return nil, err
	}
	key := in.IdempotencyKey
	in.IdempotencyKey = ""
	scope := models.IdempotencyScope(actor)
	return models.Idempotent(ctx, s.DB.WithClock(s.Clock), scope, key, "wallet.topUp", in, true, func(ctx context.Context) (*Result, error) {
		return s.counter(ctx, actor, in.StoreID, in.OwnerID, func(a *Account, c *counter) error {
			bonus := BonusFor(in.AmountFen, cfg.BonusRules)
			top := c.entry(TopUp, "topup:"+scope+":"+key)
			top.AmountFen, top.Method, top.Reference = in.AmountFen, &in.Method, in.Reference
			top.ID = models.NewID()
			ref := RefTopUp
			top.RefType, top.RefID = &ref, &top.ID
			if err := c.post(top, &balanceLimit{addFen: in.AmountFen + bonus, capFen: cfg.BalanceCapFen}); err != nil {
				return onField(err, "amountFen")
			}
			if bonus == 0 {
				return nil
			}
			b := c.entry(TopUpBonus, top.IdempotencyKey+":bonus")
			b.AmountFen, b.RefType, b.RefID = bonus, &ref, &top.ID
			b.Memo = fmt.Sprintf("充值 %s 赠送 %s", models.Yuan(in.AmountFen), models.Yuan(bonus))
			return c.post(b, nil)
		})
	})
}

// Refund pays stored value back out to the owner (a REFUND entry of minus
// the amount). MANAGER (GROUP_ADMIN) of the store paying; the reason is
// required. Idempotent under its required key.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("storeId", "ownerId"),
// INSUFFICIENT_BALANCE ("amountFen"), IDEMPOTENCY_KEY_REUSED
// ("idempotencyKey"), INVALID_ARGUMENT ("amountFen", "method",
// "reference", "reason", "idempotencyKey").
func (s *Service) Refund(ctx context.Context, actor *auth.Principal, in RefundInput) (*Result, error) {
	if err := s.staffMay(actor, rolesRefund, in.StoreID); err != nil {
		return nil, err
	}
	if in.AmountFen < 1 || in.AmountFen > MaxAmountFen {
		return nil, models.Ef(models.CodeInvalidArgument, "退款金额须大于 0", "amountFen must be between 1 and %d", int64(MaxAmountFen)).On("amountFen")
	}
	var err error
	if in.Method, in.Reference, err = checkMethod(in.Method, in.Reference); err != nil {
		return nil, err
	}
	if in.Reason, err = text("reason", "退款原因", in.Reason, 1, MaxReasonRunes); err != nil {
		return nil, err
	}
	key := in.IdempotencyKey
	in.IdempotencyKey = ""
	scope := models.IdempotencyScope(actor)
	return models.Idempotent(ctx, s.DB.WithClock(s.Clock), scope, key, "wallet.refund", in, true, func(ctx context.Context) (*Result, error) {
		return s.customerCounter(ctx, actor, in.StoreID, in.OwnerID, func(a *Account, c *counter) error {
			e := c.entry(Refund, "refund:"+scope+":"+key)
			e.AmountFen, e.Method, e.Reference, e.Memo = -in.AmountFen, &in.Method, in.Reference, in.Reason
			return onField(c.post(e, nil), "amountFen")
		})
	})
}

// Adjust corrects an owner's balance and/or points with one ADJUST entry
// carrying the reason. Positive points become a lot expiring in 24 months;
// negative points are taken from the lots closest to expiry, after the
// owner's lots already past their date expire (their POINTS_EXPIRE entries
// are in the result too). The balance cap applies to top-ups, not to
// corrections. MANAGER (GROUP_ADMIN) of the
// store. Idempotent under its required key.
//
// Codes: UNAUTHENTICATED, FORBIDDEN, NOT_FOUND ("storeId", "ownerId"),
// INSUFFICIENT_BALANCE ("amountFen"), INSUFFICIENT_POINTS ("points"),
// IDEMPOTENCY_KEY_REUSED ("idempotencyKey"), INVALID_ARGUMENT ("amountFen",
// "points", "reason", "idempotencyKey").
func (s *Service) Adjust(ctx context.Context, actor *auth.Principal, in AdjustInput) (*Result, error) {
	if err := s.staffMay(actor, rolesAdjust, in.StoreID); err != nil {
		return nil, err
	}
	switch {
	case in.AmountFen < -MaxAmountFen || in.AmountFen > MaxAmountFen:
		return nil, models.Invalid("amountFen", "调整金额超出范围", "amountFen is out of range")
	case in.Points < -MaxPoints || in.Points > MaxPoints:
		return nil, models.Invalid("points", "调整积分超出范围", "points is out of range")
	case in.AmountFen == 0 && in.Points == 0:
		return nil, models.Invalid("amountFen", "请填写调整金额或积分", "amountFen or points must be non-zero")
	}
	var err error
	if in.Reason, err = text("reason", "调整原因", in.Reason, 1, MaxReasonRunes); err != nil {
		return nil, err
	}
	key := in.IdempotencyKey
	in.IdempotencyKey = ""
	scope := models.IdempotencyScope(actor)
	return models.Idempotent(ctx, s.DB.WithClock(s.Clock), scope, key, "wallet.adjust", in, true, func(ctx context.Context) (*Result, error) {
		return s.customerCounter(ctx, actor, in.StoreID, in.OwnerID, func(a *Account, c *counter) error {
			if in.Points < 0 {
				expired, err := s.expireDue(ctx, in.OwnerID, c.now)
				if err != nil {
					return err
				}
				c.entries = append(c.entries, expired...)
			}
			e := c.entry(Adjust, "adjust:"+scope+":"+key)
			e.AmountFen, e.Points, e.Memo = in.AmountFen, in.Points, in.Reason
			if err := c.post(e, nil); err != nil {
				if errors.Is(err, ErrInsufficientPoints) {
					return onField(err, "points")
				}
				return onField(err, "amountFen")
			}
			switch {
			case in.Points > 0:
				return s.addLot(ctx, e)
			case in.Points < 0:
				return s.takeLots(ctx, in.OwnerID, -in.Points)
			}
			return nil
		})
	})
}

// staffMay checks the caller holds one of roles at the store.
func (s *Service) staffMay(actor *auth.Principal, roles []auth.Role, storeID uuid.UUID) error {
	return models.StaffAt(actor, storeID, roles...)
}

// counter is one staff operation on one locked account.
type counter struct {
	s       *Service
	ctx     context.Context
	actor   *auth.Principal
	storeID uuid.UUID
	ownerID uuid.UUID
	now     time.Time
	entries []*Entry
}

// entry starts an entry of the operation, stamped with store and staff.
func (c *counter) entry(kind EntryKind, key string) *Entry {
	store, staff := c.storeID, c.actor.ID
	return &Entry{OwnerID: c.ownerID, Kind: kind, StoreID: &store, StaffID: &staff, IdempotencyKey: key, CreatedAt: c.now}
}

func (c *counter) post(e *Entry, limit *balanceLimit) error {
	if err := c.s.post(c.ctx, e, limit); err != nil {
		return err
	}
	c.entries = append(c.entries, e)
	return nil
}

// counter runs fn on the owner's locked account at a store that exists, and
// returns the account after it with the entries fn appended.
func (s *Service) counter(ctx context.Context, actor *auth.Principal, storeID, ownerID uuid.UUID,
	fn func(a *Account, c *counter) error) (*Result, error) {
	return s.counterFor(ctx, actor, storeID, ownerID, false, fn)
}

// customerCounter is counter for money going back out of an account
// (refunds, corrections): only for the store's own customers, never for an
// owner the caller may not see. Top-ups stay open to walk-ins.
func (s *Service) customerCounter(ctx context.Context, actor *auth.Principal, storeID, ownerID uuid.UUID,
	fn func(a *Account, c *counter) error) (*Result, error) {
	return s.counterFor(ctx, actor, storeID, ownerID, true, fn)
}

func (s *Service) counterFor(ctx context.Context, actor *auth.Principal, storeID, ownerID uuid.UUID, customersOnly bool,
	fn func(a *Account, c *counter) error) (*Result, error) {
	if customersOnly {
		if _, err := s.directory().OwnerFor(ctx, actor, ownerID); err != nil {
			return nil, onField(err, "ownerId")
		}
	}
	if ok, err := s.directory().StoreExists(ctx, storeID); err != nil {
		return nil, err
	} else if !ok {
		return nil, errStoreNotFound
	}
	a, err := s.lockAccount(ctx, ownerID)
	if err != nil {
		return nil, onField(err, "ownerId")
	}
	// The deletion holds this account's lock until it commits.
	if deleted, err := s.directory().OwnerDeleted(ctx, ownerID); err != nil {
		return nil, err
	} else if deleted {
		return nil, onField(errOwnerNotFound, "ownerId")
	}
	c := &counter{s: s, ctx: ctx, actor: actor, storeID: storeID, ownerID: ownerID, now: s.Clock.Now(ctx)}
	if err := fn(a, c); err != nil {
		return nil, err
	}
	ms, err := s.memberships(ctx, []uuid.UUID{ownerID}, c.now)
	if err != nil {
		return nil, err
	}
	return &Result{Membership: ms[ownerID], Entries: c.entries}, nil
}

// checkMethod validates an external payment method and its reference.
func checkMethod(method, reference string) (string, string, error) {
	if !slices.Contains(ExternalMethods, method) {
		return "", "", models.Invalid("method", "付款方式须为现金、银行卡、微信支付或支付宝", "method must be CASH, CARD, WECHAT_PAY or ALIPAY")
	}
	ref, err := text("reference", "付款凭证号", reference, 0, MaxReferenceRunes)
	if err != nil {
		return "", "", err
	}
	if ref == "" && method != "CASH" {
		return "", "", models.Invalid("reference", "请填写付款凭证号（刷卡单号或交易单号）", "reference is required for card and online payments")
	}
	return method, ref, nil
}

// onField names the input field of a domain refusal that has none.
func onField(err error, field string) error {
	if me, ok := models.AsError(err); ok && me.Field == "" {
		return me.On(field)
	}
	return err
}

// RolesTopUp is the list rolesTopUp, copied: a caller cannot change the rule.
func RolesTopUp() []auth.Role { return slices.Clone(rolesTopUp) }

// RolesRefund is the list rolesRefund, copied: a caller cannot change the rule.
func RolesRefund() []auth.Role { return slices.Clone(rolesRefund) }

// RolesAdjust is the list rolesAdjust, copied: a caller cannot change the rule.
func RolesAdjust() []auth.Role { return slices.Clone(rolesAdjust) }
