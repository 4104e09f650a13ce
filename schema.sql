-- ballast: the whole database schema, as one readable file.
--
-- Databases are built and upgraded by the numbered migrations in ledger/migrations/
-- (applied at start-up and by `ballast migrate`); tests/test_migrations.py proves that this
-- file and the migrations describe the same schema. Change both together.
--
-- PostgreSQL is the system of record: every rule the code enforces is backed here by a
-- CHECK, a foreign key, a unique key or a trigger.
--
-- Money is bigint cents everywhere. Amounts of one transfer are bounded to 1 .. 10^12
-- cents (ten billion dollars): far above any real ACH entry, far below bigint overflow
-- even when millions of them are summed.

CREATE TABLE IF NOT EXISTS marketplaces (
    id                    text PRIMARY KEY,
    name                  text NOT NULL CHECK (length(name) <= 255),
    domain_url            text NOT NULL CHECK (length(domain_url) <= 255),
    support_email_address text NOT NULL CHECK (length(support_email_address) <= 255),
    support_phone_number  text NOT NULL CHECK (length(support_phone_number) <= 64),
    owner_customer_id     text,
    meta                  jsonb NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);

-- Key secrets are never stored: only their SHA-256, which is enough for secrets of 128
-- random bits (no dictionary to attack) and lets a lookup stay one index probe.
CREATE TABLE IF NOT EXISTS api_keys (
    id             text PRIMARY KEY,
    secret_sha256  bytea NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
    marketplace_id text REFERENCES marketplaces (id),
    meta           jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);

CREATE TABLE IF NOT EXISTS customers (
    id              text PRIMARY KEY,
    marketplace_id  text NOT NULL REFERENCES marketplaces (id),
    name            text CHECK (length(name) <= 255),
    business_name   text CHECK (length(business_name) <= 255),
    email           text CHECK (length(email) <= 255),
    phone           text CHECK (length(phone) <= 64),
    ssn_last4       text CHECK (ssn_last4 ~ '^[0-9]{4}$'),
    ein             text CHECK (ein ~ '^[0-9]{9}$'),
    dob_month       integer CHECK (dob_month BETWEEN 1 AND 12),
    dob_year        integer CHECK (dob_year BETWEEN 1900 AND 2100),
    address         jsonb NOT NULL DEFAULT '{}',
    merchant_status text NOT NULL CHECK (merchant_status IN
                        ('need-more-information', 'underwritten', 'rejected', 'no-match')),
    meta            jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Unstored (DELETE): hidden from lists, still readable, no longer usable (0009).
    deleted_at      timestamptz,
    -- The default funding instruments (Balanced's links.source and links.destination),
    -- always the customer's own (foreign keys added once cards and bank accounts exist).
    source_card_id              text,
    source_bank_account_id      text,
    destination_bank_account_id text,
    CONSTRAINT customers_one_source
        CHECK (source_card_id IS NULL OR source_bank_account_id IS NULL)
);
CREATE INDEX IF NOT EXISTS customers_marketplace_created
    ON customers (marketplace_id, created_at);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'marketplaces_owner_customer_fk') THEN
        ALTER TABLE marketplaces ADD CONSTRAINT marketplaces_owner_customer_fk
            FOREIGN KEY (owner_customer_id) REFERENCES customers (id)
            DEFERRABLE INITIALLY DEFERRED;
    END IF;
END $$;

-- Payable accounts: every customer has one. Its ledger account has the same id, and its
-- balance may go negative (a reversal after a payout), to be settled from a bank account.
CREATE TABLE IF NOT EXISTS accounts (
    id             text PRIMARY KEY,
    marketplace_id text NOT NULL REFERENCES marketplaces (id),
    customer_id    text NOT NULL REFERENCES customers (id),
    type           text NOT NULL DEFAULT 'payable' CHECK (type = 'payable'),
    meta           jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (customer_id, type)
);

-- The full account number is kept because the rail needs it to route the entry.
CREATE TABLE IF NOT EXISTS bank_accounts (
    id             text PRIMARY KEY,
    marketplace_id text NOT NULL REFERENCES marketplaces (id),
    customer_id    text REFERENCES customers (id),
    name           text CHECK (length(name) <= 255),
    account_number text NOT NULL CHECK (account_number ~ '^[0-9]{4,17}$'),
    routing_number text NOT NULL CHECK (routing_number ~ '^[0-9]{9}$'),
    account_type   text NOT NULL CHECK (account_type IN ('checking', 'savings')),
    bank_name      text NOT NULL,
    address        jsonb NOT NULL DEFAULT '{}',
    fingerprint    text NOT NULL,
    meta           jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    -- False for a fingerprint made before fingerprints were keyed (0003), until the API
    -- re-keys it at start-up (ledger/instruments.py, key_fingerprints).
    fingerprint_keyed boolean NOT NULL DEFAULT false,
    -- Unstored (DELETE): hidden from lists, still readable, never debited or credited again.
    deleted_at     timestamptz,
    -- The target of customers' composite foreign keys (a default is the customer's own).
    CONSTRAINT bank_accounts_id_customer UNIQUE (id, customer_id)
);
CREATE INDEX IF NOT EXISTS bank_accounts_marketplace_created
    ON bank_accounts (marketplace_id, created_at);
