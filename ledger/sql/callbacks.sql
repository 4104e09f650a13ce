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
-- Everything one delivery attempt needs: the delivery, its event and its callback.
SELECT d.id, d.status, d.attempts, d.event_id, e.type AS event_type, e.entity, e.sequence,
       e.occurred_at, c.id AS callback_id, c.url, c.method, c.secret,
       c.deleted_at AS callback_deleted_at
FROM callback_deliveries d
JOIN events e ON e.id = d.event_id
JOIN callbacks c ON c.id = d.callback_id
WHERE d.id = $1

-- name: record_attempt
-- The log of one attempt: what we sent, what came back, how long it took.
INSERT INTO callback_attempts (delivery_id, request_headers, response_status, latency_ms,
                               response_excerpt, error)
VALUES ($1, $2, $3, $4, $5, $6)

-- name: settle_delivery
-- The delivery's state after an attempt, guarded so a finished delivery stays finished.
UPDATE callback_deliveries
SET status = $2, attempts = attempts + 1, last_status_code = $3, last_error = $4,
    updated_at = now()
WHERE id = $1 AND status IN ('pending', 'retrying')
RETURNING attempts
