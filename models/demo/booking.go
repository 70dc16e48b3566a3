package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The demo booking calendar. Both stores publish
// seats per kind (SZ01 has a bigger paint shop than GZ01, which has none),
// both close for their annual stocktaking in twelve days, GZ01's detailing
// bay is refitted in five days, and SZ01 puts on extra maintenance
// technicians the day after tomorrow. Owners have booked the coming days
// through the app, the mini-program and by phone; 张伟, the demo owner,
// has his bZ4X booked for maintenance in a week. Most cars that came to the
// workshop in opening hours had booked (their repair orders link their
// appointments), and over the last two weeks some owners cancelled or did
// not come, so the managers' daily figures have something to show.

// Seats per slot of each kind, by store.
var demoSeats = map[string][]booking.SeatsInput{
	"SZ01": {{Kind: "MAINTENANCE", Seats: 4}, {Kind: "REPAIR", Seats: 2}, {Kind: "WARRANTY", Seats: 1},
		{Kind: "ACCIDENT", Seats: 1}, {Kind: "BODY_PAINT", Seats: 1}, {Kind: "DETAILING", Seats: 2}},
	"GZ01": {{Kind: "MAINTENANCE", Seats: 3}, {Kind: "REPAIR", Seats: 2}, {Kind: "WARRANTY", Seats: 1},
		{Kind: "ACCIDENT", Seats: 1}, {Kind: "BODY_PAINT", Seats: 0}, {Kind: "DETAILING", Seats: 1}},
}

// StocktakingInDays is when both stores close for the day (stocktaking).
const StocktakingInDays = 12

// demoOverride is a date override, days from the seed day.
type demoOverride struct {
	store  string
	inDays int
	kind   string // "" for the whole day
	closed bool
	seats  int
	note   string
}

var demoOverrides = []demoOverride{
	{"SZ01", StocktakingInDays, "", true, 0, "门店年度盘点，暂停营业一天"},
	{"GZ01", StocktakingInDays, "", true, 0, "门店年度盘点，暂停营业一天"},
	{"GZ01", 5, "DETAILING", true, 0, "美容工位升级改造"},
	{"SZ01", 2, "MAINTENANCE", false, 6, "保养节，加派技师"},
}

// demoBooking is an upcoming appointment: the owner's car (by index) at a
// store, days from the seed day, the slot-th slot of that day.
type demoBooking struct {
	owner  string
	car    int
	store  string
	kind   string
	inDays int
	slot   int
	source booking.Source
	note   string
	cancel bool // cancelled by the owner since
}

var demoBookings = []demoBooking{
	{"张伟", 1, "SZ01", "MAINTENANCE", 7, 1, booking.App, "常规保养，顺便检查空调滤芯", false},
	{"王芳", 0, "SZ01", "MAINTENANCE", 1, 0, booking.MiniProgram, "", false},
	{"李娜", 0, "SZ01", "REPAIR", 1, 2, booking.Phone, "高速时方向盘抖动", false},
	{"刘洋", 1, "SZ01", "MAINTENANCE", 3, 4, booking.App, "年检前保养", false},
	{"陈静", 0, "SZ01", "DETAILING", 5, 3, booking.App, "内饰清洗，座椅除味", false},
	{"杨磊", 0, "SZ01", "MAINTENANCE", 2, 1, booking.App, "", false},
	{"杨磊", 2, "SZ01", "MAINTENANCE", 9, 5, booking.MiniProgram, "换机油机滤", false},
	{"徐涛", 1, "SZ01", "WARRANTY", 4, 2, booking.Phone, "充电口盖偶尔无法打开", false},
	{"朱琳", 0, "GZ01", "MAINTENANCE", 1, 0, booking.App, "首保后第一次常规保养", false},
	{"胡斌", 1, "GZ01", "WARRANTY", 4, 1, booking.Phone, "滑门关闭有异响", false},
	{"郭欣", 0, "GZ01", "ACCIDENT", 3, 2, booking.App, "停车场剐蹭右后门（保险报案号已发短信）", false},
	{"林峰", 2, "GZ01", "MAINTENANCE", 8, 3, booking.MiniProgram, "", false},
	{"宋雪", 0, "GZ01", "DETAILING", 1, 4, booking.App, "", true},
	{"韩梅", 0, "GZ01", "MAINTENANCE", 6, 2, booking.App, "", true},
}

// demoMiss is a past appointment that did not end in a visit.
type demoMiss struct {
	owner   string
	store   string
	kind    string
	daysAgo int
	slot    int
	status  booking.Status
}

