package workshop_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The repair order state machine, spelled out: every pair of
// statuses is either here (allowed) or refused.
var allowedMoves = map[workshop.Status][]workshop.Status{
	workshop.CheckedIn:        {workshop.Diagnosing, workshop.InProgress, workshop.Cancelled},
	workshop.Diagnosing:       {workshop.InProgress, workshop.AwaitingApproval, workshop.Cancelled},
	workshop.InProgress:       {workshop.WaitingParts, workshop.AwaitingApproval, workshop.QualityCheck, workshop.Cancelled},
	workshop.WaitingParts:     {workshop.InProgress, workshop.Cancelled},
	workshop.AwaitingApproval: {workshop.Cancelled}, // left by the owner's decisions only
	workshop.QualityCheck:     {workshop.Washing, workshop.ReadyForPickup, workshop.InProgress, workshop.Cancelled},
	workshop.Washing:          {workshop.ReadyForPickup, workshop.Cancelled},
	workshop.ReadyForPickup:   {workshop.Delivered, workshop.Cancelled},
	workshop.Delivered:        nil,
	workshop.Cancelled:        nil,
}

func TestStateMachine(t *testing.T) {
	t.Parallel()
	if len(workshop.Statuses) != 10 || len(workshop.BoardColumns) != 9 || workshop.BoardColumns[8] != workshop.Delivered {
		t.Fatalf("statuses %v, columns %v", workshop.Statuses, workshop.BoardColumns)
	}
	allowed := 0
	for _, from := range workshop.Statuses {
		for _, to := range workshop.Statuses {
			want := false
			for _, s := range allowedMoves[from] {
				want = want || s == to
			}
			if got := workshop.CanMove(from, to); got != want {
				t.Errorf("CanMove(%s, %s) = %v; want %v", from, to, got, want)
			}
			note := "客户要求"
			err := workshop.CheckMove(from, to, note)
			switch {
			case want:
				allowed++
				if err != nil {
					t.Errorf("CheckMove(%s, %s, note) = %v", from, to, err)
				}
				if workshop.NeedsReason(from, to) {
					wantCode(t, workshop.CheckMove(from, to, "  \n "), workshop.CodeReasonRequired, "note")
				} else if err := workshop.CheckMove(from, to, ""); err != nil {
					t.Errorf("CheckMove(%s, %s) without note = %v", from, to, err)
				}
			case from.Closed():
				wantCode(t, err, workshop.CodeOrderClosed, "")
			default:
				wantCode(t, err, workshop.CodeInvalidTransition, "")
			}
		}
	}
	if allowed != 21 {
		t.Errorf("%d allowed moves; want 21", allowed)
	}
	// Exactly QC failure and cancellation need a reason.
	for _, from := range workshop.Statuses {
		for _, to := range workshop.Statuses {
			want := to == workshop.Cancelled || (from == workshop.QualityCheck && to == workshop.InProgress)
			if workshop.NeedsReason(from, to) != want {
				t.Errorf("NeedsReason(%s, %s) = %v", from, to, !want)
			}
		}
	}
	for _, s := range workshop.Statuses {
		want := s == workshop.Diagnosing || s == workshop.InProgress || s == workshop.AwaitingApproval
		if workshop.CanAwaitApproval(s) != want {
			t.Errorf("CanAwaitApproval(%s) = %v", s, !want)
		}
	}
	if workshop.Status("PARKED").Valid() || workshop.CanMove("PARKED", workshop.Cancelled) {
		t.Error("an unknown status is valid")
	}
}

func TestItemAmount(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		milli int
		unit  int64
		want  int64
	}{
		{1000, 18000, 18000},
		{1500, 18033, 27050}, // 27049.5 rounds half up
		{1500, 18031, 27047}, // 27046.5 rounds up too
		{333, 100, 33},       // 33.3
		{335, 100, 34},       // 33.5
		{1, 499, 0},          // 0.499
		{1, 500, 1},          // 0.5
		{2500, 1, 3},         // 2.5
		{4200, 9800, 41160},
		{1000, 0, 0},
		{1_000_000, 10_000_000, 10_000_000_000}, // the limits: no overflow
	} {
		if got := workshop.ItemAmount(c.milli, c.unit); got != c.want {
			t.Errorf("ItemAmount(%d, %d) = %d; want %d", c.milli, c.unit, got, c.want)
		}
	}
}

