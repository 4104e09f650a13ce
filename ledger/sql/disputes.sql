-- name: insert
-- A dispute the card network opened on transaction $3 of marketplace $2.
INSERT INTO disputes (id, marketplace_id, transaction_id, amount_cents, reason, initiated_at,
                      respond_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *

-- name: name_on_transaction
-- The disputed transaction names its dispute (links.dispute); once.
UPDATE transactions SET dispute_id = $2, updated_at = now()
WHERE id = $1 AND dispute_id IS NULL
RETURNING *

-- name: get
-- One dispute, visible only to its marketplace.
SELECT * FROM disputes WHERE marketplace_id = $1 AND id = $2

-- name: get_of_transaction
-- The dispute of transaction $2 of marketplace $1, if any.
SELECT * FROM disputes WHERE marketplace_id = $1 AND transaction_id = $2

-- name: list
-- Disputes of a marketplace (when $2 is set, of the debits of card $2 or of customer $2:
-- ids of either kind never collide), oldest first; one page.
SELECT d.*, count(*) OVER () AS total
FROM disputes d JOIN transactions t ON t.id = d.transaction_id
WHERE d.marketplace_id = $1 AND ($2::text IS NULL OR t.source_id = $2 OR t.customer_id = $2)
ORDER BY d.created_at, d.id
LIMIT $3 OFFSET $4
