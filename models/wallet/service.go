package wallet

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
)

// Service runs the wallet's operations on a database.
//
// Balance and points change only by appending ledger entries. Each entry is
// posted by one conditional UPDATE of the account row (the balance and
// points may not go below zero; a top-up may not pass the cap) that returns
// the resulting balance and points, which the entry stores; the CHECKs of
// the schema are the last line. Every operation locks the owner's account
// row before anything else, so all movements of one owner, including its
// points lots, happen one after another, on any number of instances.
type Service struct {
	DB *models.DB
	// Config is the group's rules; zero fields take DefaultConfig's.
	Config Config
	// Clock is the service's clock (nil: the real time). Tests and the
	// demo data move it.
	Clock models.Clock
	// Directory reads owners, vehicles and stores (nil: one on DB and
	// Clock).
	Directory *directory.Service
}

// Result is what a staff operation did: the account after it, and the
// entries it appended (a top-up and its bonus, ...).
type Result struct {
	Membership *Membership
	Entries    []*Entry
}

func (s *Service) cfg() Config { return s.Config.withDefaults() }

// LockAccounts locks the accounts of several owners in owner_id order, in
// the caller's transaction: an operation about to move money of many owners
// (an event's cancellation refunding everyone) takes their locks in the one
// order every such operation uses, so two of them cannot deadlock.
func (s *Service) LockAccounts(ctx context.Context, ownerIDs []uuid.UUID) error {
	if len(ownerIDs) == 0 {
		return nil
	}
	var locked []uuid.UUID
	return s.DB.ForUpdate(s.DB.Conn(ctx).Model(&Account{}).Where("owner_id IN ?", ownerIDs).Order("owner_id")).
		Pluck("owner_id", &locked).Error
}

// lockAccount reads the owner's account and locks it until the transaction
// ends.
//
// Codes: NOT_FOUND (no such owner).
func (s *Service) lockAccount(ctx context.Context, ownerID uuid.UUID) (*Account, error) {
	var a Account
	err := s.DB.ForUpdate(s.DB.Conn(ctx).Where("owner_id = ?", ownerID)).Take(&a).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, errOwnerNotFound
	}
	if err != nil {
		return nil, err
	}
	return &a, nil
}

// balanceLimit caps the balance a posting may reach: the account must have
// room for addFen more without passing capFen.
type balanceLimit struct{ addFen, capFen int64 }

// post appends e to the ledger. One conditional UPDATE ... RETURNING moves
// the account by e's deltas unless that would take the balance or points
// below zero (or the balance past limit); the balance and points it returns
// are e's BalanceAfter and PointsAfter. e gets its id here, once the account
// row is locked, so ids follow the order of the postings.
//
// Codes: INSUFFICIENT_BALANCE, INSUFFICIENT_POINTS, BALANCE_CAP_EXCEEDED,
// NOT_FOUND, CONFLICT (the entry's idempotency key is already on the
// owner's ledger).
func (s *Service) post(ctx context.Context, e *Entry, limit *balanceLimit) error {
	conn := s.DB.Conn(ctx)
	q := `UPDATE membership_accounts SET balance_fen = balance_fen + ?, points = points + ?, updated_at = ?
		WHERE owner_id = ? AND balance_fen + ? >= 0 AND points + ? >= 0`
	args := []any{e.AmountFen, e.Points, e.CreatedAt, e.OwnerID, e.AmountFen, e.Points}
	if limit != nil {
		q += ` AND balance_fen + ? <= ?`
		args = append(args, limit.addFen, limit.capFen)
	}
	var after []struct{ BalanceFen, Points int64 }
	if err := conn.Raw(q+` RETURNING balance_fen, points`, args...).Scan(&after).Error; err != nil {
		return err
	}
	if len(after) != 1 {
		return s.refusal(ctx, e, limit)
	}
	if e.ID == uuid.Nil {
		e.ID = models.NewID()
	}
	e.BalanceAfter, e.PointsAfter = after[0].BalanceFen, after[0].Points
	if err := conn.Create(e).Error; err != nil {
		if models.IsUniqueViolation(err) {
			return errDuplicate
		}
		return err
	}
	return nil
}

// refusal says why post's UPDATE matched no row.
func (s *Service) refusal(ctx context.Context, e *Entry, limit *balanceLimit) error {
	var a Account
	err := s.DB.Conn(ctx).Where("owner_id = ?", e.OwnerID).Take(&a).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		return errOwnerNotFound
	case err != nil:
		return err
	case a.BalanceFen+e.AmountFen < 0:
		return ErrInsufficientBalance
	case a.Points+e.Points < 0:
		return ErrInsufficientPoints
	case limit != nil && a.BalanceFen+limit.addFen > limit.capFen:
		return balanceCapExceeded(a.BalanceFen, limit.capFen)
	}
	return fmt.Errorf("wallet: account %s refused entry %s for no known reason", e.OwnerID, e.Kind)
}

func balanceCapExceeded(balance, capFen int64) *models.Error {
	room := max(capFen-balance, 0)
	return models.Ef(CodeBalanceCapExceeded,
		fmt.Sprintf("充值后余额将超过储值卡上限 %s，本次最多还可充值（含赠送）%s", models.Yuan(capFen), models.Yuan(room)),
		"the top-up would take the balance past the card's cap of %d fen; at most %d fen (bonus included) fit", capFen, room)
}

