package workshop_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// card finds an order's card on a board and the column it is in.
func card(b *workshop.Board, id uuid.UUID) (*workshop.Card, workshop.Status) {
	for _, col := range b.Columns {
		for i := range col.Cards {
			if col.Cards[i].OrderID == id {
				return &col.Cards[i], col.Status
			}
		}
	}
	return nil, ""
}

func TestBoard(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	// Mid-morning in the store's zone, whenever the test runs: the board
	// shows what was delivered today, and the two hours below must not
	// cross midnight.
	shanghai := models.ChinaTime
	year, month, day := e.clock.Now().In(shanghai).Date()
	e.clock.Set(time.Date(year, month, day, 10, 0, 0, 0, shanghai).UTC())
	ctx := e.ctx
	foreman := e.who("foreman.sz01")
	ownerA, carA := e.customer("欧阳娜娜")
	_, carB := e.customer("王大锤")
	_, carC := e.customer("Tom Smith")
	promised := e.clock.Now().Add(90 * time.Minute)
	a := e.open(carA, func(in *workshop.OpenInput) { in.PromisedAt = &promised })
	tech := e.who("technician2.sz01")
	a, err := e.svc.Assign(ctx, foreman, a.ID, &tech.ID, ptr("2号工位"), nil)
	must(t, err)
	a = e.move(a, workshop.InProgress, "")
	b := e.open(carB)
	b = e.move(b, workshop.InProgress, "")
	b = e.move(b, workshop.QualityCheck, "")
	b = e.move(b, workshop.ReadyForPickup, "")
	_, err = e.svc.Settle(ctx, e.who("cashier.sz01"), workshop.SettleInput{OrderID: b.ID, Payments: []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: 59160}}})
	must(t, err)
	b = e.move(b, workshop.Delivered, "")
	c := e.open(carC)
	_, carD := e.customer("取消了")
	d := e.open(carD)
	d = e.move(d, workshop.Cancelled, "客户取消")
	e.clock.Advance(2 * time.Hour)

	board, err := e.svc.Board(ctx, foreman, e.sz.ID)
	must(t, err)
	version, err := e.svc.BoardVersion(ctx, e.sz.ID)
	must(t, err)
	if board.Version != version || board.StoreCode != "SZ01" || board.Store.ID != e.sz.ID || len(board.Store.Hours) != 7 || !board.GeneratedAt.Equal(e.clock.Now()) {
		t.Fatalf("board header %+v (version %d)", board, version)
	}
	if len(board.Columns) != 9 {
		t.Fatalf("%d columns", len(board.Columns))
	}
	for i, col := range board.Columns {
		if col.Status != workshop.BoardColumns[i] || col.Cards == nil {
			t.Errorf("column %d = %s (cards %v)", i, col.Status, col.Cards)
		}
		for j := 1; j < len(col.Cards); j++ {
			if col.Cards[j].StatusChangedAt.Before(col.Cards[j-1].StatusChangedAt) {
				t.Errorf("column %s not longest-waiting first", col.Status)
			}
		}
	}
	ca, st := card(board, a.ID)
	if ca == nil || st != workshop.InProgress {
		t.Fatalf("order a on the board: %v in %s", ca, st)
	}
	wantPlate := "粤E·***" + (*carA.Plate)[len(*carA.Plate)-2:]
	if ca.MaskedPlate != wantPlate || ca.OwnerSurname != "欧" || ca.Model != "Camry" || ca.AdvisorName != "李明" ||
		ca.TechnicianName == nil || *ca.TechnicianName != "刘海涛" || *ca.Bay != "2号工位" || !ca.Overdue ||
		ca.MinutesInStatus != 120 || !ca.PromisedAt.Equal(promised) || ca.Number != a.Number {
		t.Errorf("card %+v", ca)
	}
	if strings.Contains(ca.OwnerSurname, ownerA.Name[3:]) {
		t.Errorf("the board shows more than the surname: %q", ca.OwnerSurname)
	}
	raw, err := json.Marshal(board)
	must(t, err)
	for _, secret := range []string{*carA.Plate, ownerA.Name, carA.VIN, ownerA.Phone} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the board's JSON contains %q", secret)
		}
	}
	if cb, st := card(board, b.ID); cb == nil || st != workshop.Delivered || cb.Overdue {
		t.Errorf("delivered today: %v in %s", cb, st)
	}
	if cd, _ := card(board, d.ID); cd != nil {
		t.Error("a cancelled order is on the board")
	}
	if cc, st := card(board, c.ID); cc == nil || st != workshop.CheckedIn || cc.OwnerSurname != "Smith" || cc.TechnicianName != nil || cc.Bay != nil || cc.Overdue {
		t.Errorf("checked-in card %+v in %s", cc, st)
	}
	other, err := e.svc.Board(ctx, e.who("advisor.gz01"), e.gz.ID)
	must(t, err)
	if cx, _ := card(other, a.ID); cx != nil {
		t.Error("an SZ01 order is on GZ01's board")
	}

	// A change moves the version at once.
	a = e.move(a, workshop.QualityCheck, "")
	if v, _ := e.svc.BoardVersion(ctx, e.sz.ID); v != version+1 {
		t.Errorf("version %d after a move; want %d", v, version+1)
	}
	board, err = e.svc.Board(ctx, foreman, e.sz.ID)
	must(t, err)
	if ca, st := card(board, a.ID); st != workshop.QualityCheck || ca.MinutesInStatus != 0 {
		t.Errorf("after the move: %s, %d min", st, ca.MinutesInStatus)
	}
	// Ready is not overdue.
	a = e.move(a, workshop.ReadyForPickup, "")
	board, _ = e.svc.Board(ctx, foreman, e.sz.ID)
	if ca, _ := card(board, a.ID); ca.Overdue {
		t.Error("a car ready for pickup is overdue")
	}
	// Tomorrow the delivered order is gone, the open one stays.
	e.clock.Advance(24 * time.Hour)
	board, _ = e.svc.Board(ctx, foreman, e.sz.ID)
	if cb, _ := card(board, b.ID); cb != nil {
		t.Error("yesterday's delivery is still on the board")
	}
	if ca, _ := card(board, a.ID); ca == nil {
		t.Error("an open order left the board")
	}
}

