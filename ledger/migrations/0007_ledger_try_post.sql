-- Migration 0007: a posting refused for want of escrow costs no savepoint (issue 11, item 2).
--
-- A credit the escrow cannot cover is kept as `failed`, so the refused posting must leave
-- the transaction usable. The application used to wrap ledger_post in a savepoint: two
-- more round trips (SAVEPOINT, RELEASE) on every posting. The same subtransaction now
-- runs inside PostgreSQL: ledger_try_post returns NULL instead of raising when the escrow
-- CHECK refuses the posting (nothing of it is written), and raises anything else.

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
