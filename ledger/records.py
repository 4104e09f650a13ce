"""Typed records at the ledger's edge: what a row becomes before it leaves `ledger/`.

Each record is a frozen dataclass built by `from_row` from an asyncpg record (or a mapping
of the same columns); enums mirror the CHECK constraints of `schema.sql`. Code inside
`ledger/` may still read records where converting would be churn, but what `api/` and
`workers/` get back is one of these."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

from ledger.status import Status


class TransferKind(enum.StrEnum):
    """`transactions.kind`."""

    DEBIT = "debit"
    CREDIT = "credit"
    REFUND = "refund"
    REVERSAL = "reversal"
    SETTLEMENT = "settlement"


class DestinationKind(enum.StrEnum):
    """What a transfer's `destination_id` names (`transactions.destination_kind`), stored
    so nobody reads it from the id's prefix."""

    BANK_ACCOUNT = "bank_account"
    CARD = "card"
    ACCOUNT = "account"


@dataclass(frozen=True, kw_only=True)
class Transfer:
    """One row of `transactions`: a debit, credit, refund, reversal or settlement."""

    id: str
    marketplace_id: str
    kind: TransferKind
    status: Status
    amount_cents: int
    description: str | None
    meta: Mapping[str, Any]
    appears_on_statement_as: str | None
    transaction_number: str
    order_id: str | None
    customer_id: str | None
    source_id: str | None
    destination_id: str | None
    #: A refund's debit, a reversal's credit.
    parent_id: str | None
    #: The settlement that paid out (or settled) a payable account's credit or reversal.
    settlement_id: str | None
    #: The card hold a debit captured.
    card_hold_id: str | None
    #: For transfers on the ACH rail: the bank account and the kind of ACH entry.
    bank_account_id: str | None
    rail_entry_kind: str | None
    failure_reason_code: str | None
    failure_reason: str | None
    rail_trace_number: str | None
    submitted_at: datetime | None
    #: When reconciliation last asked the rail about this transfer.
    rail_checked_at: datetime | None
    created_at: datetime
    updated_at: datetime
    succeeded_at: datetime | None
    failed_at: datetime | None
    #: The reversal whose over-collection this credit pays back to the merchant.
    compensates_id: str | None
    #: None where destination_id names no instrument.
    destination_kind: DestinationKind | None
    #: The dispute the card network opened on this debit.
    dispute_id: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Transfer:
        """A `transactions` row (`SELECT *`; extra columns such as a list's `total` are
        ignored)."""
        destination_kind = row["destination_kind"]
        transfer = cls(
            id=row["id"],
            marketplace_id=row["marketplace_id"],
            kind=TransferKind(row["kind"]),
            status=Status(row["status"]),
            amount_cents=row["amount_cents"],
            description=row["description"],
            meta=row["meta"],
            appears_on_statement_as=row["appears_on_statement_as"],
            transaction_number=row["transaction_number"],
            order_id=row["order_id"],
            customer_id=row["customer_id"],
            source_id=row["source_id"],
            destination_id=row["destination_id"],
            parent_id=row["parent_id"],
            settlement_id=row["settlement_id"],
            card_hold_id=row["card_hold_id"],
            bank_account_id=row["bank_account_id"],
            rail_entry_kind=row["rail_entry_kind"],
            failure_reason_code=row["failure_reason_code"],
            failure_reason=row["failure_reason"],
            rail_trace_number=row["rail_trace_number"],
            submitted_at=row["submitted_at"],
            rail_checked_at=row["rail_checked_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            succeeded_at=row["succeeded_at"],
            failed_at=row["failed_at"],
            compensates_id=row["compensates_id"],
            destination_kind=None
            if destination_kind is None
            else DestinationKind(destination_kind),
            dispute_id=row.get("dispute_id"),
        )
        assert transfer.amount_cents > 0, transfer.id
        assert (transfer.status == Status.FAILED) == (transfer.failure_reason_code is not None)
        return transfer


class DeliveryStatus(enum.StrEnum):
    """`callback_deliveries.status`."""

    PENDING = "pending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class Callback:
    """One row of `callbacks`: a URL a marketplace's events are delivered to."""

    id: str
    marketplace_id: str
    url: str
    method: str
    revision: str
    #: Standard Webhooks signing secret (whsec_…).
    secret: str
    #: During a rotation the old secret keeps signing beside the new one until it expires.
    previous_secret: str | None
    previous_secret_expires_at: datetime | None
    #: Since when every delivery has failed; past a limit the callback is disabled.
    failing_since: datetime | None
    #: Its receiver is stuck: new deliveries wait until then.
    stalled_until: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    deleted_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Callback:
        """A `callbacks` row (`SELECT *`; a list's `total` is ignored)."""
        callback = cls(
            id=row["id"],
            marketplace_id=row["marketplace_id"],
            url=row["url"],
            method=row["method"],
            revision=row["revision"],
            secret=row["secret"],
            previous_secret=row["previous_secret"],
            previous_secret_expires_at=row["previous_secret_expires_at"],
            failing_since=row["failing_since"],
            stalled_until=row["stalled_until"],
            disabled_at=row["disabled_at"],
            disabled_reason=row["disabled_reason"],
            created_at=row["created_at"],
            deleted_at=row["deleted_at"],
        )
        assert (callback.disabled_at is None) == (callback.disabled_reason is None), callback.id
        assert (callback.previous_secret is None) == (
            callback.previous_secret_expires_at is None
        ), callback.id
        return callback


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """What one delivery attempt needs (`callbacks.sql` `delivery`): the delivery, its
    event and its callback, with the secrets that sign it."""

    id: str
    status: DeliveryStatus
    #: Attempts made so far.
    attempts: int
    event_id: str
    event_type: str
    entity: Mapping[str, Any]
    sequence: int
    occurred_at: datetime
    marketplace_id: str
    callback_id: str
    url: str
    method: str
    secret: str
    #: The previous secret while a rotation overlaps, else None.
    previous_secret: str | None
    callback_deleted_at: datetime | None
    callback_disabled_at: datetime | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Delivery:
        delivery = cls(
            id=row["id"],
            status=DeliveryStatus(row["status"]),
            attempts=row["attempts"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            entity=row["entity"],
            sequence=row["sequence"],
            occurred_at=row["occurred_at"],
            marketplace_id=row["marketplace_id"],
            callback_id=row["callback_id"],
            url=row["url"],
            method=row["method"],
            secret=row["secret"],
            previous_secret=row["previous_secret"],
            callback_deleted_at=row["callback_deleted_at"],
            callback_disabled_at=row["callback_disabled_at"],
        )
        assert delivery.attempts >= 0, delivery.id
        return delivery

    @property
    def signing_secrets(self) -> list[str]:
        """The secrets that sign an attempt: the current one, and the previous one while a
        rotation overlaps."""
        return [self.secret] + ([self.previous_secret] if self.previous_secret else [])


class MalformedNotification(ValueError):
    """A rail notification that is not one: refused where it enters (a 400), so that no job
    is ever given one to choke on."""


def _required_text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedNotification(f"`{name}` must be a non-empty string")
    return value


def _optional_text(value: object, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise MalformedNotification(f"`{name}` must be a string or null")
    return value


@dataclass(frozen=True, kw_only=True)
class RailOutcome:
    """A rail notification as the ledger reads it (the rail's `Notification`, whose model we
    do not import: the rail is another company). Fields the ledger does not read are kept
    only in `notification`, the body as received, which is what the outcome job stores."""

    notification_id: str
    type: str
    entry_id: str
    entry_kind: str | None
    amount_cents: int | None
    return_code: str
    return_reason: str
    #: A notice of change's correction (`entry.corrected`).
    correction_code: str | None
    corrected_data: str | None
    notification: Mapping[str, Any] = field(compare=False, repr=False)

    @classmethod
    def from_notification(cls, notification: object) -> RailOutcome:
        """Validate a decoded notification; raises `MalformedNotification`."""
        if not isinstance(notification, Mapping):
            raise MalformedNotification("a notification is a JSON object")
        entry = notification.get("entry")
        if not isinstance(entry, Mapping):
            raise MalformedNotification("`entry` must be an object")
        amount_cents = entry.get("amount_cents")
        if amount_cents is not None and (
            isinstance(amount_cents, bool) or not isinstance(amount_cents, int)
        ):
            raise MalformedNotification("`entry.amount_cents` must be an integer")
        return cls(
            notification_id=_required_text(notification.get("id"), "id"),
            type=_required_text(notification.get("type"), "type"),
            entry_id=_required_text(entry.get("id"), "entry.id"),
            entry_kind=_optional_text(entry.get("kind"), "entry.kind"),
            amount_cents=amount_cents,
            return_code=_optional_text(entry.get("return_code"), "entry.return_code") or "R00",
            return_reason=_optional_text(entry.get("return_reason"), "entry.return_reason")
            or "Returned",
            correction_code=_optional_text(entry.get("correction_code"), "entry.correction_code"),
            corrected_data=_optional_text(entry.get("corrected_data"), "entry.corrected_data"),
            notification=notification,
        )

    @property
    def failure(self) -> tuple[str, str]:
        return self.return_code, self.return_reason


# The kinds of ACH entry (`transactions.rail_entry_kind`), as the rail names them.
RailEntryKind = Literal["credit", "debit", "reversal"]
RAIL_ENTRY_KINDS: frozenset[str] = frozenset(get_args(RailEntryKind))


@dataclass(frozen=True, kw_only=True)
class Submission:
    """What the rail needs to move a transfer at its bank account (`submissions.sql` `get`)."""

    id: str
    status: Status
    rail_entry_kind: RailEntryKind
    amount_cents: int
    #: When the rail took it; None until then.
    submitted_at: datetime | None
    routing_number: str
    account_number: str
    account_name: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Submission:
        rail_entry_kind = row["rail_entry_kind"]
        assert rail_entry_kind in RAIL_ENTRY_KINDS, (row["id"], rail_entry_kind)
        return cls(
            id=row["id"],
            status=Status(row["status"]),
            rail_entry_kind=rail_entry_kind,
            amount_cents=row["amount_cents"],
            submitted_at=row["submitted_at"],
            routing_number=row["routing_number"],
            account_number=row["account_number"],
            account_name=row["account_name"],
        )


@dataclass(frozen=True, kw_only=True)
class OverdueTransfer:
    """A submitted transfer still pending past the reconciliation delay."""

    id: str
    #: Tells whether the rail's journal covers its submission.
    created_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> OverdueTransfer:
        return cls(id=row["id"], created_at=row["created_at"])
