-- Migration 0011: a delivery claim that spares busy callbacks stays cheap (issue 11, item 6).
--
-- A worker whose lanes to one callback are full asks the claim to leave that callback's
-- deliveries alone (ledger/sql/outbox.sql, claim_due_sparing). Scanning the due deliveries
-- oldest first and skipping the busy callback's walked its whole backlog (33 ms at 60,000
-- open rows, on every claim) once one receiver fell behind: the 100k benchmark slowed as its
-- backlog grew. With the open deliveries indexed by callback (a delivery's outbox id is
-- `<callback id>/<event id>`, ledger/protocol.py), the claim visits each callback once and
-- reads only the callbacks it may take.
CREATE INDEX IF NOT EXISTS outbox_open_deliveries_by_callback
    ON outbox (split_part(id, '/', 1), not_before)
    WHERE done_at IS NULL AND job = 'deliver_callback';
