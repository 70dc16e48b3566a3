package demo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/workshop"
)

// The demo memberships. Every settled visit of the
// demo workshop earns its owner points through the wallet, on the
// workshop's moving clock. Some owners hold a stored-value card: they top
// it up at the counter on their first paid visit (¥1,000 and more with the
// 充1000送100 bonus), pay later bills from it and with points, and some
// reload it when it runs short. A few bought something else from the store
// (extended warranty, accessories), which sets tiers apart; one of those
// purchases is old enough that its tier moves back down at the end. Points
// expire as the calendar passes them, and 张伟, the demo owner, has points
// from a loyalty gift that expire within the month.

// cardPlan is how an owner uses a stored-value card.
type cardPlan struct {
	topUpFen int64
	method   string // of the top-ups
	reload   bool   // tops up again when the card cannot pay a bill
	// redeem is how many points pay a bill whenever that many are usable
	// (0: never), at most redeemTimes times (0: no limit).
	redeem      int64
	redeemTimes int
}

var cardPlans = map[string]cardPlan{ // by owner name
	"张伟": {topUpFen: 200_000, method: "WECHAT_PAY", reload: true, redeem: 1_000, redeemTimes: 1},
	"李娜": {topUpFen: 100_000, method: "CARD", reload: true, redeem: 1_000},
	"杨磊": {topUpFen: 300_000, method: "ALIPAY", reload: true},
	"陈静": {topUpFen: 50_000, method: "CASH", redeem: 500},
	"朱琳": {topUpFen: 100_000, method: "WECHAT_PAY", redeem: 500},
	"郭欣": {topUpFen: 200_000, method: "CARD", reload: true, redeem: 1_500},
	"林峰": {topUpFen: 150_000, method: "ALIPAY", reload: true, redeem: 2_000},
	"宋雪": {topUpFen: 80_000, method: "CASH"},
}

// purchase is something an owner bought at a store besides service.
type purchase struct {
	owner, store string
	daysAgo      int
	fen          int64
	memo         string
}

var purchases = []purchase{
	{"张伟", "SZ01", 95, 298_000, "购买原厂延保服务（延至 6 年 / 15 万公里）"},
	{"杨磊", "SZ01", 120, 1_280_000, "三台车原厂延保及保养套餐"},
	{"林峰", "GZ01", 60, 360_000, "原厂精品加装（行车记录仪、脚垫、挡泥板）"},
	{"谢鹏", "GZ01", 40, 3_280_000, "车身改色膜及原厂精品套装"},
	{"黄强", "GZ01", 430, 680_000, "原厂轮毂及轮胎升级"}, // out of the 12 months: back to BASIC
}

// loyaltyGift is the demo owner's gift of points, given so long ago that
// they expire 18 days after the seed. He has redeemed 1,000 points once
// since, taken from the gift (the points closest to expiry go first), so
// 2,000 of them expire soon.
const (
	loyaltyGiftPoints  = 3_000
	loyaltyGiftExpires = 18 // days after the seed
)

// members drives the demo memberships alongside the workshop seeder.
type members struct {
	w       *workshopSeeder
	svc     *wallet.Service
	plans   map[uuid.UUID]cardPlan
	topped  map[uuid.UUID]bool
	redeems map[uuid.UUID]int    // redemptions so far
	home    map[uuid.UUID]string // owner's home store code
	actions []timedAction        // in time order
	keys    int
}

type timedAction struct {
	at time.Time
	do func(at time.Time) error
}

// newMembers plans the demo memberships of the group; the wallet runs on the
// workshop seeder's clock.
func newMembers(w *workshopSeeder, g *group, now time.Time) *members {
	m := &members{
		w: w, svc: &wallet.Service{DB: w.db, Clock: func() time.Time { return w.at }},
		plans: map[uuid.UUID]cardPlan{}, topped: map[uuid.UUID]bool{}, redeems: map[uuid.UUID]int{},
		home: map[uuid.UUID]string{},
	}
	codeOf := map[uuid.UUID]string{}
	for _, s := range g.stores {
		codeOf[s.ID] = s.Code
	}
	ownerID := map[string]uuid.UUID{}
	for _, o := range g.owners {
		ownerID[o.Name] = o.ID
		m.home[o.ID] = codeOf[*o.HomeStoreID]
		if p, ok := cardPlans[o.Name]; ok {
			m.plans[o.ID] = p
		}
	}
	for _, p := range purchases {
		id, store, memo, fen := ownerID[p.owner], p.store, p.memo, p.fen
		m.actions = append(m.actions, timedAction{at: now.AddDate(0, 0, -p.daysAgo), do: func(at time.Time) error {
			return m.purchase(id, store, fen, memo)
		}})
	}
	demo := g.owners[0].ID
	giftAt := now.AddDate(0, -wallet.PointsLifetimeMonths, loyaltyGiftExpires)
	m.actions = append(m.actions, timedAction{at: giftAt, do: func(time.Time) error {
		_, err := m.svc.Adjust(w.atCtx(), w.staffOf("manager", m.home[demo]), wallet.AdjustInput{
			OwnerID: demo, StoreID: w.storeID[m.home[demo]], Points: loyaltyGiftPoints,
			Reason: "老客户回馈积分", IdempotencyKey: m.key(),
		})
		return err
	}})
	sort.SliceStable(m.actions, func(i, j int) bool { return m.actions[i].at.Before(m.actions[j].at) })
	return m
}

