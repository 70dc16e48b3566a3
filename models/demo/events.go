package demo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/events"
	"github.com/ownerhub/ownerhub/models/wallet"
)

// The demo classes and trips. Both stores have
// upcoming 爱车讲堂 classes and 车友会 trips, created and published by
// their event staff through the events service on the seed's clock, and
// owners registered through it (fees charged from their wallets or
// points). SZ01's oil-care class and GZ01's battery-care class are full,
// with a waitlist; GZ01's 川西 trip is for GOLD members and can be paid in
// points; one GZ01 class is still a draft; SZ01's 东涌 day trip, two days
// ahead, has seats for anyone (the README's tour registers for it). 张伟,
// the demo owner, holds two confirmed seats on the 双月湾 weekend trip and is
// first on the waitlist of the oil-care class.

// demoEvent is an event of the demo data, days from the seed day at a
// store-local hour.
type demoEvent struct {
	key      string // names it for the registrations below
	store    string
	spec     events.Spec // StoreID and the times are filled in
	inDays   int
	hour     int
	hours    int // how long it lasts
	closeH   int // registration closes this many hours before the start
	cancelH  int // the free-cancellation deadline, hours before the start
	stops    []demoStop
	draft    bool
	schedule func(today models.Date) models.Date // the day, when not inDays ahead
}

// demoStop is a stop of a trip: hours after the start.
type demoStop struct {
	afterH      int
	place, note string
}

var demoEvents = []demoEvent{
	{key: "oil", store: "SZ01", inDays: 5, hour: 14, hours: 2, closeH: 2, cancelH: 24, spec: events.Spec{
		Kind: events.Class, Title: "机油保养讲堂：看懂机油标号与保养周期",
		Description: "技师现场演示机油、机滤更换，讲解 0W-20 与 5W-30 的区别、保养周期怎么定，以及如何自己检查油位。到场签到送 100 积分。",
		Location:    "深圳福田店 二楼客户休息区", Capacity: 4, AttendancePoints: 100}},
	{key: "shuangyue", store: "SZ01", schedule: nextSaturday, hour: 8, hours: 34, closeH: 24, cancelH: 48,
		spec: events.Spec{Kind: events.Trip, Title: "周末惠州双月湾自驾",
			Description: "车友会周末两日游：沿深汕高速自驾到惠州双月湾，观景台看双月湾全景，海边露营烧烤，次日巽寮湾返程。费用含营地、烧烤和保险，按人计。",
			Location:    "深圳福田店 门前停车场", Capacity: 20, FeeFen: 9_900, VehicleRequired: true, MaxPartySize: 4,
			AttendancePoints: 200},
		stops: []demoStop{
			{0, "深圳福田店", "集合，检查车况，发对讲机"},
			{3, "双月湾观景台", "合影"},
			{5, "双月湾海滨营地", "扎营、烧烤"},
			{26, "巽寮湾", "早餐后自由活动"},
			{34, "深圳福田店", "返程解散"},
		}},
	{key: "battery-sz", store: "SZ01", inDays: 9, hour: 10, hours: 2, closeH: 2, cancelH: 24, spec: events.Spec{
		Kind: events.Class, Title: "新能源电池养护讲堂",
		Description: "纯电车主专场：动力电池的日常充电习惯、冬夏季续航、慢充与快充的取舍，工程师现场演示电池健康检测。",
		Location:    "深圳福田店 新能源工位", Capacity: 20, AttendancePoints: 100}},
	{key: "dongchong", store: "SZ01", inDays: 2, hour: 7, hours: 11, closeH: 24, cancelH: 24,
		spec: events.Spec{Kind: events.Trip, Title: "大鹏东涌海岸线一日游",
			Description: "车友会一日游：自驾到大鹏半岛东涌，沿海岸线徒步到西涌，海边午餐后返程。费用含午餐和保险，按人计。",
			Location:    "深圳福田店 门前停车场", Capacity: 16, FeeFen: 5_000, VehicleRequired: true, MaxPartySize: 4,
			AttendancePoints: 100},
		stops: []demoStop{
			{0, "深圳福田店", "集合，发路书"},
			{2, "东涌", "海岸线徒步"},
			{5, "西涌", "海边午餐"},
			{11, "深圳福田店", "返程解散"},
		}},
	{key: "battery-gz", store: "GZ01", inDays: 4, hour: 15, hours: 2, closeH: 2, cancelH: 24, spec: events.Spec{
		Kind: events.Class, Title: "新能源电池养护讲堂（广州场）",
		Description: "纯电与混动车主专场：电池保养、充电习惯与冬季续航，现场免费检测电池健康度。",
		Location:    "广州天河店 一楼展厅", Capacity: 3, AttendancePoints: 100}},
	{key: "chuanxi", store: "GZ01", inDays: 30, hour: 7, hours: 6*24 + 12, closeH: 72, cancelH: 7 * 24, spec: events.Spec{
		Kind: events.Trip, Title: "川西环线六日自驾（金卡会员专享）",
		Description: "成都集合，走 G318 经新都桥、理塘到稻城亚丁，返程经四姑娘山。全程领队和后勤车，费用含酒店和门票，可用现金或积分支付。",
		Location:    "成都双流机场 T2 停车场", Capacity: 12, FeeFen: 198_000, FeePoints: 15_000, MinTier: wallet.Gold,
		VehicleRequired: true, MaxPartySize: 2, AttendancePoints: 1_000},
		stops: []demoStop{
			{0, "成都双流机场 T2 停车场", "集合，发路书"},
			{24, "新都桥", "摄影天堂"},
			{48, "理塘", "海拔 4,014 米，注意高反"},
			{72, "稻城亚丁", "景区一日游"},
			{120, "四姑娘山", "返程"},
			{156, "成都", "解散"},
		}},
	{key: "aircon", store: "GZ01", inDays: 20, hour: 14, hours: 2, closeH: 2, cancelH: 24, draft: true, spec: events.Spec{
		Kind: events.Class, Title: "夏季空调保养讲堂",
		Description: "空调滤芯、蒸发箱清洗与制冷剂检查。", Location: "广州天河店 一楼展厅", Capacity: 15}},
}

