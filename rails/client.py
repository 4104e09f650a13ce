"""The narrow client the workers use to reach the rail over HTTP.

`RailClient` is the seam: workers depend on the Protocol, production wires in
`HttpRailClient`. Errors come in two kinds, because a caller must treat them differently:
`RailUnavailable` (connection error, timeout, 5xx: retry later with the same id, which is
safe because submission is idempotent) and `RailRejected` (4xx: the request itself is
wrong, and retrying it cannot help).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Protocol

import aiohttp
from pydantic import ValidationError
from yarl import URL

from rails.models import (
    EntryBatchRequest,
    EntryBatchResponse,
    EntryReceipt,
    EntryRequest,
    EntryResult,
    Notification,
)

__all__ = [
    "EntryReceipt",
    "EntryRequest",
    "EntryResult",
    "HttpRailClient",
    "Notification",
    "RailClient",
    "RailRejected",
    "RailUnavailable",
]

# One request's whole budget (connect + send + read). The rail answers from memory in
# milliseconds; ten seconds means it is down or wedged, and the job should retry later.
REQUEST_TIMEOUT_S = 10.0


class RailUnavailable(Exception):
    """The rail could not be reached or failed (connection error, timeout, 5xx)."""


class RailRejected(Exception):
    """The rail refused the request (400 invalid body, 409 id reused with another body)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"rail refused the request with {status}: {error}")
        self.status = status
        self.error = error


class RailClient(Protocol):
    async def submit(self, entry: EntryRequest) -> EntryReceipt:
        """Submit an entry (idempotent by `entry.id`) and return the rail's record of it."""
        ...

    async def submit_batch(self, entries: list[EntryRequest]) -> list[EntryResult]:
        """Submit many entries in one request (each idempotent by its id); one result per
        entry, in order."""
        ...

    async def get(self, entry_id: str) -> EntryReceipt | None:
        """The entry as the rail now knows it, or None when it does not know it (which
        proves it never received it only for an entry newer than `journal_since`)."""
        ...

    async def journal_since(self) -> datetime | None:
        """Since when the rail's journal holds every entry it accepted, or None when it
        keeps none (a restart forgets everything it held)."""
        ...


class HttpRailClient:
    def __init__(
        self,
        base_url: str,
        session: aiohttp.ClientSession,
        *,
        timeout_s: float = REQUEST_TIMEOUT_S,
    ) -> None:
        assert timeout_s > 0
        self._base_url = URL(base_url)
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def submit(self, entry: EntryRequest) -> EntryReceipt:
        status, body = await self._request("POST", self._base_url / "entries", entry)
        if status in (200, 201):
            return _receipt(body)
        raise RailRejected(status, _error_text(body))

    async def submit_batch(self, entries: list[EntryRequest]) -> list[EntryResult]:
        batch = EntryBatchRequest(entries=entries)
        status, body = await self._request("POST", self._base_url / "entries" / "batch", batch)
        if status != 200:
            raise RailRejected(status, _error_text(body))
        try:
            results = EntryBatchResponse.model_validate_json(body).results
        except ValidationError as error:
            raise RailUnavailable(f"unreadable batch answer from the rail: {error}") from error
        if [result.id for result in results] != [entry.id for entry in entries]:
            raise RailUnavailable("the rail answered a batch with other entries than sent")
        return results

    async def get(self, entry_id: str) -> EntryReceipt | None:
        # yarl's `/` percent-encodes the id as one path segment.
        status, body = await self._request("GET", self._base_url / "entries" / entry_id, None)
        if status == 404:
            return None
        if status == 200:
            return _receipt(body)
        raise RailRejected(status, _error_text(body))

    async def journal_since(self) -> datetime | None:
        status, body = await self._request("GET", self._base_url / "healthz", None)
        if status != 200:
            raise RailRejected(status, _error_text(body))
        try:
            since = json.loads(body).get("journal_since")
            return None if since is None else datetime.fromisoformat(since)
        except (ValueError, AttributeError, TypeError) as error:
            raise RailUnavailable(f"unreadable health from the rail: {error}") from error

    async def _request(
        self, method: str, url: URL, sent: EntryRequest | EntryBatchRequest | None
    ) -> tuple[int, bytes]:
        data = None if sent is None else sent.model_dump_json().encode()
        headers = {"content-type": "application/json"} if data is not None else None
        try:
            async with self._session.request(
                method, url, data=data, headers=headers, timeout=self._timeout
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise RailUnavailable(f"{method} {url}: {error!r}") from error
        if response.status >= 500:
            raise RailUnavailable(f"{method} {url} answered {response.status}")
        return response.status, body


def _receipt(body: bytes) -> EntryReceipt:
    try:
        return EntryReceipt.model_validate_json(body)
    except ValidationError as error:
        # A success status with a body we cannot read is the rail misbehaving, not us.
        raise RailUnavailable(f"unreadable entry from the rail: {error}") from error


def _error_text(body: bytes) -> str:
    try:
        error = json.loads(body).get("error")
    except (ValueError, AttributeError):
        error = None
    return error if isinstance(error, str) else body[:200].decode(errors="replace")