CREATE INDEX IF NOT EXISTS bank_accounts_customer_created
    ON bank_accounts (customer_id, created_at) WHERE customer_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS bank_accounts_fingerprint_unkeyed
    ON bank_accounts (id) WHERE NOT fingerprint_keyed;

-- Card numbers are never stored: only the last four digits, a fingerprint, and the
-- processor's verdict decided once at tokenization (the simulated processor keys on it).
CREATE TABLE IF NOT EXISTS cards (
    id                  text PRIMARY KEY,
    marketplace_id      text NOT NULL REFERENCES marketplaces (id),
    customer_id         text REFERENCES customers (id),
    name                text CHECK (length(name) <= 255),
    last4               text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    number_length       integer NOT NULL CHECK (number_length BETWEEN 12 AND 19),
    brand               text NOT NULL,
    expiration_month    integer NOT NULL CHECK (expiration_month BETWEEN 1 AND 12),
    expiration_year     integer NOT NULL CHECK (expiration_year BETWEEN 2000 AND 2100),
    has_cvv             boolean NOT NULL,
    card_type           text NOT NULL CHECK (card_type IN ('credit', 'debit')),
    -- approve; decline (debits and holds fail); approve_credit_pending (debits succeed, a
    -- credit pushed to the card stays pending: Balanced's test card 4210101111111112);
    -- approve_dispute (debits succeed, then are disputed: test card 6500000000000002).
    processor_verdict   text NOT NULL
                            CHECK (processor_verdict IN ('approve', 'decline', 'approve_credit_pending', 'approve_dispute')),
    fingerprint         text NOT NULL,
    address             jsonb NOT NULL DEFAULT '{}',
    meta                jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- As bank_accounts.fingerprint_keyed.
    fingerprint_keyed   boolean NOT NULL DEFAULT false,
    -- As bank_accounts.deleted_at.
    deleted_at          timestamptz,
    -- What the simulated processor answered to the CVV and the address (AVS) when the card
    -- was tokenized (NULL: none given); decided from Balanced's test numbers (0009).
    cvv_match           text CHECK (cvv_match IN ('yes', 'no', 'unsupported')),
    avs_postal_match    text CHECK (avs_postal_match IN ('yes', 'no', 'unsupported')),
    avs_street_match    text CHECK (avs_street_match IN ('yes', 'no', 'unsupported')),
    CONSTRAINT cards_id_customer UNIQUE (id, customer_id)
);
CREATE INDEX IF NOT EXISTS cards_fingerprint_unkeyed ON cards (id) WHERE NOT fingerprint_keyed;
CREATE INDEX IF NOT EXISTS cards_customer_created ON cards (customer_id, created_at)
    WHERE customer_id IS NOT NULL;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'customers_source_card_own') THEN
        ALTER TABLE customers ADD CONSTRAINT customers_source_card_own
            FOREIGN KEY (source_card_id, id) REFERENCES cards (id, customer_id);
        ALTER TABLE customers ADD CONSTRAINT customers_source_bank_account_own
            FOREIGN KEY (source_bank_account_id, id) REFERENCES bank_accounts (id, customer_id);
        ALTER TABLE customers ADD CONSTRAINT customers_destination_own
            FOREIGN KEY (destination_bank_account_id, id) REFERENCES bank_accounts (id, customer_id);
    END IF;
END $$;

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

