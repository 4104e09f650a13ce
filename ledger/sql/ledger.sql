-- name: insert_accounts
-- Ledger accounts of one marketplace: ids $2 with kinds $3.
INSERT INTO ledger_accounts (id, marketplace_id, kind)
SELECT a, $1, k FROM unnest($2::text[], $3::text[]) AS t (a, k)

-- name: post
-- One double-entry posting (see ledger_post in schema.sql); returns the posting id.
SELECT ledger_post($1, $2, $3, $4::text[], $5::bigint[])

-- name: balance
-- The tracked balance of one account.
SELECT balance_cents FROM ledger_accounts WHERE id = $1

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

-- name: audit_order_escrows
-- Orders whose escrow differs from debits - refunds - credits + reversals (must be none).
-- Pending credits count at once, failed transfers never.
SELECT id, balance_cents, expected_cents
FROM (
    SELECT o.id, a.balance_cents,
           coalesce(sum(CASE WHEN t.status = 'failed' THEN 0
                             WHEN t.kind = 'credit' THEN -t.amount_cents
                             WHEN t.status <> 'succeeded' THEN 0
                             WHEN t.kind IN ('debit', 'reversal') THEN t.amount_cents
                             WHEN t.kind = 'refund' THEN -t.amount_cents
                             ELSE 0 END), 0) AS expected_cents
    FROM orders o
    JOIN ledger_accounts a ON a.id = o.id
    LEFT JOIN transactions t ON t.order_id = o.id
    GROUP BY o.id, a.balance_cents
) AS figures
WHERE balance_cents <> expected_cents
