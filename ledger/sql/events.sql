-- name: record
-- Events $1 (ids; $2 marketplace ids, $3 types, $4 entity ids, $5 entities), each of
-- another entity, each with the next sequence number of its entity (whose row is locked by
-- the state change that caused the event, so two events of one entity never race here),
-- and one delivery (and its outbox job) per live, enabled callback of its marketplace,
-- all in one statement. A delivery's job id starts with its callback's id ("CB…/DL…"), so
-- that a worker can tell which callback a job is for before it touches the database. A
-- stalled callback's jobs are due only when its stall ends; only the jobs due now come
-- back, to be enqueued.
WITH event AS (
    INSERT INTO events (id, marketplace_id, type, entity_id, sequence, entity)
    SELECT e.id, e.marketplace_id, e.type, e.entity_id,
           coalesce((SELECT max(x.sequence) FROM events x WHERE x.entity_id = e.entity_id), 0)
               + 1,
           e.entity
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
        AS e (id, marketplace_id, type, entity_id, entity)
    RETURNING id, marketplace_id
),
live AS (
    SELECT c.id, c.marketplace_id, greatest(now(), coalesce(c.stalled_until, now())) AS due
    FROM callbacks c
    WHERE c.marketplace_id = ANY ($2::text[]) AND c.deleted_at IS NULL AND c.disabled_at IS NULL
),
deliveries AS (
    INSERT INTO callback_deliveries (id, event_id, callback_id)
    SELECT delivery_id(event.id, live.id), event.id, live.id
    FROM event JOIN live ON live.marketplace_id = event.marketplace_id
    RETURNING id, callback_id
),
jobs AS (
    INSERT INTO outbox (id, job, args, not_before)
    SELECT d.callback_id || '/' || d.id, 'deliver_callback',
           jsonb_build_object('delivery_id', d.id), live.due
    FROM deliveries d JOIN live ON live.id = d.callback_id
    RETURNING id, job, not_before
)
SELECT id, job FROM jobs WHERE not_before <= now()

-- name: get
-- One event with its delivery counts per status.
SELECT e.*,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
        FROM (SELECT status, count(*) AS n FROM callback_deliveries d
              WHERE d.event_id = e.id GROUP BY status) AS counts) AS callback_statuses
FROM events e WHERE e.marketplace_id = $1 AND e.id = $2

-- name: list
-- Events of a marketplace, oldest first, with their delivery counts per status: of entity
-- $2 (or, for an order, of its transfers) when set; of types $3 when set; occurred in the
-- range $4..$5 when set.
SELECT e.*, count(*) OVER () AS total,
       (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
        FROM (SELECT status, count(*) AS n FROM callback_deliveries d
              WHERE d.event_id = e.id GROUP BY status) AS counts) AS callback_statuses
FROM events e
WHERE e.marketplace_id = $1
  AND ($2::text IS NULL OR e.entity_id = $2
       OR e.entity_id IN (SELECT id FROM transactions WHERE order_id = $2))
  AND ($3::text[] IS NULL OR e.type = ANY ($3::text[]))
  AND ($4::timestamptz IS NULL OR e.occurred_at >= $4)
  AND ($5::timestamptz IS NULL OR e.occurred_at <= $5)
ORDER BY e.occurred_at, e.position
LIMIT $6 OFFSET $7

-- name: deliveries
-- The deliveries of one event, one per callback.
SELECT d.*, count(*) OVER () AS total
FROM callback_deliveries d JOIN events e ON e.id = d.event_id
WHERE e.marketplace_id = $1 AND d.event_id = $2
ORDER BY d.created_at, d.id
LIMIT $3 OFFSET $4

-- name: attempts
-- The log of every attempt of one event's delivery to one callback.
SELECT a.*, count(*) OVER () AS total
FROM callback_attempts a
JOIN callback_deliveries d ON d.id = a.delivery_id
JOIN events e ON e.id = d.event_id
WHERE e.marketplace_id = $1 AND d.event_id = $2 AND d.callback_id = $3
ORDER BY a.id
LIMIT $4 OFFSET $5
