package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/roadside"
)

// Demo roadside assistance. Both stores have their coordinates, so a
// request goes to the nearer one. 王芳's Corolla has a flat battery near
// the Futian convention centre and is waiting for SZ01 to accept; 朱琳's
// car broke down in Tianhe and GZ01's CRM has accepted; 李娜 had a flat tyre
// last month, which SZ01 closed after changing the wheel on the spot.

// StoreCoordinates are where the demo stores are (WGS-84 degrees).
var StoreCoordinates = map[string][2]float64{
	"SZ01": {22.543, 114.058},
	"GZ01": {23.129, 113.264},
}

// demoAssistance is a request of a demo owner's first car, made ago before
// the seed, moved as far as steps say.
type demoAssistance struct {
	owner    string
	ago      time.Duration
	lat, lng float64
	address  string
	problem  roadside.Problem
	detail   string
	by       string // username of the staff who serve it
	steps    []roadside.Change
	outcome  string
}

var demoAssistances = []demoAssistance{
	{"李娜", 30 * 24 * time.Hour, 22.5602, 114.0921, "深圳市福田区笋岗西路 梅林关收费站出口", roadside.FlatTyre, "右前胎被扎，已停在应急车道",
		"advisor.sz01", []roadside.Change{roadside.Accept, roadside.Dispatch, roadside.Close}, "现场更换备胎，建议一周内到店更换新胎"},
	{"朱琳", 25 * time.Minute, 23.1372, 113.3245, "广州市天河区天河路 天河城东门路边", roadside.Breakdown, "仪表盘故障灯亮，车辆无法启动",
		"crm.gz01", []roadside.Change{roadside.Accept}, ""},
	{"王芳", 10 * time.Minute, 22.5368, 114.0536, "深圳市福田区福华三路 会展中心北门停车场 B2", roadside.Battery, "",
		"", nil, ""},
}

// seedRoadside sets the stores' coordinates and makes the demo requests
// through the roadside service, on a clock set to each step's time.
func (g *group) seedRoadside(ctx context.Context, db *models.DB, now time.Time) (int, error) {
	dir := &directory.Service{DB: db}
	staff := map[string]*auth.Principal{}
	storesOf := map[uuid.UUID][]uuid.UUID{}
	for _, ss := range g.staffStore {
		storesOf[ss.StaffID] = append(storesOf[ss.StaffID], ss.StoreID)
	}
	for i, st := range g.staff {
		staff[st.Username] = &auth.Principal{Kind: auth.KindStaff, ID: st.ID, Roles: []auth.Role{auth.Role(g.roles[i].Role)}, StoreIDs: storesOf[st.ID]}
	}
	for _, s := range g.stores {
		c, ok := StoreCoordinates[s.Code]
		if !ok {
			continue
		}
		if err := dir.SetStoreLocation(ctx, s.ID, c[0], c[1]); err != nil {
			return 0, fmt.Errorf("demo store coordinates: %w", err)
		}
	}
	at := now
	svc := &roadside.Service{DB: db, Clock: func() time.Time { return at }}
	for _, d := range demoAssistances {
		owner, car := g.firstCar(d.owner)
		if owner == uuid.Nil {
			return 0, fmt.Errorf("demo assistance: no owner %s", d.owner)
		}
		at = now.Add(-d.ago)
		r, err := svc.RequestAssistance(models.AtTime(ctx, at), &auth.Principal{Kind: auth.KindOwner, ID: owner}, roadside.RequestInput{
			VehicleID: car, Latitude: d.lat, Longitude: d.lng, Address: d.address, Problem: d.problem, Description: d.detail,
		})
		if err != nil {
			return 0, fmt.Errorf("demo assistance of %s: %w", d.owner, err)
		}
		who := staff[d.by]
		for i, step := range d.steps {
			at = at.Add(time.Duration(3+4*i) * time.Minute)
			switch step {
			case roadside.Accept:
				_, err = svc.Accept(models.AtTime(ctx, at), who, r.ID)
			case roadside.Dispatch:
				_, err = svc.Dispatch(models.AtTime(ctx, at), who, roadside.DispatchInput{RequestID: r.ID, Name: "刘师傅（安心道路救援）", Phone: "13900001111", ETAMinutes: 35})
			case roadside.Close:
				at = at.Add(50 * time.Minute)
				_, err = svc.Close(models.AtTime(ctx, at), who, r.ID, d.outcome)
			}
			if err != nil {
				return 0, fmt.Errorf("demo assistance of %s, step %d: %w", d.owner, i, err)
			}
		}
	}
	return len(demoAssistances), nil
}

// firstCar is a demo owner's id and first car.
func (g *group) firstCar(name string) (owner, car uuid.UUID) {
	for _, o := range g.owners {
		if strings.TrimSpace(o.Name) != name {
			continue
		}
		for _, v := range g.vehicles {
			if v.OwnerID == o.ID {
				return o.ID, v.ID
			}
		}
	}
	return uuid.Nil, uuid.Nil
}
