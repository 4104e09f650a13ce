-- name: insert
-- A job to run; an existing id is left alone, so writing the same work twice is harmless.
INSERT INTO outbox (id, job, args) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING
RETURNING id, job

-- name: get
-- One outbox row.
SELECT * FROM outbox WHERE id = $1

-- name: mark_done
-- The job's work commits with this: its row goes, and the sweeper will not enqueue it again.
DELETE FROM outbox WHERE id = $1

-- name: defer
-- Run no earlier than $2 (a retry waiting out its backoff).
UPDATE outbox SET not_before = $2 WHERE id = $1

-- name: claim_stale
-- Open jobs due since $1 milliseconds and not enqueued in that time: their job may have
-- been lost with Redis or with a killed process. SKIP LOCKED lets several sweepers share.
UPDATE outbox SET enqueued_at = now()
WHERE id IN (
    SELECT id FROM outbox
    WHERE not_before <= now() - make_interval(secs => $1 / 1000.0)
      AND (enqueued_at IS NULL OR enqueued_at <= now() - make_interval(secs => $1 / 1000.0))
    ORDER BY not_before
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
RETURNING id, job

-- name: reopen
-- Run a submission again from now (the rail lost it): its row, deleted when the job last
-- finished, is written afresh, so that the transfer always has a job. An open row is left
-- alone: it runs anyway.
INSERT INTO outbox (id, job, args) VALUES ($1, $2, $3)
ON CONFLICT (id) DO NOTHING
RETURNING id, job

-- name: submit_unsubmitted
-- Pending rail transfers with no submission recorded and no submit job (its row deleted),
-- created more than $1 ms ago: each gets its submit job back, at most
-- $2 per call. A transfer's job row is written in the transaction that creates it, so this
-- finds only transfers whose job was lost. Walks the partial index
-- transactions_unsubmitted, which holds only transfers waiting for their submission.
INSERT INTO outbox (id, job, args)
SELECT 'submit:' || t.id, 'submit_transfer', jsonb_build_object('transaction_id', t.id)
FROM transactions t
WHERE t.status = 'pending' AND t.submitted_at IS NULL AND t.rail_entry_kind IS NOT NULL
  AND t.created_at < now() - make_interval(secs => $1 / 1000.0)
  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = 'submit:' || t.id)
ORDER BY t.created_at
LIMIT $2
ON CONFLICT (id) DO NOTHING
RETURNING id, job

-- name: spread
-- Range redelivery jobs $1 (in order) of callback prefix $2 ('CB…/'), made due one every
-- $4 ms: the first $3 at once when none of the callback's earlier spread jobs still waits,
-- else all after the last of those, so that several requests queue behind one another
-- rather than side by side. Marked `spread` and not yet enqueued, which is how the next
-- request finds them. Returns the jobs due now.
WITH backlog AS (
    SELECT max(not_before) AS last FROM outbox
    WHERE enqueued_at IS NULL AND not_before > now()
      AND starts_with(id, $2) AND args ? 'spread'
),
planned AS (
    SELECT j.id,
           coalesce(b.last, now()) + make_interval(
               secs => (CASE WHEN b.last IS NULL THEN greatest(j.n - $3, 0) ELSE j.n END)
                       * $4 / 1000.0) AS not_before
    FROM unnest($1::text[]) WITH ORDINALITY AS j (id, n), backlog b
)
UPDATE outbox o
SET not_before = p.not_before, args = o.args || '{"spread": true}'
FROM planned p
WHERE o.id = p.id
RETURNING o.id, o.job, o.not_before <= now() AS due

-- name: insert_many
-- Jobs $1 (ids) named $2 with arguments $3, in one statement; ids already present (or
-- repeated) are left alone. Rows written together share created_at, so each keeps its
-- place in $1 as args.batch_position: jobs are taken in the order they were written.
-- Returns the jobs written now.
INSERT INTO outbox (id, job, args)
SELECT j.id, $2, j.args || jsonb_build_object('batch_position', j.position)
FROM unnest($1::text[], $3::jsonb[]) WITH ORDINALITY AS j (id, args, position)
ORDER BY j.position
ON CONFLICT (id) DO NOTHING
RETURNING id, job

