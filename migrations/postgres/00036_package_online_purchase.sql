-- +goose Up
-- Service packages bought online (docs/packages.md): a payment of purpose
-- SERVICE_PACKAGE creates the owner's package when it is paid. The package
-- records its payment (one package per payment: owner_packages_payment_idx)
-- and has no seller.
ALTER TABLE payments DROP CONSTRAINT payments_purpose_check;
ALTER TABLE payments ADD CONSTRAINT payments_purpose_check
    CHECK (purpose IN ('TOP_UP', 'EVENT_FEE', 'REPAIR_BILL', 'SERVICE_PACKAGE'));

ALTER TABLE owner_packages DROP CONSTRAINT owner_packages_pay_method_check;
ALTER TABLE owner_packages ADD CONSTRAINT owner_packages_pay_method_check
    CHECK (pay_method IN ('WALLET', 'CASH', 'CARD', 'WECHAT_PAY', 'ALIPAY', 'WECHAT_PAY_ONLINE'));
ALTER TABLE owner_packages ADD COLUMN payment_id uuid REFERENCES payments (id);
ALTER TABLE owner_packages ALTER COLUMN sold_by DROP NOT NULL;
ALTER TABLE owner_packages ADD CONSTRAINT owner_packages_payment_check
    CHECK ((pay_method = 'WECHAT_PAY_ONLINE') = (payment_id IS NOT NULL));
ALTER TABLE owner_packages ADD CONSTRAINT owner_packages_seller_check
    CHECK ((sold_by IS NULL) = (payment_id IS NOT NULL));
-- One package per payment, however often the payment's news arrives.
CREATE UNIQUE INDEX owner_packages_payment_idx ON owner_packages (payment_id) WHERE payment_id IS NOT NULL;

-- +goose Down
SELECT 1;
