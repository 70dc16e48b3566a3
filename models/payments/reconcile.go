package payments

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// The daily reconciliation compares WeChat Pay's trade bill of a day with
// what we recorded that day: the payments it says succeeded with ours paid
// (paid_at is WeChat Pay's success time, so both count a payment on the
// same day), its refunds with ours, and each paid top-up with its ledger
// entry. docs/payments.md, "Reconciliation".

// States of a reconciliation run.
const (
	// ReconNotReady: WeChat Pay had no bill for the day yet; the job tries
	// again.
	ReconNotReady = "NOT_READY"
	// ReconMatched: the bill and our records agree.
	ReconMatched = "MATCHED"
	// ReconMismatched: the run found mismatches.
	ReconMismatched = "MISMATCHED"
)

// Kinds of mismatch.
const (
	// MismatchMissingInOurs: the bill has a payment we have no record of.
	MismatchMissingInOurs = "MISSING_IN_OURS"
	// MismatchMissingInBill: we recorded a payment paid that day that the
	// bill does not have.
	MismatchMissingInBill = "MISSING_IN_BILL"
	// MismatchAmountDiffers: the bill's amount of a payment is not ours.
	MismatchAmountDiffers = "AMOUNT_DIFFERS"
	// MismatchStateDiffers: the bill says paid (or revoked) and we say
	// pending, closed or failed (or paid).
	MismatchStateDiffers = "STATE_DIFFERS"
	// MismatchDateDiffers: the bill has a payment that day which we
	// recorded paid on another day.
	MismatchDateDiffers = "DATE_DIFFERS"
	// MismatchRefundMissingInOurs: the bill has a refund we have no record
	// of.
	MismatchRefundMissingInOurs = "REFUND_MISSING_IN_OURS"
	// MismatchRefundMissingInBill: a refund we recorded as succeeded that
	// day (and decided that day) is not in the bill.
	MismatchRefundMissingInBill = "REFUND_MISSING_IN_BILL"
	// MismatchRefundAmountDiffers: the bill's amount of a refund is not
	// ours.
	MismatchRefundAmountDiffers = "REFUND_AMOUNT_DIFFERS"
	// MismatchRefundStateDiffers: the bill has a refund we recorded as not
	// accepted (PENDING) or given up (CLOSED, ABNORMAL).
	MismatchRefundStateDiffers = "REFUND_STATE_DIFFERS"
	// MismatchLedgerMissing: a paid top-up has no TOP_UP ledger entry (and
	// was not refunded for want of room on the card).
	MismatchLedgerMissing = "LEDGER_MISSING"
	// MismatchLedgerAmountDiffers: a paid top-up's ledger entry is not its
	// amount.
	MismatchLedgerAmountDiffers = "LEDGER_AMOUNT_DIFFERS"
)

// rolesReconciliation may read the reconciliation: managers the mismatches
// of their stores, GROUP_ADMIN (every role) all of them.
var rolesReconciliation = []auth.Role{auth.RoleManager}

// RolesReconciliation is the list rolesReconciliation, copied: a caller
// cannot change the rule.
func RolesReconciliation() []auth.Role { return slices.Clone(rolesReconciliation) }

// Reconciliation is the run of one bill date (a row of
// payment_reconciliations): its state and figures. Running the date again
// replaces it.
type Reconciliation struct {
	ID       uuid.UUID `gorm:"primaryKey"`
	BillDate models.Date
	State    string
	// The bill's payments and refunds, and their sums.
	BillPayments   int64
	BillPaymentFen int64
	BillRefunds    int64
	BillRefundFen  int64
	// Ours: payments paid that day and refunds that succeeded that day.
	Payments   int64
	PaymentFen int64
	Refunds    int64
	RefundFen  int64
	// MismatchCount is how many mismatches it found, at every store.
	MismatchCount int64 `gorm:"column:mismatches"`
	RanAt         time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// StoreID is the store the reader asked about (nil: all theirs); not
	// stored.
	StoreID *uuid.UUID `gorm:"-"`
}

