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
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The demo workshop: every car has a service history of one to three
// delivered, settled visits, and today both stores have an order in every
// status (the board has something in each column). Everything goes through
// the workshop's own operations with a moving clock, so the data obeys the
// same rules as real orders: numbers, timelines, approvals, settlement,
// next service due, notifications.

// A catalogue of the lines a Toyota 4S store bills, prices in fen.
var (
	itemOil          = workshop.ItemInput{Kind: workshop.Part, Code: "OIL-0W20", Description: "原厂全合成机油 0W-20", QuantityMilli: 4200, UnitPriceFen: 9800}
	itemOilFilter    = workshop.ItemInput{Kind: workshop.Part, Code: "FLT-OIL", Description: "机油滤清器", QuantityMilli: 1000, UnitPriceFen: 8500}
	itemMaintLabor   = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-MNT", Description: "保养工时", QuantityMilli: 1000, UnitPriceFen: 18000}
	itemAirFilter    = workshop.ItemInput{Kind: workshop.Part, Code: "FLT-AIR", Description: "空气滤清器", QuantityMilli: 1000, UnitPriceFen: 12800}
	itemCabinFilter  = workshop.ItemInput{Kind: workshop.Part, Code: "FLT-AC", Description: "空调滤芯", QuantityMilli: 1000, UnitPriceFen: 16800}
	itemTyreRotation = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-ROT", Description: "轮胎换位及动平衡", QuantityMilli: 500, UnitPriceFen: 18000}
	itemHVCheck      = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-HV", Description: "高压电池及电驱系统检测", QuantityMilli: 1000, UnitPriceFen: 18000}
	itemBrakeFluid   = workshop.ItemInput{Kind: workshop.Part, Code: "BRK-FLUID", Description: "制动液 DOT4 更换", QuantityMilli: 1000, UnitPriceFen: 26800}
	itemDiagnosis    = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-DIAG", Description: "电脑诊断检测", QuantityMilli: 1000, UnitPriceFen: 20000}
	itemBumper       = workshop.ItemInput{Kind: workshop.Part, Code: "BODY-BMP-R", Description: "后保险杠总成", QuantityMilli: 1000, UnitPriceFen: 238000}
	itemTaillight    = workshop.ItemInput{Kind: workshop.Part, Code: "LGT-TAIL-L", Description: "左尾灯总成", QuantityMilli: 1000, UnitPriceFen: 126000}
	itemPaint        = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-PAINT", Description: "钣金喷漆工时", QuantityMilli: 6000, UnitPriceFen: 22000}
	itemCompressor   = workshop.ItemInput{Kind: workshop.Part, Code: "AC-COMP", Description: "空调压缩机总成", QuantityMilli: 1000, UnitPriceFen: 486000}
	itemACLabor      = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-AC", Description: "空调系统检修工时", QuantityMilli: 2500, UnitPriceFen: 18000}
	itemScreen       = workshop.ItemInput{Kind: workshop.Part, Code: "HU-DISPLAY", Description: "中控显示屏总成", QuantityMilli: 1000, UnitPriceFen: 352000, Warranty: true}
	itemScreenLabor  = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-HU", Description: "中控屏拆装工时", QuantityMilli: 1500, UnitPriceFen: 18000, Warranty: true}
	itemDetailing    = workshop.ItemInput{Kind: workshop.Labor, Code: "LAB-DETAIL", Description: "内饰精洗", QuantityMilli: 1000, UnitPriceFen: 58800}
	itemSparkPlugs   = workshop.ItemInput{Kind: workshop.Part, Code: "IGN-PLUG", Description: "铱金火花塞", QuantityMilli: 4000, UnitPriceFen: 12000}
)

// Extra work found during a job, asked of the owner.
var extras = []workshop.ItemInput{
	{Kind: workshop.Part, Code: "BRK-PAD-F", Description: "前刹车片更换（含工时）", QuantityMilli: 1000, UnitPriceFen: 68000},
	{Kind: workshop.Labor, Code: "LAB-ALIGN", Description: "四轮定位", QuantityMilli: 1000, UnitPriceFen: 28800},
	{Kind: workshop.Part, Code: "WIPER", Description: "雨刮片（对）", QuantityMilli: 1000, UnitPriceFen: 19600},
	{Kind: workshop.Part, Code: "BAT-12V", Description: "12V 蓄电池更换", QuantityMilli: 1000, UnitPriceFen: 98000},
	{Kind: workshop.Labor, Code: "LAB-THROTTLE", Description: "节气门清洗", QuantityMilli: 1000, UnitPriceFen: 26800},
	itemCabinFilter,
}