CREATE TABLE IF NOT EXISTS orders (
    id                   text PRIMARY KEY,
    marketplace_id       text NOT NULL REFERENCES marketplaces (id),
    merchant_customer_id text NOT NULL REFERENCES customers (id),
    description          text CHECK (length(description) <= 1024),
    delivery_address     jsonb NOT NULL DEFAULT '{}',
    meta                 jsonb NOT NULL DEFAULT '{}',
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_marketplace_created ON orders (marketplace_id, created_at);

-- ---------------------------------------------------------------------------------------
-- The ledger. Accounts that hold someone's money (an order's escrow, the marketplace
-- escrow, a payable account) track their balance on the row, updated in the posting's
-- transaction; escrows may never go negative. System accounts (the card network, money
-- in flight on the ACH rail, money settled at external banks) are counterparties whose
-- balance is only ever derived from their lines: tracking it on one row would make every
-- transfer of a marketplace queue behind one row lock.
CREATE TABLE IF NOT EXISTS ledger_accounts (
    id             text PRIMARY KEY,
    marketplace_id text NOT NULL REFERENCES marketplaces (id),
    kind           text NOT NULL,
    balance_cents  bigint NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    tracks_balance boolean GENERATED ALWAYS AS
                       (kind IN ('order_escrow', 'marketplace_escrow', 'payable', 'shortfall')) STORED,
    CONSTRAINT ledger_accounts_kind_check
        CHECK (kind IN ('order_escrow', 'marketplace_escrow', 'payable', 'shortfall',
                        'card_network', 'ach_in_flight', 'ach_settled')),
    CONSTRAINT ledger_accounts_escrow_non_negative
        CHECK (kind NOT IN ('order_escrow', 'marketplace_escrow') OR balance_cents >= 0),
    -- A marketplace's shortfall: what reversals returned after they succeeded took back
    -- beyond what their escrow still held (it had been paid out again). Money the
    -- marketplace is out, owed by its merchants; never positive.
    CONSTRAINT ledger_accounts_shortfall_not_positive
        CHECK (kind <> 'shortfall' OR balance_cents <= 0),
    CONSTRAINT ledger_accounts_untracked_zero CHECK (tracks_balance OR balance_cents = 0)
);

