"""The jobs that deliver events to callbacks, one signed HTTP request per event and
callback (Standard Webhooks), retrying on a schedule. `deliver_batch` claims many due
deliveries and attempts them side by side; `deliver_callback` attempts one.

Every attempt is logged. A 2xx ends the delivery; 410 Gone disables the callback; any other
failure is retried after the next delay of the schedule (doubled for 429, 502 and 504, and
never sooner than a `Retry-After`, honoured up to `delivery.RETRY_AFTER_S_MAX`), until the
schedule runs out. A callback that has failed every delivery for `callback_disable_after_ms`
is disabled and a `callback.disabled` event says so. Deliveries connect through
`ctx["callback_http"]`, whose resolver refuses internal addresses (see callbacks/ssrf.py).
Each callback gets at most `callback_concurrency_max` deliveries in flight per
worker: a delivery that finds them all busy waits a moment for one, but if the receiver
looks stuck it gives its job slot back and is parked for a delivery timeout, and the
callback is stalled as long: its new deliveries are not queued until then. So one slow
receiver cannot starve the others."""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import jobqueue
from callbacks import delivery, signing, ssrf
from ledger import deliveries, protocol, wire
from ledger.outbox import Claimed
from ledger.records import Delivery
from workers import batches
from workers.context import WorkerContext

log = logging.getLogger(__name__)

# Answers that mean "you are going too fast" (Standard Webhooks): back off harder.
SLOW_DOWN = frozenset({429, 502, 504})
SLOW_DOWN_FACTOR = 2
# Callbacks whose lanes a worker remembers; past this, idle ones are forgotten.
CALLBACK_LANES_MAX = 10_000
# A batch waits this long for its deliveries (a healthy receiver answers in milliseconds,
# and the wait is what keeps a backlog from being claimed faster than it is delivered);
# lanes still busy then (a slow or hung receiver) finish on their own, so that they never
# hold the worker's job slots and the other receivers' deliveries behind them.
BATCH_PATIENCE_S = 0.2
# Lanes of one callback left to finish on their own, at most, per worker: beyond, its
# deliveries wait in the outbox (see _busy_callbacks).
DETACHED_LANES_PER_CALLBACK_MAX = 2
# Deliveries one batch claims and attempts side by side: within the worker's HTTP
# connections (workers/main.py: 100).
DELIVERY_BATCH_MAX = 100
# A claimed delivery is leased for one attempt's timeout and this much more: a live batch
# never loses it, a dead one's comes back soon after.
DELIVERY_LEASE_MARGIN_MS = 5_000
# A full lane whose oldest delivery has been in flight this long is stuck rather than busy:
# half the delivery timeout, so that a receiver slowed by load (hundreds of milliseconds) is
# not mistaken for a hung one, and never less than this floor.
STUCK_AFTER_SHARE_OF_TIMEOUT = 0.5
STUCK_AFTER_S = 0.25


class Lane:
    """One callback's deliveries in flight in this worker: at most `concurrency_max`, and
    the moment each started, so that a full lane can tell a busy receiver (wait a moment
    for a slot) from a stuck one (park the delivery and free the job slot)."""

    def __init__(self, concurrency_max: int, stuck_after_s: float = STUCK_AFTER_S) -> None:
        assert concurrency_max >= 1 and stuck_after_s > 0
        self.slots = asyncio.Semaphore(concurrency_max)
        self.stuck_after_s = stuck_after_s
        self.started: dict[str, float] = {}

    def full_and_stuck(self) -> bool:
        if not self.slots.locked():
            return False
        oldest = min(self.started.values(), default=time.monotonic())
        return time.monotonic() - oldest > self.stuck_after_s

    async def enter(self, outbox_id: str) -> bool:
        """Take a slot; False when the receiver looks stuck or no slot frees up in time."""
        if self.full_and_stuck():
            return False
        try:
            await asyncio.wait_for(self.slots.acquire(), self.stuck_after_s)
        except TimeoutError:
            return False
        self.started[outbox_id] = time.monotonic()
        return True

    def leave(self, outbox_id: str) -> None:
        del self.started[outbox_id]
        self.slots.release()


def _lane(ctx: WorkerContext, callback_id: str) -> Lane:
    # arq hands each job a copy of ctx; the dict inside it (made at startup) is shared.
    lanes = ctx["callback_lanes"]
    if callback_id not in lanes and len(lanes) >= CALLBACK_LANES_MAX:
        for idle in [key for key, lane in lanes.items() if not lane.started]:
            del lanes[idle]
    if callback_id not in lanes:
        settings = ctx["settings"]
        timeout_s = settings.callback_timeout_ms / 1000
        stuck_after_s = max(STUCK_AFTER_S, timeout_s * STUCK_AFTER_SHARE_OF_TIMEOUT)
        lanes[callback_id] = Lane(settings.callback_concurrency_max, stuck_after_s)
    lane: Lane = lanes[callback_id]
    return lane


