package reminders

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// DefaultBatch is how many vehicles (or owners) one batch reads.
const DefaultBatch = 500

// Service sends the care loop's reminders.
type Service struct {
	DB *models.DB
	// Workshop tells each car's next service due and its visits.
	Workshop *workshop.Service
	// Booking tells which cars are booked in already.
	Booking *booking.Service
	// Batch overrides DefaultBatch (tests use small batches).
	Batch int
	// Directory reads owners and their vehicles (nil: one on DB).
	Directory *directory.Service
	// Inbox takes the reminders (nil: one on DB).
	Inbox *inbox.Service
}

func (s *Service) batch() int {
	if s.Batch > 0 {
		return s.Batch
	}
	return DefaultBatch
}

// reminder is one due item, before it goes into the inbox.
type reminder struct {
	owner uuid.UUID
	kind  string
	key   string
	title string
	body  string
	link  models.Link
	// vehicle and store are what the message concerns, for its text.
	vehicle, store *uuid.UUID
}

// SendReminders is the daily job: it walks every vehicle and every owner
// with a birthday in batches (a fixed number of statements per batch, plus
// one insert per new reminder) and puts each reminder that is due on the
// Shanghai day of now into its owner's inbox, unless the owner already has
// it. Owners who deleted their account get none; marketing kinds go only to
// owners who consented. Returns how many reminders it created.
func (s *Service) SendReminders(ctx context.Context, now time.Time) (int64, error) {
	today := models.DateOf(now.In(models.ChinaTime))
	var created int64
	after := uuid.Nil
	for {
		rs, last, more, err := s.vehicleBatch(ctx, today, now, after)
		if err != nil {
			return created, err
		}
		n, err := s.deliver(ctx, rs, now)
		created += n
		if err != nil || !more {
			if err != nil {
				return created, err
			}
			break
		}
		after = last
	}
	after = uuid.Nil
	for {
		rs, last, more, err := s.birthdayBatch(ctx, today, after)
		if err != nil {
			return created, err
		}
		n, err := s.deliver(ctx, rs, now)
		created += n
		if err != nil {
			return created, err
		}
		if !more {
			return created, nil
		}
		after = last
	}
}

// carName names a car for its owner: brand, model and plate.
func carName(v *directory.OwnedCar) string {
	if v.Plate != nil && *v.Plate != "" {
		return v.Brand + v.Model + "（" + *v.Plate + "）"
	}
	return v.Brand + v.Model
}

