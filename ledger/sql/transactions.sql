-- name: insert
-- A transfer of any kind.
INSERT INTO transactions (id, marketplace_id, kind, status, amount_cents, description, meta,
                          appears_on_statement_as, transaction_number, order_id, customer_id,
                          source_id, destination_id, parent_id, failure_reason_code,
                          failure_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING *

-- name: get
-- One transfer of kind $3, visible only to its marketplace.
SELECT * FROM transactions WHERE marketplace_id = $1 AND id = $2 AND kind = $3

-- name: lock
-- One transfer, locked until the end of the transaction (outcomes are applied under it).
SELECT * FROM transactions WHERE id = $1 FOR UPDATE

-- name: list_for_order
-- Transfers of kind $3 in order $2 whose status is one of $4 (Balanced hides failed ones
-- unless asked for them).
SELECT *, count(*) OVER () AS total
FROM transactions
WHERE marketplace_id = $1 AND order_id = $2 AND kind = $3 AND status = ANY ($4::text[])
ORDER BY created_at, id
LIMIT $5 OFFSET $6

-- name: submission
-- What the rail needs to move a bank-account transfer.
SELECT t.*, b.routing_number, b.account_number, b.name AS account_name
FROM transactions t JOIN bank_accounts b ON b.id = t.destination_id
WHERE t.id = $1

-- name: mark_submitted
-- Record the rail's trace number once; a second submission changes nothing.
UPDATE transactions SET rail_trace_number = $2, submitted_at = now(), updated_at = now()
WHERE id = $1 AND submitted_at IS NULL
RETURNING id

-- name: transition
-- Guarded status change: only from the statuses in $3, so an outcome applies at most once.
UPDATE transactions
SET status = $2, failure_reason_code = $4, failure_reason = $5, updated_at = now()
WHERE id = $1 AND status = ANY ($3::text[])
RETURNING *
