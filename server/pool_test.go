package main

import (
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/ownerhub/ownerhub/models"
)

// homeQuery is the owner app's home screen.
const homeQuery = `{ me { name phone homeStore { name }
	vehicles(first: 5) { edges { node { plate model mileageKm
		lastService { deliveredAt mileageIn totals { total { amountFen } } }
		activeRepairOrder { status promisedAt } } } }
	membership { balance { amountFen } points tier } } }`

// steadyHomeLoad serves the owner's home screen to clients at once through
// the real server for warm, then for steady, and returns the pool's
// statistics at the end of each phase.
func steadyHomeLoad(t *testing.T, pool models.Pool, clients int, warm, steady time.Duration) (afterWarm, end sql.DBStats) {
	t.Helper()
	db, _ := ownDB(t, pool, true)
	s := newTestServer(t, func(c *Config, d *Deps) {
		d.DB = db
		c.RateLimits = RateLimits{IPRate: 1_000_000, IPBurst: 1_000_000, UserRate: 1_000_000, UserBurst: 1_000_000}
	})
	token := s.ownerToken(t, s.ownerByPhone(t, "+8613800000006").ID) // 杨磊, three cars
	run := func(d time.Duration) {
		stop := time.Now().Add(d)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for time.Now().Before(stop) {
					r := s.do(t, req{Query: homeQuery, Token: token})
					if r.Status != 200 || len(r.Errors) > 0 {
						t.Errorf("home screen: %d %s", r.Status, r.Raw)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	run(warm)
	afterWarm = db.SQL.Stats()
	run(steady)
	return afterWarm, db.SQL.Stats()
}

// closed is how many connections the pool closed, for any reason.
func closed(st sql.DBStats) int64 {
	return st.MaxIdleClosed + st.MaxIdleTimeClosed + st.MaxLifetimeClosed
}

// Under steady concurrent load the pool, sized from configuration with its
// defaults, opens no connection after warm-up and closes none: every
// request finds an idle connection with its prepared statements. With
// fewer idle connections than the load holds at once (the measure's
// check) it closes and reopens them.
func TestPoolSteadyLoadOpensNoConnections(t *testing.T) {
	// More clients than connections, so that warm-up opens them all: with
	// none closed, none can have opened after it.
	const clients = 8
	warm, end := steadyHomeLoad(t, models.Pool{MaxOpenConns: 4}, clients, 700*time.Millisecond, 1500*time.Millisecond)
	t.Logf("after warm-up: %d open, %d closed; after steady load: %d open, %d closed, %d waits",
		warm.OpenConnections, closed(warm), end.OpenConnections, closed(end), end.WaitCount)
	if closed(end) != 0 {
		t.Errorf("the pool closed %d connections under steady load (%+v)", closed(end), end)
	}
	if warm.OpenConnections != 4 || end.OpenConnections != warm.OpenConnections {
		t.Errorf("%d connections opened after warm-up", end.OpenConnections-warm.OpenConnections)
	}

	_, churn := steadyHomeLoad(t, models.Pool{MaxOpenConns: 4, MaxIdleConns: 1}, clients, 300*time.Millisecond, 700*time.Millisecond)
	t.Logf("one idle connection: %d closed for lack of idle room", churn.MaxIdleClosed)
	if churn.MaxIdleClosed == 0 {
		t.Errorf("one idle connection for %d clients closed none: the measure sees nothing", clients)
	}
}