// addLot records points just posted by e as a lot expiring 24 months on.
func (s *Service) addLot(ctx context.Context, e *Entry) error {
	lot := &PointsLot{
		ID: models.NewID(), OwnerID: e.OwnerID, EntryID: e.ID, Points: e.Points, Remaining: e.Points,
		ExpiresAt: PointsExpiry(e.CreatedAt), CreatedAt: e.CreatedAt,
	}
	return s.DB.Conn(ctx).Create(lot).Error
}

// takeLots consumes points from the owner's lots, those closest to expiry
// first. The account is locked and its points were just reduced by post,
// so the lots hold at least as many; anything else is a broken invariant.
func (s *Service) takeLots(ctx context.Context, ownerID uuid.UUID, points int64) error {
	conn := s.DB.Conn(ctx)
	var lots []*PointsLot
	q := conn.Where("owner_id = ? AND remaining > 0", ownerID).Order("expires_at ASC, id ASC")
	if err := s.DB.ForUpdate(q).Find(&lots).Error; err != nil {
		return err
	}
	left := points
	for _, l := range lots {
		if left == 0 {
			break
		}
		n := min(left, l.Remaining)
		res := conn.Exec(`UPDATE points_lots SET remaining = remaining - ? WHERE id = ? AND remaining >= ?`, n, l.ID, n)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("wallet: points lot %s changed under the account lock", l.ID)
		}
		left -= n
	}
	if left > 0 {
		return fmt.Errorf("wallet: the points lots of %s hold %d points fewer than the account", ownerID, left)
	}
	return nil
}

// expireDue expires the owner's lots due at now, before points are spent,
// so that points past their date never pay. The account is locked.
func (s *Service) expireDue(ctx context.Context, ownerID uuid.UUID, now time.Time) ([]*Entry, error) {
	var lots []*PointsLot
	err := s.DB.Conn(ctx).Where("owner_id = ? AND remaining > 0 AND expires_at <= ?", ownerID, now).
		Order("expires_at ASC, id ASC").Find(&lots).Error
	if err != nil {
		return nil, err
	}
	var out []*Entry
	for _, l := range lots {
		e, err := s.expireLot(ctx, l, now)
		if err != nil {
			return nil, err
		}
		if e != nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// expireLot empties a lot read under the account lock and posts its
// POINTS_EXPIRE entry. The conditional update and the entry's key
// "expire:<lot id>" make a second expiry of the lot impossible; nil means
// the lot was already empty.
func (s *Service) expireLot(ctx context.Context, l *PointsLot, now time.Time) (*Entry, error) {
	res := s.DB.Conn(ctx).Exec(`UPDATE points_lots SET remaining = 0 WHERE id = ? AND remaining = ?`, l.ID, l.Remaining)
	if res.Error != nil {
		return nil, res.Error
	}
	if res.RowsAffected != 1 || l.Remaining == 0 {
		return nil, nil
	}
	ref, lotID := RefPointsLot, l.ID
	e := &Entry{
		OwnerID: l.OwnerID, Kind: PointsExpire, Points: -l.Remaining, RefType: &ref, RefID: &lotID,
		Memo:           fmt.Sprintf("%s 获得的积分已到期", l.CreatedAt.In(models.ChinaTime).Format("2006-01-02")),
		IdempotencyKey: "expire:" + l.ID.String(), CreatedAt: now,
	}
	if err := s.post(ctx, e, nil); err != nil {
		return nil, err
	}
	return e, nil
}

// spentSince is the owner's money spent after since (spend_fen of entries).
func (s *Service) spentSince(ctx context.Context, ownerID uuid.UUID, since time.Time) (int64, error) {
	var spent int64
	err := s.DB.Conn(ctx).Raw(`SELECT CAST(COALESCE(SUM(spend_fen), 0) AS BIGINT) FROM ledger_entries
		WHERE owner_id = ? AND spend_fen > 0 AND created_at > ?`, ownerID, since).Scan(&spent).Error
	return spent, err
}

// updateTier sets the tier of a locked account from its spend of the
// trailing 12 months at now, and reports whether it changed.
func (s *Service) updateTier(ctx context.Context, a *Account, now time.Time) (bool, error) {
	spent, err := s.spentSince(ctx, a.OwnerID, tierWindowStart(now))
	if err != nil {
		return false, err
	}
	t := TierFor(spent, s.cfg().TierThresholdsFen)
	if t == a.Tier {
		return false, nil
	}
	err = s.DB.Conn(ctx).Model(&Account{}).Where("owner_id = ?", a.OwnerID).
		Updates(map[string]any{"tier": t, "updated_at": now}).Error
	if err != nil {
		return false, err
	}
	a.Tier = t
	return true, nil
}

func tierWindowStart(now time.Time) time.Time { return now.AddDate(0, -TierWindowMonths, 0) }

// Limits of input.
const (
	MaxReasonRunes    = 200
	MaxReferenceRunes = 64
	// MaxAmountFen bounds one movement (¥100 million): far above any real
	// one, far below overflow.
	MaxAmountFen = 10_000_000_000
	// MaxPoints bounds the points of one movement.
	MaxPoints = 10_000_000_000
)

// ExternalMethods are how money reaches or leaves the counter.
var ExternalMethods = []string{"CASH", "CARD", "WECHAT_PAY", "ALIPAY"}

// text trims s and checks it has minRunes..maxRunes runes and no control
// characters.
func text(field, label, s string, minRunes, maxRunes int) (string, error) {
	return models.Text(field, label, s, minRunes, maxRunes, false)
}

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, s.Clock) }