func isEV(model string) bool { return strings.HasPrefix(model, "bZ") }

// maintenanceItems is the routine service of a car; every other visit adds
// the air and cabin filters. A first free maintenance (首保) costs nothing.
func maintenanceItems(model string, visit int, free bool) []workshop.ItemInput {
	var items []workshop.ItemInput
	if isEV(model) {
		items = []workshop.ItemInput{itemHVCheck, itemTyreRotation}
		if visit%2 == 1 {
			items = append(items, itemCabinFilter, itemBrakeFluid)
		}
	} else {
		oil := itemOil
		if model == "Highlander" || model == "Sienna" {
			oil.QuantityMilli = 5700
		}
		items = []workshop.ItemInput{oil, itemOilFilter, itemMaintLabor}
		if visit%2 == 1 {
			items = append(items, itemAirFilter, itemCabinFilter)
		}
		if visit == 3 {
			items = append(items, itemSparkPlugs)
		}
	}
	if free {
		for i := range items {
			items[i].Warranty = true
		}
	}
	return items
}

// car is a demo vehicle with its data.
type car struct {
	data  vehicleData
	row   *models.Vehicle
	owner uuid.UUID
	index int
}

// visit is one scripted trip of a car through the workshop.
type visit struct {
	car       *car
	store     string
	kind      workshop.Kind
	concern   string
	items     []workshop.ItemInput
	extra     *workshop.ItemInput // found during the job: PENDING
	approve   bool                // the owner's answer about extra
	diagnose  bool                // goes through DIAGNOSING
	free      bool                // first free maintenance
	target    workshop.Status
	mileage   int
	start     time.Time
	step      time.Duration
	promise   time.Duration // after start
	tech      int           // 1 or 2
	bay       int
	payMethod int
	reason    string // cancellation
}

// workshopSeeder runs visits with the workshop service on a moving clock.
type workshopSeeder struct {
	ctx     context.Context
	db      *models.DB
	svc     *workshop.Service
	at      time.Time
	staff   map[string]*auth.Principal // by username
	storeID map[string]uuid.UUID
	orders  []uuid.UUID // the orders opened, in time order
	members *members    // the demo memberships (wallet.go)
}

// atCtx is the seeder's context at its clock's time: what the services
// write through it carries w.at, though it all runs in Seed's transaction.
func (w *workshopSeeder) atCtx() context.Context { return models.AtTime(w.ctx, w.at) }

func (w *workshopSeeder) staffOf(login, store string) *auth.Principal {
	return w.staff[login+"."+strings.ToLower(store)]
}

// demoOrders reads the orders the demo opened (g.orders) as they are now,
// in the order they were opened.
func (g *group) demoOrders(ctx context.Context, db *models.DB) ([]*workshop.RepairOrder, error) {
	byID, err := (&workshop.Service{DB: db}).OrdersByIDs(ctx, g.orders)
	if err != nil {
		return nil, err
	}
	out := make([]*workshop.RepairOrder, 0, len(g.orders))
	for _, id := range g.orders {
		if o, ok := byID[id]; ok {
			out = append(out, o)
		}
	}
	return out, nil
}

