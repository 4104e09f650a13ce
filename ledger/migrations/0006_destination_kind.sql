-- Migration 0006: a transfer says what kind of thing it pays into (issue 12, item 2).
--
-- Code used to tell a card from a bank account or a payable account by the first letters
-- of `destination_id`. The kind is now stored beside the id when the transfer is made.
-- It stays NULL where the destination is no instrument (a debit into an order's escrow).

ALTER TABLE transactions ADD COLUMN IF NOT EXISTS destination_kind text
    CHECK (destination_kind IN ('bank_account', 'card', 'account'));

-- Rows written before now: the kind is whichever table holds the destination.
UPDATE transactions t SET destination_kind = 'bank_account'
FROM bank_accounts b WHERE b.id = t.destination_id;
UPDATE transactions t SET destination_kind = 'card'
FROM cards c WHERE c.id = t.destination_id;
UPDATE transactions t SET destination_kind = 'account'
FROM accounts a WHERE a.id = t.destination_id;

ALTER TABLE transactions ADD CONSTRAINT transactions_credit_has_destination_kind
    CHECK (kind <> 'credit' OR destination_kind IS NOT NULL);