var demoMisses = []demoMiss{
	{"周杰", "SZ01", "MAINTENANCE", 2, 1, booking.NoShow},
	{"马超", "SZ01", "REPAIR", 5, 3, booking.NoShow},
	{"孙丽", "SZ01", "MAINTENANCE", 9, 0, booking.Cancelled},
	{"吴婷", "SZ01", "MAINTENANCE", 1, 2, booking.Cancelled},
	{"何军", "GZ01", "MAINTENANCE", 3, 4, booking.NoShow},
	{"梁慧", "GZ01", "MAINTENANCE", 6, 1, booking.Cancelled},
	{"唐浩", "GZ01", "REPAIR", 1, 0, booking.Cancelled},
}

// bookingSeeder loads the demo bookings into the group just inserted.
type bookingSeeder struct {
	g       *group
	ctx     context.Context
	db      *models.DB
	svc     *booking.Service
	now     time.Time
	today   models.Date
	storeID map[string]uuid.UUID
	staff   map[string]*auth.Principal // by username
	owner   map[string]uuid.UUID       // by name
	cars    map[uuid.UUID][]uuid.UUID  // by owner, in the data's order
}

// seedBooking loads the demo calendars and appointments, in Seed's
// transaction, after the workshop (whose recent orders the past
// appointments link). It returns how many appointments are booked.
func (g *group) seedBooking(ctx context.Context, db *models.DB, now time.Time) (int, error) {
	b := &bookingSeeder{
		g: g, ctx: ctx, db: db, now: now, today: models.DateOf(now.In(models.ChinaTime)),
		storeID: map[string]uuid.UUID{}, staff: map[string]*auth.Principal{},
		owner: map[string]uuid.UUID{}, cars: map[uuid.UUID][]uuid.UUID{},
	}
	b.svc = &booking.Service{DB: db, Clock: func() time.Time { return now }}
	for _, s := range g.stores {
		b.storeID[s.Code] = s.ID
	}
	storesOf := map[uuid.UUID][]uuid.UUID{}
	for _, ss := range g.staffStore {
		storesOf[ss.StaffID] = append(storesOf[ss.StaffID], ss.StoreID)
	}
	for i, st := range g.staff {
		b.staff[st.Username] = &auth.Principal{Kind: auth.KindStaff, ID: st.ID, Roles: []auth.Role{auth.Role(g.roles[i].Role)}, StoreIDs: storesOf[st.ID]}
	}
	for _, o := range g.owners {
		b.owner[o.Name] = o.ID
	}
	for _, v := range g.vehicles {
		b.cars[v.OwnerID] = append(b.cars[v.OwnerID], v.ID)
	}
	if err := b.calendars(); err != nil {
		return 0, err
	}
	if err := b.past(); err != nil {
		return 0, err
	}
	return b.upcoming()
}

func (b *bookingSeeder) manager(store string) *auth.Principal {
	return b.staff["manager."+strings.ToLower(store)]
}

// calendars sets each store's seats and the date overrides.
func (b *bookingSeeder) calendars() error {
	for _, code := range []string{"SZ01", "GZ01"} {
		_, err := b.svc.SetCalendar(b.ctx, b.manager(code), booking.CalendarInput{StoreID: b.storeID[code], Seats: demoSeats[code]})
		if err != nil {
			return fmt.Errorf("demo calendar of %s: %w", code, err)
		}
	}
	for _, o := range demoOverrides {
		in := booking.OverrideInput{StoreID: b.storeID[o.store], Day: b.today.AddDate(0, 0, o.inDays), Closed: o.closed, Note: o.note}
		if o.kind != "" {
			kind := o.kind
			in.Kind = &kind
		}
		if !o.closed {
			seats := o.seats
			in.Seats = &seats
		}
		if _, err := b.svc.SetOverride(b.ctx, b.manager(o.store), in); err != nil {
			return fmt.Errorf("demo override of %s: %w", o.store, err)
		}
	}
	return nil
}

// upcoming books the coming appointments through the booking service, so
// seats are counted as for any booking.
func (b *bookingSeeder) upcoming() (int, error) {
	booked := 0
	for _, d := range demoBookings {
		owner := b.owner[d.owner]
		store := b.storeID[d.store]
		start, err := b.slot(store, d.kind, d.inDays, d.slot)
		if err != nil {
			return 0, fmt.Errorf("demo booking of %s: %w", d.owner, err)
		}
		actor := &auth.Principal{Kind: auth.KindOwner, ID: owner}
		if d.source == booking.Phone || d.source == booking.WalkIn {
			actor = b.staff["advisor."+strings.ToLower(d.store)]
		}
		a, err := b.svc.Book(b.ctx, actor, booking.BookInput{
			StoreID: store, VehicleID: b.cars[owner][d.car], Kind: d.kind, SlotStart: start,
			Note: d.note, Source: d.source,
		})
		if err != nil {
			return 0, fmt.Errorf("demo booking of %s: %w", d.owner, err)
		}
		if d.cancel {
			if _, err := b.svc.Cancel(b.ctx, actor, a.ID, ""); err != nil {
				return 0, err
			}
			continue
		}
		booked++
	}
	return booked, nil
}

