-- name: claim
-- Take a key for this request; no row comes back when the key is already taken.
INSERT INTO idempotency_keys (marketplace_id, key, request_sha256) VALUES ($1, $2, $3)
ON CONFLICT (marketplace_id, key) DO NOTHING
RETURNING key

-- name: get
-- The key as it stands.
SELECT * FROM idempotency_keys WHERE marketplace_id = $1 AND key = $2

-- name: take_over
-- Take a key whose request died before committing anything ($3 seconds without news).
UPDATE idempotency_keys SET updated_at = now()
WHERE marketplace_id = $1 AND key = $2 AND state = 'in_progress'
  AND updated_at < now() - make_interval(secs => $3)
RETURNING key

-- name: mark_committed
-- In the request's own transaction: its writes and this mark commit together.
UPDATE idempotency_keys SET state = 'committed', updated_at = now()
WHERE marketplace_id = $1 AND key = $2 AND state = 'in_progress'

-- name: store_response
-- The response every retry will be given.
UPDATE idempotency_keys
SET state = 'done', response_status = $3, response_body = $4, updated_at = now()
WHERE marketplace_id = $1 AND key = $2

-- name: release
-- The request failed before committing: a retry may run it afresh.
DELETE FROM idempotency_keys WHERE marketplace_id = $1 AND key = $2 AND state = 'in_progress'

-- name: purge
-- Keys are kept for at least $1 hours, then forgotten.
DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)
