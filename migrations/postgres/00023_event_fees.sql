-- +goose Up
-- Event fees paid online with WeChat Pay (docs/payments.md, "Event fees"): a
-- registration paying that way holds its seats AWAITING_PAYMENT until
-- hold_expires_at. Held seats count in events.seats_taken like confirmed
-- ones (the capacity CHECK keeps both within the event's seats); a hold
-- released unpaid is CANCELLED and its seats go to the waitlist.
ALTER TABLE registrations DROP CONSTRAINT registrations_status_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check
    CHECK (status IN ('CONFIRMED', 'AWAITING_PAYMENT', 'WAITLISTED', 'CANCELLED'));
ALTER TABLE registrations DROP CONSTRAINT registrations_pay_with_check;
ALTER TABLE registrations ADD CONSTRAINT registrations_pay_with_check
    CHECK (pay_with IN ('WALLET', 'POINTS', 'WECHAT_PAY'));
ALTER TABLE registrations ADD COLUMN hold_expires_at timestamptz;
ALTER TABLE registrations ADD CONSTRAINT registrations_hold_check
    CHECK (status <> 'AWAITING_PAYMENT' OR hold_expires_at IS NOT NULL);
-- The hold-release job finds the holds past their end.
CREATE INDEX registrations_hold_idx ON registrations (hold_expires_at) WHERE status = 'AWAITING_PAYMENT';

-- +goose Down
SELECT 1;
