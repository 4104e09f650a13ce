-- name: insert
-- A job to run; an existing id is left alone, so writing the same work twice is harmless.
INSERT INTO outbox (id, job, args) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING
RETURNING id, job

-- name: get
-- One outbox row.
SELECT * FROM outbox WHERE id = $1

-- name: mark_done
-- The job's work is committed; the sweeper will not enqueue it again.
UPDATE outbox SET done_at = now() WHERE id = $1 AND done_at IS NULL

-- name: defer
-- Run no earlier than $2 (a retry waiting out its backoff).
UPDATE outbox SET not_before = $2 WHERE id = $1 AND done_at IS NULL

-- name: claim_stale
-- Open jobs due since $1 milliseconds and not enqueued in that time: their job may have
-- been lost with Redis or with a killed process. SKIP LOCKED lets several sweepers share.
UPDATE outbox SET enqueued_at = now()
WHERE id IN (
    SELECT id FROM outbox
    WHERE done_at IS NULL
      AND not_before <= now() - make_interval(secs => $1 / 1000.0)
      AND (enqueued_at IS NULL OR enqueued_at <= now() - make_interval(secs => $1 / 1000.0))
    ORDER BY not_before
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING id, job

-- name: purge_done
-- Forget finished jobs older than $1 hours, at most $2 at a time (the log of what ran is
-- in the tables the jobs changed; these rows only guarded against running twice).
DELETE FROM outbox WHERE id IN (
    SELECT id FROM outbox
    WHERE done_at IS NOT NULL AND done_at < now() - make_interval(hours => $1)
    LIMIT $2
)

-- name: reopen
-- Run a finished job again (a submission the rail lost), from now.
UPDATE outbox SET done_at = NULL, not_before = now(), enqueued_at = NULL
WHERE id = $1
RETURNING id, job
