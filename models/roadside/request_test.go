package roadside_test

import (
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/roadside"
	"github.com/ownerhub/ownerhub/models/testdb"
)

func TestRequestAssistance(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()

	r := e.request(c, func(in *roadside.RequestInput) {
		in.Address = "  深圳市福田区深南大道 6008 号  "
		in.CallbackPhone = "139-0000-2222"
	})
	if r.Status != roadside.Requested || r.OwnerID != c.owner.ID || r.VehicleID != c.car.ID || r.StoreID != e.a ||
		!r.StoreChosen || r.DistanceM != nil || r.Version != 1 || r.Problem != roadside.Battery ||
		r.Address != "深圳市福田区深南大道 6008 号" || r.CallbackPhone != "+8613900002222" || !r.CreatedAt.Equal(base) {
		t.Fatalf("request = %+v", r)
	}
	ev := e.events(r.ID)
	if len(ev) != 1 || ev[0].FromStatus != nil || ev[0].ToStatus != roadside.Requested || ev[0].ActorKind != roadside.ActorOwner || ev[0].ActorID != c.owner.ID {
		t.Fatalf("timeline = %+v", ev)
	}
	if n := e.inbox(c.owner.ID); len(n) != 0 {
		t.Fatalf("the owner's own request put %d items in their inbox", len(n))
	}

	// Without a callback number, the owner's phone.
	d := e.customer()
	r2 := e.request(d, func(in *roadside.RequestInput) { in.CallbackPhone = "" })
	if r2.CallbackPhone != d.owner.Phone {
		t.Fatalf("callback = %q; want the owner's %q", r2.CallbackPhone, d.owner.Phone)
	}

	// One open request per car; another car of another owner is fine, and
	// after a cancellation the car may ask again.
	_, err := e.svc.RequestAssistance(e.ctx, c.p, e.input(c))
	wantCode(t, err, roadside.CodeAlreadyOpen, "vehicleId")
	_, err = e.svc.Cancel(e.ctx, c.p, r.ID, "")
	must(t, err)
	r3 := e.request(c)
	if r3.ID == r.ID || r3.Status != roadside.Requested {
		t.Fatalf("second request = %+v", r3)
	}
}

func TestRequestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.customer()
	other := e.customer()
	set := func(f func(*roadside.RequestInput)) roadside.RequestInput { return e.input(c, f) }
	tests := []struct {
		name  string
		actor *auth.Principal
		in    roadside.RequestInput
		code  models.Code
		field string
	}{
		{"no caller", nil, e.input(c), models.CodeUnauthenticated, ""},
		{"staff", e.who("advisor"), e.input(c), models.CodeForbidden, ""},
		{"admin", e.who("admin"), e.input(c), models.CodeForbidden, ""},
		{"screen", &auth.Principal{Kind: auth.KindScreen, ID: models.NewID(), StoreIDs: []uuid.UUID{e.a}}, e.input(c), models.CodeForbidden, ""},
		{"another owner's car", other.p, e.input(c), models.CodeNotFound, "vehicleId"},
		{"no such car", c.p, set(func(in *roadside.RequestInput) { in.VehicleID = models.NewID() }), models.CodeNotFound, "vehicleId"},
		{"no such store", c.p, set(func(in *roadside.RequestInput) { in.StoreID = ptr(models.NewID()) }), models.CodeNotFound, "storeId"},
		{"latitude 91", c.p, set(func(in *roadside.RequestInput) { in.Latitude = 91 }), models.CodeInvalidArgument, "latitude"},
		{"latitude -90.1", c.p, set(func(in *roadside.RequestInput) { in.Latitude = -90.1 }), models.CodeInvalidArgument, "latitude"},
		{"latitude NaN", c.p, set(func(in *roadside.RequestInput) { in.Latitude = math.NaN() }), models.CodeInvalidArgument, "latitude"},
		{"longitude 180.5", c.p, set(func(in *roadside.RequestInput) { in.Longitude = 180.5 }), models.CodeInvalidArgument, "longitude"},
		{"longitude -Inf", c.p, set(func(in *roadside.RequestInput) { in.Longitude = math.Inf(-1) }), models.CodeInvalidArgument, "longitude"},
		{"no address", c.p, set(func(in *roadside.RequestInput) { in.Address = "  \n " }), models.CodeInvalidArgument, "address"},
		{"long address", c.p, set(func(in *roadside.RequestInput) { in.Address = strings.Repeat("路", 201) }), models.CodeInvalidArgument, "address"},
		{"control character", c.p, set(func(in *roadside.RequestInput) { in.Address = "深南\x00大道" }), models.CodeInvalidArgument, "address"},
		{"line break in address", c.p, set(func(in *roadside.RequestInput) { in.Address = "深南大道\n彩田路" }), models.CodeInvalidArgument, "address"},
		{"tab in address", c.p, set(func(in *roadside.RequestInput) { in.Address = "深南大道\t彩田路" }), models.CodeInvalidArgument, "address"},
		{"control character in description", c.p, set(func(in *roadside.RequestInput) { in.Description = "打不着\x07火" }), models.CodeInvalidArgument, "description"},
		{"no problem", c.p, set(func(in *roadside.RequestInput) { in.Problem = "" }), models.CodeInvalidArgument, "problem"},
		{"unknown problem", c.p, set(func(in *roadside.RequestInput) { in.Problem = "ALIENS" }), models.CodeInvalidArgument, "problem"},
		{"OTHER without description", c.p, set(func(in *roadside.RequestInput) { in.Problem, in.Description = roadside.Other, " " }), models.CodeInvalidArgument, "description"},
		{"long description", c.p, set(func(in *roadside.RequestInput) { in.Description = strings.Repeat("坏", 501) }), models.CodeInvalidArgument, "description"},
		{"landline", c.p, set(func(in *roadside.RequestInput) { in.CallbackPhone = "0755-83886600" }), models.CodeInvalidPhone, "callbackPhone"},
		{"Hong Kong", c.p, set(func(in *roadside.RequestInput) { in.CallbackPhone = "+852 9123 4567" }), models.CodeInvalidPhone, "callbackPhone"},
		{"letters", c.p, set(func(in *roadside.RequestInput) { in.CallbackPhone = "1390000222x" }), models.CodeInvalidPhone, "callbackPhone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.svc.RequestAssistance(e.ctx, tt.actor, tt.in)
			wantCode(t, err, tt.code, tt.field)
		})
	}
	// Nothing was written.
	var n int64
	must(t, e.db.Conn(e.ctx).Model(&roadside.Request{}).Where("vehicle_id IN ?", []uuid.UUID{c.car.ID, other.car.ID}).Count(&n).Error)
	if n != 0 {
		t.Fatalf("%d requests stored by refused calls", n)
	}
	// The limits themselves are fine.
	r := e.request(c, func(in *roadside.RequestInput) {
		in.Latitude, in.Longitude = -90, 180
		in.Address, in.Description, in.Problem = strings.Repeat("路", 200), strings.Repeat("坏", 500), roadside.Other
	})
	if r.Latitude != -90 || r.Longitude != 180 {
		t.Fatalf("request at the limits = %+v", r)
	}
	// A description may run over several lines; the address may not.
	_, err := e.svc.Cancel(e.ctx, c.p, r.ID, "")
	must(t, err)
	r = e.request(c, func(in *roadside.RequestInput) {
		in.Description = "早上打不着火\r\n仪表盘全黑\t喇叭不响"
	})
	if r.Description != "早上打不着火\r\n仪表盘全黑\t喇叭不响" {
		t.Fatalf("description = %q", r.Description)
	}
}

// Without a chosen store, the request goes to the nearest store with
// coordinates; with none, it is refused. On a database of its own: the
// shared one's stores would be candidates.
func TestRequestNearestStore(t *testing.T) {
	t.Parallel()
	e := envOn(t, testdb.Open(t))
	c := e.customer()
	nearest := func(in *roadside.RequestInput) { in.StoreID = nil }
	_, err := e.svc.RequestAssistance(e.ctx, c.p, e.input(c, nearest))
	wantCode(t, err, roadside.CodeNoStore, "storeId")

	sz := e.store(ptr(22.543), ptr(114.058))
	gz := e.store(ptr(23.129), ptr(113.264))
	r := e.request(c, nearest) // Futian
	if r.StoreID != sz || r.StoreChosen || r.DistanceM == nil || *r.DistanceM > 1000 {
		t.Fatalf("Futian request = store %s chosen %v distance %v; want SZ (%s), under 1 km", r.StoreID, r.StoreChosen, r.DistanceM, sz)
	}
	d := e.customer()
	r = e.request(d, nearest, func(in *roadside.RequestInput) { in.Latitude, in.Longitude = 23.02, 113.75 }) // Dongguan
	if r.StoreID != gz || r.DistanceM == nil || *r.DistanceM < 50_000 || *r.DistanceM > 60_000 {
		t.Fatalf("Dongguan request = store %s distance %v; want GZ (%s), 50-60 km", r.StoreID, r.DistanceM, gz)
	}
	// A chosen store with coordinates gets the distance too.
	f := e.customer()
	r = e.request(f, func(in *roadside.RequestInput) { in.StoreID = &gz })
	if r.StoreID != gz || !r.StoreChosen || r.DistanceM == nil || *r.DistanceM < 100_000 {
		t.Fatalf("chosen GZ from Futian = store %s distance %v", r.StoreID, r.DistanceM)
	}
}
