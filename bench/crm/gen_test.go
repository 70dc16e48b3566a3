package main

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ownerhub/ownerhub/models/testdb"
)

// TestGenerateAndMeasure is the generator's smoke test: a tiny world on a
// fresh PostgreSQL database, its rows checked, then every phase of the
// benchmark once (the dispatch phase fails on a duplicate or a missing
// invitation, notification or delivery). The generator is PostgreSQL's
// (generate_series, hash functions): without TEST_DATABASE_URL it skips.
func TestGenerateAndMeasure(t *testing.T) {
	url, drop, err := testdb.URL()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	if url == "" {
		t.Skip("the CRM benchmark's generator needs PostgreSQL: set TEST_DATABASE_URL")
	}
	ctx := context.Background()
	cfg := GenConfig{Owners: 400, Stores: 4, HistoryMonths: 24, Now: time.Now()}
	if err := run(ctx, url, cfg, 2, 100, []string{"segments", "vacuum", "audiences", "dispatch"}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if n, err := Generated(ctx, conn); err != nil || n != cfg.Owners {
		t.Fatalf("%d generated owners (%v); want %d", n, err, cfg.Owners)
	}
	var accounts, cars, ownersWithCars, orders, delivered, items, kinds, segments, stores int
	var oldest, newest time.Time
	err = conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM membership_accounts),
		(SELECT count(*) FROM vehicles),
		(SELECT count(DISTINCT owner_id) FROM vehicles),
		(SELECT count(*) FROM repair_orders),
		(SELECT count(*) FROM repair_orders WHERE status = 'DELIVERED' AND delivered_at IS NOT NULL),
		(SELECT count(*) FROM repair_order_items),
		(SELECT count(DISTINCT kind) FROM repair_orders),
		(SELECT count(*) FROM owner_segments),
		(SELECT count(*) FROM stores WHERE code LIKE 'CB%'),
		(SELECT min(delivered_at) FROM repair_orders), (SELECT max(delivered_at) FROM repair_orders)`).
		Scan(&accounts, &cars, &ownersWithCars, &orders, &delivered, &items, &kinds, &segments, &stores, &oldest, &newest)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case accounts != cfg.Owners || stores != cfg.Stores:
		t.Errorf("%d membership accounts, %d stores", accounts, stores)
	case ownersWithCars < cfg.Owners*9/10 || cars <= ownersWithCars:
		t.Errorf("%d cars of %d owners", cars, ownersWithCars)
	case orders < cfg.Owners || delivered < orders*9/10 || items < orders || kinds != 6:
		t.Errorf("%d orders (%d delivered, %d kinds), %d items", orders, delivered, kinds, items)
	case oldest.Before(cfg.Now.AddDate(0, -cfg.HistoryMonths-1, 0)) || newest.After(cfg.Now):
		t.Errorf("orders delivered from %s to %s; want within %d months before %s", oldest, newest, cfg.HistoryMonths, cfg.Now)
	case segments < cfg.Owners*9/10:
		t.Errorf("the segments job wrote %d rows for %d owners", segments, cfg.Owners)
	}
	// A second run finds the world and generates nothing.
	if err := run(ctx, url, cfg, 1, 100, []string{"segments"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := Generated(ctx, conn); n != cfg.Owners {
		t.Fatalf("%d owners after a second run", n)
	}
}
