-- name: claim
-- Take a key for this request; no row comes back when the key is already taken. The
-- updated_at returned is the holder's token (see take_over).
INSERT INTO idempotency_keys (marketplace_id, key, request_sha256) VALUES ($1, $2, $3)
ON CONFLICT (marketplace_id, key) DO NOTHING
RETURNING updated_at

-- name: get
-- The key as it stands.
SELECT * FROM idempotency_keys WHERE marketplace_id = $1 AND key = $2

-- name: take_over
-- Take a key whose holder is gone, for the same request ($3): claimed more than $4 seconds
-- ago and not row-locked, i.e. no transaction of its holder is open (see `hold`). The
-- new updated_at is the new holder's token: it is always later than the old one, so the
-- old holder, should it still be alive, is fenced out by `hold` and can never commit.
WITH abandoned AS (
    SELECT marketplace_id, key FROM idempotency_keys
    WHERE marketplace_id = $1 AND key = $2 AND request_sha256 = $3 AND state = 'in_progress'
      AND updated_at < now() - make_interval(secs => $4)
    FOR UPDATE SKIP LOCKED
)
UPDATE idempotency_keys k SET updated_at = now()
FROM abandoned a
WHERE k.marketplace_id = a.marketplace_id AND k.key = a.key
RETURNING k.updated_at

-- name: hold
-- The first statement of the holder's transaction: the key stays row-locked until that
-- transaction ends, which is how a retry knows the holder is alive. No row comes back
-- when the key was taken over ($3: the holder's token).
SELECT key FROM idempotency_keys
WHERE marketplace_id = $1 AND key = $2 AND state = 'in_progress' AND updated_at = $3
FOR UPDATE

-- name: mark_committed
-- In the request's own transaction: its writes and this mark commit together.
UPDATE idempotency_keys SET state = 'committed', updated_at = now()
WHERE marketplace_id = $1 AND key = $2 AND state = 'in_progress' AND updated_at = $3
RETURNING key

-- name: store_response
-- The response every retry will be given.
UPDATE idempotency_keys
SET state = 'done', response_status = $3, response_body = $4, updated_at = now()
WHERE marketplace_id = $1 AND key = $2

-- name: release
-- The request failed before committing: a retry may run it afresh. A holder that was
-- taken over ($3: its token) leaves the key to the new one.
DELETE FROM idempotency_keys
WHERE marketplace_id = $1 AND key = $2 AND state = 'in_progress' AND updated_at = $3

-- name: purge
-- Keys are kept for at least $1 hours, then forgotten.
DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(hours => $1)