async def _attempt(ctx: WorkerContext, target: Delivery) -> tuple[delivery.Attempt, dict[str, str]]:
    settings = ctx["settings"]
    body = wire.delivery_body(target)
    headers = signing.headers(target.signing_secrets, target.event_id, int(time.time()), body)
    try:
        # An IP literal is vetted here; a host name as `callback_http` resolves it to connect.
        ssrf.check_target(target.url, allow_private=settings.callbacks_allow_private)
    except ssrf.UnsafeUrl as error:
        return delivery.Attempt(None, 0, None, f"refused: {error}", None), headers
    result = await delivery.attempt(
        ctx["callback_http"],
        target.method,
        target.url,
        body,
        headers,
        settings.callback_timeout_ms,
    )
    return result, headers


def _retry_delay_ms(ctx: WorkerContext, target: Delivery, result: delivery.Attempt) -> int | None:
    return delivery.retry_delay_ms(
        target.attempts + 1,
        ctx["settings"].callback_retry_schedule_ms,
        result,
        SLOW_DOWN_FACTOR if result.status_code in SLOW_DOWN else 1,
    )


async def _record(ctx: WorkerContext, attempt: deliveries.Delivered) -> int | None:
    """Log a failed attempt and move the delivery on; returns the delay before the next
    attempt, if there is one."""
    settings = ctx["settings"]
    assert isinstance(attempt.result, delivery.Attempt)  # What `_attempt` makes.
    settled = await deliveries.record_attempt(
        ctx["pool"],
        attempt.outbox_id,
        attempt.delivery,
        attempt.result,
        attempt.logged_headers,
        retry_delay_ms=_retry_delay_ms(ctx, attempt.delivery, attempt.result),
        disable_after=timedelta(milliseconds=settings.callback_disable_after_ms),
    )
    await jobqueue.enqueue(ctx["redis"], settled.jobs, settings.queue_name)
    return settled.retry_delay_ms


async def _park(ctx: WorkerContext, outbox_id: str) -> int:
    """Wait one delivery timeout, and stall the callback's next deliveries as long;
    returns that wait in milliseconds."""
    wait_ms: int = ctx["settings"].callback_timeout_ms
    log.info("parked %s for %d ms: its receiver looks stuck", outbox_id, wait_ms)
    await deliveries.park(ctx["pool"], outbox_id, timedelta(milliseconds=wait_ms))
    return wait_ms


async def deliver_batch(ctx: WorkerContext) -> None:
    """Attempt every due delivery, a batch at a time, side by side (each callback's lane
    still bounds its deliveries in flight)."""
    lease_ms = ctx["settings"].callback_timeout_ms + DELIVERY_LEASE_MARGIN_MS
    await batches.run(
        ctx, protocol.DELIVER_CALLBACK, DELIVERY_BATCH_MAX, lease_ms, _deliver, _busy_callbacks
    )


def _busy_callbacks(ctx: WorkerContext) -> list[str]:
    """The job-id prefixes of callbacks with DETACHED_LANES_PER_CALLBACK_MAX lanes still
    finishing on their own in this worker: their deliveries wait in the outbox until one
    ends (backpressure per receiver: a backlog is never claimed faster than it is
    delivered, and a slow receiver holds up nobody else)."""
    lanes = collections.Counter(task.get_name() for task in ctx["detached_deliveries"])
    return [
        protocol.redelivery_job_prefix(callback_id)
        for callback_id, count in lanes.items()
        if count >= DETACHED_LANES_PER_CALLBACK_MAX
    ]


async def _deliver(ctx: WorkerContext, claimed: list[Claimed]) -> None:
    await _deliver_all(ctx, [job.id for job in claimed], BATCH_PATIENCE_S)


async def deliver_callback(ctx: WorkerContext, outbox_id: str) -> None:
    """Attempt one delivery (a batch of one, waited for to the end)."""
    await _deliver_all(ctx, [outbox_id], patience_s=None)


