-- +goose Up
-- A notification's link names what it opens in the domain's own form: an
-- object as "<Type>:<uuid>", or the booking route with such parameters
-- ("book?storeId=Store:<uuid>&vehicleId=Vehicle:<uuid>&kind=MAINTENANCE").
-- The API writes each reference as the object's global ID (unpadded
-- base64url of that text) when it answers, so clients read the links they
-- read before. Links written before held the global IDs: decode them. A
-- value that does not decode to exactly such a reference stays as it is (the
-- API passes it through unchanged).
WITH book AS (
    SELECT id,
           substr(s, 1, strpos(s, '&vehicleId=') - 1) AS store,
           substr(v, 1, strpos(v, '&kind=') - 1) AS vehicle,
           substr(v, strpos(v, '&kind=') + 6) AS kind
      FROM (SELECT id, s, substr(s, strpos(s, '&vehicleId=') + 11) AS v
              FROM (SELECT id, substr(link, 14) AS s FROM notifications
                     WHERE link LIKE 'book?storeId=%&vehicleId=%&kind=%') x) y
), parts (id, part, g) AS (
    SELECT id, 0, link FROM notifications WHERE link ~ '^[A-Za-z0-9_-]+$'
    UNION ALL SELECT id, 1, store FROM book
    UNION ALL SELECT id, 2, vehicle FROM book
), dec AS (
    SELECT id, part, g,
           CASE WHEN g ~ '^[A-Za-z0-9_-]+$' AND length(g) % 4 <> 1
                THEN encode(decode(translate(g, '-_', '+/') || repeat('=', (4 - length(g) % 4) % 4), 'base64'), 'escape')
           END AS d
      FROM parts
), refs AS (
    -- Only what the encoder wrote: a reference that encodes back to g.
    SELECT id, part, d AS ref FROM dec
     WHERE d ~ '^[A-Za-z]+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
       AND translate(rtrim(replace(encode(convert_to(d, 'UTF8'), 'base64'), E'\n', ''), '='), '+/', '-_') = g
)
UPDATE notifications SET link = coalesce(
    (SELECT ref FROM refs WHERE refs.id = notifications.id AND part = 0),
    (SELECT 'book?storeId=' || coalesce(r1.ref, b.store) || '&vehicleId=' || coalesce(r2.ref, b.vehicle) || '&kind=' || b.kind
       FROM book b
       LEFT JOIN refs r1 ON r1.id = b.id AND r1.part = 1
       LEFT JOIN refs r2 ON r2.id = b.id AND r2.part = 2
      WHERE b.id = notifications.id))
WHERE id IN (SELECT id FROM refs);

-- +goose Down
SELECT 1;