// TableName names the runs table.
func (Reconciliation) TableName() string { return "payment_reconciliations" }

// Mismatch is one disagreement a run found (a row of
// payment_reconciliation_mismatches).
type Mismatch struct {
	ID               uuid.UUID `gorm:"primaryKey"`
	ReconciliationID uuid.UUID
	Kind             string
	// StoreID, PaymentID, RefundID: ours, when we have a record; nil for
	// what only the bill names.
	StoreID       *uuid.UUID
	PaymentID     *uuid.UUID
	RefundID      *uuid.UUID
	OutTradeNo    string
	OutRefundNo   string
	TransactionID string
	BillAmountFen *int64
	OurAmountFen  *int64
	BillState     string
	OurState      string
	CreatedAt     time.Time
}

// TableName names the mismatches table.
func (Mismatch) TableName() string { return "payment_reconciliation_mismatches" }

// billReadyBy is when, after the end of the bill's day (China time), a
// missing bill means a day without transactions rather than one WeChat Pay
// is still making (it makes them from 09:00 and says to fetch them after
// 10:00).
const billReadyBy = 12 * time.Hour

// reconBatch bounds the ids one statement looks up.
const reconBatch = 500

// dayBounds is the China-time day of date, in UTC.
func dayBounds(date models.Date) (time.Time, time.Time) {
	start := time.Date(date.Year, date.Month, date.Day, 0, 0, 0, 0, models.ChinaTime).UTC()
	return start, start.Add(24 * time.Hour)
}

// Reconcile compares WeChat Pay's trade bill of date (China time) with the
// payments paid that day, the refunds that succeeded that day and the
// ledger's top-ups, and records the run and its mismatches, replacing an
// earlier run of the date in one transaction (concurrent runs queue on the
// date's row and leave one result). Before the bill is made (until noon the
// next day) the run is recorded NOT_READY and ErrBillNotReady returned;
// after, a missing bill is a day without transactions.
//
// Codes: PAYMENT_METHOD_UNAVAILABLE (online payment off), INVALID_ARGUMENT
// ("date": not over yet).
func (s *Service) Reconcile(ctx context.Context, date models.Date) (*Reconciliation, error) {
	if s.Provider == nil {
		return nil, errPaymentsOff
	}
	now := s.Clock.Now(ctx)
	_, end := dayBounds(date)
	if now.Before(end) {
		return nil, errDayNotOver
	}
	bill, err := s.Provider.TradeBill(ctx, date)
	switch {
	case errors.Is(err, ErrBillNotReady) && now.Before(end.Add(billReadyBy)):
		run, err := s.notReady(ctx, date)
		if err != nil {
			return nil, err
		}
		return run, ErrBillNotReady
	case errors.Is(err, ErrBillNotReady):
		bill = &TradeBill{Date: date}
	case err != nil:
		return nil, err
	}
	var run *Reconciliation
	err = s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		var err error
		if run, err = s.claimRun(ctx, date); err != nil {
			return err
		}
		found, err := s.compare(ctx, bill)
		if err != nil {
			return err
		}
		return s.recordRun(ctx, run, found)
	})
	if err != nil {
		return nil, err
	}
	return run, nil
}

var errDayNotOver = models.E(models.CodeInvalidArgument, "该日尚未结束，无法对账", "the day is not over yet").On("date")

// claimRun is the date's run, created if need be, under its row lock: the
// lock two runs of one date queue on.
func (s *Service) claimRun(ctx context.Context, date models.Date) (*Reconciliation, error) {
	now := s.Clock.Now(ctx)
	conn := s.DB.Conn(ctx)
	fresh := &Reconciliation{ID: models.NewID(), BillDate: date, State: ReconNotReady, RanAt: now, CreatedAt: now, UpdatedAt: now}
	if err := conn.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "bill_date"}}, DoNothing: true}).Create(fresh).Error; err != nil {
		return nil, err
	}
	var run Reconciliation
	if err := s.DB.ForUpdate(conn.Where("bill_date = ?", date)).Take(&run).Error; err != nil {
		return nil, err
	}
	return &run, nil
}

