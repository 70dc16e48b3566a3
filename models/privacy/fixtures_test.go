package privacy_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/privacy"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testdb.CloseShared()
	os.Exit(code)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var serial atomic.Int64

// now is the tests' clock: Monday 2031-03-03 12:00 in Shanghai.
var now = time.Date(2031, 3, 3, 4, 0, 0, 0, time.UTC)

// person is an owner of the test's own with something in every table.
type person struct {
	id                   uuid.UUID
	phone                string
	who                  *auth.Principal
	store, staff         uuid.UUID
	vehicle, order, item uuid.UUID
	event, payment       uuid.UUID
	entries              []uuid.UUID
	lot                  uuid.UUID
	future, past         uuid.UUID // appointments
	notification         uuid.UUID
	messages             []uuid.UUID // the notification's SMS and a login code's
	refreshTokens        []uuid.UUID
}

func svc(db *models.DB) *privacy.Service {
	clock := func() time.Time { return now }
	// The capabilities below the care loop, as server/app.go wires them:
	// their export sections; the wallet refuses while it holds stored
	// value, booking cancels future appointments.
	ws := &workshop.Service{DB: db, Clock: clock}
	wl := &wallet.Service{DB: db, Clock: clock}
	bk := &booking.Service{DB: db, Clock: clock, Workshop: ws}
	return &privacy.Service{DB: db, Clock: clock,
		Sections: []privacy.Section{
			{Name: "repairOrders", Export: ws.ExportOwner},
			{Name: "wallet", Export: wl.ExportOwner},
			{Name: "appointments", Export: bk.ExportOwner},
		},
		Erasers: []privacy.Eraser{wl.EraseOwner, bk.EraseOwner}}
}