// demoRegistration is an owner's registration, in order (the waitlist is
// served first come, first served).
type demoRegistration struct {
	event, owner string
	party        int
	car          int // index of the owner's car for trips; -1 for none
	pay          events.PayWith
}

var demoRegistrations = []demoRegistration{
	{"oil", "王芳", 1, -1, ""},
	{"oil", "李娜", 1, -1, ""},
	{"oil", "刘洋", 1, -1, ""},
	{"oil", "陈静", 1, -1, ""},
	{"oil", "张伟", 1, -1, ""}, // full: waitlisted, first in line
	{"oil", "周杰", 1, -1, ""},
	{"shuangyue", "张伟", 2, 0, events.PayWallet},
	{"shuangyue", "杨磊", 3, 2, events.PayWallet},
	{"shuangyue", "李娜", 2, 0, events.PayWallet},
	{"battery-sz", "赵敏", 1, -1, ""},
	{"battery-sz", "徐涛", 1, -1, ""},
	{"battery-gz", "朱琳", 1, -1, ""},
	{"battery-gz", "高燕", 1, -1, ""},
	{"battery-gz", "谢鹏", 1, -1, ""},
	{"battery-gz", "郭欣", 1, -1, ""}, // full: waitlisted
	{"battery-gz", "林峰", 1, -1, ""},
	{"chuanxi", "谢鹏", 2, 0, events.PayPoints},
}

// nextSaturday is the first Saturday at least three days after today.
func nextSaturday(today models.Date) models.Date {
	d := today.AddDate(0, 0, 3)
	for d.Time().Weekday() != time.Saturday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// seedEvents creates, publishes and fills the demo events, in Seed's
// transaction after the booking calendar.
func (g *group) seedEvents(ctx context.Context, db *models.DB, now time.Time) error {
	clock := func() time.Time { return now }
	svc := &events.Service{DB: db, Wallet: &wallet.Service{DB: db, Clock: clock}, Clock: clock}
	today := models.DateOf(now.In(models.ChinaTime))
	storeID := map[string]uuid.UUID{}
	for _, s := range g.stores {
		storeID[s.Code] = s.ID
	}
	staff := map[string]*auth.Principal{}
	for i, st := range g.staff {
		if g.roles[i].Role == string(auth.RoleEvents) {
			staff[st.Username] = &auth.Principal{Kind: auth.KindStaff, ID: st.ID, Roles: []auth.Role{auth.RoleEvents}}
		}
	}
	for _, ss := range g.staffStore {
		for _, p := range staff {
			if p.ID == ss.StaffID {
				p.StoreIDs = append(p.StoreIDs, ss.StoreID)
			}
		}
	}
	owner := map[string]uuid.UUID{}
	for _, o := range g.owners {
		owner[o.Name] = o.ID
	}
	cars := map[uuid.UUID][]uuid.UUID{}
	for _, v := range g.vehicles {
		cars[v.OwnerID] = append(cars[v.OwnerID], v.ID)
	}

	eventID := map[string]uuid.UUID{}
	for _, d := range demoEvents {
		actor := staff["events."+strings.ToLower(d.store)]
		day := today.AddDate(0, 0, d.inDays)
		if d.schedule != nil {
			day = d.schedule(today)
		}
		start := time.Date(day.Year, day.Month, day.Day, d.hour, 0, 0, 0, models.ChinaTime).UTC()
		spec := d.spec
		spec.StoreID = storeID[d.store]
		spec.StartsAt, spec.EndsAt = start, start.Add(time.Duration(d.hours)*time.Hour)
		spec.RegistrationOpensAt = now.Add(-3 * 24 * time.Hour).Truncate(time.Hour)
		spec.RegistrationClosesAt = start.Add(-time.Duration(d.closeH) * time.Hour)
		spec.CancellationDeadline = start.Add(-time.Duration(d.cancelH) * time.Hour)
		for _, s := range d.stops {
			spec.Itinerary = append(spec.Itinerary, events.Stop{At: start.Add(time.Duration(s.afterH) * time.Hour), Place: s.place, Note: s.note})
		}
		e, err := svc.CreateEvent(ctx, actor, spec)
		if err != nil {
			return fmt.Errorf("demo event %s: %w", d.key, err)
		}
		if !d.draft {
			if _, err := svc.PublishEvent(ctx, actor, e.ID, nil); err != nil {
				return fmt.Errorf("demo event %s: %w", d.key, err)
			}
		}
		eventID[d.key] = e.ID
	}
	for i, r := range demoRegistrations {
		id := owner[r.owner]
		in := events.RegisterInput{EventID: eventID[r.event], PartySize: r.party, IdempotencyKey: fmt.Sprintf("demo-event-%d", i)}
		if r.car >= 0 {
			in.VehicleID = &cars[id][min(r.car, len(cars[id])-1)]
		}
		if r.pay != "" {
			pay := r.pay
			in.PayWith = &pay
		}
		if _, err := svc.Register(ctx, &auth.Principal{Kind: auth.KindOwner, ID: id}, in); err != nil {
			return fmt.Errorf("demo registration of %s for %s: %w", r.owner, r.event, err)
		}
	}
	return nil
}