// seedWorkshop loads the demo workshop into the group just inserted, in
// Seed's transaction. now is the seed time.
func (g *group) seedWorkshop(ctx context.Context, db *models.DB, now time.Time) (int, error) {
	w := &workshopSeeder{ctx: ctx, db: db, staff: map[string]*auth.Principal{}, storeID: map[string]uuid.UUID{}}
	w.svc = &workshop.Service{DB: db, Clock: func() time.Time { return w.at }}
	for _, s := range g.stores {
		w.storeID[s.Code] = s.ID
	}
	storeOf := map[uuid.UUID][]uuid.UUID{}
	for _, ss := range g.staffStore {
		storeOf[ss.StaffID] = append(storeOf[ss.StaffID], ss.StoreID)
	}
	for i, st := range g.staff {
		w.staff[st.Username] = &auth.Principal{Kind: auth.KindStaff, ID: st.ID, Roles: []auth.Role{auth.Role(g.roles[i].Role)}, StoreIDs: storeOf[st.ID]}
	}
	w.members = newMembers(w, g, now)
	w.svc.Wallet = w.members.svc
	var cars []*car
	for _, o := range owners {
		for _, v := range o.Vehicles {
			i := len(cars)
			cars = append(cars, &car{data: v, row: &g.vehicles[i], owner: g.vehicles[i].OwnerID, index: i})
		}
	}

	// History is driven with increasing mileage from zero, then every car
	// gets its current reading back before today's check-ins.
	dir := &directory.Service{DB: db}
	for _, c := range cars {
		if err := dir.SetVehicleMileage(ctx, c.row.ID, 0, *c.row.MileageReadAt); err != nil {
			return 0, err
		}
	}
	var history []visit
	demoOwner, recent := g.ownerID(DemoOwnerPhone), false
	for _, c := range cars {
		h := historyOf(c, now)
		if c.owner == demoOwner && !recent && len(h) > 0 {
			// The demo owner's first car was serviced twelve days ago,
			// so his survey of that visit may still be answered.
			recent = true
			h[len(h)-1].start = atLatest(h[len(h)-1].start, now, recentVisitDays)
		}
		history = append(history, h...)
	}
	// In time order, so ids, numbers and sequences follow the calendar.
	sort.SliceStable(history, func(i, j int) bool { return history[i].start.Before(history[j].start) })
	for _, v := range history {
		if err := w.members.until(v.start); err != nil {
			return 0, err
		}
		if err := w.run(v); err != nil {
			return 0, fmt.Errorf("demo history of %s: %w", *v.car.row.Plate, err)
		}
	}
	for _, c := range cars {
		if err := dir.SetVehicleMileage(ctx, c.row.ID, c.data.Km, *c.row.MileageReadAt); err != nil {
			return 0, err
		}
	}
	// The owners read what they were sent back then.
	if err := (&inbox.Service{DB: db}).MarkReadWhenSent(ctx, g.ownerIDs()); err != nil {
		return 0, err
	}
	if err := w.members.until(now.Add(-6 * time.Hour)); err != nil {
		return 0, err
	}
	for _, v := range todayVisits(cars, now) {
		if err := w.run(v); err != nil {
			return 0, fmt.Errorf("demo order of %s today: %w", *v.car.row.Plate, err)
		}
	}
	g.orders = w.orders
	return len(w.orders), w.members.finish(now)
}

// recentVisitDays is how long ago the demo owner's last visit was: within
// the 30 days in which its survey may be answered.
const recentVisitDays = 12

// atLatest moves a visit's start to the same time of day days before now,
// unless it is later already.
func atLatest(start, now time.Time, days int) time.Time {
	today := models.DateOf(now.In(models.ChinaTime))
	day := today.AddDate(0, 0, -days)
	moved := time.Date(day.Year, day.Month, day.Day, start.In(models.ChinaTime).Hour(), start.In(models.ChinaTime).Minute(), 0, 0, models.ChinaTime)
	if moved.After(start) {
		return moved
	}
	return start
}

// historyOf scripts one to three past visits of a car, spread between its
// purchase and today, at its selling store.
func historyOf(c *car, now time.Time) []visit {
	loc := models.ChinaTime
	today := models.DateOf(now.In(loc))
	purchase, _ := models.ParseDate(c.data.Purchase)
	age := int(today.Time().Sub(purchase.Time()).Hours() / 24)
	n := min(max(age/240, 1), 3)
	out := make([]visit, 0, n)
	for k := 1; k <= n; k++ {
		day := purchase.AddDate(0, 0, age*k/(n+1))
		if !day.Before(today) {
			day = today.AddDate(0, 0, -1)
		}
		start := time.Date(day.Year, day.Month, day.Day, 9, 0, 0, 0, loc).Add(time.Duration(c.index%6) * 20 * time.Minute)
		free := k == 1 && day.Before(purchase.AddDate(1, 0, 0))
		v := visit{
			car: c, store: c.data.Store, kind: workshop.Maintenance,
			concern: historyConcerns[(c.index+k)%len(historyConcerns)],
			items:   maintenanceItems(c.data.Model, k, free), free: free,
			target: workshop.Delivered, mileage: c.data.Km * k / (n + 1) / 10 * 10,
			start: start, step: 45 * time.Minute, promise: 7 * time.Hour,
			tech: 1 + (c.index+k)%2, bay: 1 + (c.index+k)%6, payMethod: c.index + k,
		}
		if free {
			v.concern = "首次免费保养"
		}
		// Extra work on some visits: the first car of every third owner is
		// advised on its last visit and declines (a recommendation now).
		if (c.index+k)%3 == 0 || (k == n && c.index%3 == 0) {
			x := extras[(c.index+k)%len(extras)]
			v.extra = &x
			v.approve = (c.index+k)%2 == 0 && k != n
			v.diagnose = k%2 == 0
		}
		out = append(out, v)
	}
	return out
}

var historyConcerns = []string{
	"常规保养",
	"仪表提示保养，换机油机滤",
	"保养，顺便检查底盘异响",
	"常规保养，检查轮胎磨损",
	"保养，空调出风有异味",
}

