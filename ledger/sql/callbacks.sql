-- name: insert
-- A callback subscription; a live duplicate URL fails callbacks_one_url_per_marketplace.
INSERT INTO callbacks (id, marketplace_id, url, method, revision, secret)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *

-- name: get
-- One live callback of a marketplace.
SELECT * FROM callbacks WHERE marketplace_id = $1 AND id = $2 AND deleted_at IS NULL

-- name: list
-- Live callbacks of a marketplace.
SELECT *, count(*) OVER () AS total FROM callbacks
WHERE marketplace_id = $1 AND deleted_at IS NULL
ORDER BY created_at, id
LIMIT $2 OFFSET $3

-- name: delete
-- Stop delivering to a callback; its delivery history stays.
UPDATE callbacks SET deleted_at = now()
WHERE marketplace_id = $1 AND id = $2 AND deleted_at IS NULL
RETURNING id

-- name: delivery
-- Everything one delivery attempt needs: the delivery, its event and its callback, with
-- the secrets that sign it (the previous one too while a rotation overlaps).
SELECT d.id, d.status, d.attempts, d.event_id, e.type AS event_type, e.entity, e.sequence,
       e.occurred_at, e.marketplace_id, c.id AS callback_id, c.url, c.method, c.secret,
       CASE WHEN c.previous_secret_expires_at > now() THEN c.previous_secret END
           AS previous_secret,
       c.deleted_at AS callback_deleted_at, c.disabled_at AS callback_disabled_at
FROM callback_deliveries d
JOIN events e ON e.id = d.event_id
JOIN callbacks c ON c.id = d.callback_id
WHERE d.id = $1

-- name: deliveries_of_jobs
-- `delivery` for each of the open delivery jobs $1 (none for a job done or gone), with
-- the job's id.
SELECT o.id AS job_id, d.id, d.status, d.attempts, d.event_id, e.type AS event_type,
       e.entity, e.sequence, e.occurred_at, e.marketplace_id, c.id AS callback_id, c.url,
       c.method, c.secret,
       CASE WHEN c.previous_secret_expires_at > now() THEN c.previous_secret END
           AS previous_secret,
       c.deleted_at AS callback_deleted_at, c.disabled_at AS callback_disabled_at
FROM outbox o
JOIN callback_deliveries d ON d.id = o.args->>'delivery_id'
JOIN events e ON e.id = d.event_id
JOIN callbacks c ON c.id = d.callback_id
WHERE o.id = ANY($1::text[])

-- name: record_delivered
-- Deliveries that got through, in one statement: each attempt ($1 delivery ids, $2
-- request headers, $3 statuses, $4 latencies, $5 excerpts) logged (as record_attempt),
-- each delivery succeeded (guarded as settle_delivery), their callbacks $6 healthy again
-- (failing and stalled no more), their jobs $7 done (deleted).
WITH delivered AS (
    SELECT *
    FROM unnest($1::text[], $2::jsonb[], $3::int[], $4::int[], $5::text[], $6::text[],
                $7::text[])
        AS a (delivery_id, request_headers, response_status, latency_ms, response_excerpt,
              callback_id, job_id)
),
logged AS (
    INSERT INTO callback_attempts (delivery_id, request_headers, response_status, latency_ms,
                                   response_excerpt, error)
    SELECT delivery_id, request_headers, response_status, latency_ms, response_excerpt, NULL
    FROM delivered
),
settled AS (
    UPDATE callback_deliveries d
    SET status = 'succeeded', attempts = d.attempts + 1, last_status_code = a.response_status,
        last_error = NULL, updated_at = now()
    FROM delivered a
    WHERE d.id = a.delivery_id AND d.status IN ('pending', 'retrying')
),
healthy AS (
    UPDATE callbacks SET failing_since = NULL, stalled_until = NULL
    WHERE id IN (SELECT callback_id FROM delivered)
      AND (failing_since IS NOT NULL OR stalled_until IS NOT NULL)
)
DELETE FROM outbox WHERE id IN (SELECT job_id FROM delivered)

-- name: record_attempt
-- The log of one attempt: what we sent, what came back, how long it took.
INSERT INTO callback_attempts (delivery_id, request_headers, response_status, latency_ms,
                               response_excerpt, error)
VALUES ($1, $2, $3, $4, $5, $6)

-- name: settle_delivery
-- The delivery's state after an attempt, guarded so a finished delivery stays finished.
UPDATE callback_deliveries
SET status = $2, attempts = attempts + $5, last_status_code = $3, last_error = $4,
    updated_at = now()
WHERE id = $1 AND status IN ('pending', 'retrying')
RETURNING attempts

-- name: record_failure
-- A delivery failed: returns since when the callback has been failing.
UPDATE callbacks SET failing_since = coalesce(failing_since, now())
WHERE id = $1
RETURNING failing_since

-- name: disable
-- Stop delivering to a callback (410 Gone, or failing for too long); returns it once.
UPDATE callbacks SET disabled_at = now(), disabled_reason = $2
WHERE id = $1 AND disabled_at IS NULL AND deleted_at IS NULL
RETURNING *

-- name: enable
-- Deliver to a disabled callback again, from now on.
UPDATE callbacks SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL
WHERE marketplace_id = $1 AND id = $2 AND deleted_at IS NULL
RETURNING *

-- name: park
-- A delivery whose callback's receiver is stuck waits until $3, and so do the callback's
-- next deliveries (no job runs meanwhile; the sweeper enqueues them again then).
WITH stall AS (
    UPDATE callbacks SET stalled_until = $3
    WHERE id = $2 AND (stalled_until IS NULL OR stalled_until < $3)
)
UPDATE outbox SET not_before = $3, enqueued_at = NULL WHERE id = $1

-- name: rotate_secret
-- A new signing secret; the old one keeps signing beside it until $4.
UPDATE callbacks
SET previous_secret = secret, previous_secret_expires_at = $4, secret = $3
WHERE marketplace_id = $1 AND id = $2 AND deleted_at IS NULL
RETURNING *

-- name: redeliver
-- Send again, to callback $2, the events of a marketplace in $3 (ids) or occurred in the
-- range $4..$5: each delivery goes back to pending with a new outbox job ($6 makes the
-- job ids new, so jobs of an earlier redelivery never collide).
WITH chosen AS (
    SELECT e.id AS event_id FROM events e
    WHERE e.marketplace_id = $1
      AND (($3::text[] IS NOT NULL AND e.id = ANY ($3::text[]))
           OR ($3::text[] IS NULL AND e.occurred_at >= $4 AND e.occurred_at <= $5))
    LIMIT $7
),
deliveries AS (
    INSERT INTO callback_deliveries (id, event_id, callback_id)
    SELECT delivery_id(chosen.event_id, $2), chosen.event_id, $2 FROM chosen
    ON CONFLICT (event_id, callback_id)
        DO UPDATE SET status = 'pending', updated_at = now()
    RETURNING id
)
INSERT INTO outbox (id, job, args)
SELECT $2 || '/' || id || '/' || $6, 'deliver_callback', jsonb_build_object('delivery_id', id)
FROM deliveries
RETURNING id, job
