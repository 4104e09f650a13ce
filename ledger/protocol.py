"""The names the API, the workers and PostgreSQL agree on, spelled once (like arq's
`constants.py`): job names, the formats of job (outbox) ids, and the id prefixes a job id
is read by. A job id is its outbox row's id and arq's `_job_id` alike, so it is also the
idempotency key of the work: the same work always gets the same id.

Some of these are also written by SQL that builds job ids in bulk (`record` in
`ledger/sql/events.sql`, `redeliver` in `callbacks.sql`, `submit_unsubmitted` in
`outbox.sql`); tests/test_layering.py checks those spell them as here.

Redis keys: ours are arq's own (`arq:job:<job id>`, `arq:retry:…`, `arq:in-progress:…`,
named in `arq.constants`), under the queue named by `Settings.queue_name`; we add none."""

from __future__ import annotations

from typing import Final

from ledger.ids import PREFIXES

# Job names: the arq functions of workers/main.py, and the `job` column of outbox rows.
SUBMIT_TRANSFER: Final = "submit_transfer"
APPLY_OUTCOME: Final = "apply_outcome"
DELIVER_CALLBACK: Final = "deliver_callback"
JOB_NAMES: Final = frozenset({SUBMIT_TRANSFER, APPLY_OUTCOME, DELIVER_CALLBACK})

# Batch jobs: one run claims many open outbox rows of one job name and does their work
# together (workers/transfers.py). Rows keep their own job names and ids; only the queue
# entry is shared. A batch job's id names the moment it is due (see `batch_job`).
SUBMIT_BATCH: Final = "submit_batch"
APPLY_OUTCOMES: Final = "apply_outcomes"
DELIVER_BATCH: Final = "deliver_batch"
BATCHED: Final = {
    SUBMIT_TRANSFER: SUBMIT_BATCH,
    APPLY_OUTCOME: APPLY_OUTCOMES,
    DELIVER_CALLBACK: DELIVER_BATCH,
}
BATCH_NAMES: Final = frozenset(BATCHED.values())
# Batch jobs are due on the boundaries of slots this long: work committed during a slot is
# claimed by the batch job of the next boundary (which runs after it), and every enqueuer
# of one slot names the same job, so a burst costs one queue entry per slot, not per row.
BATCH_SLOT_MS: Final = 5
BATCH_JOB_SEPARATOR: Final = "@"

SUBMIT_JOB_PREFIX: Final = "submit:"
OUTCOME_JOB_PREFIX: Final = "outcome:"
CALLBACK_ID_PREFIX: Final = PREFIXES["callback"]
DELIVERY_ID_PREFIX: Final = PREFIXES["delivery"]
# Separates the parts of a delivery's job id: `CB…/DL…`, or `CB…/DL…/<nonce>` for a
# redelivery (a new id per request, so an earlier redelivery's job never collides).
# PostgreSQL reads a delivery's callback off its id too (`split_part(id, '/', 1)` in
# migration 0011's index and outbox.sql's claim_due_sparing): the two change together.
DELIVERY_JOB_SEPARATOR: Final = "/"


def submit_job_id(transaction_id: str) -> str:
    """The one submit job of a rail transfer: submitting twice is one submission."""
    assert transaction_id and SUBMIT_JOB_PREFIX not in transaction_id, transaction_id
    return SUBMIT_JOB_PREFIX + transaction_id


def outcome_job_id(notification_id: str) -> str:
    """The job applying one rail notification: the rail's retries of it are one job."""
    assert notification_id, notification_id
    return OUTCOME_JOB_PREFIX + notification_id


def reconciled_notification_id(transaction_id: str, entry_status: str) -> str:
    """The id of a notification reconciliation makes up for a decision the rail never
    pushed: one per transfer and decision, so two passes apply it once."""
    return f"reconcile-{transaction_id}-{entry_status}"


def redelivery_job_prefix(callback_id: str) -> str:
    """What every delivery job of `callback_id` starts with (its deliveries are paced by
    it, see `outbox.spread`)."""
    assert callback_id.startswith(CALLBACK_ID_PREFIX), callback_id
    return callback_id + DELIVERY_JOB_SEPARATOR


def callback_of(delivery_job_id: str) -> str:
    """A delivery's job id starts with its callback's id, so a worker can tell which
    callback a job is for before it touches the database."""
    callback_id = delivery_job_id.split(DELIVERY_JOB_SEPARATOR, 1)[0]
    assert callback_id.startswith(CALLBACK_ID_PREFIX), delivery_job_id
    return callback_id


def batch_job(job_name: str, now_ms: int) -> tuple[str, str, int]:
    """(batch job name, its job id, when it is due in ms) for committed rows of
    `job_name` written before `now_ms`: due at the next slot boundary, strictly after
    `now_ms`, so that its claim sees those rows."""
    batch = BATCHED[job_name]
    slot = now_ms // BATCH_SLOT_MS + 1
    return batch, f"{batch}{BATCH_JOB_SEPARATOR}{slot}", slot * BATCH_SLOT_MS
