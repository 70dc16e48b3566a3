package privacy_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/privacy"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/validate"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

func TestSchemaMatchesModels(t *testing.T) {
	t.Parallel()
	testdb.CheckSchema(t, testdb.Open(t), &privacy.ConsentEvent{})
}

var staff = &auth.Principal{Kind: auth.KindStaff, ID: uuid.New(), Roles: []auth.Role{auth.RoleGroupAdmin}}

func TestMarketingConsent(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	s := svc(db)
	p := newPerson(t, db, 0)
	got, err := s.Privacy(ctx, p.who, p.id)
	if err != nil || !got.MarketingConsent || len(got.History) != 1 || !got.History[0].Given {
		t.Fatalf("privacy = %+v, %v", got, err)
	}
	// Withdraw, withdraw again (no change), give.
	for i, step := range []struct {
		given   bool
		history int
	}{{false, 2}, {false, 2}, {true, 3}} {
		got, err := s.SetMarketingConsent(ctx, p.who, step.given)
		if err != nil || got.MarketingConsent != step.given || len(got.History) != step.history || got.MarketingConsentAt == nil {
			t.Fatalf("step %d: %+v, %v", i, got, err)
		}
		last := got.History[len(got.History)-1]
		if last.Given != step.given || last.Source != privacy.ByOwner || !last.CreatedAt.Equal(now) {
			t.Fatalf("step %d: last change %+v", i, last)
		}
	}
	var o models.Owner
	must(t, db.Conn(ctx).Where("id = ?", p.id).Take(&o).Error)
	if !o.MarketingConsent || o.MarketingConsentAt == nil || !o.MarketingConsentAt.Equal(now) {
		t.Fatalf("owner row: %v %v", o.MarketingConsent, o.MarketingConsentAt)
	}

	other := newPerson(t, db, 0)
	_, err = s.Privacy(ctx, other.who, p.id)
	testdb.WantCode(t, err, models.CodeNotFound, "")
	_, err = s.Privacy(ctx, staff, p.id)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	_, err = s.Privacy(ctx, nil, p.id)
	testdb.WantCode(t, err, models.CodeUnauthenticated, "")
	_, err = s.SetMarketingConsent(ctx, staff, false)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	_, err = s.SetMarketingConsent(ctx, nil, false)
	testdb.WantCode(t, err, models.CodeUnauthenticated, "")
}

