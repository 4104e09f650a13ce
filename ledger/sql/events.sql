-- name: insert
-- An event with the next sequence number of its entity. The entity's row is locked by the
-- state change that caused the event, so two events of one entity never race here.
INSERT INTO events (id, marketplace_id, type, entity_id, sequence, entity)
SELECT $1, $2, $3, $4, coalesce(max(sequence), 0) + 1, $5
FROM events WHERE entity_id = $4
RETURNING *

-- name: fan_out
-- One delivery (and its outbox row) per live callback of the event's marketplace.
WITH deliveries AS (
    INSERT INTO callback_deliveries (id, event_id, callback_id)
    SELECT 'DL' || md5($1 || c.id), $1, c.id
    FROM callbacks c
    WHERE c.marketplace_id = $2 AND c.deleted_at IS NULL
    RETURNING id
)
INSERT INTO outbox (id, job, args)
SELECT id, 'deliver_callback', '{}'::jsonb FROM deliveries
RETURNING id, job

-- name: get
-- One event with its delivery counts per status.
SELECT e.*,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
        FROM (SELECT status, count(*) AS n FROM callback_deliveries d
              WHERE d.event_id = e.id GROUP BY status) AS counts) AS callback_statuses
FROM events e WHERE e.marketplace_id = $1 AND e.id = $2

-- name: list
-- Events of a marketplace, oldest first, with their delivery counts per status.
SELECT e.*, count(*) OVER () AS total,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
        FROM (SELECT status, count(*) AS n FROM callback_deliveries d
              WHERE d.event_id = e.id GROUP BY status) AS counts) AS callback_statuses
FROM events e WHERE e.marketplace_id = $1
ORDER BY e.occurred_at, e.id
LIMIT $2 OFFSET $3
