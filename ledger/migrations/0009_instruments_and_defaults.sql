-- Migration 0009: cards, bank accounts and customers as Balanced clients use them (issue 10,
-- items 1 and 2).
--
-- An instrument or a customer is unstored (DELETE) by marking it, never by removing its
-- row: the transfers that moved money at it keep pointing at it, and it stays readable by
-- its href (Balanced). A customer names its default funding instruments: `links.source` (a
-- card or a bank account, debited by POST /customers/:id/debits) and `links.destination`
-- (a bank account, credited by POST /customers/:id/credits). The composite foreign keys
-- make a default always one of the customer's own instruments. A card also keeps what the
-- simulated processor answered, at tokenization, to its CVV and address (AVS): the number
-- that decides it is not kept.

ALTER TABLE cards ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
ALTER TABLE bank_accounts ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS source_card_id text;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS source_bank_account_id text;
ALTER TABLE customers ADD COLUMN IF NOT EXISTS destination_bank_account_id text;

ALTER TABLE cards ADD CONSTRAINT cards_id_customer UNIQUE (id, customer_id);
ALTER TABLE bank_accounts ADD CONSTRAINT bank_accounts_id_customer UNIQUE (id, customer_id);
CREATE INDEX IF NOT EXISTS cards_customer_created ON cards (customer_id, created_at)
    WHERE customer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS bank_accounts_customer_created
    ON bank_accounts (customer_id, created_at) WHERE customer_id IS NOT NULL;

ALTER TABLE customers ADD CONSTRAINT customers_one_source
    CHECK (source_card_id IS NULL OR source_bank_account_id IS NULL);
ALTER TABLE customers ADD CONSTRAINT customers_source_card_own
    FOREIGN KEY (source_card_id, id) REFERENCES cards (id, customer_id);
ALTER TABLE customers ADD CONSTRAINT customers_source_bank_account_own
    FOREIGN KEY (source_bank_account_id, id) REFERENCES bank_accounts (id, customer_id);
ALTER TABLE customers ADD CONSTRAINT customers_destination_own
    FOREIGN KEY (destination_bank_account_id, id) REFERENCES bank_accounts (id, customer_id);

ALTER TABLE cards ADD COLUMN IF NOT EXISTS cvv_match text
    CHECK (cvv_match IN ('yes', 'no', 'unsupported'));
ALTER TABLE cards ADD COLUMN IF NOT EXISTS avs_postal_match text
    CHECK (avs_postal_match IN ('yes', 'no', 'unsupported'));
ALTER TABLE cards ADD COLUMN IF NOT EXISTS avs_street_match text
    CHECK (avs_street_match IN ('yes', 'no', 'unsupported'));
-- Cards made before: a CVV given was shown as matching.
UPDATE cards SET cvv_match = 'yes' WHERE has_cvv;

-- A customer as the API shows it: with its default funding instruments, those it named,
-- else its newest stored card (source) and bank account (destination).
CREATE OR REPLACE VIEW customers_shown AS
SELECT c.*,
       coalesce(c.source_card_id, c.source_bank_account_id,
                (SELECT k.id FROM cards k WHERE k.customer_id = c.id AND k.deleted_at IS NULL
                 ORDER BY k.created_at DESC, k.id DESC LIMIT 1)) AS source_id,
       coalesce(c.destination_bank_account_id,
                (SELECT b.id FROM bank_accounts b
                 WHERE b.customer_id = c.id AND b.deleted_at IS NULL
                 ORDER BY b.created_at DESC, b.id DESC LIMIT 1)) AS destination_id
FROM customers c;
