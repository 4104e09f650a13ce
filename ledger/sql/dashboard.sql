-- name: operator
-- The live key $1 of marketplace $2 and the marketplace's name: what every dashboard
-- request checks (a revoked key ends its sessions at once).
SELECT k.id AS key_id, k.marketplace_id, m.name AS marketplace_name
FROM api_keys k JOIN marketplaces m ON m.id = k.marketplace_id
WHERE k.id = $1 AND k.marketplace_id = $2 AND k.revoked_at IS NULL

-- name: money_in_escrow
-- What the orders of marketplace $1 hold in escrow (the sum of their amount_escrowed), and
-- how many orders hold some.
SELECT coalesce(sum(a.balance_cents), 0)::bigint AS escrowed_cents,
       count(*) FILTER (WHERE a.balance_cents > 0) AS orders_holding
FROM ledger_accounts a
WHERE a.marketplace_id = $1 AND a.kind = 'order_escrow'

-- name: payouts_in_flight
-- Pending transfers of marketplace $1 that travel on the ACH rail, by stage: not yet
-- submitted, or submitted and waiting for the rail's outcome (grouped by the minute of
-- submission: entries submitted together catch the same settlement window).
SELECT t.rail_entry_kind AS entry_kind,
       date_trunc('minute', t.submitted_at) AS submitted_minute,
       count(*) AS transfers,
       sum(t.amount_cents)::bigint AS amount_cents,
       min(t.created_at) AS oldest_at
FROM transactions t
WHERE t.marketplace_id = $1 AND t.status = 'pending' AND t.rail_entry_kind IS NOT NULL
GROUP BY 1, 2
ORDER BY 2 NULLS FIRST, 1
LIMIT $2

-- name: volume_since
-- Debits of marketplace $1 made at or after $2 that have not failed: their count and sum.
SELECT count(*) AS debits, coalesce(sum(amount_cents), 0)::bigint AS amount_cents
FROM transactions
WHERE marketplace_id = $1 AND kind = 'debit' AND created_at >= $2 AND status <> 'failed'

-- name: payout_outcomes_since
-- Payouts on the ACH rail of marketplace $1 made at or after $2, by outcome: succeeded,
-- failed (returned by the bank, or refused) and still pending.
SELECT count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'pending') AS pending
FROM transactions
WHERE marketplace_id = $1 AND kind = 'credit' AND rail_entry_kind = 'credit'
  AND created_at >= $2

-- name: failing_callbacks
-- Callbacks of marketplace $1 whose deliveries fail (or that were disabled for it), the
-- longest failing first, with the deliveries still waiting on them.
SELECT c.id, c.url, c.failing_since, c.disabled_at, c.disabled_reason,
       (SELECT count(*) FROM callback_deliveries d
        WHERE d.callback_id = c.id AND d.status IN ('pending', 'retrying')) AS waiting
FROM callbacks c
WHERE c.marketplace_id = $1 AND c.deleted_at IS NULL
  AND (c.failing_since IS NOT NULL OR c.disabled_at IS NOT NULL)
ORDER BY coalesce(c.failing_since, c.disabled_at), c.id
LIMIT $2

-- name: daily_activity
-- Per UTC day from $2 on, for marketplace $1: the volume of debits that have not failed,
-- and how many transfers of every kind made that day succeeded, failed or are pending.
SELECT date_trunc('day', created_at AT TIME ZONE 'UTC')::date AS day,
       coalesce(sum(amount_cents) FILTER (WHERE kind = 'debit' AND status <> 'failed'), 0)
           ::bigint AS volume_cents,
       count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'pending') AS pending
FROM transactions
WHERE marketplace_id = $1 AND created_at >= $2
GROUP BY 1
ORDER BY 1

-- name: events_since
-- Events of marketplace $1 that occurred after $2, in order, at most $3: what the
-- dashboard's live stream reports (the entity and the status it now has).
SELECT e.id, e.type, e.entity_id, e.entity ->> 'status' AS status, e.occurred_at
FROM events e
WHERE e.marketplace_id = $1 AND e.occurred_at > $2
ORDER BY e.occurred_at, e.position
LIMIT $3