// slot is the n-th bookable slot (or the last) of the day inDays from the
// seed day, or of the next day with any.
func (b *bookingSeeder) slot(store uuid.UUID, kind string, inDays, n int) (time.Time, error) {
	for d := inDays; d < inDays+7; d++ {
		day := b.today.AddDate(0, 0, d)
		slots, err := b.svc.AvailableSlots(b.ctx, store, kind, day, day)
		if err != nil {
			return time.Time{}, err
		}
		var open []booking.Slot
		for _, s := range slots {
			if s.SeatsLeft > 0 {
				open = append(open, s)
			}
		}
		if len(open) > 0 {
			return open[min(n, len(open)-1)].Start, nil
		}
	}
	return time.Time{}, fmt.Errorf("no free %s slot around day %d", kind, inDays)
}

// pastSlot is the n-th slot (or the last) of the demo stores' calendar
// on a past day, by their opening hours.
func pastSlot(day models.Date, n int) (start, end time.Time) {
	opens, closes := weekdayOpens, weekdayCloses
	if day.Time().Weekday() == time.Sunday {
		opens, closes = sundayOpens, sundayCloses
	}
	o, _ := time.Parse("15:04", opens)
	c, _ := time.Parse("15:04", closes)
	slots := int(c.Sub(o).Minutes()) / slotMinutes
	n = min(n, slots-1)
	start = time.Date(day.Year, day.Month, day.Day, o.Hour(), o.Minute()+n*slotMinutes, 0, 0, models.ChinaTime).UTC()
	return start, start.Add(slotMinutes * time.Minute)
}

// past records the appointments of the past: most repair orders opened in
// the stores' opening hours came from one (two of three; the appointment
// ARRIVED and linked both ways), and in the last two weeks some owners
// cancelled or did not come. They are rows of the past, written as they
// ended; no seat is held by them.
func (b *bookingSeeder) past() error {
	opened, err := b.g.demoOrders(b.ctx, b.db)
	if err != nil {
		return err
	}
	var orders []*workshop.RepairOrder
	for _, o := range opened {
		if o.Status != workshop.Cancelled {
			orders = append(orders, o)
		}
	}
	sort.SliceStable(orders, func(i, j int) bool { return orders[i].CreatedAt.Before(orders[j].CreatedAt) })
	sources := []booking.Source{booking.App, booking.MiniProgram, booking.Phone, booking.App}
	var rows []booking.Appointment
	linked := map[uuid.UUID]uuid.UUID{} // order: appointment
	for i, o := range orders {
		if i%3 == 2 {
			continue // a walk-in
		}
		day := models.DateOf(o.CreatedAt.In(models.ChinaTime))
		first, _ := pastSlot(day, 0)
		if o.CreatedAt.Before(first) {
			continue // before opening: not from a slot
		}
		start, end := pastSlot(day, int(o.CreatedAt.Sub(first)/(slotMinutes*time.Minute)))
		if !o.CreatedAt.Before(end) {
			continue // after the last slot
		}
		src := sources[i%len(sources)]
		a := booking.Appointment{
			ID: models.NewID(), StoreID: o.StoreID, VehicleID: o.VehicleID, OwnerID: o.OwnerID, Kind: string(o.Kind),
			SlotStart: start, SlotEnd: end, Status: booking.Arrived, Source: src, Note: o.Concern,
			RepairOrderID: &o.ID, CreatedAt: start.Add(-time.Duration(24*(1+i%5)) * time.Hour), UpdatedAt: o.CreatedAt,
		}
		if src == booking.Phone {
			a.BookedBy = &o.AdvisorID
		}
		rows = append(rows, a)
		linked[o.ID] = a.ID
	}
	for i, m := range demoMisses {
		owner := b.owner[m.owner]
		start, end := pastSlot(b.today.AddDate(0, 0, -m.daysAgo), m.slot)
		a := booking.Appointment{
			ID: models.NewID(), StoreID: b.storeID[m.store], VehicleID: b.cars[owner][0], OwnerID: owner, Kind: m.kind,
			SlotStart: start, SlotEnd: end, Status: m.status, Source: sources[i%len(sources)],
			CreatedAt: start.Add(-time.Duration(24*(2+i%4)) * time.Hour), UpdatedAt: end,
		}
		if m.status == booking.Cancelled {
			at := start.Add(-20 * time.Hour)
			a.CancelledAt, a.UpdatedAt = &at, at
		}
		rows = append(rows, a)
	}
	if err := b.svc.LoadPast(b.ctx, rows); err != nil {
		return fmt.Errorf("demo past appointments: %w", err)
	}
	return (&workshop.Service{DB: b.db}).LinkAppointments(b.ctx, linked)
}