// notReady records that date's bill is not there yet, unless an earlier
// run of the date has a result (kept: a bill once read is not forgotten).
func (s *Service) notReady(ctx context.Context, date models.Date) (*Reconciliation, error) {
	var run *Reconciliation
	err := s.DB.WithClock(s.Clock).WithTx(ctx, func(ctx context.Context) error {
		var err error
		if run, err = s.claimRun(ctx, date); err != nil || run.State != ReconNotReady {
			return err
		}
		run.RanAt, run.UpdatedAt = s.Clock.Now(ctx), s.Clock.Now(ctx)
		return s.DB.Conn(ctx).Model(run).Updates(map[string]any{"ran_at": run.RanAt, "updated_at": run.UpdatedAt}).Error
	})
	return run, err
}

// recordRun replaces run's figures and mismatches with found's.
func (s *Service) recordRun(ctx context.Context, run *Reconciliation, found *comparison) error {
	conn := s.DB.Conn(ctx)
	if err := conn.Where("reconciliation_id = ?", run.ID).Delete(&Mismatch{}).Error; err != nil {
		return err
	}
	now := s.Clock.Now(ctx)
	for i := range found.mismatches {
		m := &found.mismatches[i]
		m.ID, m.ReconciliationID, m.CreatedAt = models.NewID(), run.ID, now
	}
	if len(found.mismatches) > 0 {
		if err := conn.CreateInBatches(found.mismatches, 200).Error; err != nil {
			return err
		}
	}
	state := ReconMatched
	if len(found.mismatches) > 0 {
		state = ReconMismatched
	}
	*run = Reconciliation{ID: run.ID, BillDate: run.BillDate, State: state,
		BillPayments: found.billPayments, BillPaymentFen: found.billPaymentFen,
		BillRefunds: found.billRefunds, BillRefundFen: found.billRefundFen,
		Payments: found.payments, PaymentFen: found.paymentFen, Refunds: found.refunds, RefundFen: found.refundFen,
		MismatchCount: int64(len(found.mismatches)), RanAt: now, CreatedAt: run.CreatedAt, UpdatedAt: now}
	return conn.Save(run).Error
}

// comparison is what a run found.
type comparison struct {
	billPayments, billPaymentFen, billRefunds, billRefundFen int64
	payments, paymentFen, refunds, refundFen                 int64
	mismatches                                               []Mismatch
}

func (c *comparison) add(m Mismatch) { c.mismatches = append(c.mismatches, m) }

func fenOf(v int64) *int64 { return &v }

// paidStates are the states of a payment WeChat Pay took the money of.
var paidStates = []string{StatePaid, StateRefunding, StateRefunded}