CREATE TABLE IF NOT EXISTS transactions (
    id                      text PRIMARY KEY,
    marketplace_id          text NOT NULL REFERENCES marketplaces (id),
    kind                    text NOT NULL CHECK (kind IN
                                ('debit', 'credit', 'refund', 'reversal', 'settlement')),
    status                  text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    amount_cents            bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 1000000000000),
    description             text CHECK (length(description) <= 1024),
    meta                    jsonb NOT NULL DEFAULT '{}',
    appears_on_statement_as text CHECK (length(appears_on_statement_as) <= 22),
    transaction_number      text NOT NULL UNIQUE,
    order_id                text REFERENCES orders (id),
    customer_id             text REFERENCES customers (id),
    source_id               text,
    destination_id          text,
    -- A refund's debit, a reversal's credit.
    parent_id               text REFERENCES transactions (id),
    -- The settlement that paid out (or settled) a payable account's credit or reversal.
    settlement_id           text REFERENCES transactions (id),
    -- The card hold a debit captured (foreign key added after card_holds exists).
    card_hold_id            text,
    -- For transfers that travel on the ACH rail: the bank account the rail moves money
    -- at, and the kind of ACH entry (a payout, a pull, or the reversal of a payout).
    bank_account_id         text REFERENCES bank_accounts (id),
    rail_entry_kind         text CHECK (rail_entry_kind IN ('credit', 'debit', 'reversal')),
    failure_reason_code     text,
    failure_reason          text,
    rail_trace_number       text,
    submitted_at            timestamptz,
    -- When reconciliation last asked the rail about this transfer (see workers/reconcile.py).
    rail_checked_at         timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- When it succeeded and when it failed: a failed transfer that had succeeded was
    -- returned by the bank. Set by the guarded transition (clock time, after its locks).
    succeeded_at            timestamptz,
    failed_at               timestamptz,
    -- A credit into a merchant's payable account that pays back what this reversal
    -- collected from the merchant although the credit it reversed was returned.
    compensates_id          text REFERENCES transactions (id),
    -- What destination_id names; NULL where it is no instrument (a debit's order).
    destination_kind        text
                                CHECK (destination_kind IN ('bank_account', 'card', 'account')),
    CONSTRAINT transactions_failed_has_reason
        CHECK ((status = 'failed') = (failure_reason_code IS NOT NULL)),
    CONSTRAINT transactions_succeeded_when
        CHECK (status <> 'succeeded' OR succeeded_at IS NOT NULL),
    CONSTRAINT transactions_failed_when CHECK ((status = 'failed') = (failed_at IS NOT NULL)),
    CONSTRAINT transactions_compensation_is_credit
        CHECK (compensates_id IS NULL OR kind = 'credit'),
    CONSTRAINT transactions_children_have_parent
        CHECK ((kind IN ('refund', 'reversal')) = (parent_id IS NOT NULL)),
    CONSTRAINT transactions_rail_entry_has_account
        CHECK ((rail_entry_kind IS NULL) = (bank_account_id IS NULL)),
    CONSTRAINT transactions_credit_has_destination_kind
        CHECK (kind <> 'credit' OR destination_kind IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS transactions_marketplace_kind_created
    ON transactions (marketplace_id, kind, created_at);
CREATE INDEX IF NOT EXISTS transactions_order_kind ON transactions (order_id, kind)
    WHERE order_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS transactions_parent ON transactions (parent_id)
    WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS transactions_destination ON transactions (destination_id, kind);
CREATE INDEX IF NOT EXISTS transactions_source ON transactions (source_id, kind);
CREATE INDEX IF NOT EXISTS transactions_settlement ON transactions (settlement_id)
    WHERE settlement_id IS NOT NULL;
-- A reversal's over-collection is paid back once.
CREATE UNIQUE INDEX IF NOT EXISTS transactions_one_compensation ON transactions (compensates_id)
    WHERE compensates_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS transactions_awaiting_rail
    ON transactions ((coalesce(rail_checked_at, submitted_at)))
    WHERE status = 'pending' AND submitted_at IS NOT NULL;
-- Rail transfers waiting for their submission: the sweeper finds any that lost their job.
CREATE INDEX IF NOT EXISTS transactions_unsubmitted ON transactions (created_at)
    WHERE status = 'pending' AND submitted_at IS NULL AND rail_entry_kind IS NOT NULL;
-- Refunds of a debit (reversals of a credit) never add up to more than it. Code checks
-- first to answer with the right error; this is the backstop under any concurrency.
CREATE OR REPLACE FUNCTION transactions_within_parent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent_cents bigint;
    taken_cents bigint;
BEGIN
    SELECT amount_cents INTO parent_cents FROM transactions WHERE id = NEW.parent_id FOR UPDATE;
    SELECT coalesce(sum(amount_cents), 0) INTO taken_cents FROM transactions
        WHERE parent_id = NEW.parent_id AND status <> 'failed' AND id <> NEW.id;
    IF NEW.status <> 'failed' AND taken_cents + NEW.amount_cents > parent_cents THEN
        RAISE EXCEPTION '% of % would exceed it', NEW.kind, NEW.parent_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_within_parent';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER transactions_within_parent BEFORE INSERT ON transactions
    FOR EACH ROW WHEN (NEW.parent_id IS NOT NULL) EXECUTE FUNCTION transactions_within_parent();

-- Card holds: an authorization on a card, later captured (a debit) or voided. A hold with
-- an order changes the order only when captured.
CREATE TABLE IF NOT EXISTS card_holds (
    id                      text PRIMARY KEY,
    marketplace_id          text NOT NULL REFERENCES marketplaces (id),
    card_id                 text NOT NULL REFERENCES cards (id),
    order_id                text REFERENCES orders (id),
    status                  text NOT NULL CHECK (status IN ('succeeded', 'failed')),
    amount_cents            bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 1000000000000),
    description             text CHECK (length(description) <= 1024),
    meta                    jsonb NOT NULL DEFAULT '{}',
    transaction_number      text NOT NULL UNIQUE,
    failure_reason_code     text,
    failure_reason          text,
    expires_at              timestamptz NOT NULL,
    voided_at               timestamptz,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    -- Set while a debit capturing the hold has not failed (card_holds_mark_captured).
    captured_at             timestamptz,
    CONSTRAINT card_holds_failed_has_reason
        CHECK ((status = 'failed') = (failure_reason_code IS NOT NULL)),
    -- Captured or voided, never both.
    CONSTRAINT card_holds_captured_or_voided CHECK (captured_at IS NULL OR voided_at IS NULL)
);
CREATE INDEX IF NOT EXISTS card_holds_marketplace_created ON card_holds (marketplace_id, created_at);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'transactions_card_hold_fk') THEN
        ALTER TABLE transactions ADD CONSTRAINT transactions_card_hold_fk
            FOREIGN KEY (card_hold_id) REFERENCES card_holds (id);
    END IF;
END $$;
-- A hold is captured at most once.
CREATE UNIQUE INDEX IF NOT EXISTS transactions_one_capture_per_hold
    ON transactions (card_hold_id) WHERE card_hold_id IS NOT NULL AND status <> 'failed';
-- A hold's captured_at follows its capture, whichever code writes the debit.
CREATE OR REPLACE FUNCTION card_holds_mark_captured() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE card_holds
    SET captured_at = CASE WHEN NEW.status = 'failed' THEN NULL
                           ELSE coalesce(captured_at, now()) END
    WHERE id = NEW.card_hold_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER card_holds_mark_captured
    AFTER INSERT OR UPDATE OF status ON transactions
    FOR EACH ROW WHEN (NEW.card_hold_id IS NOT NULL)
    EXECUTE FUNCTION card_holds_mark_captured();

