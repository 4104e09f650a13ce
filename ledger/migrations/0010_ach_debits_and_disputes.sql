-- Migration 0010: ACH debits from verified bank accounts, and card disputes (issue 10,
-- items 4 and 5).
--
-- A bank account is debited over ACH only once a verification of it succeeded (its two
-- micro-deposits confirmed): `bank_accounts.verified_at`, which a trigger checks for
-- every ACH debit inserted. A verification allows three attempts; a bank account has at
-- most one verification that has not failed. A dispute is opened by the card network on a
-- debit, one per debit at most, and the debit names it (`transactions.dispute_id`).

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
ALTER TABLE bank_accounts ADD CONSTRAINT bank_accounts_verified_by_a_verification
    CHECK (verified_at IS NULL OR verification_id IS NOT NULL);

-- A debit travels on the rail only as an ACH debit, and only from a verified bank account.
ALTER TABLE transactions ADD CONSTRAINT transactions_debit_rail_kind
    CHECK (kind <> 'debit' OR rail_entry_kind IS NULL OR rail_entry_kind = 'debit');
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

-- Balanced's test card 6500000000000002: its debits succeed and are then disputed.
ALTER TABLE cards DROP CONSTRAINT IF EXISTS cards_processor_verdict_check;
ALTER TABLE cards ADD CONSTRAINT cards_processor_verdict_check
    CHECK (processor_verdict IN ('approve', 'decline', 'approve_credit_pending', 'approve_dispute'));

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
ALTER TABLE transactions ADD CONSTRAINT transactions_dispute_fk
    FOREIGN KEY (dispute_id, id) REFERENCES disputes (id, transaction_id);