func (m *members) key() string {
	m.keys++
	return fmt.Sprintf("demo-%d", m.keys)
}

// until runs the planned actions due by at, then the daily expiry of points
// as of at.
func (m *members) until(at time.Time) error {
	for len(m.actions) > 0 && !m.actions[0].at.After(at) {
		a := m.actions[0]
		m.actions = m.actions[1:]
		m.w.at = a.at
		if err := a.do(a.at); err != nil {
			return fmt.Errorf("demo wallet at %s: %w", a.at.Format(time.DateOnly), err)
		}
	}
	_, err := m.svc.ExpirePoints(m.w.atCtx(), at)
	return err
}

// finish runs what is left and the daily jobs as of now: points due expire,
// tiers whose spend aged out move down.
func (m *members) finish(now time.Time) error {
	if err := m.until(now); err != nil {
		return err
	}
	_, err := m.svc.RecomputeTiers(m.w.atCtx(), now)
	return err
}

// purchase records a sale paid by bank card at a store: spend and points.
func (m *members) purchase(owner uuid.UUID, store string, fen int64, memo string) error {
	storeID, staff := m.w.storeID[store], m.w.staffOf("cashier", store).ID
	return m.w.db.WithTx(m.w.ctx, func(ctx context.Context) error {
		_, err := m.svc.Charge(models.AtTime(ctx, m.w.at), wallet.ChargeInput{
			OwnerID: owner, MoneyFen: fen, StoreID: &storeID, StaffID: &staff,
			Key: "demo-sale:" + m.key(), Memo: memo,
		})
		return err
	})
}

// pay decides how a card holder pays a bill of payable: points first (as
// many as the plan redeems, when usable), then the card, topped up on the first paid visit and, if the
// plan reloads, whenever it cannot cover the rest; what the card does not
// cover goes on the external payment the visit would have used. Owners
// without a card pay as planned.
func (m *members) pay(v visit, payable int64, external []workshop.PaymentInput) ([]workshop.PaymentInput, error) {
	owner := v.car.owner
	plan, ok := m.plans[owner]
	if !ok || payable == 0 {
		return external, nil
	}
	ms, err := m.svc.MembershipsByOwnerIDs(m.w.atCtx(), []uuid.UUID{owner})
	if err != nil {
		return nil, err
	}
	balance := ms[owner].BalanceFen
	var pays []workshop.PaymentInput
	rest := payable
	if plan.redeem > 0 && (plan.redeemTimes == 0 || m.redeems[owner] < plan.redeemTimes) &&
		wallet.PointsValueFen(plan.redeem) <= wallet.MaxPointsFen(payable) {
		usable, err := m.usablePoints(owner)
		if err != nil {
			return nil, err
		}
		if usable >= plan.redeem {
			pays = append(pays, workshop.PaymentInput{Method: workshop.Points, Points: plan.redeem})
			rest -= wallet.PointsValueFen(plan.redeem)
			m.redeems[owner]++
		}
	}
	if !m.topped[owner] || (plan.reload && balance < rest) {
		ref := ""
		if plan.method != "CASH" {
			ref = fmt.Sprintf("TU%s%04d", m.w.at.In(models.ChinaTime).Format("20060102"), m.keys)
		}
		r, err := m.svc.TopUp(m.w.atCtx(), m.w.staffOf("cashier", v.store), wallet.TopUpInput{
			OwnerID: owner, StoreID: m.w.storeID[v.store], AmountFen: plan.topUpFen,
			Method: plan.method, Reference: ref, IdempotencyKey: m.key(),
		})
		if err != nil {
			return nil, err
		}
		m.topped[owner], balance = true, r.Membership.BalanceFen
	}
	if fromCard := min(balance, rest); fromCard > 0 {
		pays = append(pays, workshop.PaymentInput{Method: workshop.Wallet, AmountFen: fromCard})
		rest -= fromCard
	}
	if rest > 0 {
		p := external[0]
		p.AmountFen = rest
		pays = append(pays, p)
	}
	return pays, nil
}

// usablePoints is what the owner's points are worth now: those in lots not
// yet expired (a lot past its date expires before anything is redeemed).
func (m *members) usablePoints(owner uuid.UUID) (int64, error) {
	return m.svc.UsablePoints(m.w.ctx, owner, m.w.at)
}
