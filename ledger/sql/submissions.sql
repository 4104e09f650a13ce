-- name: overdue
-- Transfers pending more than $1 ms after their submission, the least recently checked
-- first, at most $2; marked as checked now so that the next pass takes others. Their
-- creation time tells whether the rail's journal covers their submission.
UPDATE transactions SET rail_checked_at = now()
WHERE id IN (
    SELECT id FROM transactions
    WHERE status = 'pending' AND submitted_at IS NOT NULL
      AND coalesce(rail_checked_at, submitted_at) < now() - make_interval(secs => $1 / 1000.0)
    ORDER BY coalesce(rail_checked_at, submitted_at)
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING id, created_at

-- name: forget
-- The rail lost this entry: the next submission job submits it again.
UPDATE transactions SET submitted_at = NULL, rail_trace_number = NULL
WHERE id = $1 AND status = 'pending'

-- name: get_many
-- What the rail needs to move each of the transfers $1 at its bank account.
SELECT t.*, b.routing_number, b.account_number, b.name AS account_name
FROM transactions t JOIN bank_accounts b ON b.id = t.bank_account_id
WHERE t.id = ANY($1::text[])

-- name: mark_submitted_many
-- Record the rail's trace numbers $2 of transfers $1, each once.
UPDATE transactions t
SET rail_trace_number = s.trace_number, submitted_at = now(), updated_at = now()
FROM unnest($1::text[], $2::text[]) AS s (id, trace_number)
WHERE t.id = s.id AND t.submitted_at IS NULL