// vehicleBatch reads the vehicles after the given id (of owners who have
// not deleted their account) and works out their due reminders, in four
// statements whatever the batch holds.
func (s *Service) vehicleBatch(ctx context.Context, today models.Date, now time.Time, after uuid.UUID) ([]reminder, uuid.UUID, bool, error) {
	vs, err := s.directory().CarsAfter(ctx, after, s.batch())
	if err != nil || len(vs) == 0 {
		return nil, uuid.Nil, false, err
	}
	ids := make([]uuid.UUID, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	next, err := s.Workshop.NextServiceDueByVehicleIDs(ctx, ids)
	if err != nil {
		return nil, uuid.Nil, false, err
	}
	// Odometer readings of the last two years: the mileage in of every
	// order that was not cancelled.
	orders, err := s.Workshop.VisitsSince(ctx, ids, now.AddDate(-2, 0, 0))
	if err != nil {
		return nil, uuid.Nil, false, err
	}
	// A car already booked for maintenance needs no reminder to book. An
	// appointment whose slot has ended does not count: the owner did not
	// come (booking closes it as NO_SHOW only when the owner books again),
	// and a missed visit must not silence the reminders for good.
	booked, err := s.Booking.VehiclesBooked(ctx, ids, workshop.Maintenance, now)
	if err != nil {
		return nil, uuid.Nil, false, err
	}
	// A first free maintenance is within months of the purchase, so it
	// is among the last two years' orders while it matters.
	readings, done := map[uuid.UUID][]Reading{}, map[uuid.UUID]bool{}
	for _, o := range orders {
		readings[o.VehicleID] = append(readings[o.VehicleID], Reading{At: o.CreatedAt, Km: o.MileageIn})
		done[o.VehicleID] = done[o.VehicleID] || o.FirstFreeMaintenance
	}
	isBooked := set(booked)
	var out []reminder
	for _, v := range vs {
		rs := readings[v.ID]
		if v.MileageReadAt != nil {
			rs = append(rs, Reading{At: v.MileageReadAt.UTC(), Km: v.MileageKm})
		}
		out = append(out, dueOf(v, today, next[v.ID], rs, done[v.ID], isBooked[v.ID])...)
	}
	return out, vs[len(vs)-1].ID, len(vs) == s.batch(), nil
}

func set(ids []uuid.UUID) map[uuid.UUID]bool {
	m := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// dueOf lists a vehicle's reminders due today.
func dueOf(v *directory.OwnedCar, today models.Date, next *workshop.RepairOrder, rs []Reading, firstFreeDone, booked bool) []reminder {
	var out []reminder
	store := v.HomeStoreID
	if store == nil {
		store = v.SellingStoreID
	}
	bookOr := func(storeID *uuid.UUID) models.Link {
		if storeID == nil {
			return VehicleLink(v.ID)
		}
		return BookLink(*storeID, v.ID, string(workshop.Maintenance))
	}
	if next != nil && !booked && MaintenanceDue(today, next.NextServiceDate, next.NextServiceKm, rs) {
		// The due item is the next service the order set: one reminder per
		// order, whether the date or the km comes first.
		due := ""
		if next.NextServiceDate != nil {
			due = fmt.Sprintf("%d年%d月%d日", next.NextServiceDate.Year, next.NextServiceDate.Month, next.NextServiceDate.Day)
		}
		if next.NextServiceKm != nil {
			if due != "" {
				due += "或"
			}
			due += fmt.Sprintf("行驶至 %d 公里", *next.NextServiceKm)
		}
		out = append(out, reminder{owner: v.OwnerID, kind: KindMaintenanceDue,
			key:   "maintenance:" + v.ID.String() + ":" + next.ID.String(),
			title: "保养提醒：您的爱车即将到期保养",
			body:  fmt.Sprintf("您的%s下次保养时间为%s（以先到者为准），请提前预约到店保养。", carName(v), due),
			link:  bookOr(&next.StoreID), vehicle: &v.ID, store: &next.StoreID})
	}
	if v.PurchaseDate != nil && !firstFreeDone && !booked && FirstFreeDue(today, *v.PurchaseDate, rs) {
		until := v.PurchaseDate.AddDate(0, FirstFreeMonths, 0)
		out = append(out, reminder{owner: v.OwnerID, kind: KindFirstFreeMaintenance,
			key:   "first-free-maintenance:" + v.ID.String(),
			title: "首保提醒：免费首次保养",
			body: fmt.Sprintf("您的%s可享受免费首次保养，请于%d年%d月%d日前或行驶 %d 公里内（以先到者为准）预约到店。",
				carName(v), until.Year, until.Month, until.Day, FirstFreeKm),
			link: bookOr(store), vehicle: &v.ID, store: store})
	}
	if d := v.InsuranceExpiry; d != nil && Within(today, *d, InsuranceWindow) {
		out = append(out, reminder{owner: v.OwnerID, kind: KindInsuranceExpiring,
			key:   "insurance:" + v.ID.String() + ":" + d.String(),
			title: "续保提醒：车险即将到期",
			body:  fmt.Sprintf("您的%s车险将于%d年%d月%d日到期，请及时续保。", carName(v), d.Year, d.Month, d.Day),
			link:  VehicleLink(v.ID), vehicle: &v.ID, store: store})
	}
	if d := v.InspectionDue; d != nil && Within(today, *d, InspectionWindow) {
		out = append(out, reminder{owner: v.OwnerID, kind: KindInspectionDue,
			key:   "inspection:" + v.ID.String() + ":" + d.String(),
			title: "年检提醒：车辆年检即将到期",
			body:  fmt.Sprintf("您的%s需在%d年%d月%d日前完成年检，请合理安排时间。", carName(v), d.Year, d.Month, d.Day),
			link:  VehicleLink(v.ID), vehicle: &v.ID, store: store})
	}
	if v.PurchaseDate != nil && v.MarketingConsent {
		if year, years, ok := Anniversary(today, *v.PurchaseDate); ok {
			out = append(out, reminder{owner: v.OwnerID, kind: KindPurchaseAnniversary,
				key:   fmt.Sprintf("purchase-anniversary:%s:%d", v.ID, year),
				title: fmt.Sprintf("购车 %d 周年快乐", years),
				body:  fmt.Sprintf("感谢您与%s相伴 %d 年！祝您用车愉快，欢迎回店参加车主活动。", carName(v), years),
				link:  VehicleLink(v.ID), vehicle: &v.ID, store: store})
		}
	}
	return out
}

// birthdayBatch reads the consenting owners with a birthday after the
// given id (one statement) and greets those whose birthday it is.
func (s *Service) birthdayBatch(ctx context.Context, today models.Date, after uuid.UUID) ([]reminder, uuid.UUID, bool, error) {
	owners, err := s.directory().BirthdaysAfter(ctx, after, s.batch())
	if err != nil || len(owners) == 0 {
		return nil, uuid.Nil, false, err
	}
	var out []reminder
	for _, o := range owners {
		year, _, ok := Anniversary(today, o.Birthday)
		if !ok {
			continue
		}
		out = append(out, reminder{owner: o.ID, kind: KindBirthday,
			key:   fmt.Sprintf("birthday:%s:%d", o.ID, year),
			title: "生日快乐",
			body:  fmt.Sprintf("%s，祝您生日快乐！您的会员生日礼遇已送达，欢迎到店领取。", o.Name),
			link:  MembershipLink})
	}
	return out, owners[len(owners)-1].ID, len(owners) == s.batch(), nil
}

// deliver puts the reminders in their owners' inboxes: one read of the
// keys the owners already have (so a re-run costs no inserts), then one
// insert per new reminder, which the inbox's unique key makes once-only
// even against a concurrent run.
func (s *Service) deliver(ctx context.Context, rs []reminder, now time.Time) (int64, error) {
	if len(rs) == 0 {
		return 0, nil
	}
	keys := make([]inbox.DedupeKey, 0, len(rs))
	for _, r := range rs {
		keys = append(keys, inbox.DedupeKey{OwnerID: r.owner, Key: r.key})
	}
	sent, err := s.inbox().ExistingDedupeKeys(ctx, keys)
	if err != nil {
		return 0, err
	}
	var created int64
	for _, r := range rs {
		if sent[inbox.DedupeKey{OwnerID: r.owner, Key: r.key}] {
			continue
		}
		key := r.key
		ok, err := s.inbox().CreateNotification(ctx, &inbox.Notification{OwnerID: r.owner, Kind: r.kind, Title: r.title,
			Body: r.body, Link: r.link, DedupeKey: &key, CreatedAt: now.UTC().Truncate(time.Microsecond),
			VehicleID: r.vehicle, StoreID: r.store})
		if err != nil {
			return created, err
		}
		if ok {
			created++
		}
	}
	return created, nil
}

// directory is the wired Directory, or one on the service's database.
func (s *Service) directory() *directory.Service { return s.Directory.Or(s.DB, nil) }

// inbox is the wired Inbox, or one on the service's database.
func (s *Service) inbox() *inbox.Service { return s.Inbox.Or(s.DB, nil) }