-- name: claim_due
-- A batch: up to $2 open jobs named $1 that are due, oldest first, but none whose id starts
-- with one of the prefixes $4 (a callback the worker is still busy with), leased for $3 ms (their
-- not_before moves past the lease, so no other batch and no sweep takes them meanwhile; a
-- batch that dies leaves them to whoever comes after the lease). SKIP LOCKED lets batches
-- run side by side.
UPDATE outbox o
SET not_before = now() + make_interval(secs => $3 / 1000.0), enqueued_at = now()
FROM (
    SELECT id FROM outbox
    WHERE job = $1 AND not_before <= now()
      AND NOT EXISTS (SELECT 1 FROM unnest($4::text[]) AS busy (prefix)
                      WHERE starts_with(outbox.id, busy.prefix))
    ORDER BY not_before
    LIMIT $2
    FOR UPDATE SKIP LOCKED
) due
WHERE o.id = due.id
RETURNING o.id, o.args, o.created_at

-- name: claim_due_sparing
-- claim_due for deliveries when the callbacks with the id prefixes $4 are busy: visits each
-- callback with open deliveries once (a loose index scan of
-- outbox_deliveries_by_callback) and takes the oldest due deliveries of the others, so
-- that a busy callback's backlog, however long, is never walked. $1 is 'deliver_callback'.
-- `split_part(id, '/', 1)` is a delivery's callback (ledger/protocol.py,
-- DELIVERY_JOB_SEPARATOR), spelled as the index spells it.
WITH RECURSIVE callbacks (callback_id) AS (
    (SELECT split_part(id, '/', 1) FROM outbox
     WHERE job = 'deliver_callback'
     ORDER BY split_part(id, '/', 1) LIMIT 1)
    UNION ALL
    SELECT (SELECT split_part(o.id, '/', 1) FROM outbox o
            WHERE o.job = 'deliver_callback'
              AND split_part(o.id, '/', 1) > callbacks.callback_id
            ORDER BY split_part(o.id, '/', 1) LIMIT 1)
    FROM callbacks WHERE callbacks.callback_id IS NOT NULL
),
due AS (
    SELECT d.id FROM callbacks
    CROSS JOIN LATERAL (
        SELECT o.id, o.not_before FROM outbox o
        WHERE o.job = 'deliver_callback'
          AND split_part(o.id, '/', 1) = callbacks.callback_id AND o.not_before <= now()
        ORDER BY o.not_before
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ) d
    WHERE callbacks.callback_id IS NOT NULL AND $1 = 'deliver_callback'
      AND callbacks.callback_id || '/' <> ALL ($4::text[])
    ORDER BY d.not_before
    LIMIT $2
)
UPDATE outbox o
SET not_before = now() + make_interval(secs => $3 / 1000.0), enqueued_at = now()
FROM due
WHERE o.id = due.id
RETURNING o.id, o.args, o.created_at

-- name: mark_done_many
-- The jobs $1 are done (their work commits in this transaction): their rows go.
DELETE FROM outbox WHERE id = ANY($1::text[])

-- name: release_many
-- Give claimed jobs $1 back, due again in $2 ms (0: at once).
UPDATE outbox SET not_before = now() + make_interval(secs => $2 / 1000.0)
WHERE id = ANY($1::text[])

-- name: back_off
-- Jobs $1 could not run now (the rail is unreachable): each is due again after its own
-- backoff, $2 ms doubled per earlier try and at most $3 ms, its tries counted in
-- args.tries. Returns when each is due, in ms since the epoch.
UPDATE outbox
SET not_before = now() + make_interval(
        secs => least($3, $2 * power(2, coalesce((args->>'tries')::int, 0))) / 1000.0),
    args = args || jsonb_build_object('tries', coalesce((args->>'tries')::int, 0) + 1)
WHERE id = ANY($1::text[])
RETURNING (extract(epoch FROM not_before) * 1000)::bigint AS due_ms