-- A transfer resolves at most once, and only forward: pending -> succeeded | failed, and
-- succeeded -> failed (an ACH return days later). Asserted in code, enforced here.
CREATE OR REPLACE FUNCTION transactions_guard_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status <> OLD.status AND NOT (
           (OLD.status = 'pending' AND NEW.status IN ('succeeded', 'failed'))
        OR (OLD.status = 'succeeded' AND NEW.status = 'failed')) THEN
        RAISE EXCEPTION 'transaction % may not go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_status_forward_only';
    END IF;
    IF NEW.amount_cents <> OLD.amount_cents OR NEW.kind <> OLD.kind THEN
        RAISE EXCEPTION 'transaction % amount and kind are immutable', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_immutable';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER transactions_guard_status BEFORE UPDATE ON transactions
    FOR EACH ROW EXECUTE FUNCTION transactions_guard_status();

CREATE TABLE IF NOT EXISTS ledger_postings (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    marketplace_id text NOT NULL REFERENCES marketplaces (id),
    transaction_id text NOT NULL REFERENCES transactions (id),
    kind           text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_postings_transaction ON ledger_postings (transaction_id);

-- Lines are append-only: a correction is a new posting, never an edit.
CREATE TABLE IF NOT EXISTS ledger_lines (
    posting_id   bigint NOT NULL REFERENCES ledger_postings (id),
    account_id   text NOT NULL REFERENCES ledger_accounts (id),
    amount_cents bigint NOT NULL CHECK (amount_cents <> 0),
    PRIMARY KEY (posting_id, account_id)
);
CREATE INDEX IF NOT EXISTS ledger_lines_account ON ledger_lines (account_id);

-- Every posting sums to zero, checked at commit so that a posting's lines can be inserted
-- one by one; no code path can commit money that came from nowhere.
CREATE OR REPLACE FUNCTION ledger_lines_balanced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
BEGIN
    SELECT sum(amount_cents) INTO total FROM ledger_lines WHERE posting_id = NEW.posting_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'posting % does not sum to zero (%)', NEW.posting_id, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_sum_zero';
    END IF;
    RETURN NULL;
END $$;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'ledger_lines_balanced') THEN
        CREATE CONSTRAINT TRIGGER ledger_lines_balanced AFTER INSERT ON ledger_lines
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_lines_balanced();
    END IF;
END $$;

CREATE OR REPLACE FUNCTION ledger_lines_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger lines are append-only'
        USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_lines_append_only';
END $$;
CREATE OR REPLACE TRIGGER ledger_lines_append_only BEFORE UPDATE OR DELETE ON ledger_lines
    FOR EACH ROW EXECUTE FUNCTION ledger_lines_append_only();

