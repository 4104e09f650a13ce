"""Pushes outcome notifications to each entry's `notify_url`, signed per Standard Webhooks.

Delivery guarantees and their bounds:
- one entry's notifications arrive in order: each entry has its own FIFO queue, and only
  one delivery worker holds an entry at a time (settled is never overtaken by returned);
- concurrency is a fixed pool of workers, so a million queued notifications cost queue
  memory, not a million tasks;
- outcomes ready at the same moment for the same receiver (one settlement window) go in
  one request of up to `batch_max` notifications (`{"type": "batch", "notifications":
  [...]}`, each as it would be sent alone) when the rail is configured so; a batch holds
  at most one notification per entry, so the order per entry is kept;
- failures (connection errors, timeouts, non-2xx) are retried with capped exponential
  backoff and jitter, a bounded number of times. A notification that still fails is
  dropped and counted: the receiver reconciles through `GET /entries/{id}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from standardwebhooks.webhooks import Webhook

log = logging.getLogger(__name__)

# Concurrent deliveries. Enough to keep a local receiver busy without opening more
# sockets than a default ulimit comfortably allows.
NOTIFY_CONCURRENCY = 32
# Notifications waiting in memory (~1 KiB each). Past this the newest are dropped and
# counted, so a dead receiver cannot make the rail run out of memory.
NOTIFY_BACKLOG_MAX = 1_000_000
# One attempt's budget; the Standard Webhooks spec recommends 15-30 s.
NOTIFY_TIMEOUT_S = 15.0
# The backoff doubles per attempt up to this cap, so 20 attempts span minutes, not days.
NOTIFY_RETRY_DELAY_MAX_MS = 60_000
# Most notifications one batch request carries (~1 KiB each): a receiver applies a batch in
# one transaction, which must stay short.
NOTIFY_BATCH_MAX = 1000
# Most bytes of notifications one batch carries: under the request body limits receivers
# commonly set (ballast's API refuses bodies over 64 KiB), whatever the count allows.
NOTIFY_BATCH_BYTES_MAX = 60 * 1024


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification. The body is serialised once, at the moment of the outcome, and
    the same bytes are signed and sent on every attempt."""

    key: str  # The ordering key: the entry id.
    url: str
    message_id: str
    body: bytes


class Notifier:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        secret: str,
        *,
        retry_base_ms: int,
        max_attempts: int,
        concurrency: int = NOTIFY_CONCURRENCY,
        batch_max: int = 1,
    ) -> None:
        assert retry_base_ms >= 0 and max_attempts >= 1 and concurrency >= 1
        assert 1 <= batch_max <= NOTIFY_BATCH_MAX, batch_max
        self._batch_max = batch_max
        self._session = session
        self._webhook = Webhook(secret)
        self._retry_base_ms = retry_base_ms
        self._max_attempts = max_attempts
        self._concurrency = concurrency
        self._queues: dict[str, deque[Notice]] = {}  # Entry id -> its undelivered notices.
        self._ready: asyncio.Queue[str] = asyncio.Queue()  # Entries whose head may go now.
        self._workers: list[asyncio.Task[None]] = []
        self.queued = 0
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    def enqueue(self, notice: Notice) -> None:
        if self.queued >= NOTIFY_BACKLOG_MAX:
            self.dropped += 1
            log.warning("notification backlog full; dropped %s", notice.message_id)
            return
        self.queued += 1
        queue = self._queues.get(notice.key)
        if queue is not None:
            # The entry is already ready or being delivered; its worker will come back.
            queue.append(notice)
            return
        self._queues[notice.key] = deque((notice,))
        self._ready.put_nowait(notice.key)

    def start(self) -> None:
        assert not self._workers
        self._workers = [
            asyncio.create_task(self._work(), name=f"rail-notifier-{index}")
            for index in range(self._concurrency)
        ]

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []

    async def _work(self) -> None:
        while True:
            keys = self._more_for_the_same_receiver([await self._ready.get()])
            heads = [self._queues[key][0] for key in keys]
            notice = heads[0] if len(heads) == 1 else _batch(heads)
            try:
                await self._deliver(notice, len(heads))
            except Exception:
                # A bug must not kill a worker: the pool would shrink silently.
                log.exception("delivering %s failed unexpectedly", notice.message_id)
            for key in keys:
                queue = self._queues[key]
                queue.popleft()
                self.queued -= 1
                if queue:
                    self._ready.put_nowait(key)  # To the back: other entries get a turn.
                else:
                    del self._queues[key]

    def _more_for_the_same_receiver(self, keys: list[str]) -> list[str]:
        """Add ready entries whose next notification goes where the first one's does, up
        to `batch_max` notifications and NOTIFY_BATCH_BYTES_MAX bytes; an entry that does
        not fit goes back to the queue."""
        head = self._queues[keys[0]][0]
        size_bytes = len(head.body)
        while len(keys) < self._batch_max and not self._ready.empty():
            key = self._ready.get_nowait()
            notice = self._queues[key][0]
            size_bytes += len(notice.body) + 1
            if notice.url != head.url or size_bytes > NOTIFY_BATCH_BYTES_MAX:
                self._ready.put_nowait(key)
                break
            keys.append(key)
        return keys

    async def _deliver(self, notice: Notice, count: int) -> None:
        for attempt in range(1, self._max_attempts + 1):
            status = await self._attempt(notice)
            if status is not None and 200 <= status < 300:
                self.delivered += count
                return
            if status == 410:  # Gone: the receiver asks us to stop (Standard Webhooks).
                break
            if attempt < self._max_attempts:
                await asyncio.sleep(self._backoff_s(attempt))
        self.failed += count
        log.warning("gave up on notification %s to %s", notice.message_id, notice.url)

    def _backoff_s(self, attempt: int) -> float:
        doublings = min(attempt - 1, 30)  # Past the cap anyway; keeps the int small.
        delay_ms = min(self._retry_base_ms << doublings, NOTIFY_RETRY_DELAY_MAX_MS)
        # Jitter spreads retries out so that a receiver coming back is not stampeded.
        return delay_ms * random.uniform(0.5, 1.0) / 1000.0

    async def _attempt(self, notice: Notice) -> int | None:
        """POST once; the HTTP status, or None when no response came back."""
        # The timestamp is the attempt's wall time (receivers reject old ones), so the
        # signature is recomputed per attempt; the message id stays the same.
        timestamp_s = int(time.time())
        signature = self._webhook.sign(
            notice.message_id, datetime.fromtimestamp(timestamp_s, UTC), notice.body.decode()
        )
        headers = {
            "content-type": "application/json",
            "webhook-id": notice.message_id,
            "webhook-timestamp": str(timestamp_s),
            "webhook-signature": signature,
        }
        try:
            async with self._session.post(
                notice.url,
                data=notice.body,
                headers=headers,
                allow_redirects=False,  # A redirect is a failure, per Standard Webhooks.
                timeout=aiohttp.ClientTimeout(total=NOTIFY_TIMEOUT_S),
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            log.info("notification %s to %s failed: %r", notice.message_id, notice.url, error)
            return None


def _batch(notices: list[Notice]) -> Notice:
    """One request carrying `notices` (each body as it would be sent alone), under an id
    of its own: receivers deduplicate the notifications inside by their own ids."""
    message_id = f"NTB-{uuid.uuid4().hex}"
    body = b"".join(
        (
            b'{"id":"',
            message_id.encode(),
            b'","type":"batch","notifications":[',
            b",".join(notice.body for notice in notices),
            b"]}",
        )
    )
    return Notice(notices[0].key, notices[0].url, message_id, body)
