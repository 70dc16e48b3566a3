-- +goose Up
-- A notification's link names what it opens in the domain's own form: an
-- object as "<Type>:<uuid>", or the booking route with such parameters
-- ("book?storeId=Store:<uuid>&vehicleId=Vehicle:<uuid>&kind=MAINTENANCE").
-- The API writes each reference as the object's global ID (unpadded
-- base64url of that text) when it answers, so clients read the links they
-- read before. Links written before held the global IDs: decode them. A
-- value that does not decode to exactly such a reference stays as it is (the
-- API passes it through unchanged).
WITH RECURSIVE a (s) AS (
    SELECT 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
), book AS (
    SELECT id,
           substr(s, 1, instr(s, '&vehicleId=') - 1) AS store,
           substr(v, 1, instr(v, '&kind=') - 1) AS vehicle,
           substr(v, instr(v, '&kind=') + 6) AS kind
      FROM (SELECT id, s, substr(s, instr(s, '&vehicleId=') + 11) AS v
              FROM (SELECT id, substr(link, 14) AS s FROM notifications
                     WHERE link GLOB 'book[?]storeId=*&vehicleId=*&kind=*'))
), parts (id, part, g) AS (
    SELECT id, 0, link FROM notifications WHERE link <> '' AND link NOT GLOB '*[^A-Za-z0-9_-]*'
    UNION ALL SELECT id, 1, store FROM book
    UNION ALL SELECT id, 2, vehicle FROM book
), dec (id, part, g, rest, d, bad) AS (
    -- Four characters make three bytes; a last group of two or three
    -- characters makes one or two, and its spare bits must be zero.
    SELECT id, part, g, g, '', g = '' OR g GLOB '*[^A-Za-z0-9_-]*' FROM parts
    UNION ALL
    SELECT id, part, g, substr(rest, 5),
           d || char(((instr(a.s, substr(rest, 1, 1)) - 1) << 2) | ((instr(a.s, substr(rest, 2, 1)) - 1) >> 4))
             || CASE WHEN length(rest) >= 3 THEN char((((instr(a.s, substr(rest, 2, 1)) - 1) & 15) << 4) | ((instr(a.s, substr(rest, 3, 1)) - 1) >> 2)) ELSE '' END
             || CASE WHEN length(rest) >= 4 THEN char((((instr(a.s, substr(rest, 3, 1)) - 1) & 3) << 6) | (instr(a.s, substr(rest, 4, 1)) - 1)) ELSE '' END,
           bad OR CASE length(rest) WHEN 1 THEN 1 WHEN 2 THEN (instr(a.s, substr(rest, 2, 1)) - 1) & 15 WHEN 3 THEN (instr(a.s, substr(rest, 3, 1)) - 1) & 3 ELSE 0 END
      FROM dec, a
     WHERE rest <> '' AND NOT bad
), refs AS (
    SELECT id, part, d AS ref FROM dec
     WHERE rest = '' AND NOT bad AND instr(d, ':') > 1 AND length(CAST(d AS BLOB)) = instr(d, ':') + 36
       AND substr(d, 1, instr(d, ':') - 1) NOT GLOB '*[^A-Za-z]*'
       AND substr(d, instr(d, ':') + 1) GLOB '[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f]-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'
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