-- One posting: its lines, and the balances of the accounts that track one. Balance rows are
-- locked in id order so that two postings touching the same accounts can never deadlock.
-- An escrow that would go negative fails the CHECK ledger_accounts_escrow_non_negative.
CREATE OR REPLACE FUNCTION ledger_post(
    p_marketplace_id text, p_transaction_id text, p_kind text,
    p_account_ids text[], p_amounts_cents bigint[]
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    posting bigint;
BEGIN
    IF cardinality(p_account_ids) < 2
       OR cardinality(p_account_ids) <> cardinality(p_amounts_cents) THEN
        RAISE EXCEPTION 'a posting needs two or more lines, one amount per account'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_two_lines';
    END IF;
    IF EXISTS (SELECT 1 FROM ledger_accounts
               WHERE id = ANY (p_account_ids) AND marketplace_id <> p_marketplace_id) THEN
        RAISE EXCEPTION 'a posting may not cross marketplaces'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_one_marketplace';
    END IF;
    -- Lock before inserting lines: their foreign keys take KEY SHARE locks on the same
    -- rows, and upgrading from those to an update lock would deadlock two postings.
    PERFORM 1 FROM ledger_accounts
        WHERE id = ANY (p_account_ids) AND tracks_balance ORDER BY id FOR NO KEY UPDATE;
    INSERT INTO ledger_postings (marketplace_id, transaction_id, kind)
        VALUES (p_marketplace_id, p_transaction_id, p_kind) RETURNING id INTO posting;
    INSERT INTO ledger_lines (posting_id, account_id, amount_cents)
        SELECT posting, a, c FROM unnest(p_account_ids, p_amounts_cents) AS l (a, c);
    UPDATE ledger_accounts la SET balance_cents = la.balance_cents + l.c
        FROM unnest(p_account_ids, p_amounts_cents) AS l (a, c)
        WHERE la.id = l.a AND la.tracks_balance;
    RETURN posting;
END $$;

-- ledger_post, except that a posting the escrow CHECK refuses returns NULL (nothing of it
-- written, the transaction still usable) instead of raising: a refused credit is then kept
-- as `failed` without a savepoint round trip pair. Any other error is raised.
CREATE OR REPLACE FUNCTION ledger_try_post(
    p_marketplace_id text, p_transaction_id text, p_kind text,
    p_account_ids text[], p_amounts_cents bigint[]
) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    refused_by text;
BEGIN
    RETURN ledger_post(p_marketplace_id, p_transaction_id, p_kind, p_account_ids,
                       p_amounts_cents);
EXCEPTION WHEN check_violation THEN
    GET STACKED DIAGNOSTICS refused_by = CONSTRAINT_NAME;
    IF refused_by = 'ledger_accounts_escrow_non_negative' THEN
        RETURN NULL;
    END IF;
    RAISE;
END $$;

-- Many two-line postings in one statement (outcomes applied in batches), with
-- ledger_post's rules.
CREATE OR REPLACE FUNCTION ledger_post_many(
    p_marketplace_ids text[], p_transaction_ids text[], p_kinds text[],
    p_from_accounts text[], p_to_accounts text[], p_amounts_cents bigint[]
) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    posted integer;
BEGIN
    IF cardinality(p_transaction_ids) <> cardinality(p_marketplace_ids)
       OR cardinality(p_transaction_ids) <> cardinality(p_kinds)
       OR cardinality(p_transaction_ids) <> cardinality(p_from_accounts)
       OR cardinality(p_transaction_ids) <> cardinality(p_to_accounts)
       OR cardinality(p_transaction_ids) <> cardinality(p_amounts_cents)
       OR cardinality(p_transaction_ids) <> (SELECT count(DISTINCT t) FROM unnest(p_transaction_ids) AS t)
       OR EXISTS (SELECT 1 FROM unnest(p_from_accounts, p_to_accounts, p_amounts_cents) AS p (f, t, c)
                  WHERE f = t OR c IS NULL OR c <= 0) THEN
        RAISE EXCEPTION 'one posting per transfer, each moving a positive amount between two accounts'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_two_lines';
    END IF;
    IF EXISTS (SELECT 1
               FROM unnest(p_marketplace_ids, p_from_accounts, p_to_accounts) AS p (m, f, t)
               JOIN ledger_accounts a ON a.id IN (p.f, p.t)
               WHERE a.marketplace_id <> p.m) THEN
        RAISE EXCEPTION 'a posting may not cross marketplaces'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_postings_one_marketplace';
    END IF;
    -- As ledger_post: lock before inserting lines, in id order.
    PERFORM 1 FROM ledger_accounts
        WHERE id IN (SELECT unnest(p_from_accounts) UNION SELECT unnest(p_to_accounts))
          AND tracks_balance
        ORDER BY id FOR NO KEY UPDATE;
    WITH postings AS (
        INSERT INTO ledger_postings (marketplace_id, transaction_id, kind)
        SELECT m, t, k FROM unnest(p_marketplace_ids, p_transaction_ids, p_kinds) AS p (m, t, k)
        RETURNING id, transaction_id
    ),
    moves AS (
        SELECT p.id AS posting_id, m.f, m.t, m.c
        FROM postings p
        JOIN unnest(p_transaction_ids, p_from_accounts, p_to_accounts, p_amounts_cents)
            AS m (tx, f, t, c) ON m.tx = p.transaction_id
    )
    INSERT INTO ledger_lines (posting_id, account_id, amount_cents)
    SELECT posting_id, f, -c FROM moves
    UNION ALL
    SELECT posting_id, t, c FROM moves;
    GET DIAGNOSTICS posted = ROW_COUNT;
    UPDATE ledger_accounts la SET balance_cents = la.balance_cents + d.cents
    FROM (
        SELECT account_id, sum(cents) AS cents
        FROM (SELECT f AS account_id, -c AS cents
              FROM unnest(p_from_accounts, p_amounts_cents) AS x (f, c)
              UNION ALL
              SELECT t, c FROM unnest(p_to_accounts, p_amounts_cents) AS y (t, c)) AS moved
        GROUP BY account_id
    ) d
    WHERE la.id = d.account_id AND la.tracks_balance;
    RETURN posted / 2;
END $$;

-- ---------------------------------------------------------------------------------------
-- ACH debits from verified bank accounts, and card disputes (migration 0010). A bank
-- account is debited over ACH only once a verification of it succeeded (its two
-- micro-deposits confirmed); a dispute is opened by the card network on a debit.
CREATE TABLE IF NOT EXISTS bank_account_verifications (
    id                  text PRIMARY KEY,
    marketplace_id      text NOT NULL REFERENCES marketplaces (id),
    bank_account_id     text NOT NULL REFERENCES bank_accounts (id),
    -- Confirmations tried; Balanced allows three.
    attempts            integer NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 3),
    deposit_status      text NOT NULL DEFAULT 'pending'
                            CHECK (deposit_status IN ('pending', 'succeeded', 'failed')),
    verification_status text NOT NULL DEFAULT 'pending'
                            CHECK (verification_status IN ('pending', 'succeeded', 'failed')),
    -- The two micro-deposits, in cents: under a dollar each (Balanced); 1 and 1 in test mode.
    amount_1_cents      integer NOT NULL CHECK (amount_1_cents BETWEEN 1 AND 99),
    amount_2_cents      integer NOT NULL CHECK (amount_2_cents BETWEEN 1 AND 99),
    meta                jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- Failed means every attempt was used up wrong; pending means one is left.
    CONSTRAINT bank_account_verifications_failed_after_all_attempts
        CHECK (verification_status <> 'failed' OR attempts = 3),
    CONSTRAINT bank_account_verifications_pending_has_attempts
        CHECK (verification_status <> 'pending' OR attempts < 3),
    CONSTRAINT bank_account_verifications_succeeded_was_tried
        CHECK (verification_status <> 'succeeded' OR attempts >= 1)
);
CREATE INDEX IF NOT EXISTS bank_account_verifications_account_created
    ON bank_account_verifications (bank_account_id, created_at);