// todayVisits puts one car of each store in every status today. The demo
// owner's first car waits for his approval of new brake pads.
func todayVisits(cars []*car, now time.Time) []visit {
	loc := models.ChinaTime
	local := now.In(loc)
	sinceMidnight := local.Sub(time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc))
	type plan struct {
		status   workshop.Status
		kind     workshop.Kind
		concern  string
		items    []workshop.ItemInput
		extra    *workshop.ItemInput
		diagnose bool
		ago      time.Duration
		promise  time.Duration
		reason   string
	}
	brakes := extras[0]
	plans := []plan{
		{status: workshop.AwaitingApproval, kind: workshop.Maintenance, concern: "仪表提示保养，另外刹车时有轻微异响",
			extra: &brakes, ago: 150 * time.Minute, promise: 5 * time.Hour},
		{status: workshop.CheckedIn, kind: workshop.Maintenance, concern: "常规保养", ago: 15 * time.Minute, promise: 3 * time.Hour},
		{status: workshop.Diagnosing, kind: workshop.Repair, concern: "发动机故障灯亮，怠速时车身抖动",
			items: []workshop.ItemInput{itemDiagnosis}, diagnose: true, ago: 80 * time.Minute, promise: 6 * time.Hour},
		{status: workshop.InProgress, kind: workshop.Maintenance, concern: "换机油机滤，检查轮胎", ago: 3 * time.Hour, promise: 2 * time.Hour},
		{status: workshop.WaitingParts, kind: workshop.Repair, concern: "空调不制冷，压缩机有异响",
			items: []workshop.ItemInput{itemDiagnosis, itemCompressor, itemACLabor}, diagnose: true, ago: 4 * time.Hour, promise: 28 * time.Hour},
		{status: workshop.QualityCheck, kind: workshop.Accident, concern: "追尾事故，后保险杠及左尾灯受损（保险理赔）",
			items: []workshop.ItemInput{itemBumper, itemTaillight, itemPaint}, ago: 5 * time.Hour, promise: 8 * time.Hour},
		{status: workshop.Washing, kind: workshop.Maintenance, concern: "常规保养，洗车", ago: 4 * time.Hour, promise: 5 * time.Hour},
		{status: workshop.ReadyForPickup, kind: workshop.Warranty, concern: "中控屏偶尔黑屏（保修期内）",
			items: []workshop.ItemInput{itemScreen, itemScreenLabor}, diagnose: true, ago: 5 * time.Hour, promise: 6 * time.Hour},
		{status: workshop.Delivered, kind: workshop.Maintenance, concern: "常规保养", ago: min(3*time.Hour, sinceMidnight*9/10), promise: 4 * time.Hour},
		{status: workshop.Cancelled, kind: workshop.Detailing, concern: "内饰精洗，座椅有咖啡渍",
			items: []workshop.ItemInput{itemDetailing}, ago: 2 * time.Hour, promise: 3 * time.Hour, reason: "客户临时有事，改约下周再来"},
	}
	var out []visit
	for s, code := range []string{"SZ01", "GZ01"} {
		seen := map[uuid.UUID]bool{}
		var pick []*car
		for _, c := range cars {
			if c.data.Store == code && !seen[c.owner] {
				seen[c.owner] = true
				pick = append(pick, c)
			}
		}
		for i, p := range plans {
			c := pick[i]
			items := p.items
			if items == nil {
				items = maintenanceItems(c.data.Model, 2, false)
			}
			out = append(out, visit{
				car: c, store: code, kind: p.kind, concern: p.concern, items: items, extra: p.extra,
				diagnose: p.diagnose, target: p.status, mileage: c.data.Km + 30 + 17*i,
				start: now.Add(-p.ago), step: p.ago / 10, promise: p.promise,
				tech: 1 + (i+s)%2, bay: 1 + i%6, payMethod: i + s, reason: p.reason,
			})
		}
	}
	return out
}

