-- name: returnable_cents
-- What ACH debits of marketplace $1 brought in that their banks may still return: those
-- that succeeded less than $2 ago (the return window) and stand succeeded.
SELECT coalesce(sum(amount_cents), 0)::bigint FROM transactions
WHERE marketplace_id = $1 AND kind = 'debit' AND rail_entry_kind = 'debit'
  AND status = 'succeeded' AND succeeded_at > now() - $2::interval
