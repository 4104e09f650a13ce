-- Migration 0013: the outbox holds open work only (issue 11, items 4 and 6).
--
-- A job used to be marked done (an UPDATE) and its row purged days later (a DELETE that
-- read the whole table to find done rows). At a thousand credits a second that kept
-- hundreds of thousands of finished rows and their dead versions in the table the claims
-- read, and the 100k benchmark slowed as they grew: 0.6 ms a claim at the start of the run,
-- 26 ms at the end, and 0.5 s a purge pass. A job's row is now deleted in the transaction
-- that commits its work. Done rows guarded nothing a job's own guards do not: every job is
-- safe to run twice (a missing row is a job already done), and the work it would redo is
-- refused by the guarded transitions it makes.
DELETE FROM outbox WHERE done_at IS NOT NULL;

DROP INDEX IF EXISTS outbox_open;
DROP INDEX IF EXISTS outbox_open_by_job;
DROP INDEX IF EXISTS outbox_open_deliveries_by_callback;
ALTER TABLE outbox DROP COLUMN IF EXISTS done_at;

CREATE INDEX IF NOT EXISTS outbox_due ON outbox (not_before);
CREATE INDEX IF NOT EXISTS outbox_due_by_job ON outbox (job, not_before);
CREATE INDEX IF NOT EXISTS outbox_deliveries_by_callback
    ON outbox (split_part(id, '/', 1), not_before)
    WHERE job = 'deliver_callback';

-- Every job writes three versions of its row (insert, claim, delete): a queue table's dead
-- rows outnumber its live ones many times over, so it is vacuumed after a fixed number of
-- dead rows rather than a share of the live ones, and without the cost-based pauses.
ALTER TABLE outbox SET (
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 10000,
    autovacuum_vacuum_insert_scale_factor = 0,
    autovacuum_vacuum_insert_threshold = 10000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 10000
);
