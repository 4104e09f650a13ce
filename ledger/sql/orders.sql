-- name: insert_order
-- An order of merchant $3.
INSERT INTO orders (id, marketplace_id, merchant_customer_id, description, delivery_address, meta)
VALUES ($1, $2, $3, $4, $5, $6)

-- name: get
-- One order with its figures: `amount` is what debits brought in net of refunds,
-- `amount_escrowed` the balance of its escrow account in the ledger.
SELECT o.*, a.balance_cents AS amount_escrowed_cents,
       coalesce((SELECT sum(CASE WHEN t.kind = 'debit' THEN t.amount_cents ELSE -t.amount_cents END)
                 FROM transactions t
                 WHERE t.order_id = o.id AND t.kind IN ('debit', 'refund')
                   AND t.status = 'succeeded'), 0)::bigint AS amount_cents
FROM orders o JOIN ledger_accounts a ON a.id = o.id
WHERE o.marketplace_id = $1 AND o.id = $2

-- name: list
-- Orders of a marketplace (of merchant $2 when set), with their figures; one page.
SELECT o.*, a.balance_cents AS amount_escrowed_cents, count(*) OVER () AS total,
       coalesce((SELECT sum(CASE WHEN t.kind = 'debit' THEN t.amount_cents ELSE -t.amount_cents END)
                 FROM transactions t
                 WHERE t.order_id = o.id AND t.kind IN ('debit', 'refund')
                   AND t.status = 'succeeded'), 0)::bigint AS amount_cents
FROM orders o JOIN ledger_accounts a ON a.id = o.id
WHERE o.marketplace_id = $1 AND ($2::text IS NULL OR o.merchant_customer_id = $2)
ORDER BY o.created_at, o.id
LIMIT $3 OFFSET $4

-- name: update_details
-- Description and meta are an order's only writable fields.
UPDATE orders
SET description = coalesce($3, description), meta = coalesce($4, meta), updated_at = now()
WHERE marketplace_id = $1 AND id = $2
RETURNING id

-- name: get_row
-- One order's own row, without its figures (what a transfer into or out of it needs).
SELECT * FROM orders WHERE marketplace_id = $1 AND id = $2
