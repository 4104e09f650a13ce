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

-- ---------------------------------------------------------------------------------------
-- The operator pages: events and callbacks, the rail's transfers, API keys.

-- name: callbacks_health
-- The live callbacks of marketplace $1, with their attempts since $2 (how many, how many
-- answered 2xx) and their last failed attempt ever.
SELECT c.id, c.url, c.method, c.failing_since, c.stalled_until, c.disabled_at,
       c.disabled_reason, c.created_at,
       coalesce(recent.attempts, 0) AS recent_attempts,
       coalesce(recent.succeeded, 0) AS recent_succeeded,
       failure.attempted_at AS last_failure_at, failure.response_status AS last_failure_status,
       failure.error AS last_failure_error
FROM callbacks c
LEFT JOIN LATERAL (
    SELECT count(*) AS attempts,
           count(*) FILTER (WHERE a.response_status BETWEEN 200 AND 299) AS succeeded
    FROM callback_deliveries d JOIN callback_attempts a ON a.delivery_id = d.id
    WHERE d.callback_id = c.id AND a.attempted_at >= $2
) AS recent ON true
LEFT JOIN LATERAL (
    SELECT a.attempted_at, a.response_status, a.error
    FROM callback_deliveries d JOIN callback_attempts a ON a.delivery_id = d.id
    WHERE d.callback_id = c.id
      AND (a.response_status IS NULL OR a.response_status NOT BETWEEN 200 AND 299)
    ORDER BY a.id DESC
    LIMIT 1
) AS failure ON true
WHERE c.marketplace_id = $1 AND c.deleted_at IS NULL AND ($3::text IS NULL OR c.id = $3)
ORDER BY c.created_at, c.id
LIMIT $4

-- name: callback_deliveries
-- One page of callback $2's deliveries (of marketplace $1), newest first, with their event.
SELECT d.id, d.event_id, d.status, d.attempts, d.last_status_code, d.last_error,
       d.created_at, d.updated_at, e.type AS event_type, e.entity_id,
       count(*) OVER () AS total
FROM callback_deliveries d JOIN events e ON e.id = d.event_id
WHERE e.marketplace_id = $1 AND d.callback_id = $2
ORDER BY d.created_at DESC, d.id DESC
LIMIT $3 OFFSET $4

-- name: delivery_attempts
-- Every attempt of deliveries $2 (of marketplace $1), oldest first.
SELECT a.id, a.delivery_id, a.attempted_at, a.response_status, a.latency_ms,
       a.response_excerpt, a.error
FROM callback_attempts a
JOIN callback_deliveries d ON d.id = a.delivery_id
JOIN events e ON e.id = d.event_id
WHERE e.marketplace_id = $1 AND a.delivery_id = ANY ($2::text[])
ORDER BY a.id

-- name: rail_transfer
-- Transfer $2 of marketplace $1 if it travels on the ACH rail (its id is the entry's).
SELECT t.id, t.kind, t.status, t.amount_cents, t.order_id, t.rail_entry_kind,
       t.failure_reason_code, t.submitted_at, t.created_at
FROM transactions t
WHERE t.marketplace_id = $1 AND t.id = $2 AND t.rail_entry_kind IS NOT NULL

-- name: rail_transfers_pending
-- The newest pending rail transfers of marketplace $1, at most $2: entries to act on.
SELECT t.id, t.kind, t.status, t.amount_cents, t.order_id, t.rail_entry_kind,
       t.failure_reason_code, t.submitted_at, t.created_at
FROM transactions t
WHERE t.marketplace_id = $1 AND t.rail_entry_kind IS NOT NULL AND t.status = 'pending'
ORDER BY t.created_at DESC, t.id DESC
LIMIT $2

-- name: api_keys
-- One page of marketplace $1's API keys, revoked ones too, newest first (never a secret:
-- only hashes are stored).
SELECT k.id, k.created_at, k.revoked_at, count(*) OVER () AS total
FROM api_keys k
WHERE k.marketplace_id = $1
ORDER BY k.created_at DESC, k.id DESC
LIMIT $2 OFFSET $3

-- name: events_newest
-- One page of marketplace $1's events, newest first: of entity $2 when set (for an order,
-- its transfers' too), of type $3 when set; with the count of the whole list.
SELECT e.id, e.type, e.entity_id, e.occurred_at, e.entity ->> 'status' AS status,
       count(*) OVER () AS total
FROM events e
WHERE e.marketplace_id = $1
  AND ($2::text IS NULL OR e.entity_id = $2
       OR e.entity_id IN (SELECT id FROM transactions WHERE order_id = $2))
  AND ($3::text IS NULL OR e.type = $3)
ORDER BY e.occurred_at DESC, e.position DESC
LIMIT $4 OFFSET $5

-- ---------------------------------------------------------------------------------------
-- The money pages: orders, transactions, customers.

-- name: orders_found
-- One page of marketplace $1's orders, newest first: all, or those whose id is $2 or
-- whose description contains $2 (any case); with the merchant's name and the escrow.
SELECT o.id, o.description, o.merchant_customer_id, c.name AS merchant_name,
       a.balance_cents AS amount_escrowed_cents, o.created_at, count(*) OVER () AS total
