-- Migration 0002: money is counted once (issue 9).
--
-- 1. Transfers remember when they succeeded and when they failed. A failed transfer that
--    had succeeded was returned by the bank; the order of a credit's return and its
--    reversals' outcomes decides how much of the credit comes back to escrow, and the
--    audit recomputes that from these facts.
-- 2. A credit may compensate a reversal: when a reversal collected money from a merchant
--    whose credit the bank then returned (or returned first), that money is owed to the
--    merchant and is paid into the merchant's payable account by a credit that names it.
-- 3. Each marketplace has a `shortfall` account: what a reversal returned after it
--    succeeded takes back beyond what its escrow still holds (the escrow was paid out
--    again). Never positive; the audit and GET /marketplaces show it.

ALTER TABLE transactions ADD COLUMN IF NOT EXISTS succeeded_at timestamptz;
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS failed_at timestamptz;
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS compensates_id text REFERENCES transactions (id);

-- Backfill from the postings (a rail transfer's success has a `<kind>.succeeded` posting)
-- or, for transfers decided at once, from the row's last update.
UPDATE transactions t
SET succeeded_at = coalesce(
        (SELECT min(p.created_at) FROM ledger_postings p
         WHERE p.transaction_id = t.id AND p.kind = t.kind || '.succeeded'),
        CASE WHEN t.status = 'succeeded' THEN t.updated_at END)
WHERE t.succeeded_at IS NULL AND t.status IN ('succeeded', 'failed');
UPDATE transactions SET failed_at = updated_at WHERE status = 'failed' AND failed_at IS NULL;

ALTER TABLE transactions ADD CONSTRAINT transactions_succeeded_when
    CHECK (status <> 'succeeded' OR succeeded_at IS NOT NULL);
ALTER TABLE transactions ADD CONSTRAINT transactions_failed_when
    CHECK ((status = 'failed') = (failed_at IS NOT NULL));
ALTER TABLE transactions ADD CONSTRAINT transactions_compensation_is_credit
    CHECK (compensates_id IS NULL OR kind = 'credit');
-- A reversal's over-collection is paid back once.
CREATE UNIQUE INDEX transactions_one_compensation ON transactions (compensates_id)
    WHERE compensates_id IS NOT NULL;

-- The shortfall account kind. tracks_balance is a generated column, rebuilt with the new
-- kind (PostgreSQL 15 cannot change a generation expression in place).
ALTER TABLE ledger_accounts DROP CONSTRAINT ledger_accounts_kind_check;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_kind_check
    CHECK (kind IN ('order_escrow', 'marketplace_escrow', 'payable', 'shortfall',
                    'card_network', 'ach_in_flight', 'ach_settled'));
ALTER TABLE ledger_accounts DROP COLUMN tracks_balance CASCADE;
ALTER TABLE ledger_accounts ADD COLUMN tracks_balance boolean GENERATED ALWAYS AS
    (kind IN ('order_escrow', 'marketplace_escrow', 'payable', 'shortfall')) STORED;
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_untracked_zero
    CHECK (tracks_balance OR balance_cents = 0);
ALTER TABLE ledger_accounts ADD CONSTRAINT ledger_accounts_shortfall_not_positive
    CHECK (kind <> 'shortfall' OR balance_cents <= 0);

INSERT INTO ledger_accounts (id, marketplace_id, kind)
SELECT m.id || ':shortfall', m.id, 'shortfall' FROM marketplaces m
ON CONFLICT (id) DO NOTHING;
