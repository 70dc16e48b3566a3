package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// GenConfig is what the generator makes.
type GenConfig struct {
	Owners        int       // owners (1,000,000 by default)
	Stores        int       // stores; owners crowd the first ones (a few big stores, many small)
	HistoryMonths int       // months of repair orders before Now (12 to 24 in the brief; up to 36)
	Now           time.Time // the orders, cars and due dates are placed around it
}

// The generator's rows are all named from one prefix, so that a database
// holds one generated world and a second run finds it (Generated).
const (
	benchStorePrefix = "CB"
	crmUsername      = "crmbench.crm"
)

// Generated reports how many generated owners the database holds (0: none).
func Generated(ctx context.Context, conn *pgx.Conn) (int, error) {
	var n int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM owners WHERE phone LIKE '+86130%'`).Scan(&n)
	return n, err
}

// genStep is one statement of the generator and what it makes.
type genStep struct {
	what string
	sql  string
}

// genSteps are the generator's statements. Every value is a function of
// the row's number through hashint8extended (pg_temp.u: uniform in [0, 1)),
// so the same N gives the same world. $1 = owners, $2 = stores,
// $3 = now, $4 = history months.
//
// Shapes (docs/crm.md for what the job reads):
//   - owners: 85% with a home store (store k of S with probability
//     growing towards the first stores), 60% marketing consent, 0.5%
//     deleted accounts, registered up to six years ago; a membership
//     account each (60% BASIC, 25% SILVER, 11% GOLD, 4% PLATINUM);
//   - cars: 3% of owners none, 20% two, the rest one; 12 models, model
//     years 2008–2025, purchased in their model year, three years'
//     warranty or 100,000 km, insurance due in the coming year,
//     inspection from half a year ago to a year ahead, a 6- or 12-month
//     maintenance interval (20% none recorded);
//   - repair orders: 0 to 9 per owner with a car (skewed low: most owners
//     come a few times), spread over the history, on the first car, at the
//     home store (else a store of the owner's); kinds MAINTENANCE 45%,
//     DETAILING 10%, REPAIR 15%, WARRANTY 5%, ACCIDENT 15%, BODY_PAINT 10%;
//     97% DELIVERED, 3% CANCELLED; 1 to 3 items each (labour and parts).
var genSteps = []genStep{
	{"functions", `
CREATE OR REPLACE FUNCTION pg_temp.u(i bigint, salt bigint) RETURNS float8 LANGUAGE sql IMMUTABLE AS
$$ SELECT ((hashint8extended(i, salt) & 9223372036854775807) % 1000003)::float8 / 1000003 $$;
CREATE OR REPLACE FUNCTION pg_temp.sidx(i bigint, salt bigint, stores int) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT LEAST(stores, 1 + floor(stores * pg_temp.u(i, salt) ^ 2)::int) $$;
CREATE OR REPLACE FUNCTION pg_temp.sid(k int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT md5('crmbench-store-' || k)::uuid $$;
CREATE OR REPLACE FUNCTION pg_temp.staff(k int) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT md5('crmbench-staff-' || k)::uuid $$;
CREATE OR REPLACE FUNCTION pg_temp.oid(i bigint) RETURNS uuid LANGUAGE sql IMMUTABLE AS
$$ SELECT md5('crmbench-owner-' || i)::uuid $$;
CREATE OR REPLACE FUNCTION pg_temp.home(i bigint, stores int) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN pg_temp.u(i, 1) < 0.85 THEN pg_temp.sidx(i, 4, stores) END $$;
CREATE OR REPLACE FUNCTION pg_temp.cars(i bigint) RETURNS int LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN pg_temp.u(i, 7) < 0.03 THEN 0 WHEN pg_temp.u(i, 7) < 0.23 THEN 2 ELSE 1 END $$`},
	{"stores and staff", `
INSERT INTO stores (id, code, name, city, created_at, updated_at)
SELECT pg_temp.sid(k), 'CB' || lpad(k::text, 3, '0'), 'Bench store ' || k, 'Shenzhen', $3, $3
FROM generate_series(1, $2::int) k;
INSERT INTO staffs (id, username, name, password_hash, created_at, updated_at)
SELECT pg_temp.staff(k), 'crmbench.advisor' || k, 'Advisor ' || k, '!', $3, $3 FROM generate_series(1, $2::int) k;
INSERT INTO staff_roles (staff_id, role) SELECT pg_temp.staff(k), 'ADVISOR' FROM generate_series(1, $2::int) k;
INSERT INTO staff_stores (staff_id, store_id) SELECT pg_temp.staff(k), pg_temp.sid(k) FROM generate_series(1, $2::int) k;
INSERT INTO staffs (id, username, name, password_hash, created_at, updated_at)
VALUES (pg_temp.staff(0), '` + crmUsername + `', 'CRM (bench)', '!', $3, $3);
INSERT INTO staff_roles (staff_id, role) VALUES (pg_temp.staff(0), 'CRM'), (pg_temp.staff(0), 'GROUP_ADMIN');
INSERT INTO staff_stores (staff_id, store_id) SELECT pg_temp.staff(0), pg_temp.sid(k) FROM generate_series(1, $2::int) k`},
	{"owners", `
INSERT INTO owners (id, phone, name, home_store_id, marketing_consent, marketing_consent_at, created_at, updated_at)
SELECT pg_temp.oid(i), '+86130' || lpad(i::text, 8, '0'), 'Owner ' || i,
       pg_temp.sid(pg_temp.home(i, $2::int)), pg_temp.u(i, 2) < 0.6,
       CASE WHEN pg_temp.u(i, 2) < 0.6 THEN $3::timestamptz - interval '1 day' * floor(pg_temp.u(i, 3) * 2000) END,
       $3::timestamptz - interval '1 day' * floor(pg_temp.u(i, 3) * 2190), $3
FROM generate_series(1, $1::int) i`},
	{"membership accounts", `
INSERT INTO membership_accounts (owner_id, tier, created_at, updated_at)
SELECT pg_temp.oid(i), CASE WHEN pg_temp.u(i, 5) < 0.60 THEN 'BASIC' WHEN pg_temp.u(i, 5) < 0.85 THEN 'SILVER'
                            WHEN pg_temp.u(i, 5) < 0.96 THEN 'GOLD' ELSE 'PLATINUM' END, $3, $3
FROM generate_series(1, $1::int) i;
INSERT INTO deleted_owners (owner_id, deleted_at)
SELECT pg_temp.oid(i), $3 FROM generate_series(1, $1::int) i WHERE pg_temp.u(i, 6) < 0.005`},
	{"vehicles", `
INSERT INTO vehicles (id, owner_id, vin, brand, model, model_year, purchase_date, selling_store_id, warranty_end_date,
                      warranty_end_km, insurance_expiry, inspection_due, mileage_km, service_interval_months, created_at, updated_at)
SELECT md5('crmbench-car-' || i || '-' || k)::uuid, pg_temp.oid(i), 'LCB' || lpad(i::text, 9, '0') || k || 'XXXX', 'Toyota',
       (ARRAY['Camry','Corolla','RAV4','Highlander','Levin','C-HR','Sienna','bZ4X','Crown','Avalon','Yaris','Prado'])[1 + floor(12 * pg_temp.u(i * 4 + k, 10))::int],
       y, p, pg_temp.sid(COALESCE(pg_temp.home(i, $2::int), pg_temp.sidx(i, 11, $2::int))), (p + interval '3 years')::date, 100000,
       ($3::timestamptz)::date + floor(365 * pg_temp.u(i * 4 + k, 12))::int,
       ($3::timestamptz)::date - 180 + floor(545 * pg_temp.u(i * 4 + k, 13))::int,
       GREATEST(0, (($3::timestamptz)::date - p) * 40),
       CASE WHEN pg_temp.u(i * 4 + k, 14) < 0.5 THEN 6 WHEN pg_temp.u(i * 4 + k, 14) < 0.8 THEN 12 END, p, $3
FROM generate_series(1, $1::int) i
CROSS JOIN LATERAL generate_series(1, pg_temp.cars(i)) k
CROSS JOIN LATERAL (SELECT 2008 + floor(18 * pg_temp.u(i * 4 + k, 15))::int AS y) yy
CROSS JOIN LATERAL (SELECT LEAST(($3::timestamptz)::date - 1,
       make_date(y, 1 + floor(12 * pg_temp.u(i * 4 + k, 16))::int, 1 + floor(28 * pg_temp.u(i * 4 + k, 17))::int)) AS p) pp`},
	{"repair orders", `
INSERT INTO repair_orders (id, number, store_id, vehicle_id, owner_id, advisor_id, kind, mileage_in, status, status_changed_at,
                           total_fen, warranty_fen, payable_fen, settled_at, delivered_at, created_at, updated_at)
SELECT md5('crmbench-ro-' || i || '-' || j)::uuid, 'CB' || i || '-' || j, pg_temp.sid(s), md5('crmbench-car-' || i || '-1')::uuid,
       pg_temp.oid(i), pg_temp.staff(s), kind, 10000 + j * 5000,
       CASE WHEN cancelled THEN 'CANCELLED' ELSE 'DELIVERED' END, at,
       fen, CASE WHEN kind = 'WARRANTY' THEN fen ELSE 0 END, CASE WHEN kind = 'WARRANTY' THEN 0 ELSE fen END,
       CASE WHEN NOT cancelled THEN at END, CASE WHEN NOT cancelled THEN at END, at - interval '1 day', at
FROM generate_series(1, $1::int) i
CROSS JOIN LATERAL generate_series(1, CASE WHEN pg_temp.cars(i) = 0 THEN 0 ELSE floor(10 * pg_temp.u(i, 20) ^ 1.6)::int END) j
CROSS JOIN LATERAL (SELECT pg_temp.u(i * 16 + j, 21) AS r,
       COALESCE(pg_temp.home(i, $2::int), pg_temp.sidx(i * 16 + j, 22, $2::int)) AS s,
       pg_temp.u(i * 16 + j, 23) < 0.03 AS cancelled,
       (10000 + floor(500000 * pg_temp.u(i * 16 + j, 24)))::bigint AS fen,
       $3::timestamptz - interval '1 hour' * floor(24 * 30.4 * $4::int * pg_temp.u(i * 16 + j, 25)) - interval '1 hour' AS at) x
CROSS JOIN LATERAL (SELECT CASE WHEN r < 0.45 THEN 'MAINTENANCE' WHEN r < 0.55 THEN 'DETAILING' WHEN r < 0.70 THEN 'REPAIR'
       WHEN r < 0.75 THEN 'WARRANTY' WHEN r < 0.90 THEN 'ACCIDENT' ELSE 'BODY_PAINT' END AS kind) kk`},
	{"repair order items", `
INSERT INTO repair_order_items (id, order_id, kind, code, description, quantity_milli, unit_price_fen, amount_fen, warranty,
                                approval, created_by, created_at)
SELECT md5('crmbench-item-' || r.number || '-' || n)::uuid, r.id, CASE WHEN n = 1 THEN 'LABOR' ELSE 'PART' END,
       r.kind || '-' || n,
       CASE r.kind WHEN 'MAINTENANCE' THEN (ARRAY['Maintenance labour', 'Engine oil', 'Oil filter'])[n]
                   WHEN 'DETAILING' THEN (ARRAY['Detailing labour', 'Wax', 'Interior cleaner'])[n]
                   WHEN 'REPAIR' THEN (ARRAY['Repair labour', 'Brake pads', 'Spark plugs'])[n]
                   WHEN 'WARRANTY' THEN (ARRAY['Warranty labour', 'Warranty part', 'Seal kit'])[n]
                   WHEN 'ACCIDENT' THEN (ARRAY['Accident labour', 'Bumper', 'Headlamp'])[n]
                   ELSE (ARRAY['Paint labour', 'Paint', 'Clear coat'])[n] END,
       1000, r.total_fen / 3, r.total_fen / 3, r.kind = 'WARRANTY', 'PRE_APPROVED', r.advisor_id, r.created_at
FROM repair_orders r
CROSS JOIN LATERAL generate_series(1, 1 + (abs(hashtext(r.number)) % 3)) n
WHERE r.number LIKE 'CB%'`},
	{"analyze", `ANALYZE stores; ANALYZE owners; ANALYZE membership_accounts; ANALYZE deleted_owners; ANALYZE vehicles;
ANALYZE repair_orders; ANALYZE repair_order_items`},
}

// Generate fills an empty migrated PostgreSQL database through conn with
// cfg's world, one INSERT … SELECT generate_series per table, in one
// transaction with the triggers and foreign-key checks off
// (session_replication_role = replica: the rows are made consistent, and
// the owners' trigger that opens membership accounts is replaced by one
// INSERT). progress, if not nil, hears each step and its time.
func Generate(ctx context.Context, conn *pgx.Conn, cfg GenConfig, progress func(step string, d time.Duration)) error {
	if cfg.Owners < 1 || cfg.Stores < 1 || cfg.HistoryMonths < 1 || cfg.HistoryMonths > 36 {
		return fmt.Errorf("generate: owners and stores at least 1, history 1 to 36 months")
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }() // after Commit: a no-op
	if _, err := tx.Exec(ctx, `SET LOCAL session_replication_role = replica; SET LOCAL synchronous_commit = off;
		SET LOCAL statement_timeout = 0; SET LOCAL work_mem = '64MB'`); err != nil {
		return err
	}
	params := strings.NewReplacer("$1", strconv.Itoa(cfg.Owners), "$2", strconv.Itoa(cfg.Stores),
		"$3", "'"+cfg.Now.UTC().Format(time.RFC3339Nano)+"'::timestamptz", "$4", strconv.Itoa(cfg.HistoryMonths))
	for _, s := range genSteps {
		start := time.Now()
		// The numbers go in as literals: a step's statements name only
		// some of them, and the generator's own values need no escaping.
		for _, stmt := range strings.Split(params.Replace(s.sql), ";") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("generate %s: %w", s.what, err)
			}
		}
		if progress != nil {
			progress(s.what, time.Since(start))
		}
	}
	return tx.Commit(ctx)
}
