-- name: insert_accounts
-- Ledger accounts of one marketplace: ids $2 with kinds $3.
INSERT INTO ledger_accounts (id, marketplace_id, kind)
SELECT a, $1, k FROM unnest($2::text[], $3::text[]) AS t (a, k)

-- name: post
-- One double-entry posting (see ledger_post in schema.sql); returns the posting id, or NULL
-- when it would take an escrow below zero (ledger_try_post: nothing written).
SELECT ledger_try_post($1, $2, $3, $4::text[], $5::bigint[])

-- name: balance
-- The tracked balance of one account.
SELECT balance_cents FROM ledger_accounts WHERE id = $1

-- name: balances
-- The tracked balances of accounts $1 as this snapshot sees them, unlocked: what a batch
-- leaves out before it posts (the posting locks, and the CHECK decides).
SELECT id, balance_cents FROM ledger_accounts WHERE id = ANY ($1::text[]) AND tracks_balance

-- name: lock_balances
-- The tracked balances of accounts $1, locked as ledger_post locks them, in id order (a
-- decision that depends on a balance holds it until its posting is written).
SELECT id, balance_cents FROM ledger_accounts
WHERE id = ANY ($1::text[]) AND tracks_balance
ORDER BY id FOR NO KEY UPDATE

-- name: audit_unbalanced_postings
-- Postings whose lines do not sum to zero (must be none).
SELECT p.id, sum(l.amount_cents) AS total_cents
FROM ledger_postings p LEFT JOIN ledger_lines l ON l.posting_id = p.id
GROUP BY p.id HAVING coalesce(sum(l.amount_cents), 0) <> 0 OR count(l.*) < 2

-- name: audit_drifted_balances
-- Tracked balances that differ from the sum of their lines (must be none).
SELECT a.id, a.balance_cents, coalesce(sum(l.amount_cents), 0) AS lines_cents
FROM ledger_accounts a LEFT JOIN ledger_lines l ON l.account_id = a.id
WHERE a.tracks_balance
GROUP BY a.id HAVING a.balance_cents <> coalesce(sum(l.amount_cents), 0)

-- name: audit_transfers
-- Every transfer's facts (the audit derives the money from these, not from postings).
SELECT id, marketplace_id, kind, status, amount_cents, order_id, source_id, destination_id,
       parent_id, bank_account_id, succeeded_at, failed_at, compensates_id, dispute_id
FROM transactions

-- name: audit_transfer_lines
-- What each transfer moved, net per account.
SELECT p.transaction_id, l.account_id, sum(l.amount_cents)::bigint AS amount_cents
FROM ledger_postings p JOIN ledger_lines l ON l.posting_id = p.id
GROUP BY p.transaction_id, l.account_id

-- name: audit_accounts
-- Every ledger account with the sum of its lines.
SELECT a.id, a.kind, coalesce(sum(l.amount_cents), 0)::bigint AS lines_cents
FROM ledger_accounts a LEFT JOIN ledger_lines l ON l.account_id = a.id
GROUP BY a.id, a.kind

-- name: shortfalls
-- Marketplaces out money because reversals were returned after their escrow was spent.
SELECT marketplace_id, balance_cents FROM ledger_accounts
WHERE kind = 'shortfall' AND balance_cents <> 0
ORDER BY marketplace_id

-- name: shortfall
-- One marketplace's shortfall balance (never positive).
SELECT balance_cents FROM ledger_accounts WHERE id = $1 || ':shortfall'

-- name: post_many
-- Many two-line postings, one per transfer (see ledger_post_many in schema.sql).
SELECT ledger_post_many($1, $2, $3, $4, $5, $6::bigint[])
