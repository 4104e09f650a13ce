-- Migration 0008: outcomes applied in batches (issue 11, items 3 and 4).
--
-- ledger_post_many writes many two-line postings in one statement, with ledger_post's
-- rules (one marketplace per posting, tracked balances locked in id order and kept, the
-- escrow CHECK, lines summing to zero checked at commit); outbox_open_by_job lets a batch
-- claim the due rows of one job name without walking the others.

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

CREATE INDEX IF NOT EXISTS outbox_open_by_job ON outbox (job, not_before) WHERE done_at IS NULL;