// The board takes the same number of statements for 3 orders as for 30.
func TestBoardStatementsConstant(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	store := &models.Store{ID: models.NewID(), Code: "FS01", Name: "佛山店", City: "佛山", Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}
	must(t, e.db.Conn(e.ctx).Omit("Hours").Create(store).Error)
	advisor := e.person("advisor.fs01", []uuid.UUID{store.ID}, auth.RoleAdvisor)
	tech := e.person("tech.fs01", []uuid.UUID{store.ID}, auth.RoleTechnician)
	open := func(n int) {
		for range n {
			_, car := e.customer("佛山客户")
			o, err := e.svc.Open(e.ctx, advisor, workshop.OpenInput{StoreID: store.ID, Vehicle: *car.Plate, MileageIn: 10000, Kind: workshop.Repair})
			must(t, err)
			_, err = e.svc.Assign(e.ctx, advisor, o.ID, &tech.ID, ptr(fmt.Sprintf("%d号", n)), nil)
			must(t, err)
		}
	}
	render := func(want int) int64 {
		var b *workshop.Board
		var err error
		n := e.statements(func() { b, err = e.svc.Board(e.ctx, advisor, store.ID) })
		must(t, err)
		if got := len(b.Columns[0].Cards); got != want {
			t.Fatalf("%d cards; want %d", got, want)
		}
		return n
	}
	if v, err := e.svc.BoardVersion(e.ctx, store.ID); err != nil || v != 0 {
		t.Fatalf("version of a new store = %d, %v", v, err)
	}
	empty := render(0)
	open(3)
	three := render(3)
	open(27)
	thirty := render(30)
	if three != thirty || three != empty || three > 4 {
		t.Fatalf("board statements: %d empty, %d for 3 orders, %d for 30; want the same, at most 4", empty, three, thirty)
	}
	if n := e.statements(func() { _, _ = e.svc.BoardVersion(e.ctx, store.ID) }); n != 1 {
		t.Errorf("BoardVersion ran %d statements", n)
	}
}

