// Command crm is the CRM benchmark (bench/README.md, "CRM"): it fills an
// empty PostgreSQL database with a generated group (owners, stores, cars,
// memberships, consent and months of repair orders; gen.go), then measures
// the segments job over every owner (wall time, peak memory, statements),
// audience counts (p50/p99 over repeated runs, with each plan), and the
// campaign fan-out through the outbox (invitations and notifications per
// second, one dispatcher and two at once, with a check that nobody is
// invited twice).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/migrations"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/crm"
	"github.com/ownerhub/ownerhub/models/directory"
	"github.com/ownerhub/ownerhub/models/inbox"
	"github.com/ownerhub/ownerhub/models/outbox"
	"github.com/ownerhub/ownerhub/models/push"
	"github.com/ownerhub/ownerhub/models/wallet"
	"github.com/ownerhub/ownerhub/models/wechat"
	"github.com/ownerhub/ownerhub/models/workshop"
)

func main() {
	var (
		url     = flag.String("database-url", os.Getenv("DATABASE_URL"), "an empty PostgreSQL database (or one this tool filled before)")
		owners  = flag.Int("owners", 1_000_000, "owners to generate")
		stores  = flag.Int("stores", 50, "stores to generate")
		history = flag.Int("history", 24, "months of repair orders")
		repeat  = flag.Int("repeat", 30, "runs of each audience count")
		phases  = flag.String("phases", "segments,vacuum,audiences,dispatch", "what to measure, comma-separated")
		size    = flag.Int("audience", 20_000, "the campaign's audience: the store whose consenting owners are nearest this number")
	)
	flag.Parse()
	if err := run(context.Background(), *url, GenConfig{Owners: *owners, Stores: *stores, HistoryMonths: *history, Now: time.Now()},
		*repeat, *size, strings.Split(*phases, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "crm bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url string, cfg GenConfig, repeat, audience int, phases []string) error {
	if url == "" {
		return errors.New("DATABASE_URL (or -database-url): a PostgreSQL database")
	}
	// The server's 10 s statement timeout would cut the slowest counts of
	// a loaded machine short: the benchmark measures them instead (and
	// applies migrations, which may build indexes over a million rows).
	db, err := models.OpenPool(url, "", nil, models.Pool{StatementTimeout: 10 * time.Minute})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	if _, err := migrations.Up(ctx, db.SQL, string(db.Dialect), nil); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	n, err := Generated(ctx, conn)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Printf("generating %d owners at %d stores, %d months of orders\n", cfg.Owners, cfg.Stores, cfg.HistoryMonths)
		start := time.Now()
		if err := Generate(ctx, conn, cfg, func(step string, d time.Duration) {
			fmt.Printf("  %-20s %8.1f s\n", step, d.Seconds())
		}); err != nil {
			return err
		}
		fmt.Printf("  %-20s %8.1f s\n", "total", time.Since(start).Seconds())
	} else {
		fmt.Printf("reusing %d generated owners (their orders end at the first run's time)\n", n)
	}
	if err := printSizes(ctx, conn); err != nil {
		return err
	}
	fmt.Printf("load average at start: %s\n", loadAverage())
	b := newBench(db, conn)
	for _, p := range phases {
		var err error
		switch strings.TrimSpace(p) {
		case "segments":
			err = b.segments(ctx)
		case "vacuum":
			err = b.vacuum(ctx)
		case "audiences":
			err = b.audiences(ctx, repeat)
		case "dispatch":
			err = b.dispatch(ctx, url, audience)
		case "":
		default:
			err = fmt.Errorf("unknown phase %q", p)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	fmt.Printf("load average at end: %s\n", loadAverage())
	return nil
}

// bench holds the services over the database under test.
type bench struct {
	db   *models.DB
	conn *pgx.Conn
	crm  *crm.Service
	// last is the last query's SQL and arguments, for EXPLAIN.
	mu       sync.Mutex
	capture  bool
	lastSQL  string
	lastVars []any
}

func newBench(db *models.DB, conn *pgx.Conn) *bench {
	b := &bench{db: db, conn: conn, crm: services(db, nil)}
	g := db.Conn(context.Background())
	_ = g.Callback().Query().After("gorm:query").Register("crmbench:capture", func(tx *gorm.DB) {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.capture {
			b.lastSQL, b.lastVars = tx.Statement.SQL.String(), slices.Clone(tx.Statement.Vars)
		}
	})
	return b
}

// services is the CRM as the server wires it (server/app.go), with an
// outbox when ob is not nil.
func services(db *models.DB, ob *outbox.Outbox) *crm.Service {
	dir := &directory.Service{DB: db}
	wx := &wechat.Service{DB: db, Directory: dir}
	ib := &inbox.Service{DB: db, Directory: dir, WeChat: wx, Devices: &push.Registry{DB: db}}
	if ob != nil {
		// The weekly marketing cap is counted (one statement per owner) but
		// set so that repeated runs on one database still deliver.
		ib.Outbox, ib.Routing = ob, inbox.Routing{MarketingWeeklyCap: benchWeeklyCap}
	}
	ws := &workshop.Service{DB: db, Directory: dir, Inbox: ib}
	return &crm.Service{DB: db, Directory: dir, Workshop: ws, Inbox: ib}
}

// benchWeeklyCap is the marketing cap of the benchmark's inbox: high, so
// that every run's owners get their delivery (the default, 2 a week, would
// stop them at the third campaign of a database).
const benchWeeklyCap = 1000

// segments runs the nightly job over every owner once.
func (b *bench) segments(ctx context.Context) error {
	fmt.Println("\n## segments job")
	runtime.GC()
	stop := make(chan struct{})
	var peakHeap atomic.Uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peakHeap.Load() {
				peakHeap.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	rssBefore := maxRSS()
	stmts := b.db.Statements()
	start := time.Now()
	n, err := b.crm.ComputeSegments(ctx, time.Now())
	wall := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	stmts = b.db.Statements() - stmts
	fmt.Printf("owners %d, wall %.1f s (%.0f owners/s), statements %d, peak heap %.1f MiB, peak RSS %.1f MiB (before the job %.1f MiB)\n",
		n, wall.Seconds(), float64(n)/wall.Seconds(), stmts, mib(peakHeap.Load()), float64(maxRSS())/1024, float64(rssBefore)/1024)
	rows, err := b.conn.Query(ctx, `SELECT segment, count(*), count(*) FILTER (WHERE churn_risk = 'HIGH') FROM owner_segments GROUP BY segment ORDER BY 2 DESC`)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Println("| segment | owners | HIGH risk |\n|---|---:|---:|")
	for rows.Next() {
		var seg string
		var c, high int64
		if err := rows.Scan(&seg, &c, &high); err != nil {
			return err
		}
		fmt.Printf("| %s | %d | %d |\n", seg, c, high)
	}
	return rows.Err()
}

// vacuumed are the tables audience counts read.
var vacuumed = []string{"owner_segments", "owners", "vehicles", "membership_accounts", "deleted_owners"}

// vacuum does what autovacuum does after the segments job and a bulk
// load: VACUUM (ANALYZE) of the tables the counts read, which sets their
// visibility maps (an index-only scan reads the heap of every page not
// marked all-visible). A server with autovacuum off (as a benchmark
// machine may be) would otherwise measure heap reads production does not
// make.
func (b *bench) vacuum(ctx context.Context) error {
	fmt.Println("\n## vacuum")
	start := time.Now()
	if _, err := b.conn.Exec(ctx, "VACUUM (ANALYZE) "+strings.Join(vacuumed, ", ")); err != nil {
		return err
	}
	fmt.Printf("VACUUM (ANALYZE) %s: %.1f s (load %s)\n", strings.Join(vacuumed, ", "), time.Since(start).Seconds(), loadAverage())
	return nil
}

// filters are the audiences counted: what a store's CRM staff and the group
// ask for.
func filters(stores []uuid.UUID) []struct {
	name  string
	store *uuid.UUID
	f     crm.Filter
} {
	yes := true
	i := func(v int) *int { return &v }
	today := models.ChinaDate(time.Now())
	yearAgo := today.AddDate(-1, 0, 0)
	big, small := stores[0], stores[len(stores)-1]
	return []struct {
		name  string
		store *uuid.UUID
		f     crm.Filter
	}{
		{"store: overdue (MEDIUM, HIGH risk)", &big, crm.Filter{ChurnRisks: []crm.Risk{crm.RiskMedium, crm.RiskHigh}}},
		{"small store: overdue", &small, crm.Filter{ChurnRisks: []crm.Risk{crm.RiskMedium, crm.RiskHigh}}},
		{"store: consent, Camry 2015-2019", &big, crm.Filter{Models: []string{"Camry"}, ModelYearFrom: i(2015), ModelYearTo: i(2019), MarketingConsent: &yes}},
		{"store: insurance due in 30 days", &big, crm.Filter{InsuranceDueWithinDays: i(30)}},
		{"group: HIGH_LOYALTY, GOLD/PLATINUM", nil, crm.Filter{Segments: []crm.Segment{crm.HighLoyalty}, Tiers: []wallet.Tier{wallet.Tiers[2], wallet.Tiers[3]}}},
		{"group: no visit for a year, car 6+ years", nil, crm.Filter{LastVisitBefore: &yearAgo, CarAgeMinYears: i(6)}},
		{"group: inspection due in 14 days, consent", nil, crm.Filter{InspectionDueWithinDays: i(14), MarketingConsent: &yes}},
		{"group: VALUE_FOR_MONEY/SAFETY, HIGH risk", nil, crm.Filter{Segments: []crm.Segment{crm.ValueForMoney, crm.Safety}, ChurnRisks: []crm.Risk{crm.RiskHigh}}},
	}
}

// benchStores are the generated stores, the biggest first.
func (b *bench) benchStores(ctx context.Context) ([]uuid.UUID, error) {
	rows, err := b.conn.Query(ctx, `SELECT id FROM stores WHERE code LIKE '`+benchStorePrefix+`%' ORDER BY code`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}

// admin is the generated CRM staff member (CRM and GROUP_ADMIN at every
// generated store).
func (b *bench) admin(ctx context.Context, stores []uuid.UUID) (*auth.Principal, error) {
	var id uuid.UUID
	if err := b.conn.QueryRow(ctx, `SELECT id FROM staffs WHERE username = $1`, crmUsername).Scan(&id); err != nil {
		return nil, err
	}
	return &auth.Principal{Kind: auth.KindStaff, ID: id, Roles: []auth.Role{auth.RoleCRM, auth.RoleGroupAdmin}, StoreIDs: stores}, nil
}

// audiences counts each filter repeat times and prints p50/p99 and the
// plan of the count.
func (b *bench) audiences(ctx context.Context, repeat int) error {
	fmt.Println("\n## audience counts")
	stores, err := b.benchStores(ctx)
	if err != nil {
		return err
	}
	actor, err := b.admin(ctx, stores)
	if err != nil {
		return err
	}
	var plans strings.Builder
	fmt.Printf("| audience | owners | p50 ms | p99 ms | statements | load |\n|---|---:|---:|---:|---:|---|\n")
	for _, f := range filters(stores) {
		var times []time.Duration
		var n int64
		stmts := b.db.Statements()
		for r := range repeat + 1 {
			b.mu.Lock()
			b.capture = r == 0
			b.mu.Unlock()
			start := time.Now()
			n, err = b.crm.AudienceSize(ctx, actor, f.store, f.f)
			if err != nil {
				return err
			}
			if r > 0 { // the first run warms the cache and is the one explained
				times = append(times, time.Since(start))
			}
		}
		stmts = b.db.Statements() - stmts
		slices.Sort(times)
		fmt.Printf("| %s | %d | %.1f | %.1f | %.0f | %s |\n", f.name, n, ms(pct(times, 50)), ms(pct(times, 99)), float64(stmts)/float64(repeat+1), loadAverage())
		b.mu.Lock()
		sql, vars := b.lastSQL, b.lastVars
		b.mu.Unlock()
		plan, err := b.explain(ctx, sql, vars)
		if err != nil {
			return err
		}
		fmt.Fprintf(&plans, "\n### %s\n%s\n%s\n", f.name, sql, plan)
	}
	fmt.Print(plans.String())
	return nil
}

// explain is EXPLAIN (ANALYZE, BUFFERS) of a captured statement.
func (b *bench) explain(ctx context.Context, sql string, vars []any) (string, error) {
	args := make([]any, len(vars))
	for i, v := range vars {
		switch v := v.(type) {
		case time.Time:
			args[i] = v
		case models.Date:
			args[i] = v.String()
		case fmt.Stringer:
			args[i] = v.String()
		default:
			args[i] = v
		}
	}
	rows, err := b.conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+sql, args...)
	if err != nil {
		return "", fmt.Errorf("explain %s: %w", sql, err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

// dispatch sends a campaign to every consenting owner of the store whose
// consenting owners are nearest size, first with one dispatcher, then (a second campaign) with two instances'
// dispatchers at once, and checks that nobody got two invitations or
// notifications.
func (b *bench) dispatch(ctx context.Context, url string, size int) error {
	fmt.Println("\n## campaign fan-out")
	stores, err := b.benchStores(ctx)
	if err != nil {
		return err
	}
	actor, err := b.admin(ctx, stores)
	if err != nil {
		return err
	}
	var store uuid.UUID
	if err := b.conn.QueryRow(ctx, `SELECT s.store_id FROM owner_segments s JOIN owners o ON o.id = s.owner_id
		WHERE o.marketing_consent AND s.store_id IS NOT NULL GROUP BY s.store_id ORDER BY abs(count(*) - $1), s.store_id LIMIT 1`, size).Scan(&store); err != nil {
		return fmt.Errorf("the audience's store (run the segments phase first): %w", err)
	}
	a, err := b.crm.SaveAudience(ctx, actor, nil, &store, fmt.Sprintf("bench %d", time.Now().UnixNano()), crm.Filter{})
	if err != nil {
		return err
	}
	fmt.Printf("| dispatchers | invited | notifications | deliveries | wall s | invitations/s | statements | duplicates | failed runs | load |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, instances := range []int{1, 2} {
		if err := b.dispatchOnce(ctx, url, actor, store, a.ID, instances); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) dispatchOnce(ctx context.Context, url string, actor *auth.Principal, store, audience uuid.UUID, instances int) error {
	kind := workshop.Maintenance
	c, err := b.crm.CreateCampaign(ctx, actor, crm.CampaignInput{StoreID: store, AudienceID: audience, Name: "bench",
		Kind: crm.InviteToBooking, ServiceKind: &kind, Title: "保养邀约", Body: "本月到店保养享工时八折"})
	if err != nil {
		return err
	}
	// The other campaigns of earlier runs are done: only this one is due.
	svcs := make([]*crm.Service, instances)
	var stmts []*models.DB
	for i := range instances {
		db, err := models.Open(url, "", nil)
		if err != nil {
			return err
		}
		defer func() { _ = db.Close() }()
		ob, err := outbox.New(db, map[string]outbox.Channel{outbox.ChannelSMS: accepting{}}, outbox.Config{}, slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		svcs[i] = services(db, ob)
		stmts = append(stmts, db)
	}
	made := make([]int64, instances)
	errs := make([]error, instances)
	start := time.Now()
	var wg sync.WaitGroup
	for i, s := range svcs {
		wg.Go(func() { made[i], errs[i] = s.DispatchCampaigns(ctx, time.Now()) })
	}
	wg.Wait()
	// A dispatcher that waited on the other's batch longer than the lock
	// timeout fails its run; the next run (the job's next period) carries
	// on, as here, and must still invite nobody twice.
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			fmt.Printf("dispatcher %d failed (the next run carries on): %v\n", i+1, err)
		}
	}
	if failed > 0 {
		m, err := svcs[0].DispatchCampaigns(ctx, time.Now())
		if err != nil {
			return err
		}
		made[0] += m
	}
	wall := time.Since(start)
	var total, statements int64
	for i, m := range made {
		total += m
		statements += stmts[i].Statements()
	}
	var invited, distinct, notes, dupNotes, deliveries, dupDeliveries, want int64
	err = b.conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM campaign_invitations WHERE campaign_id = $1),
		(SELECT count(DISTINCT owner_id) FROM campaign_invitations WHERE campaign_id = $1),
		(SELECT count(*) FROM notifications WHERE dedupe_key = 'campaign:' || $1::text),
		(SELECT count(*) - count(DISTINCT owner_id) FROM notifications WHERE dedupe_key = 'campaign:' || $1::text),
		(SELECT count(*) FROM deliveries d JOIN notifications n ON n.id = d.notification_id WHERE n.dedupe_key = 'campaign:' || $1::text),
		(SELECT count(*) - count(DISTINCT d.notification_id) FROM deliveries d JOIN notifications n ON n.id = d.notification_id
		  WHERE n.dedupe_key = 'campaign:' || $1::text),
		(SELECT count(*) FROM owner_segments s JOIN owners o ON o.id = s.owner_id
		  WHERE s.store_id = $2 AND o.marketing_consent AND NOT EXISTS (SELECT 1 FROM deleted_owners d WHERE d.owner_id = s.owner_id))`,
		c.ID, store).Scan(&invited, &distinct, &notes, &dupNotes, &deliveries, &dupDeliveries, &want)
	if err != nil {
		return err
	}
	dups := (invited - distinct) + dupNotes + dupDeliveries
	fmt.Printf("| %d | %d | %d | %d | %.1f | %.0f | %d | %d | %d | %s |\n", instances, invited, notes, deliveries, wall.Seconds(),
		float64(invited)/wall.Seconds(), statements, dups, failed, loadAverage())
	switch {
	case dups != 0:
		return fmt.Errorf("campaign %s: %d duplicate invitations, notifications or deliveries", c.ID, dups)
	case invited != want || notes != want || deliveries != want || total != want:
		return fmt.Errorf("campaign %s: %d invited, %d notifications, %d deliveries, %d reported made; the audience has %d",
			c.ID, invited, notes, deliveries, total, want)
	}
	return nil
}

// accepting is an SMS provider that has every template; the outbox's
// workers are not started, so it never sends: the fan-out measured ends at
// the committed deliveries and jobs.
type accepting struct{}

func (accepting) Send(context.Context, outbox.Delivery) (string, error) { return "bench", nil }
func (accepting) HasTemplate(string) bool                               { return true }

// printSizes prints the generated tables' rows and sizes.
func printSizes(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT c.relname, c.reltuples::bigint, pg_size_pretty(pg_total_relation_size(c.oid))
		FROM pg_class c WHERE c.relname IN ('owners','vehicles','membership_accounts','repair_orders','repair_order_items','owner_segments')
		ORDER BY c.relname`)
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Println("| table | rows (estimate) | size with indexes |\n|---|---:|---:|")
	for rows.Next() {
		var name, size string
		var n int64
		if err := rows.Scan(&name, &n, &size); err != nil {
			return err
		}
		fmt.Printf("| %s | %d | %s |\n", name, n, size)
	}
	return rows.Err()
}

func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss // KiB on Linux
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
func mib(b uint64) float64       { return float64(b) / (1 << 20) }