// run drives one visit through the workshop's operations up to its target.
func (w *workshopSeeder) run(v visit) error {
	advisor := w.staffOf("advisor", v.store)
	w.at = v.start
	promised := v.start.Add(v.promise)
	o, err := w.svc.Open(w.atCtx(), advisor, workshop.OpenInput{
		StoreID: w.storeID[v.store], Vehicle: *v.car.row.Plate, MileageIn: v.mileage, Kind: v.kind,
		Concern: v.concern, PromisedAt: &promised, Items: v.items, FirstFreeMaintenance: v.free,
	})
	if err != nil {
		return err
	}
	w.orders = append(w.orders, o.ID)
	id := o.ID
	next := func() { w.at = w.at.Add(v.step) }
	move := func(by *auth.Principal, to workshop.Status, note string) error {
		next()
		_, err := w.svc.Move(w.atCtx(), by, id, to, note, nil, "")
		return err
	}
	switch v.target {
	case workshop.CheckedIn:
		return nil
	case workshop.Cancelled:
		return move(advisor, workshop.Cancelled, v.reason)
	}
	tech := w.staffOf(fmt.Sprintf("technician%d", v.tech), v.store)
	foreman := w.staffOf("foreman", v.store)
	w.at = w.at.Add(v.step / 3)
	bay := fmt.Sprintf("%d号工位", v.bay)
	if _, err := w.svc.Assign(w.atCtx(), foreman, id, &tech.ID, &bay, nil); err != nil {
		return err
	}
	ask := func() (bool, error) {
		next()
		if _, err := w.svc.AddItem(w.atCtx(), tech, id, *v.extra, true, nil); err != nil {
			return false, err
		}
		if v.target == workshop.AwaitingApproval {
			return true, nil
		}
		items, err := w.svc.ItemsByOrderIDs(w.atCtx(), []uuid.UUID{id})
		if err != nil {
			return false, err
		}
		var ds []workshop.Decision
		for _, it := range items[id] {
			if it.Approval == workshop.Pending {
				ds = append(ds, workshop.Decision{ItemID: it.ID, Approve: v.approve})
			}
		}
		next()
		owner := &auth.Principal{Kind: auth.KindOwner, ID: v.car.owner}
		_, err = w.svc.Decide(w.atCtx(), owner, id, ds)
		return false, err
	}
	if v.diagnose {
		if err := move(tech, workshop.Diagnosing, ""); err != nil || v.target == workshop.Diagnosing {
			return err
		}
		if v.extra != nil {
			if done, err := ask(); err != nil || done {
				return err
			}
		}
	}
	if err := move(tech, workshop.InProgress, ""); err != nil || v.target == workshop.InProgress {
		return err
	}
	if v.extra != nil && !v.diagnose {
		if done, err := ask(); err != nil || done {
			return err
		}
	}
	if v.target == workshop.WaitingParts {
		return move(tech, workshop.WaitingParts, "等待配件到货，预计明天上午到店")
	}
	for _, st := range []workshop.Status{workshop.QualityCheck, workshop.Washing, workshop.ReadyForPickup} {
		by := tech
		if st != workshop.QualityCheck {
			by = foreman
		}
		if err := move(by, st, ""); err != nil || v.target == st {
			return err
		}
	}
	next()
	if err := w.settle(v, id); err != nil {
		return err
	}
	return move(advisor, workshop.Delivered, "")
}

// settle pays the bill with one of the usual methods.
func (w *workshopSeeder) settle(v visit, id uuid.UUID) error {
	items, err := w.svc.ItemsByOrderIDs(w.atCtx(), []uuid.UUID{id})
	if err != nil {
		return err
	}
	payable := workshop.Totals(items[id], nil).PayableFen
	var pays []workshop.PaymentInput
	ref := fmt.Sprintf("%s%06d", w.at.In(models.ChinaTime).Format("20060102"), len(w.orders))
	if payable > 0 {
		switch v.payMethod % 5 {
		case 0:
			pays = []workshop.PaymentInput{{Method: workshop.BankCard, AmountFen: payable, Reference: "POS" + ref}}
		case 1:
			pays = []workshop.PaymentInput{{Method: workshop.WeChatPay, AmountFen: payable, Reference: "4200002" + ref}}
		case 2:
			pays = []workshop.PaymentInput{{Method: workshop.Alipay, AmountFen: payable, Reference: "2088" + ref}}
		case 3:
			pays = []workshop.PaymentInput{{Method: workshop.Cash, AmountFen: payable}}
		default:
			cash := payable % 10000
			if cash == 0 || cash == payable {
				pays = []workshop.PaymentInput{{Method: workshop.BankCard, AmountFen: payable, Reference: "POS" + ref}}
			} else {
				pays = []workshop.PaymentInput{
					{Method: workshop.BankCard, AmountFen: payable - cash, Reference: "POS" + ref},
					{Method: workshop.Cash, AmountFen: cash},
				}
			}
		}
	}
	if pays, err = w.members.pay(v, payable, pays); err != nil {
		return err
	}
	_, err = w.svc.Settle(w.atCtx(), w.staffOf("cashier", v.store), workshop.SettleInput{OrderID: id, Payments: pays})
	return err
}