func TestScreenTokens(t *testing.T) {
	t.Parallel()
	e := isolatedEnv(t)
	ctx := e.ctx
	manager, gzManager := e.who("manager.sz01"), e.who("manager.gz01")

	_, err := e.svc.IssueScreenToken(ctx, e.who("advisor.sz01"), e.sz.ID, "车间大屏")
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.IssueScreenToken(ctx, gzManager, e.sz.ID, "车间大屏")
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.IssueScreenToken(ctx, manager, e.sz.ID, "  ")
	wantCode(t, err, models.CodeInvalidArgument, "name")
	_, err = e.svc.IssueScreenToken(ctx, e.who("admin"), uuid.New(), "车间大屏")
	wantCode(t, err, models.CodeNotFound, "storeId")
	_, err = e.svc.IssueScreenToken(ctx, nil, e.sz.ID, "车间大屏")
	wantCode(t, err, models.CodeUnauthenticated, "")

	tok, err := e.svc.IssueScreenToken(ctx, manager, e.sz.ID, " 1号车间电视 ")
	must(t, err)
	if tok.Name != "1号车间电视" || tok.StoreID != e.sz.ID || tok.CreatedBy != manager.ID || tok.RevokedAt != nil || tok.ID == uuid.Nil {
		t.Fatalf("issued %+v", tok)
	}
	tok2, err := e.svc.IssueScreenToken(ctx, e.who("admin"), e.sz.ID, "接待区大屏")
	must(t, err)
	list, err := e.svc.ScreenTokens(ctx, manager, e.sz.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != tok.ID || list[1].ID != tok2.ID {
		t.Fatalf("tokens %+v", list)
	}
	_, err = e.svc.ScreenTokens(ctx, gzManager, e.sz.ID)
	wantCode(t, err, models.CodeForbidden, "")
	if l, err := e.svc.ScreenTokens(ctx, gzManager, e.gz.ID); err != nil || len(l) != 0 {
		t.Fatalf("GZ01 tokens %v, %v", l, err)
	}

	// A poll: one statement, the board's version when the token is live.
	want, err := e.svc.BoardVersion(ctx, e.sz.ID)
	must(t, err)
	var v int64
	var ok bool
	n := e.statements(func() { v, ok, err = e.svc.ScreenBoardVersion(ctx, tok.ID, e.sz.ID) })
	must(t, err)
	if n != 1 || !ok || v != want || v == 0 {
		t.Fatalf("ScreenBoardVersion = %d, %v in %d statements; want %d, true in 1", v, ok, n, want)
	}
	for name, args := range map[string][2]uuid.UUID{
		"other store":   {tok.ID, e.gz.ID},
		"unknown token": {uuid.New(), e.sz.ID},
	} {
		if v, ok, err := e.svc.ScreenBoardVersion(ctx, args[0], args[1]); err != nil || ok || v != 0 {
			t.Errorf("%s: %d, %v, %v", name, v, ok, err)
		}
	}

	_, err = e.svc.RevokeScreenToken(ctx, gzManager, tok.ID)
	wantCode(t, err, models.CodeNotFound, "")
	_, err = e.svc.RevokeScreenToken(ctx, e.who("advisor.sz01"), tok.ID)
	wantCode(t, err, models.CodeForbidden, "")
	_, err = e.svc.RevokeScreenToken(ctx, manager, uuid.New())
	wantCode(t, err, models.CodeNotFound, "")
	revoked, err := e.svc.RevokeScreenToken(ctx, manager, tok.ID)
	must(t, err)
	if revoked.RevokedAt == nil {
		t.Fatal("not revoked")
	}
	e.clock.Advance(time.Hour)
	again, err := e.svc.RevokeScreenToken(ctx, e.who("admin"), tok.ID)
	must(t, err)
	if !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Errorf("second revoke moved the time: %v -> %v", revoked.RevokedAt, again.RevokedAt)
	}
	if _, ok, err := e.svc.ScreenBoardVersion(ctx, tok.ID, e.sz.ID); err != nil || ok {
		t.Errorf("revoked token still polls: %v, %v", ok, err)
	}
	if _, ok, _ := e.svc.ScreenBoardVersion(ctx, tok2.ID, e.sz.ID); !ok {
		t.Error("the other token was revoked too")
	}

	// A store without a board row answers version 0.
	store := &models.Store{ID: models.NewID(), Code: "ZH01", Name: "珠海店", City: "珠海", Timezone: "Asia/Shanghai", ServiceBays: 2, SlotMinutes: 60}
	must(t, e.db.Conn(ctx).Omit("Hours").Create(store).Error)
	tok3, err := e.svc.IssueScreenToken(ctx, e.who("admin"), store.ID, "大屏")
	must(t, err)
	if v, ok, err := e.svc.ScreenBoardVersion(ctx, tok3.ID, store.ID); err != nil || !ok || v != 0 {
		t.Errorf("new store: %d, %v, %v", v, ok, err)
	}

	s, err := e.svc.StoreByCode(ctx, "SZ01")
	must(t, err)
	if s.ID != e.sz.ID || len(s.Hours) != 7 || s.Hours[0].Weekday != 0 {
		t.Errorf("StoreByCode = %+v", s)
	}
	_, err = e.svc.StoreByCode(ctx, "XX99")
	wantCode(t, err, models.CodeNotFound, "")
}
