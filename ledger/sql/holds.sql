-- name: insert
-- A card hold, decided at once by the simulated processor ($5: succeeded or failed).
INSERT INTO card_holds (id, marketplace_id, card_id, order_id, status, amount_cents,
                        description, meta, transaction_number, failure_reason_code,
                        failure_reason, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(days => $12))
RETURNING *

-- name: get
-- One hold with the debit that captured it, if any.
SELECT h.*, (SELECT id FROM transactions t
             WHERE t.card_hold_id = h.id AND t.status <> 'failed') AS debit_id
FROM card_holds h WHERE h.marketplace_id = $1 AND h.id = $2

-- name: lock
-- One hold, locked: captures and voids of it take turns, and decide from this row alone
-- (its captured_at and voided_at), which, read under the lock, is the latest committed.
-- A subquery on the debits here would see them as they were before the wait for the lock.
SELECT * FROM card_holds WHERE marketplace_id = $1 AND id = $2
FOR UPDATE

-- name: list
-- Holds of a marketplace (of card $2 when set), voided ones hidden unless $3.
SELECT h.*, count(*) OVER () AS total,
       (SELECT id FROM transactions t
        WHERE t.card_hold_id = h.id AND t.status <> 'failed') AS debit_id
FROM card_holds h
WHERE h.marketplace_id = $1 AND ($2::text IS NULL OR h.card_id = $2)
  AND ($3 OR h.voided_at IS NULL)
ORDER BY h.created_at, h.id
LIMIT $4 OFFSET $5

-- name: void
-- Void a hold that is neither captured nor voided (checked under `lock`).
UPDATE card_holds SET voided_at = now(), updated_at = now()
WHERE marketplace_id = $1 AND id = $2 AND voided_at IS NULL
RETURNING id

-- name: update_details
-- Description and meta are a hold's writable fields.
UPDATE card_holds
SET description = coalesce($3, description), meta = coalesce($4, meta), updated_at = now()
WHERE marketplace_id = $1 AND id = $2
RETURNING id

-- name: list_for_customer
-- Holds on the cards of customer $2, voided ones hidden unless $3.
SELECT h.*, count(*) OVER () AS total,
       (SELECT id FROM transactions t
        WHERE t.card_hold_id = h.id AND t.status <> 'failed') AS debit_id
FROM card_holds h
JOIN cards c ON c.id = h.card_id
WHERE h.marketplace_id = $1 AND c.customer_id = $2 AND ($3 OR h.voided_at IS NULL)
ORDER BY h.created_at, h.id
LIMIT $4 OFFSET $5
