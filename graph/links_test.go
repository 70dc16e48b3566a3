package graph

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/booking"
	"github.com/ownerhub/ownerhub/models/care"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/reminders"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/testdb"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// legacyGID is how the domain packages wrote a global ID into a
// notification's link before links held references: clients have these.
func legacyGID(typ string, id uuid.UUID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(typ + ":" + id.String()))
}

// withExtraBits sets the bits of a legacy ID's last character that carry no
// data, as a lax base64 decoder would read them (the global ID tests in
// graph/globalid refuse such IDs).
func withExtraBits(gid string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	return gid[:len(gid)-1] + string(alphabet[strings.IndexByte(alphabet, gid[len(gid)-1])|3])
}

// linkCase is a link the domain writes for a kind of notification, and the
// text clients read for it before: they must read the same.
type linkCase struct {
	kinds  string
	link   models.Link
	before string
	names  []models.Ref // the objects the link opens, as the domain named them
	types  []string     // their GraphQL types (node(id:) resolves them)
}

func linkCases(order, appt, event, reg, req, complaint, store, car uuid.UUID) []linkCase {
	one := func(kinds string, link models.Link, typ string, id uuid.UUID) linkCase {
		return linkCase{kinds, link, legacyGID(typ, id), []models.Ref{{Type: models.RefType(typ), ID: id}}, []string{typ}}
	}
	return []linkCase{
		one("APPROVAL_NEEDED READY_FOR_PICKUP", workshop.OrderLink(order), typeRepairOrder, order),
		one("SURVEY_INVITATION", workshop.OrderLink(order), typeRepairOrder, order),
		one(booking.NotifyAppointmentReminder, booking.AppointmentLink(appt), typeAppointment, appt),
		one("EVENT_CANCELLED EVENT_REMINDER", events.EventLink(event), typeEvent, event),
		one("EVENT_PROMOTED EVENT_PAYMENT_FAILED", events.RegistrationLink(reg), typeRegistration, reg),
		one("ASSISTANCE_*", roadside.RequestLink(req), typeAssistance, req),
		one(care.NotifyComplaintUpdate, care.ComplaintLink(complaint), typeComplaint, complaint),
		one("INSURANCE_EXPIRING INSPECTION_DUE PURCHASE_ANNIVERSARY MAINTENANCE_DUE", reminders.VehicleLink(car), typeVehicle, car),
		{"MAINTENANCE_DUE FIRST_FREE_MAINTENANCE", reminders.BookLink(store, car, "MAINTENANCE"),
			"book?storeId=" + legacyGID("Store", store) + "&vehicleId=" + legacyGID("Vehicle", car) + "&kind=MAINTENANCE",
			[]models.Ref{{Type: models.RefStore, ID: store}, {Type: models.RefVehicle, ID: car}}, []string{typeStore, typeVehicle}},
		{"BIRTHDAY", reminders.MembershipLink, "membership", nil, nil},
	}
}

func newIDs() (order, appt, event, reg, req, complaint, store, car uuid.UUID) {
	return models.NewID(), models.NewID(), models.NewID(), models.NewID(), models.NewID(), models.NewID(), models.NewID(), models.NewID()
}

// TestLinksReadAsBefore: for every kind of notification, the link clients
// read is the text they read before the domain linked with references, and
// each global ID in it decodes to the object the domain named, of a type
// node(id:) resolves.
func TestLinksReadAsBefore(t *testing.T) {
	t.Parallel()
	for _, c := range linkCases(newIDs()) {
		got := LinkOut(c.link)
		if got != c.before {
			t.Errorf("%s: clients read %q; before %q", c.kinds, got, c.before)
		}
		var gids []string
		if r, ok := models.ParseRef(string(c.link)); ok {
			gids = append(gids, LinkOut(models.LinkTo(r)))
		} else {
			for _, p := range []string{"storeId", "vehicleId"} {
				if v := queryValue(got, p); v != "" {
					gids = append(gids, v)
				}
			}
		}
		if len(gids) != len(c.names) {
			t.Fatalf("%s: %d global IDs in %q; want %d", c.kinds, len(gids), got, len(c.names))
		}
		for i, gid := range gids {
			typ, id, ok := parseGlobalID(gid)
			if !ok || typ != c.types[i] || typ != string(c.names[i].Type) || id != c.names[i].ID {
				t.Errorf("%s: %q reads as %s %s %v; the domain named %v", c.kinds, gid, typ, id, ok, c.names[i])
			}
		}
	}
}

// queryValue is the value of a route's parameter name.
func queryValue(route, name string) string {
	_, q, _ := strings.Cut(route, "?")
	for _, p := range strings.Split(q, "&") {
		if k, v, _ := strings.Cut(p, "="); k == name {
			return v
		}
	}
	return ""
}

// TestNotificationLinksMigrate: the links stored before (global IDs) become
// references, and clients read exactly what they read before; a link that
// is no global ID the domain wrote is kept and read as it is.
func TestNotificationLinksMigrate(t *testing.T) {
	ctx := context.Background()
	dbURL, drop, err := testdb.URL()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	db, err := models.Open(dbURL, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dialect := string(db.Dialect)
	if _, err := migrations.UpTo(ctx, db.SQL, dialect, 10); err != nil {
		t.Fatal(err)
	}
	owner := models.NewID()
	now := testdb.Now()
	if err := db.Conn(ctx).Exec(`INSERT INTO owners (id, phone, created_at, updated_at) VALUES (?, '+8613800000000', ?, ?)`,
		owner, now, now).Error; err != nil {
		t.Fatal(err)
	}
	cases := linkCases(newIDs())
	gid := legacyGID("RepairOrder", models.NewID())
	kept := []string{
		"", "UmVwYWlyT3JkZXI6eA", // "RepairOrder:x"
		withExtraBits(legacyGID("Vehicle", models.NewID())), gid + "A", gid[:len(gid)-1], "book?storeId=x&vehicleId=y&kind=MAINTENANCE", "orders?id=" + gid,
		legacyGID("Repair Order", models.NewID()), base64.RawURLEncoding.EncodeToString([]byte("Vehicle:x\x00")),
	}
	stored := map[uuid.UUID]string{}
	for _, c := range cases {
		stored[models.NewID()] = c.before
	}
	for _, k := range kept {
		stored[models.NewID()] = k
	}
	for id, link := range stored {
		if err := db.Conn(ctx).Exec(`INSERT INTO notifications (id, owner_id, kind, title, link, created_at) VALUES (?, ?, 'TEST', 't', ?, ?)`,
			id, owner, link, now).Error; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := migrations.UpTo(ctx, db.SQL, dialect, 11); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID   uuid.UUID
		Link string
	}
	if err := db.Conn(ctx).Raw(`SELECT id, link FROM notifications`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(stored) {
		t.Fatalf("%d notifications after the migration; %d before", len(rows), len(stored))
	}
	want := map[string]models.Link{}
	for _, c := range cases {
		want[c.before] = c.link
	}
	for _, k := range kept {
		want[k] = models.Link(k)
	}
	for _, r := range rows {
		before := stored[r.ID]
		if models.Link(r.Link) != want[before] {
			t.Errorf("%q was migrated to %q; want %q", before, r.Link, want[before])
		}
		if got := LinkOut(models.Link(r.Link)); got != before {
			t.Errorf("clients read %q; before %q", got, before)
		}
	}
	if n, err := migrations.Up(ctx, db.SQL, dialect, nil); err != nil {
		t.Fatalf("the rest of the migrations after %d: %v", n, err)
	}
}