FROM orders o
JOIN ledger_accounts a ON a.id = o.id
JOIN customers c ON c.id = o.merchant_customer_id
WHERE o.marketplace_id = $1
  AND ($2::text IS NULL OR o.id = $2 OR strpos(lower(o.description), lower($2)) > 0)
ORDER BY o.created_at DESC, o.id DESC
LIMIT $3 OFFSET $4

-- name: order_timeline
-- The debits, refunds, credits and reversals of order $2 (of marketplace $1), oldest first,
-- each with what is left of it to refund or reverse (its live children subtracted).
SELECT t.id, t.kind, t.status, t.amount_cents, t.parent_id, t.destination_id,
       t.destination_kind, t.bank_account_id, t.failure_reason_code, t.failure_reason,
       t.created_at,
       t.amount_cents - coalesce((SELECT sum(k.amount_cents) FROM transactions k
                                  WHERE k.parent_id = t.id AND k.status <> 'failed'), 0)
           ::bigint AS remaining_cents
FROM transactions t
WHERE t.marketplace_id = $1 AND t.order_id = $2
ORDER BY t.created_at, t.id
LIMIT $3

-- name: transfer_state
-- Transfer $2 of marketplace $1: its kind, status and return code (a live badge).
SELECT t.id, t.kind, t.status, t.failure_reason_code
FROM transactions t
WHERE t.marketplace_id = $1 AND t.id = $2

-- name: transfers_found
-- One page of marketplace $1's transfers, newest first, narrowed by kind $2, status $3,
-- amount from $4 to $5 cents and creation from $6 (inclusive) to $7 (exclusive), each
-- when set; with the count of the whole list.
SELECT t.id, t.kind, t.status, t.amount_cents, t.description, t.order_id, t.customer_id,
       t.source_id, t.destination_id, t.failure_reason_code, t.transaction_number,
       t.created_at, count(*) OVER () AS total
FROM transactions t
WHERE t.marketplace_id = $1
  AND ($2::text IS NULL OR t.kind = $2)
  AND ($3::text IS NULL OR t.status = $3)
  AND ($4::bigint IS NULL OR t.amount_cents >= $4)
  AND ($5::bigint IS NULL OR t.amount_cents <= $5)
  AND ($6::timestamptz IS NULL OR t.created_at >= $6)
  AND ($7::timestamptz IS NULL OR t.created_at < $7)
ORDER BY t.created_at DESC, t.id DESC
LIMIT $8 OFFSET $9

-- name: customers_found
-- One page of marketplace $1's customers (not deleted), newest first: all, or those whose
-- id is $2 or whose name, business name or email contains $2 (any case).
SELECT c.id, c.name, c.business_name, c.email, c.merchant_status, c.created_at,
       count(*) OVER () AS total
FROM customers c
WHERE c.marketplace_id = $1 AND c.deleted_at IS NULL
  AND ($2::text IS NULL OR c.id = $2
       OR strpos(lower(coalesce(c.name, '')), lower($2)) > 0
       OR strpos(lower(coalesce(c.business_name, '')), lower($2)) > 0
       OR strpos(lower(coalesce(c.email, '')), lower($2)) > 0)
ORDER BY c.created_at DESC, c.id DESC
LIMIT $3 OFFSET $4

-- name: customer
-- Customer $2 of marketplace $1 (deleted ones too: old orders still name them).
SELECT c.id, c.name, c.business_name, c.email, c.phone, c.merchant_status, c.meta,
       c.created_at, c.deleted_at
FROM customers c
WHERE c.marketplace_id = $1 AND c.id = $2

-- name: customer_bank_accounts
-- The bank accounts of customer $2 (of marketplace $1) not deleted, oldest first.
SELECT b.id, b.name, b.bank_name, b.account_type, right(b.account_number, 4) AS last4,
       b.routing_number, b.created_at
FROM bank_accounts b
WHERE b.marketplace_id = $1 AND b.customer_id = $2 AND b.deleted_at IS NULL
ORDER BY b.created_at, b.id
LIMIT $3

-- name: customer_cards
-- The cards of customer $2 (of marketplace $1) not deleted, oldest first.
SELECT k.id, k.name, k.brand, k.last4, k.card_type, k.expiration_month, k.expiration_year,
       k.created_at
FROM cards k
WHERE k.marketplace_id = $1 AND k.customer_id = $2 AND k.deleted_at IS NULL
ORDER BY k.created_at, k.id
LIMIT $3

-- name: order_escrow_history
-- Order $2's escrow (of marketplace $1) after each posting that moved it, newest first, at
-- most $3: the posting's line on the escrow, the balance it left (the running sum), and
-- the kind of the transfer that posted it.
SELECT h.posting_id, h.transaction_id, t.kind, h.created_at, h.amount_cents, h.balance_cents
FROM (
    SELECT p.id AS posting_id, p.transaction_id, p.created_at, l.amount_cents,
           sum(l.amount_cents) OVER (ORDER BY p.id)::bigint AS balance_cents
    FROM ledger_lines l
    JOIN ledger_postings p ON p.id = l.posting_id
    JOIN orders o ON o.id = l.account_id AND o.marketplace_id = $1
    WHERE p.marketplace_id = $1 AND l.account_id = $2
) h
JOIN transactions t ON t.id = h.transaction_id AND t.marketplace_id = $1
ORDER BY h.posting_id DESC
LIMIT $3
