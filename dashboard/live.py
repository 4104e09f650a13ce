"""Live updates: the marketplace's events, as server-sent events to open pages.

One poller per marketplace that has open streams reads the `events` table (the very rows
callbacks are delivered from) every POLL_INTERVAL_S and hands each new event to every
stream of that marketplace; the poller stops when its last stream closes. An event's
`occurred_at` is set when its statement runs, and its transaction may commit a little
later: each poll looks LOOKBACK_S behind the newest event seen and drops the ids it has
already sent, so a late commit is still reported, once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from ledger import dashboard as ledger_dashboard
from ledger.dashboard import LiveEvent

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.25
# How far behind the newest event seen each poll looks for events committed late: far
# more than a transaction takes between its event's statement and its commit.
LOOKBACK_S = 1.0
# Events one poll reads at most; a burst beyond waits for the next poll.
EVENTS_PER_POLL_MAX = 500
# Events a slow stream may have waiting; past it the oldest are dropped (a page missing
# an update only shows a state a little old until its next one).
QUEUE_EVENTS_MAX = 1000


@dataclass
class _Feed:
    """The poller of one marketplace and the queues of its open streams."""

    queues: set[asyncio.Queue[LiveEvent | None]] = field(default_factory=set)
    task: asyncio.Task[None] | None = None


class LiveHub:
    def __init__(self) -> None:
        self._feeds: dict[str, _Feed] = {}
        self._closed = False

    @contextlib.asynccontextmanager
    async def subscribe(
        self, pool: asyncpg.Pool, marketplace_id: str
    ) -> AsyncIterator[asyncio.Queue[LiveEvent | None]]:
        """A queue of the marketplace's events from now on; None in it means: stop."""
        queue: asyncio.Queue[LiveEvent | None] = asyncio.Queue(QUEUE_EVENTS_MAX)
        if self._closed:
            queue.put_nowait(None)
        feed = self._feeds.setdefault(marketplace_id, _Feed())
        feed.queues.add(queue)
        if feed.task is None and not self._closed:
            start = datetime.now(UTC)
            feed.task = asyncio.create_task(self._poll(pool, marketplace_id, feed, start))
        try:
            yield queue
        finally:
            feed.queues.discard(queue)
            if not feed.queues and self._feeds.get(marketplace_id) is feed:
                del self._feeds[marketplace_id]
                if feed.task is not None:
                    feed.task.cancel()

    async def close(self) -> None:
        """Stop every poller and tell every stream to end (the application shuts down)."""
        self._closed = True
        for feed in list(self._feeds.values()):
            for queue in feed.queues:
                _offer(queue, None)
            if feed.task is not None:
                feed.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed.task
        self._feeds.clear()

    async def _poll(
        self, pool: asyncpg.Pool, marketplace_id: str, feed: _Feed, start: datetime
    ) -> None:
        newest = start
        sent: dict[str, datetime] = {}
        while True:
            after = newest - timedelta(seconds=LOOKBACK_S)
            try:
                # Page by page: a burst larger than one read must not hold the cursor back.
                while True:
                    events = await ledger_dashboard.events_since(
                        pool, marketplace_id, after, EVENTS_PER_POLL_MAX
                    )
                    for event in events:
                        if event.id not in sent and event.occurred_at >= start:
                            sent[event.id] = event.occurred_at
                            for queue in feed.queues:
                                _offer(queue, event)
                        newest = max(newest, event.occurred_at)
                    if len(events) < EVENTS_PER_POLL_MAX:
                        break
                    after = events[-1].occurred_at
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("dashboard live: reading events failed; retrying", exc_info=True)
            horizon = newest - timedelta(seconds=LOOKBACK_S)
            for event_id in [key for key, at in sent.items() if at < horizon]:
                del sent[event_id]
            await asyncio.sleep(POLL_INTERVAL_S)


def _offer(queue: asyncio.Queue[LiveEvent | None], item: LiveEvent | None) -> None:
    """Put without waiting: a full queue drops its oldest event to make room."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(item)
