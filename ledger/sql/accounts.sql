-- name: insert
-- A customer's payable account (its ledger account is opened with the same id).
INSERT INTO accounts (id, marketplace_id, customer_id) VALUES ($1, $2, $3)

-- name: get
-- One payable account with its balance.
SELECT a.*, l.balance_cents
FROM accounts a JOIN ledger_accounts l ON l.id = a.id
WHERE a.marketplace_id = $1 AND a.id = $2

-- name: list
-- Payable accounts of a marketplace, or of customer $2 when it is set.
SELECT a.*, l.balance_cents, count(*) OVER () AS total
FROM accounts a JOIN ledger_accounts l ON l.id = a.id
WHERE a.marketplace_id = $1 AND ($2::text IS NULL OR a.customer_id = $2)
ORDER BY a.created_at, a.id
LIMIT $3 OFFSET $4

-- name: payable_of_customer
-- A customer's payable account.
SELECT id FROM accounts WHERE customer_id = $1 AND type = 'payable'
