-- +goose Up
-- Staff read the deliveries of the notifications of one kind about given
-- objects (a repair order's approval requests, see
-- models/inbox/deliveries.go): by kind and link.
CREATE INDEX notifications_kind_link_idx ON notifications (kind, link);

-- +goose Down
DROP INDEX notifications_kind_link_idx;