// newPerson creates an owner (consenting, WeChat-bound) with a car, a
// delivered order with an item, timeline and payment, a wallet with points
// and balanceFen left, a future and a past appointment, a notification and
// two sessions.
func newPerson(t testing.TB, db *models.DB, balanceFen int64) *person {
	t.Helper()
	ctx := context.Background()
	conn := db.Conn(ctx)
	n := serial.Add(1) + time.Now().UnixNano()%100000*1000
	p := &person{id: models.NewID(), phone: fmt.Sprintf("+86137%08d", n%100000000)}
	p.who = &auth.Principal{Kind: auth.KindOwner, ID: p.id}
	p.store = models.NewID()
	must(t, conn.Create(&models.Store{ID: p.store, Code: fmt.Sprintf("P%d", n), Name: "隐私测试店", City: "深圳", Timezone: "Asia/Shanghai", ServiceBays: 4, SlotMinutes: 60}).Error)
	p.staff = models.NewID()
	must(t, conn.Create(&models.Staff{ID: p.staff, Username: fmt.Sprintf("cashier.p%d", n), Name: "收银", PasswordHash: "x", Active: true}).Error)
	bd := models.Date{Year: 1985, Month: 3, Day: 12}
	gender, openid, unionid := "MALE", fmt.Sprintf("openid-%d", n), fmt.Sprintf("unionid-%d", n)
	must(t, conn.Create(&models.Owner{ID: p.id, Phone: p.phone, Name: "张三", Birthday: &bd, Gender: &gender, HomeStoreID: &p.store,
		WeChatOpenID: &openid, WeChatUnionID: &unionid, MarketingConsent: true, MarketingConsentAt: &now, CreatedAt: now, UpdatedAt: now}).Error)
	must(t, conn.Create(&privacy.ConsentEvent{ID: models.NewID(), OwnerID: p.id, Purpose: privacy.PurposeMarketing, Given: true, Source: privacy.ByOwner, CreatedAt: now}).Error)
	plate := fmt.Sprintf("粤B%05d", n%100000)
	p.vehicle = models.NewID()
	must(t, conn.Create(&models.Vehicle{ID: p.vehicle, OwnerID: p.id, VIN: fmt.Sprintf("PRIVACY%010d", n%10000000000), Plate: &plate,
		Brand: "丰田", Model: "凯美瑞", ModelYear: 2028, CreatedAt: now, UpdatedAt: now}).Error)
	delivered := now.AddDate(0, 0, -10)
	p.order = models.NewID()
	must(t, conn.Create(&workshop.RepairOrder{ID: p.order, Number: fmt.Sprintf("P%d-1", n), StoreID: p.store, VehicleID: p.vehicle, OwnerID: p.id,
		AdvisorID: p.staff, Kind: workshop.Maintenance, MileageIn: 1000, Status: workshop.Delivered, StatusChangedAt: delivered, Version: 1,
		TotalFen: 10000, PayableFen: 10000, SettledAt: &delivered, DeliveredAt: &delivered, CreatedAt: delivered, UpdatedAt: delivered}).Error)
	p.item = models.NewID()
	must(t, conn.Create(&workshop.Item{ID: p.item, OrderID: p.order, Kind: workshop.ItemKind("LABOR"), Description: "更换机油", QuantityMilli: 1000,
		UnitPriceFen: 10000, AmountFen: 10000, Approval: workshop.Approval("PRE_APPROVED"), CreatedBy: p.staff, CreatedAt: delivered}).Error)
	p.event = models.NewID()
	must(t, conn.Create(&workshop.Event{ID: p.event, OrderID: p.order, ToStatus: workshop.Delivered, ActorKind: "STAFF", ActorID: &p.staff, CreatedAt: delivered}).Error)

	// Wallet: topped up 200.00 + balanceFen, spent 200.00, earned 100 points.
	topUp := 20000 + balanceFen
	for i, e := range []wallet.Entry{
		{Kind: "TOP_UP", AmountFen: topUp, BalanceAfter: topUp},
		{Kind: "SPEND", AmountFen: -20000, BalanceAfter: balanceFen, SpendFen: 20000},
		{Kind: "POINTS_EARN", Points: 100, BalanceAfter: balanceFen, PointsAfter: 100},
	} {
		e.ID, e.OwnerID, e.IdempotencyKey, e.CreatedAt = models.NewID(), p.id, fmt.Sprintf("k%d", i), delivered
		must(t, conn.Create(&e).Error)
		p.entries = append(p.entries, e.ID)
	}
	must(t, conn.Model(&wallet.Account{}).Where("owner_id = ?", p.id).Updates(map[string]any{"balance_fen": balanceFen, "points": 100}).Error)
	p.lot = models.NewID()
	must(t, conn.Create(&wallet.PointsLot{ID: p.lot, OwnerID: p.id, EntryID: p.entries[2], Points: 100, Remaining: 100,
		ExpiresAt: delivered.AddDate(2, 0, 0), CreatedAt: delivered}).Error)
	p.payment = models.NewID()
	must(t, conn.Create(&workshop.Payment{ID: p.payment, OrderID: p.order, Method: workshop.Wallet, AmountFen: 10000, LedgerEntryID: &p.entries[1],
		CreatedBy: &p.staff, CreatedAt: delivered}).Error)

	// A future appointment holding a seat, and a past one.
	start := now.Add(48 * time.Hour)
	p.future = models.NewID()
	must(t, conn.Create(&booking.Appointment{ID: p.future, StoreID: p.store, VehicleID: p.vehicle, OwnerID: p.id, Kind: "MAINTENANCE",
		SlotStart: start, SlotEnd: start.Add(time.Hour), Status: booking.Booked, Source: booking.App, CreatedAt: now, UpdatedAt: now}).Error)
	must(t, conn.Exec(`INSERT INTO slot_bookings (store_id, kind, slot_start, booked) VALUES (?, 'MAINTENANCE', ?, 1)`, p.store, start).Error)
	p.past = models.NewID()
	must(t, conn.Create(&booking.Appointment{ID: p.past, StoreID: p.store, VehicleID: p.vehicle, OwnerID: p.id, Kind: "MAINTENANCE",
		SlotStart: delivered, SlotEnd: delivered.Add(time.Hour), Status: booking.Arrived, Source: booking.App, RepairOrderID: &p.order,
		CreatedAt: delivered, UpdatedAt: delivered}).Error)

	key := "test:" + p.id.String()
	p.notification = models.NewID()
	_, err := (&inbox.Service{DB: db}).CreateNotification(ctx, &inbox.Notification{ID: p.notification, OwnerID: p.id, Kind: "TEST", Title: "你好", DedupeKey: &key})
	must(t, err)
	ob, err := outbox.New(db, nil, outbox.Config{}, nil) // never started: the messages stay
	must(t, err)
	for _, m := range []outbox.Message{
		{OwnerID: &p.id, NotificationID: &p.notification, Kind: "TEST", DedupeKey: key},
		{Kind: outbox.KindLoginCode, DedupeKey: "code:" + key, Payload: map[string]string{"code": "123456"}},
	} {
		m.To = []outbox.Recipient{{Channel: outbox.ChannelSMS, Address: p.phone}}
		ds, err := ob.Enqueue(ctx, m)
		must(t, err)
		p.messages = append(p.messages, ds[0].ID)
	}
	for i := 0; i < 2; i++ {
		rt := models.RefreshToken{ID: models.NewID(), FamilyID: models.NewID(), SubjectKind: "OWNER", SubjectID: p.id,
			TokenHash: fmt.Sprintf("hash-%s-%d", p.id, i), ExpiresAt: now.AddDate(0, 1, 0), CreatedAt: now}
		must(t, conn.Create(&rt).Error)
		p.refreshTokens = append(p.refreshTokens, rt.ID)
	}
	return p
}