-- A new verification only once the last one failed.
CREATE UNIQUE INDEX IF NOT EXISTS bank_account_verifications_one_open
    ON bank_account_verifications (bank_account_id) WHERE verification_status <> 'failed';

-- The bank account's newest verification (links.bank_account_verification) and when one
-- succeeded (can_debit).
ALTER TABLE bank_accounts ADD COLUMN IF NOT EXISTS verification_id text
    REFERENCES bank_account_verifications (id);
ALTER TABLE bank_accounts ADD COLUMN IF NOT EXISTS verified_at timestamptz;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'bank_accounts_verified_by_a_verification') THEN
        ALTER TABLE bank_accounts ADD CONSTRAINT bank_accounts_verified_by_a_verification
            CHECK (verified_at IS NULL OR verification_id IS NOT NULL);
    END IF;
END $$;

-- A debit travels on the rail only as an ACH debit, and only from a verified bank account.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'transactions_debit_rail_kind') THEN
        ALTER TABLE transactions ADD CONSTRAINT transactions_debit_rail_kind
            CHECK (kind <> 'debit' OR rail_entry_kind IS NULL OR rail_entry_kind = 'debit');
    END IF;
END $$;
CREATE OR REPLACE FUNCTION transactions_debit_verified() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM bank_accounts
                   WHERE id = NEW.bank_account_id AND verified_at IS NOT NULL) THEN
        RAISE EXCEPTION 'ACH debit % from unverified bank account %', NEW.id, NEW.bank_account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'transactions_debit_verified';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER transactions_debit_verified BEFORE INSERT ON transactions
    FOR EACH ROW WHEN (NEW.kind = 'debit' AND NEW.rail_entry_kind IS NOT NULL)
    EXECUTE FUNCTION transactions_debit_verified();

CREATE TABLE IF NOT EXISTS disputes (
    id             text PRIMARY KEY,
    marketplace_id text NOT NULL REFERENCES marketplaces (id),
    -- The debit disputed: one dispute per debit.
    transaction_id text NOT NULL UNIQUE REFERENCES transactions (id),
    amount_cents   bigint NOT NULL CHECK (amount_cents BETWEEN 1 AND 1000000000000),
    reason         text NOT NULL CHECK (length(reason) BETWEEN 1 AND 64),
    status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'won', 'lost')),
    initiated_at   timestamptz NOT NULL,
    respond_by     timestamptz NOT NULL,
    meta           jsonb NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT disputes_respond_after_initiated CHECK (respond_by > initiated_at),
    UNIQUE (id, transaction_id)
);
CREATE INDEX IF NOT EXISTS disputes_marketplace_created ON disputes (marketplace_id, created_at);
-- The debit names its dispute, and only the dispute that names it.
ALTER TABLE transactions ADD COLUMN IF NOT EXISTS dispute_id text;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'transactions_dispute_fk') THEN
        ALTER TABLE transactions ADD CONSTRAINT transactions_dispute_fk
            FOREIGN KEY (dispute_id, id) REFERENCES disputes (id, transaction_id);
    END IF;
END $$;

-- ---------------------------------------------------------------------------------------
-- Events, callbacks and their deliveries.
CREATE TABLE IF NOT EXISTS events (
    id             text PRIMARY KEY,
    marketplace_id text NOT NULL REFERENCES marketplaces (id),
    type           text NOT NULL,
    entity_id      text NOT NULL,
    -- Per-entity sequence number, so that receivers can drop a stale state.
    sequence       integer NOT NULL CHECK (sequence >= 1),
    entity         jsonb NOT NULL,
    -- The moment of the statement, not of the transaction: two events of one transaction
    -- (debit.created, debit.succeeded) keep their order.
    occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- Insertion order, to break ties between events of the same microsecond.
    position       bigint GENERATED ALWAYS AS IDENTITY,
    UNIQUE (entity_id, sequence)
);
CREATE INDEX IF NOT EXISTS events_marketplace_occurred ON events (marketplace_id, occurred_at);

