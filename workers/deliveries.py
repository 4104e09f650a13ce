"""The job that delivers one event to one callback, retrying on a schedule."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry

from callbacks import delivery, signing, ssrf
from ledger import outbox, wire
from ledger.sql import QUERIES
from workers.context import WorkerContext

Q = QUERIES["callbacks"]

# 410 Gone: the receiver asks us to stop (Standard Webhooks).
GONE = 410


def payload(row: Any) -> str:
    """The Balanced event envelope; identical bytes on every attempt of one delivery."""
    event = wire.event(
        {
            "id": row["event_id"],
            "type": row["event_type"],
            "occurred_at": row["occurred_at"],
            "entity": row["entity"],
            "sequence": row["sequence"],
        }
    )
    del event["callback_statuses"]  # They change between attempts; the body must not.
    return json.dumps(wire.envelope("events", [event]), separators=(",", ":"))


async def _deliverable(ctx: WorkerContext, outbox_id: str) -> Any:
    row = await ctx["pool"].fetchrow(Q["delivery"], outbox_id)
    finished = row is None or row["status"] in ("succeeded", "failed")
    if finished or row["callback_deleted_at"] is not None:
        await outbox.mark_done(ctx["pool"], outbox_id)
        return None
    return row


async def _attempt(ctx: WorkerContext, row: Any) -> tuple[delivery.Attempt, dict[str, str]]:
    settings = ctx["settings"]
    body = payload(row)
    headers = signing.headers([row["secret"]], row["event_id"], int(time.time()), body)
    try:
        await ssrf.check_url(row["url"], allow_private=settings.callbacks_allow_private)
    except ssrf.UnsafeUrl as error:
        return delivery.Attempt(None, 0, None, f"refused: {error}", None), headers
    result = await delivery.attempt(
        ctx["http"], row["method"], row["url"], body, headers, settings.callback_timeout_ms
    )
    return result, headers


async def deliver_callback(ctx: WorkerContext, outbox_id: str) -> None:
    """POST the signed event; record the attempt; succeed, retry later, or give up."""
    row = await _deliverable(ctx, outbox_id)
    if row is None:
        return
    result, headers = await _attempt(ctx, row)
    delay_ms = None
    if not result.succeeded and result.status_code != GONE:
        delay_ms = delivery.retry_delay_ms(
            row["attempts"] + 1, ctx["settings"].callback_retry_schedule_ms, result
        )
    status = "succeeded" if result.succeeded else ("retrying" if delay_ms is not None else "failed")
    pool = ctx["pool"]
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(
            Q["record_attempt"],
            outbox_id,
            {
                "webhook-id": headers["webhook-id"],
                "webhook-timestamp": headers["webhook-timestamp"],
            },
            result.status_code,
            result.latency_ms,
            result.response_excerpt,
            result.error,
        )
        await connection.fetchval(
            Q["settle_delivery"], outbox_id, status, result.status_code, result.error
        )
        if delay_ms is None:
            await outbox.mark_done(connection, outbox_id)
        else:
            not_before = datetime.now(UTC) + timedelta(milliseconds=delay_ms)
            await connection.execute(QUERIES["outbox"]["defer"], outbox_id, not_before)
    if delay_ms is not None:
        raise Retry(defer=delay_ms / 1000)
