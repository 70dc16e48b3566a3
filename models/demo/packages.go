package demo

import (
	"context"
	"time"

	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/packages"
)

// seedPackages gives every demo store one service package on sale (four
// maintenance visits) and sells the demo owner one at his home store,
// paid in cash, so that his app shows a package with uses left.
func (g *group) seedPackages(ctx context.Context, db *models.DB, now time.Time) error {
	svc := &packages.Service{DB: db, Clock: func() time.Time { return now }, Directory: &directory.Service{DB: db},
		Config: packages.DefaultConfig()}
	owner := g.ownerID(DemoOwnerPhone)
	var home string
	for _, o := range g.owners {
		if o.ID == owner && o.HomeStoreID != nil {
			home = g.storeCode(*o.HomeStoreID)
		}
	}
	for _, s := range g.stores {
		manager := g.principal("manager." + lower(s.Code))
		p, err := svc.CreateProduct(ctx, manager, packages.ProductInput{StoreID: s.ID, Name: "保养四次卡",
			OrderKind: "MAINTENANCE", Uses: 4, PriceFen: 160_000, ValidDays: 365, PerVisitCapFen: 60_000})
		if err != nil {
			return err
		}
		if s.Code != home {
			continue
		}
		if _, err := svc.Sell(ctx, manager, packages.SaleInput{ProductID: p.ID, OwnerID: owner, Method: packages.Cash,
			IdempotencyKey: "demo-package"}); err != nil {
			return err
		}
	}
	return nil
}