CREATE TABLE IF NOT EXISTS callbacks (
    id             text PRIMARY KEY,
    marketplace_id text NOT NULL REFERENCES marketplaces (id),
    url            text NOT NULL CHECK (length(url) <= 2048),
    method         text NOT NULL CHECK (method IN ('post', 'put', 'get')),
    revision       text NOT NULL CHECK (revision IN ('1.0', '1.1')),
    -- Standard Webhooks signing secret (whsec_...). Kept in clear because signing needs it.
    secret         text NOT NULL,
    -- During a rotation the old secret keeps signing (beside the new one) until it expires,
    -- so receivers can switch over without dropping a delivery.
    previous_secret            text,
    previous_secret_expires_at timestamptz,
    -- Since when every delivery has failed; past a limit the callback is disabled.
    failing_since  timestamptz,
    -- Its receiver is stuck (every delivery slot held past a timeout): new deliveries wait
    -- until then instead of queueing jobs that could only wait too.
    stalled_until  timestamptz,
    disabled_at    timestamptz,
    disabled_reason text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    deleted_at     timestamptz,
    CHECK ((previous_secret IS NULL) = (previous_secret_expires_at IS NULL)),
    CHECK ((disabled_at IS NULL) = (disabled_reason IS NULL))
);
CREATE UNIQUE INDEX IF NOT EXISTS callbacks_one_url_per_marketplace
    ON callbacks (marketplace_id, url) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS callback_deliveries (
    id               text PRIMARY KEY,
    event_id         text NOT NULL REFERENCES events (id),
    callback_id      text NOT NULL REFERENCES callbacks (id),
    status           text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, callback_id)
);

-- A delivery's id, one per (event, callback), in time order: the event id's time digits
-- (ledger/ids.py), then 20 digits of a hash of both ids.
CREATE OR REPLACE FUNCTION delivery_id(p_event_id text, p_callback_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 'DL' || substr(p_event_id, 3, 12) || substr(md5(p_event_id || p_callback_id), 1, 20)
$$;

CREATE TABLE IF NOT EXISTS callback_attempts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id      text NOT NULL REFERENCES callback_deliveries (id),
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    request_headers  jsonb NOT NULL,
    response_status  integer,
    latency_ms       integer NOT NULL CHECK (latency_ms >= 0),
    response_excerpt text CHECK (length(response_excerpt) <= 1024),
    error            text
);
CREATE INDEX IF NOT EXISTS callback_attempts_delivery ON callback_attempts (delivery_id);

-- ---------------------------------------------------------------------------------------
-- The outbox: every job is first a row here, written in the transaction that made it
-- necessary and deleted in the one that commits its work, so it holds open work only.
-- Redis only carries a copy; the sweeper re-enqueues rows whose job was lost.
CREATE TABLE IF NOT EXISTS outbox (
    id          text PRIMARY KEY,
    job         text NOT NULL CHECK (job IN ('submit_transfer', 'apply_outcome', 'deliver_callback')),
    args        jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Not to be run before this time (a callback retry waiting out its backoff).
    not_before  timestamptz NOT NULL DEFAULT now(),
    enqueued_at timestamptz
)
-- Each job writes three versions of its row (insert, claim, delete): vacuumed after a fixed
-- number of dead rows, not a share of the few live ones, and without cost-based pauses.
WITH (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 10000
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (not_before);
-- A batch claims the due rows of one job name (ledger/sql/outbox.sql, claim_due).
CREATE INDEX IF NOT EXISTS outbox_due_by_job ON outbox (job, not_before);
-- The open deliveries by callback (an id is `<callback id>/<event id>`): a claim that spares
-- busy callbacks visits each callback once instead of walking their backlog (claim_due_sparing).
CREATE INDEX IF NOT EXISTS outbox_deliveries_by_callback
    ON outbox (split_part(id, '/', 1), not_before)
    WHERE job = 'deliver_callback';

-- Idempotency-Key (Stripe semantics): the first response to a key is kept and replayed to
-- every retry with the same request; a different request under the same key is refused.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    marketplace_id  text NOT NULL REFERENCES marketplaces (id),
    key             text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_sha256  bytea NOT NULL CHECK (length(request_sha256) = 32),
    -- in_progress: a request holds the key; committed: its writes are committed but its
    -- response was not kept (the process died), so it can be neither replayed nor re-run.
    state           text NOT NULL DEFAULT 'in_progress'
                        CHECK (state IN ('in_progress', 'committed', 'done')),
    response_status integer,
    response_body   bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (marketplace_id, key),
    CHECK ((state = 'done') = (response_status IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