// TestConsentConcurrent: the same change sent many times at once is
// recorded once.
func TestConsentConcurrent(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	p := newPerson(t, db, 0)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := svc(db).SetMarketingConsent(context.Background(), p.who, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := svc(db).Privacy(context.Background(), p.who, p.id)
	if err != nil || got.MarketingConsent || len(got.History) != 2 {
		t.Fatalf("after 10 withdrawals: %+v, %v", got, err)
	}
}

// export decodes an owner's export.
func export(t testing.TB, s *privacy.Service, who *auth.Principal) map[string]any {
	t.Helper()
	ex, err := s.Export(context.Background(), who)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	must(t, json.Unmarshal(ex.JSON, &doc))
	return doc
}

func TestExportHoldsEverything(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	p, other := newPerson(t, db, 0), newPerson(t, db, 0)
	s := svc(db)
	s.Sections = append(s.Sections, privacy.Section{Name: "events", Export: func(_ context.Context, id uuid.UUID) (any, error) {
		return []string{"registration of " + id.String()}, nil
	}})
	doc := export(t, s, p.who)
	raw, _ := json.Marshal(doc)
	text := string(raw)
	if doc["format"] != privacy.ExportFormat || doc["ownerId"] != p.id.String() || doc["generatedAt"] == nil {
		t.Fatalf("header: %v %v %v", doc["format"], doc["ownerId"], doc["generatedAt"])
	}
	sections, _ := doc["sections"].(map[string]any)
	var names []string
	for n := range sections {
		names = append(names, n)
	}
	sort.Strings(names)
	want := []string{"appointments", "consent", "events", "messages", "notificationSettings", "notifications", "owner", "repairOrders", "sessions", "vehicles", "wallet"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("sections %v; want %v", names, want)
	}
	// Every row of the person's is there, by id; the other owner's are not.
	ids := []uuid.UUID{p.id, p.vehicle, p.order, p.item, p.event, p.payment, p.lot, p.future, p.past, p.notification, p.refreshTokens[0], p.refreshTokens[1],
		p.messages[0]}
	ids = append(ids, p.entries...)
	for _, id := range ids {
		if !strings.Contains(text, id.String()) {
			t.Errorf("export lacks %s", id)
		}
	}
	for _, s := range []string{p.phone, "张三", "1985-03-12", "openid-", "registration of " + p.id.String()} {
		if !strings.Contains(text, s) {
			t.Errorf("export lacks %q", s)
		}
	}
	for _, id := range []uuid.UUID{other.id, other.vehicle, other.order, other.notification} {
		if strings.Contains(text, id.String()) {
			t.Errorf("export holds another owner's %s", id)
		}
	}
	if strings.Contains(text, "hash-") || strings.Contains(strings.ToLower(text), "tokenhash") {
		t.Error("export holds refresh-token hashes")
	}
	orders := sections["repairOrders"].([]any)
	if len(orders) != 1 || len(orders[0].(map[string]any)["items"].([]any)) != 1 || len(orders[0].(map[string]any)["timeline"].([]any)) != 1 ||
		len(orders[0].(map[string]any)["payments"].([]any)) != 1 {
		t.Fatalf("repair orders: %v", orders)
	}
	w := sections["wallet"].(map[string]any)
	if w["account"] == nil || len(w["ledger"].([]any)) != 3 || len(w["pointsLots"].([]any)) != 1 {
		t.Fatalf("wallet: %v", w)
	}

	_, err := s.Export(context.Background(), staff)
	testdb.WantCode(t, err, models.CodeForbidden, "")
	_, err = s.Export(context.Background(), nil)
	testdb.WantCode(t, err, models.CodeUnauthenticated, "")
}

// TestExportCoversEveryOwnerTable: every table that refers to an owner is
// in a section of the export. A capability adding such a table adds a
// Section for it (and names the table here).
func TestExportCoversEveryOwnerTable(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	covered := map[string]string{
		"owners": "owner", "consent_events": "consent", "vehicles": "vehicles", "repair_orders": "repairOrders",
		"membership_accounts": "wallet", "ledger_entries": "wallet", "points_lots": "wallet", "appointments": "appointments",
		"notifications": "notifications", "refresh_tokens": "sessions", "deliveries": "messages",
		"notification_settings": "notificationSettings",
		// Sections of the capabilities above privacy, wired in server/app.go
		// (server/privacy_test.go checks they are in the document).
		"registrations": "eventRegistrations", "surveys": "care", "complaints": "care", "follow_up_tasks": "care",
		"assistance_requests": "roadsideAssistance", "devices": "devices", "payments": "onlinePayments",
		"wechat_subscriptions": "wechatSubscriptions", "coupons": "coupons",
		"referral_codes": "referrals", "referral_devices": "referrals",
		"owner_packages": "servicePackages",
		"owner_segments": "crm", "campaign_invitations": "crm",
		// The deletion mark itself: only ever present once there is
		// nothing left to export.
		"deleted_owners": "",
	}
	m := db.Conn(context.Background()).Migrator()
	tables, err := m.GetTables()
	must(t, err)
	for _, table := range tables {
		if strings.HasPrefix(table, "goose") || strings.HasPrefix(table, "sqlite_") {
			continue
		}
		cols, err := m.ColumnTypes(table)
		must(t, err)
		refers := table == "owners"
		for _, c := range cols {
			if c.Name() == "owner_id" || (c.Name() == "subject_id" && table == "refresh_tokens") {
				refers = true
			}
		}
		if _, ok := covered[table]; refers && !ok {
			t.Errorf("table %s refers to owners but no export section covers it", table)
		}
	}
}

func TestDeleteAccount(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	p := newPerson(t, db, 0)
	other := newPerson(t, db, 0)
	var erased []uuid.UUID
	s := svc(db)
	s.Erasers = append(s.Erasers, func(ctx context.Context, id uuid.UUID) error {
		if !models.InTx(ctx) {
			t.Error("eraser outside the deletion's transaction")
		}
		erased = append(erased, id)
		return nil
	})
	testdb.WantCode(t, s.DeleteAccount(ctx, p.who, false), models.CodeInvalidArgument, "confirm")
	testdb.WantCode(t, s.DeleteAccount(ctx, staff, true), models.CodeForbidden, "")
	testdb.WantCode(t, s.DeleteAccount(ctx, nil, true), models.CodeUnauthenticated, "")
	must(t, s.DeleteAccount(ctx, p.who, true))
	if len(erased) != 1 || erased[0] != p.id {
		t.Fatalf("erasers ran for %v", erased)
	}
	conn := db.Conn(ctx)

	var o models.Owner
	must(t, conn.Where("id = ?", p.id).Take(&o).Error)
	if !strings.HasPrefix(o.Phone, privacy.PlaceholderPrefix) || len(o.Phone) != len(p.phone) || o.Name != "" || o.Birthday != nil ||
		o.Gender != nil || o.WeChatOpenID != nil || o.WeChatUnionID != nil || o.HomeStoreID != nil || o.MarketingConsent {
		t.Fatalf("not anonymised: %+v", o)
	}
	if _, err := validate.NormalizePhone(o.Phone); err == nil {
		t.Fatalf("placeholder %s is a phone one could sign in with", o.Phone)
	}
	if deleted, err := s.Deleted(ctx, p.id); err != nil || !deleted {
		t.Fatalf("Deleted = %v, %v", deleted, err)
	}
	if deleted, err := s.Deleted(ctx, other.id); err != nil || deleted {
		t.Fatalf("other Deleted = %v, %v", deleted, err)
	}
	// Signed out everywhere.
	var live int64
	must(t, conn.Model(&models.RefreshToken{}).Where("subject_id = ? AND revoked_at IS NULL", p.id).Count(&live).Error)
	if live != 0 {
		t.Fatalf("%d refresh tokens still live", live)
	}
	// The future appointment is cancelled and its seat given back; the
	// past one stays.
	var future, past booking.Appointment
	must(t, conn.Where("id = ?", p.future).Take(&future).Error)
	must(t, conn.Where("id = ?", p.past).Take(&past).Error)
	if future.Status != booking.Cancelled || future.CancelledAt == nil || past.Status != booking.Arrived {
		t.Fatalf("appointments: future %s, past %s", future.Status, past.Status)
	}
	var seats []int
	must(t, conn.Raw(`SELECT booked FROM slot_bookings WHERE store_id = ?`, p.store).Scan(&seats).Error)
	if len(seats) != 1 || seats[0] != 0 {
		t.Fatalf("seats booked after cancel: %v", seats)
	}
	// Inbox gone; ledger, lots, orders and the car kept.
	count := func(model any, cond string, args ...any) int64 {
		var n int64
		must(t, conn.Model(model).Where(cond, args...).Count(&n).Error)
		return n
	}
	if n := count(&inbox.Notification{}, "owner_id = ?", p.id); n != 0 {
		t.Fatalf("%d notifications left", n)
	}
	if n := count(&outbox.Delivery{}, "id IN ?", p.messages); n != 0 {
		t.Fatalf("%d messages left", n)
	}
	if count(&wallet.Entry{}, "owner_id = ?", p.id) != 3 || count(&wallet.PointsLot{}, "owner_id = ?", p.id) != 1 ||
		count(&workshop.RepairOrder{}, "owner_id = ?", p.id) != 1 || count(&workshop.Item{}, "order_id = ?", p.order) != 1 ||
		count(&models.Vehicle{}, "owner_id = ?", p.id) != 1 {
		t.Fatal("kept records were removed")
	}
	// Consent withdrawn, on record.
	var evs []privacy.ConsentEvent
	must(t, conn.Where("owner_id = ?", p.id).Order("id").Find(&evs).Error)
	if len(evs) != 2 || evs[1].Given || evs[1].Source != privacy.ByDeletion {
		t.Fatalf("consent history %+v", evs)
	}
	// The other owner is untouched.
	o = models.Owner{}
	must(t, conn.Where("id = ?", other.id).Take(&o).Error)
	if o.Phone != other.phone || o.Name != "张三" || count(&inbox.Notification{}, "owner_id = ?", other.id) != 1 {
		t.Fatalf("other owner changed: %+v", o)
	}
	// Gone for every owner operation here.
	testdb.WantCode(t, s.DeleteAccount(ctx, p.who, true), models.CodeNotFound, "")
	_, err := s.Export(ctx, p.who)
	testdb.WantCode(t, err, models.CodeNotFound, "")
	_, err = s.SetMarketingConsent(ctx, p.who, true)
	testdb.WantCode(t, err, models.CodeNotFound, "")
	_, err = s.Privacy(ctx, p.who, p.id)
	testdb.WantCode(t, err, models.CodeNotFound, "")
	o = models.Owner{}
	must(t, conn.Where("id = ?", p.id).Take(&o).Error)
	if o.MarketingConsent {
		t.Fatal("a deleted owner gave consent")
	}
}

// TestDeleteRefusedWithBalance: stored value must be refunded first;
// nothing changes.
func TestDeleteRefusedWithBalance(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	p := newPerson(t, db, 123)
	err := svc(db).DeleteAccount(ctx, p.who, true)
	testdb.WantCode(t, err, wallet.CodeWalletNotEmpty, "")
	if me, _ := models.AsError(err); !strings.Contains(me.Message("zh"), "1.23") {
		t.Errorf("message %q does not say the balance", me.Message("zh"))
	}
	var o models.Owner
	must(t, db.Conn(ctx).Where("id = ?", p.id).Take(&o).Error)
	if o.Phone != p.phone || o.Name != "张三" || o.WeChatOpenID == nil {
		t.Fatalf("changed: %+v", o)
	}
	if deleted, _ := svc(db).Deleted(ctx, p.id); deleted {
		t.Fatal("marked deleted")
	}
	var live int64
	must(t, db.Conn(ctx).Model(&models.RefreshToken{}).Where("subject_id = ? AND revoked_at IS NULL", p.id).Count(&live).Error)
	var status string
	must(t, db.Conn(ctx).Raw(`SELECT status FROM appointments WHERE id = ?`, p.future).Scan(&status).Error)
	if live != 2 || status != "BOOKED" {
		t.Fatalf("sessions %d, appointment %s", live, status)
	}
}

// TestEraserFailureAbortsDeletion: an eraser's error leaves everything as
// it was.
func TestEraserFailureAbortsDeletion(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	ctx := context.Background()
	p := newPerson(t, db, 0)
	s := svc(db)
	boom := errors.New("boom")
	s.Erasers = []privacy.Eraser{func(context.Context, uuid.UUID) error { return boom }}
	if err := s.DeleteAccount(ctx, p.who, true); !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	var o models.Owner
	must(t, db.Conn(ctx).Where("id = ?", p.id).Take(&o).Error)
	if o.Phone != p.phone {
		t.Fatal("anonymised despite the failure")
	}
	if deleted, _ := s.Deleted(ctx, p.id); deleted {
		t.Fatal("marked deleted despite the failure")
	}
}

// TestDeleteConcurrent: of many deletions of one account at once, exactly
// one deletes it; seats are given back once.
func TestDeleteConcurrent(t *testing.T) {
	t.Parallel()
	db := testdb.Shared(t, nil)
	p := newPerson(t, db, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]int{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := svc(db).DeleteAccount(context.Background(), p.who, true)
			code := "OK"
			if me, ok := models.AsError(err); ok {
				code = string(me.Code)
			} else if err != nil {
				code = err.Error()
			}
			mu.Lock()
			outcomes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if outcomes["OK"] != 1 || outcomes["NOT_FOUND"] != 7 {
		t.Fatalf("outcomes %v", outcomes)
	}
	var seats []int
	must(t, db.Conn(context.Background()).Raw(`SELECT booked FROM slot_bookings WHERE store_id = ?`, p.store).Scan(&seats).Error)
	if len(seats) != 1 || seats[0] != 0 {
		t.Fatalf("seats %v", seats)
	}
}
