-- name: insert_api_key
-- A new API key; marketplace_id is null until the key creates its marketplace.
INSERT INTO api_keys (id, secret_sha256, marketplace_id) VALUES ($1, $2, $3) RETURNING *

-- name: api_key_by_secret
-- The live key whose secret hashes to $1.
SELECT id, marketplace_id, secret_sha256 FROM api_keys
WHERE secret_sha256 = $1 AND revoked_at IS NULL

-- name: bind_api_key
-- Bind a key to the marketplace it created; only a key without one may be bound.
UPDATE api_keys SET marketplace_id = $2 WHERE id = $1 AND marketplace_id IS NULL RETURNING id

-- name: insert_marketplace
-- A marketplace; its owner customer is inserted in the same transaction (deferred FK).
INSERT INTO marketplaces
    (id, name, domain_url, support_email_address, support_phone_number, owner_customer_id)
VALUES ($1, $2, $3, $4, $5, $6)

-- name: get
-- One marketplace with its escrow balance.
SELECT m.*, a.balance_cents AS in_escrow_cents
FROM marketplaces m JOIN ledger_accounts a ON a.id = m.id || ':escrow'
WHERE m.id = $1

-- name: list_api_keys
-- A marketplace's live keys (never their secrets: only hashes are stored).
SELECT *, count(*) OVER () AS total FROM api_keys
WHERE marketplace_id = $1 AND revoked_at IS NULL
ORDER BY created_at, id
LIMIT $2 OFFSET $3

-- name: get_api_key
-- One live key of a marketplace.
SELECT * FROM api_keys WHERE marketplace_id = $1 AND id = $2 AND revoked_at IS NULL

-- name: revoke_api_key
-- Revoke a key: it authenticates nothing from now on.
UPDATE api_keys SET revoked_at = now()
WHERE marketplace_id = $1 AND id = $2 AND revoked_at IS NULL
RETURNING id