async def _deliver_all(ctx: WorkerContext, outbox_ids: list[str], patience_s: float | None) -> None:
    """POST each signed event and record the attempts: succeed, retry later, or give up.
    Each callback's deliveries go through its lane; after `patience_s` the lanes still
    busy (a slow or hung receiver) go on without the caller, so that one receiver never
    holds the worker's job slots.

    When a callback's lane is full and stuck its delivery is parked (its outbox row waits
    one delivery timeout) rather than kept waiting or retried: a receiver that hangs would
    otherwise hold every connection, or turn its backlog into a stream of retries, and
    crowd out every other receiver's deliveries."""
    loadable, parked = [], []
    for outbox_id in outbox_ids:
        if _lane(ctx, protocol.callback_of(outbox_id)).full_and_stuck():
            # Before any read: a stuck receiver's backlog is cheap.
            parked.append(await _park(ctx, outbox_id))
        else:
            loadable.append(outbox_id)
    await _settle(ctx, parked)
    targets = await deliveries.deliverables(ctx["pool"], loadable)
    per_callback: dict[str, list[tuple[str, Delivery]]] = {}
    for outbox_id, target in targets.items():
        per_callback.setdefault(target.callback_id, []).append((outbox_id, target))
    lanes = [
        asyncio.create_task(_through_lane(ctx, callback_id, queue), name=callback_id)
        for callback_id, queue in per_callback.items()
    ]
    if not lanes:
        return
    done, still_busy = await asyncio.wait(lanes, timeout=patience_s)
    for task in still_busy:
        _detach(ctx, task)
    for task in done:
        task.result()  # An error of a lane is the batch's.


def _detach(ctx: WorkerContext, task: asyncio.Task[None]) -> None:
    """Let a lane's deliveries finish on their own; the worker cancels what is left of them
    when it stops (their rows are leased, so they are delivered again after the lease)."""
    detached = ctx["detached_deliveries"]
    detached.add(task)
    task.add_done_callback(detached.discard)
    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("deliveries left to finish on their own failed", exc_info=task.exception())


async def _through_lane(
    ctx: WorkerContext, callback_id: str, queue: list[tuple[str, Delivery]]
) -> None:
    """A batch's deliveries to one callback, at most its lane's width at a time (so that
    they queue here, not for a lane slot, which would look like a stuck receiver); once
    the receiver does look stuck, the rest are parked. The attempts are recorded when the
    lane is done, even if it is cut short."""
    lane = _lane(ctx, callback_id)
    pending = list(reversed(queue))
    tried: list[deliveries.Delivered | int] = []

    async def take_turns() -> None:
        while pending:
            outbox_id, target = pending.pop()
            if lane.full_and_stuck():
                tried.append(await _park(ctx, outbox_id))
            else:
                tried.append(await _attempt_in_lane(ctx, outbox_id, target))

    width = min(len(queue), ctx["settings"].callback_concurrency_max)
    try:
        await asyncio.gather(*(take_turns() for _ in range(width)))
    finally:
        await _settle(ctx, tried)
    # The callback's deliveries left waiting while it was busy (see _busy_callbacks).
    await jobqueue.enqueue(
        ctx["redis"], [(protocol.DELIVER_CALLBACK, callback_id)], ctx["settings"].queue_name
    )


async def _settle(ctx: WorkerContext, tried: Sequence[deliveries.Delivered | int]) -> None:
    """Record what was tried: successes together, in one statement; failures one by one
    (each may retry, disable its callback, or give up). Deliveries to try again (retries,
    parked ones: given as the milliseconds until they are due) wait in the outbox, with a
    batch job queued for when they fall due."""
    now_ms = int(time.time() * 1000)
    attempts = [attempt for attempt in tried if isinstance(attempt, deliveries.Delivered)]
    delays_ms = [attempt for attempt in tried if isinstance(attempt, int)]
    await deliveries.record_delivered(ctx["pool"], [a for a in attempts if a.result.succeeded])
    for attempt in attempts:
        if not attempt.result.succeeded:
            delay_ms = await _record(ctx, attempt)
            if delay_ms is not None:
                delays_ms.append(delay_ms)
    if delays_ms:
        due_ms = [now_ms + delay_ms for delay_ms in delays_ms]
        queue_name = ctx["settings"].queue_name
        await jobqueue.enqueue_due(ctx["redis"], protocol.DELIVER_CALLBACK, due_ms, queue_name)


async def _attempt_in_lane(
    ctx: WorkerContext, outbox_id: str, target: Delivery
) -> deliveries.Delivered | int:
    """One attempt within its callback's lane (the attempt, successful or not), or the
    milliseconds it was parked for when the lane has no room."""
    lane = _lane(ctx, target.callback_id)
    if not await lane.enter(outbox_id):
        return await _park(ctx, outbox_id)
    try:
        result, headers = await _attempt(ctx, target)
    finally:
        lane.leave(outbox_id)
    logged = {key: headers[key] for key in ("webhook-id", "webhook-timestamp")}
    return deliveries.Delivered(outbox_id, target, result, logged)
