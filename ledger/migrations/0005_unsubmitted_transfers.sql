-- Migration 0005: every pending rail transfer stays reachable (issue 9, defect 7).
--
-- The outbox sweeper looks for pending rail transfers that have neither a recorded
-- submission nor an open submit job (the job row purged or deleted) and gives them their
-- job back (ledger/sql/outbox.sql, submit_unsubmitted). This index holds exactly the
-- transfers waiting for their submission, so that scan stays small however many
-- transfers the table holds.
CREATE INDEX IF NOT EXISTS transactions_unsubmitted ON transactions (created_at)
    WHERE status = 'pending' AND submitted_at IS NULL AND rail_entry_kind IS NOT NULL;
