"""Wire models of the rail's HTTP contract, shared by the server and by its client.

One definition of the contract keeps the two sides from drifting: the server validates
`POST /entries` bodies with `EntryRequest`, and the client sends the same model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["credit", "debit", "reversal"]
Status = Literal["pending", "settled", "returned"]
NotificationType = Literal["entry.settled", "entry.returned", "entry.corrected"]

# Every limit below is part of the contract; bounds keep one request from costing the
# rail unbounded memory (1,000,000 entries must fit in modest memory).
AMOUNT_CENTS_MAX = 10**12  # The design bounds every amount to 1 .. 10^12 cents.
NAME_LENGTH_MAX = 255  # NACHA keeps 22 characters; callers may send longer names.
NOTIFY_URL_LENGTH_MAX = 2048  # The common practical URL limit of browsers and proxies.

# `[0-9]` rather than `\d`: pydantic's regex engine treats `\d` as any Unicode digit.
ENTRY_ID_PATTERN = r"^[A-Za-z0-9_:.\-]{1,64}$"
ROUTING_NUMBER_PATTERN = r"^[0-9]{9}$"
ACCOUNT_NUMBER_PATTERN = r"^[0-9]{4,17}$"


class EntryRequest(BaseModel):
    """The body of `POST /entries`: one ACH entry, keyed by the caller's idempotency id."""

    # Strict so that "100", 1.0 or true are refused as amounts, and extra keys are
    # refused so that a caller's typo never silently drops data.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    id: Annotated[str, Field(pattern=ENTRY_ID_PATTERN)]
    kind: Kind
    routing_number: Annotated[str, Field(pattern=ROUTING_NUMBER_PATTERN)]
    account_number: Annotated[str, Field(pattern=ACCOUNT_NUMBER_PATTERN)]
    name: Annotated[str, Field(max_length=NAME_LENGTH_MAX)] | None = None
    amount_cents: Annotated[int, Field(ge=1, le=AMOUNT_CENTS_MAX)]
    notify_url: (
        Annotated[str, Field(max_length=NOTIFY_URL_LENGTH_MAX, pattern=r"^https?://[^\s]+$")] | None
    ) = None


# Entries in one `POST /entries/batch`: an ACH file's batch holds thousands, but one
# request must stay small enough to parse in a few milliseconds (~500 bytes an entry).
ENTRY_BATCH_MAX = 1000


class EntryBatchRequest(BaseModel):
    """The body of `POST /entries/batch`: many entries, each idempotent by its own id, as
    an ACH file is a batch of entries."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    entries: Annotated[list[EntryRequest], Field(min_length=1, max_length=ENTRY_BATCH_MAX)]


class EntryReceipt(BaseModel):
    """The entry as the rail reports it, from `POST /entries`, `GET` or a notification."""

    # Unknown keys are ignored so that the rail may add fields without breaking clients.
    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    kind: Kind
    routing_number: str
    account_number: str
    name: str | None
    amount_cents: int
    trace_number: str
    status: Status
    return_code: str | None
    return_reason: str | None
    correction_code: str | None
    corrected_data: str | None
    submitted_at: datetime
    settled_at: datetime | None
    returned_at: datetime | None


class Notification(BaseModel):
    """The body the rail POSTs to an entry's `notify_url` when its outcome changes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    type: NotificationType
    entry: EntryReceipt
    occurred_at: datetime


class EntryResult(BaseModel):
    """One entry's answer inside `POST /entries/batch`: the status `POST /entries` would
    have given it (201 created, 200 known, 409 id reused with other details, 503 no room)
    with the entry, or the error."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    status: int
    entry: EntryReceipt | None = None
    error: str | None = None


class EntryBatchResponse(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    results: list[EntryResult]


class NotificationBatch(BaseModel):
    """What the rail POSTs when several outcomes for one `notify_url` are ready at once
    (one settlement window): each notification as it would be sent alone, in order."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: str
    type: Literal["batch"]
    notifications: list[Notification]