// compare reads ours for the bill's day and lists where they differ.
func (s *Service) compare(ctx context.Context, bill *TradeBill) (*comparison, error) {
	start, end := dayBounds(bill.Date)
	c := &comparison{}
	var paid []*Payment
	err := s.DB.Conn(ctx).Where("paid_at >= ? AND paid_at < ? AND state IN ?", start, end, paidStates).
		Order("paid_at, id").Find(&paid).Error
	if err != nil {
		return nil, err
	}
	if err := s.comparePayments(ctx, bill, paid, c); err != nil {
		return nil, err
	}
	if err := s.compareRefunds(ctx, bill, start, end, c); err != nil {
		return nil, err
	}
	if err := s.compareLedger(ctx, paid, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (s *Service) comparePayments(ctx context.Context, bill *TradeBill, paid []*Payment, c *comparison) error {
	ours := make(map[string]*Payment, len(paid))
	for _, p := range paid {
		ours[p.OutTradeNo] = p
		c.payments++
		c.paymentFen += p.AmountFen
	}
	var others []string
	for _, b := range bill.Payments {
		c.billPayments++
		c.billPaymentFen += b.AmountFen
		if _, ok := ours[b.OutTradeNo]; !ok {
			others = append(others, b.OutTradeNo)
		}
	}
	elsewhere, err := s.paymentsByTradeNo(ctx, others)
	if err != nil {
		return err
	}
	inBill := make(map[string]bool, len(bill.Payments))
	for _, b := range bill.Payments {
		inBill[b.OutTradeNo] = true
		m := Mismatch{OutTradeNo: b.OutTradeNo, TransactionID: b.TransactionID, BillAmountFen: fenOf(b.AmountFen), BillState: b.State}
		p, mine := ours[b.OutTradeNo]
		if !mine {
			p = elsewhere[b.OutTradeNo]
		}
		if p == nil {
			m.Kind = MismatchMissingInOurs
			c.add(m)
			continue
		}
		m.StoreID, m.PaymentID, m.OurAmountFen, m.OurState = &p.StoreID, &p.ID, fenOf(p.AmountFen), p.State
		switch {
		case b.AmountFen != p.AmountFen:
			m.Kind = MismatchAmountDiffers
		case !slices.Contains(paidStates, p.State) || b.State != TradeSuccess:
			m.Kind = MismatchStateDiffers
		case !mine:
			m.Kind = MismatchDateDiffers
		default:
			continue
		}
		c.add(m)
	}
	for _, p := range paid {
		if !inBill[p.OutTradeNo] {
			c.add(Mismatch{Kind: MismatchMissingInBill, StoreID: &p.StoreID, PaymentID: &p.ID, OutTradeNo: p.OutTradeNo,
				TransactionID: deref(p.TransactionID), OurAmountFen: fenOf(p.AmountFen), OurState: p.State})
		}
	}
	return nil
}

// paymentsByTradeNo are our payments of those out_trade_nos.
func (s *Service) paymentsByTradeNo(ctx context.Context, nos []string) (map[string]*Payment, error) {
	out := make(map[string]*Payment, len(nos))
	for start := 0; start < len(nos); start += reconBatch {
		var rows []*Payment
		err := s.DB.Conn(ctx).Where("out_trade_no IN ?", nos[start:min(start+reconBatch, len(nos))]).Find(&rows).Error
		if err != nil {
			return nil, err
		}
		for _, p := range rows {
			out[p.OutTradeNo] = p
		}
	}
	return out, nil
}

// paymentsByID are our payments of those ids.
func (s *Service) paymentsByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*Payment, error) {
	out := make(map[uuid.UUID]*Payment, len(ids))
	for start := 0; start < len(ids); start += reconBatch {
		var rows []*Payment
		if err := s.DB.Conn(ctx).Where("id IN ?", ids[start:min(start+reconBatch, len(ids))]).Find(&rows).Error; err != nil {
			return nil, err
		}
		for _, p := range rows {
			out[p.ID] = p
		}
	}
	return out, nil
}

// compareRefunds matches the bill's refunds (accepted that day) with ours,
// whenever they were decided, and ours that succeeded that day with the
// bill. A refund decided the day before and accepted after midnight is on
// the earlier bill, so only refunds decided and succeeded that day are
// expected in it.
func (s *Service) compareRefunds(ctx context.Context, bill *TradeBill, start, end time.Time, c *comparison) error {
	var done []*Refund
	err := s.DB.Conn(ctx).Where("state = ? AND succeeded_at >= ? AND succeeded_at < ?", RefundSuccess, start, end).
		Order("succeeded_at, id").Find(&done).Error
	if err != nil {
		return err
	}
	nos := make([]string, 0, len(bill.Refunds))
	for _, b := range bill.Refunds {
		nos = append(nos, b.OutRefundNo)
		c.billRefunds++
		c.billRefundFen += b.AmountFen
	}
	known := make(map[string]*Refund, len(nos))
	for i := 0; i < len(nos); i += reconBatch {
		var rows []*Refund
		if err := s.DB.Conn(ctx).Where("out_refund_no IN ?", nos[i:min(i+reconBatch, len(nos))]).Find(&rows).Error; err != nil {
			return err
		}
		for _, f := range rows {
			known[f.OutRefundNo] = f
		}
	}
	var ids []uuid.UUID
	for _, f := range append(slices.Collect(maps.Values(known)), done...) {
		ids = append(ids, f.PaymentID)
	}
	payments, err := s.paymentsByID(ctx, ids)
	if err != nil {
		return err
	}
	refundMismatch := func(kind string, f *Refund) Mismatch {
		m := Mismatch{Kind: kind, RefundID: &f.ID, PaymentID: &f.PaymentID, OutRefundNo: f.OutRefundNo,
			OurAmountFen: fenOf(f.AmountFen), OurState: f.State}
		if p := payments[f.PaymentID]; p != nil {
			m.StoreID, m.OutTradeNo = &p.StoreID, p.OutTradeNo
		}
		return m
	}
	inBill := make(map[string]bool, len(bill.Refunds))
	for _, b := range bill.Refunds {
		inBill[b.OutRefundNo] = true
		f := known[b.OutRefundNo]
		if f == nil {
			c.add(Mismatch{Kind: MismatchRefundMissingInOurs, OutTradeNo: b.OutTradeNo, OutRefundNo: b.OutRefundNo,
				TransactionID: b.RefundID, BillAmountFen: fenOf(b.AmountFen), BillState: b.State})
			continue
		}
		var m Mismatch
		switch {
		case b.AmountFen != f.AmountFen:
			m = refundMismatch(MismatchRefundAmountDiffers, f)
		case f.State != RefundProcessing && f.State != RefundSuccess:
			m = refundMismatch(MismatchRefundStateDiffers, f)
		default:
			continue
		}
		m.BillAmountFen, m.BillState, m.TransactionID = fenOf(b.AmountFen), b.State, b.RefundID
		c.add(m)
	}
	for _, f := range done {
		if !f.CreatedAt.Before(start) {
			c.refunds++
			c.refundFen += f.AmountFen
			if !inBill[f.OutRefundNo] {
				c.add(refundMismatch(MismatchRefundMissingInBill, f))
			}
		}
	}
	return nil
}

// compareLedger checks that each top-up paid that day has its TOP_UP entry
// of its amount, asking the wallet once per batch. A top-up refunded whole
// because the card had no room for it has none, rightly.
func (s *Service) compareLedger(ctx context.Context, paid []*Payment, c *comparison) error {
	var ids []uuid.UUID
	for _, p := range paid {
		if p.Purpose == PurposeTopUp {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	credited, err := s.Wallet.OnlineTopUpsCredited(ctx, ids)
	if err != nil {
		return err
	}
	var uncredited []uuid.UUID
	for _, id := range ids {
		if _, ok := credited[id]; !ok {
			uncredited = append(uncredited, id)
		}
	}
	excused := map[uuid.UUID]bool{}
	for i := 0; i < len(uncredited); i += reconBatch {
		var rows []uuid.UUID
		err := s.DB.Conn(ctx).Model(&Refund{}).Where("payment_id IN ? AND cause = ?", uncredited[i:min(i+reconBatch, len(uncredited))],
			CauseNotApplicable).Distinct().Pluck("payment_id", &rows).Error
		if err != nil {
			return err
		}
		for _, id := range rows {
			excused[id] = true
		}
	}
	for _, p := range paid {
		if p.Purpose != PurposeTopUp || excused[p.ID] {
			continue
		}
		amount, ok := credited[p.ID]
		m := Mismatch{StoreID: &p.StoreID, PaymentID: &p.ID, OutTradeNo: p.OutTradeNo, TransactionID: deref(p.TransactionID),
			OurAmountFen: fenOf(p.AmountFen), OurState: p.State}
		switch {
		case !ok:
			m.Kind = MismatchLedgerMissing
		case amount != p.AmountFen:
			m.Kind, m.BillAmountFen = MismatchLedgerAmountDiffers, fenOf(amount)
		default:
			continue
		}
		c.add(m)
	}
	return nil
}

// ReconcileDue is the daily job: it reconciles yesterday (China time) and
// the days of the week before whose bill was not ready when they were run.
// It returns how many days it reconciled, and ErrBillNotReady (the job then
// runs again later) while one of them is still waiting for its bill. With
// online payment switched off there is nothing to reconcile.
func (s *Service) ReconcileDue(ctx context.Context, now time.Time) (int64, error) {
	if s.Provider == nil {
		return 0, nil
	}
	yesterday := models.ChinaDate(now).AddDate(0, 0, -1)
	var waiting []models.Date
	err := s.DB.Conn(ctx).Model(&Reconciliation{}).Where("state = ? AND bill_date >= ? AND bill_date < ?", ReconNotReady,
		yesterday.AddDate(0, 0, -7), yesterday).Order("bill_date").Pluck("bill_date", &waiting).Error
	if err != nil {
		return 0, err
	}
	var done int64
	var firstErr error
	for _, d := range append(waiting, yesterday) {
		if _, err := s.Reconcile(ctx, d); err != nil {
			if !errors.Is(err, ErrBillNotReady) {
				s.log().WarnContext(ctx, "payments: reconciliation", "date", d.String(), "error", err.Error())
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		done++
	}
	return done, firstErr
}

// ReconciliationOf is the run of a date as the actor may read it (MANAGER
// of the store asked about, or of theirs; GROUP_ADMIN), or nil when the
// date was not run.
//
// Codes: UNAUTHENTICATED, FORBIDDEN (another role, or a store not theirs).
func (s *Service) ReconciliationOf(ctx context.Context, actor *auth.Principal, date models.Date, storeID *uuid.UUID) (*Reconciliation, error) {
	if err := canReadReconciliation(actor, storeID); err != nil {
		return nil, err
	}
	var run Reconciliation
	err := s.DB.Conn(ctx).Where("bill_date = ?", date).Take(&run).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	run.StoreID = storeID
	return &run, nil
}

func canReadReconciliation(actor *auth.Principal, storeID *uuid.UUID) error {
	switch {
	case actor == nil:
		return models.ErrUnauthenticated
	case !actor.HasAnyRole(rolesReconciliation...):
		return models.ErrForbidden
	case storeID != nil && !actor.CanAccessStore(*storeID):
		return models.ErrNotYourStore
	}
	return nil
}

// MismatchesOf is one page of a run's mismatches, in the order found: those
// of run.StoreID, else of the actor's stores (GROUP_ADMIN: all, with those
// only the bill names).
//
// Codes: UNAUTHENTICATED, FORBIDDEN, INVALID_ARGUMENT ("first", "after").
func (s *Service) MismatchesOf(ctx context.Context, actor *auth.Principal, run *Reconciliation, p models.Page) ([]*Mismatch, bool, error) {
	if err := canReadReconciliation(actor, run.StoreID); err != nil {
		return nil, false, err
	}
	q, err := models.StoreScope(s.DB.Conn(ctx).Model(&Mismatch{}).Where("reconciliation_id = ?", run.ID), actor, run.StoreID, "store_id")
	if err != nil {
		return nil, false, err
	}
	return models.Fetch[*Mismatch](q, models.ByID("id"), p)
}

// PaymentsByID are those of the payments the actor may see (the owner their
// own; cashiers and managers those of their stores; GROUP_ADMIN all), by
// id: one statement for a page of mismatches.
func (s *Service) PaymentsByID(ctx context.Context, actor *auth.Principal, ids []uuid.UUID) (map[uuid.UUID]*Payment, error) {
	var rows []*Payment
	if err := models.Scope(s.DB.Conn(ctx), actor, rolesRead, "").Where("id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[uuid.UUID]*Payment, len(rows))
	for _, p := range rows {
		out[p.ID] = p
	}
	return out, nil
}
