package payments_test

import (
	"fmt"
	"testing"

	"github.com/ownerhub/ownerhub/auth/authtest"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/payments"
	"github.com/ownerhub/ownerhub/models/testdb"
)

// BenchmarkNotifications applies payment notifications as the notify
// endpoint does (verify, decrypt, apply with the ledger entries), two at a
// time: "hot" all for one owner's card (they queue on its account lock),
// "spread" each for another owner. Setting up (starting and paying the
// payments at the fake) is outside the timer.
func BenchmarkNotifications(b *testing.B) {
	for _, owners := range []int{1, 64} {
		name := "hot"
		if owners > 1 {
			name = "spread"
		}
		b.Run(name, func(b *testing.B) {
			e := newEnvOn(b, testdb.NewWorld(b))
			who := make([]*models.Owner, owners)
			for i := range who {
				who[i] = e.w.Owner(100+i, fmt.Sprintf("车主%d", i), e.w.SZ)
				testdb.Must(b, e.w.DB.Conn(e.ctx).Model(who[i]).Update("wechat_openid", fmt.Sprintf("oBench%d", i)).Error)
			}
			notes := make([]authtest.PayNotification, b.N)
			for i := range notes {
				o := who[i%owners]
				p, _, err := e.svc.Start(e.ctx, testdb.OwnerPrincipal(o), payments.StartInput{Purpose: payments.PurposeTopUp,
					StoreID: e.w.SZ.ID, AmountFen: 1, TradeType: payments.TradeJSAPI, IdempotencyKey: fmt.Sprintf("b%d", i)})
				testdb.Must(b, err)
				testdb.Must(b, e.fake.Pay(p.OutTradeNo))
				notes[i], err = e.fake.NotificationFor(p.OutTradeNo, nil)
				testdb.Must(b, err)
			}
			next := make(chan authtest.PayNotification, len(notes))
			for _, n := range notes {
				next <- n
			}
			close(next)
			b.ResetTimer()
			b.SetParallelism(1)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					q, err := e.notified(<-next)
					if err != nil || q.State != payments.StatePaid {
						b.Errorf("apply: %v", err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
		})
	}
}