func TestTotals(t *testing.T) {
	t.Parallel()
	item := func(a workshop.Approval, amount int64, warranty bool) *workshop.Item {
		return &workshop.Item{Approval: a, AmountFen: amount, Warranty: warranty}
	}
	items := []*workshop.Item{
		item(workshop.PreApproved, 41160, false),
		item(workshop.PreApproved, 18000, true),
		item(workshop.Approved, 68000, false),
		item(workshop.Approved, 5000, true),
		item(workshop.Pending, 28800, false),
		item(workshop.Declined, 19600, false),
		item(workshop.Declined, 100, true),
	}
	pays := []*workshop.Payment{{AmountFen: 80000}, {AmountFen: 29160}}
	got := workshop.Totals(items, pays)
	want := workshop.TotalsView{TotalFen: 132160, WarrantyFen: 23000, PayableFen: 109160, PaidFen: 109160, PendingFen: 28800, DeclinedFen: 19700}
	if got != want {
		t.Fatalf("Totals = %+v; want %+v", got, want)
	}
	if z := workshop.Totals(nil, nil); z != (workshop.TotalsView{}) {
		t.Errorf("Totals of nothing = %+v", z)
	}
	warrantyOnly := workshop.Totals([]*workshop.Item{item(workshop.PreApproved, 352000, true)}, nil)
	if warrantyOnly.PayableFen != 0 || warrantyOnly.TotalFen != 352000 {
		t.Errorf("warranty-only totals = %+v", warrantyOnly)
	}
}

func TestOverdueAndMinutesInStatus(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	for _, c := range []struct {
		status   workshop.Status
		promised *time.Time
		want     bool
	}{
		{workshop.InProgress, &past, true},
		{workshop.CheckedIn, &past, true},
		{workshop.Washing, &past, true},
		{workshop.InProgress, &future, false},
		{workshop.InProgress, nil, false},
		{workshop.ReadyForPickup, &past, false},
		{workshop.Delivered, &past, false},
		{workshop.Cancelled, &past, false},
	} {
		o := &workshop.RepairOrder{Status: c.status, PromisedAt: c.promised}
		if got := workshop.Overdue(o, now); got != c.want {
			t.Errorf("Overdue(%s, promised %v) = %v", c.status, c.promised, got)
		}
	}
	o := &workshop.RepairOrder{StatusChangedAt: now.Add(-95*time.Minute - 59*time.Second)}
	if got := workshop.MinutesInStatus(o, now); got != 95 {
		t.Errorf("MinutesInStatus = %d; want 95", got)
	}
	o.StatusChangedAt = now.Add(time.Minute) // clock skew
	if got := workshop.MinutesInStatus(o, now); got != 0 {
		t.Errorf("MinutesInStatus in the future = %d; want 0", got)
	}
}

func TestOrderLink(t *testing.T) {
	t.Parallel()
	id := uuid.MustParse("0193a8f0-0000-7000-8000-000000000001")
	if got := workshop.OrderLink(id); got != models.Link("RepairOrder:"+id.String()) {
		t.Fatalf("OrderLink = %q", got)
	}
}

func TestValidEnums(t *testing.T) {
	t.Parallel()
	for _, k := range []workshop.Kind{workshop.Maintenance, workshop.Repair, workshop.Warranty, workshop.Accident, workshop.BodyPaint, workshop.Detailing} {
		if !k.Valid() {
			t.Errorf("%s invalid", k)
		}
	}
	for _, m := range []workshop.PaymentMethod{workshop.Cash, workshop.BankCard, workshop.WeChatPay, workshop.Alipay, workshop.Wallet, workshop.Points} {
		if !m.Valid() {
			t.Errorf("%s invalid", m)
		}
	}
	if workshop.Kind("TUNING").Valid() || workshop.ItemKind("SERVICE").Valid() || workshop.PaymentMethod("CHEQUE").Valid() {
		t.Error("unknown enum value is valid")
	}
	var _ models.Code = workshop.CodeInvalidTransition
}
