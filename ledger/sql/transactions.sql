-- name: insert
-- Transfers of any kind, $1 ids, $2… their columns, in one statement (one request's
-- transfer, or many credits the API made together).
INSERT INTO transactions (id, marketplace_id, kind, status, amount_cents, description, meta,
                          appears_on_statement_as, transaction_number, order_id, customer_id,
                          source_id, destination_id, parent_id, bank_account_id, rail_entry_kind,
                          card_hold_id, compensates_id, destination_kind)
SELECT t.id, t.marketplace_id, t.kind, 'pending', t.amount_cents, t.description, t.meta,
       t.appears_on_statement_as, t.transaction_number, t.order_id, t.customer_id,
       t.source_id, t.destination_id, t.parent_id, t.bank_account_id, t.rail_entry_kind,
       t.card_hold_id, t.compensates_id, t.destination_kind
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[],
            $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],
            $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])
    AS t (id, marketplace_id, kind, amount_cents, description, meta, appears_on_statement_as,
          transaction_number, order_id, customer_id, source_id, destination_id, parent_id,
          bank_account_id, rail_entry_kind, card_hold_id, compensates_id, destination_kind)
RETURNING *

-- name: bank_account_credit_parties
-- What credits to bank accounts $2 out of orders $3 (the marketplace's escrow where null)
-- check first, read in one round trip: per credit, in the order given, its marketplace $1,
-- and the bank account and the order when they are that marketplace's own (NULL ids when
-- not; a NULL marketplace_id when the marketplace is unknown).
SELECT m.id AS marketplace_id, m.domain_url, m.owner_customer_id,
       b.id AS bank_account_id, b.customer_id AS bank_account_customer_id,
       b.deleted_at AS bank_account_deleted_at,
       o.id AS order_id, o.merchant_customer_id AS order_merchant_customer_id,
       o.description AS order_description
FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY
    AS w (marketplace_id, bank_account_id, order_id, position)
LEFT JOIN marketplaces m ON m.id = w.marketplace_id
LEFT JOIN bank_accounts b ON b.marketplace_id = m.id AND b.id = w.bank_account_id
LEFT JOIN orders o ON o.marketplace_id = m.id AND o.id = w.order_id
ORDER BY w.position

-- name: get
-- One transfer of kind $3, visible only to its marketplace.
SELECT * FROM transactions WHERE marketplace_id = $1 AND id = $2 AND kind = $3

-- name: lock
-- One transfer, locked until the end of the transaction (outcomes are applied under it).
SELECT * FROM transactions WHERE id = $1 FOR UPDATE

-- name: family
-- A transfer's id and the credit it reverses (the debit it refunds): read before locking
-- both, parent first, the order every path takes.
SELECT id, parent_id FROM transactions WHERE id = $1

-- name: lock_children
-- A credit's reversals (a debit's refunds), locked in id order after their parent.
SELECT * FROM transactions WHERE parent_id = $1 ORDER BY id FOR UPDATE

-- name: lock_compensation
-- The credit that paid a reversal's over-collection back to the merchant, if any.
SELECT * FROM transactions WHERE compensates_id = $1 FOR UPDATE

-- name: lock_in_marketplace
-- One transfer of kind $3 of marketplace $1, locked: refunds and reversals of it queue here.
SELECT * FROM transactions WHERE marketplace_id = $1 AND id = $2 AND kind = $3 FOR UPDATE

-- name: children_cents
-- What the live (not failed) refunds or reversals of a transfer add up to.
SELECT coalesce(sum(amount_cents), 0)::bigint FROM transactions
WHERE parent_id = $1 AND status <> 'failed'

-- name: list
-- Transfers of kind $2 of a marketplace, narrowed by whichever of the scopes $3..$6 is set
-- (order; parent; party, the source or destination; settlement), $15 (customer), $16
-- (the settlement of credit or reversal $16) and $17 (the hold a debit captured), by
-- statuses $7, amount
-- range $8..$9 and creation range $10..$11; sorted by $12; one page ($13, $14).
SELECT *, count(*) OVER () AS total
FROM transactions
WHERE marketplace_id = $1 AND kind = $2
  AND ($3::text IS NULL OR order_id = $3)
  AND ($4::text IS NULL OR parent_id = $4)
  AND ($5::text IS NULL OR source_id = $5 OR destination_id = $5)
  AND ($6::text IS NULL OR settlement_id = $6)
  AND ($15::text IS NULL OR customer_id = $15)
  AND ($16::text IS NULL OR id = (SELECT settlement_id FROM transactions WHERE id = $16))
  AND ($17::text IS NULL OR card_hold_id = $17)
  AND status = ANY ($7::text[])
  AND ($8::bigint IS NULL OR amount_cents >= $8)
  AND ($9::bigint IS NULL OR amount_cents <= $9)
  AND ($10::timestamptz IS NULL OR created_at >= $10)
  AND ($11::timestamptz IS NULL OR created_at <= $11)
ORDER BY CASE WHEN $12 = 'amount,asc' THEN amount_cents END ASC,
         CASE WHEN $12 = 'amount,desc' THEN amount_cents END DESC,
         CASE WHEN $12 = 'created_at,desc' THEN created_at END DESC,
         created_at, id
LIMIT $13 OFFSET $14

-- name: transition
-- Guarded status change: only from the statuses in $3, so an outcome applies at most once.
-- Clock time, not transaction time: it is taken after the row lock, so the order of these
-- times is the order in which outcomes were applied (the audit relies on it).
UPDATE transactions
SET status = $2, failure_reason_code = $4, failure_reason = $5, updated_at = now(),
    succeeded_at = CASE WHEN $2 = 'succeeded' THEN clock_timestamp() ELSE succeeded_at END,
    failed_at = CASE WHEN $2 = 'failed' THEN clock_timestamp() ELSE failed_at END
WHERE id = $1 AND status = ANY ($3::text[])
RETURNING *

-- name: attach_settlement
-- Mark the payable account's credits and reversals not yet settled as settled by $2.
UPDATE transactions SET settlement_id = $2, updated_at = now()
WHERE marketplace_id = $1 AND settlement_id IS NULL AND status = 'succeeded'
  AND ((kind = 'credit' AND destination_id = $3)
       OR (kind = 'reversal' AND parent_id IN (SELECT id FROM transactions
                                               WHERE kind = 'credit' AND destination_id = $3)))

-- name: update_details
-- Description and meta are the only writable fields of a transfer.
UPDATE transactions
SET description = coalesce($4, description), meta = coalesce($5, meta), updated_at = now()
WHERE marketplace_id = $1 AND id = $2 AND kind = $3
RETURNING *

-- name: lock_unsettled_account_credits
-- Lock an account's credits a settlement will attach, in id order, before the account's
-- balance: a reversal locks its credit first, then the balance, so both take the same order.
SELECT id FROM transactions
WHERE marketplace_id = $1 AND kind = 'credit' AND destination_id = $2 AND settlement_id IS NULL
ORDER BY id
FOR UPDATE

-- name: families
-- `family` for many transfers.
SELECT id, parent_id FROM transactions WHERE id = ANY($1::text[])

-- name: lock_many
-- Many transfers, locked in id order (the order every batch takes) until the end of the
-- transaction.
SELECT * FROM transactions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE

-- name: transition_many
-- `transition` of many transfers $1 to $2 (no failure), each guarded by its status.
UPDATE transactions
SET status = $2, updated_at = now(),
    succeeded_at = CASE WHEN $2 = 'succeeded' THEN clock_timestamp() ELSE succeeded_at END
WHERE id = ANY($1::text[]) AND status = ANY ($3::text[])
RETURNING *
