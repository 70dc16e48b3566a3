-- +goose Up
-- A repair bill paid online: see the PostgreSQL migration and
-- docs/payments.md. SQLite cannot drop a NOT NULL, so repair_order_payments
-- is rebuilt (no table refers to it).
CREATE TABLE repair_order_payments_new (
    id                TEXT NOT NULL PRIMARY KEY,
    order_id          TEXT NOT NULL REFERENCES repair_orders (id),
    method            TEXT NOT NULL CHECK (method IN ('CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WALLET', 'POINTS')),
    amount_fen        INTEGER NOT NULL CHECK (amount_fen > 0),
    points            INTEGER NOT NULL DEFAULT 0 CHECK (points >= 0),
    reference         TEXT NOT NULL DEFAULT '',
    ledger_entry_id   TEXT,
    created_by        TEXT REFERENCES staffs (id),
    online_payment_id TEXT REFERENCES payments (id),
    created_at        DATETIME NOT NULL,
    CHECK ((created_by IS NULL) = (online_payment_id IS NOT NULL)),
    CHECK (online_payment_id IS NULL OR method = 'WECHAT_PAY')
);
INSERT INTO repair_order_payments_new (id, order_id, method, amount_fen, points, reference, ledger_entry_id, created_by, created_at)
SELECT id, order_id, method, amount_fen, points, reference, ledger_entry_id, created_by, created_at
FROM repair_order_payments;
DROP TABLE repair_order_payments;
ALTER TABLE repair_order_payments_new RENAME TO repair_order_payments;
CREATE INDEX repair_order_payments_order_idx ON repair_order_payments (order_id);
CREATE UNIQUE INDEX repair_order_payments_online_idx ON repair_order_payments (online_payment_id)
    WHERE online_payment_id IS NOT NULL;

-- +goose Down
DROP INDEX repair_order_payments_online_idx;
