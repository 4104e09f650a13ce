"""Applying the rail's decisions. One notification moves one transfer by a guarded
transition, posts the money that decision moves, and records its events — all in one
transaction, so applying the same notification twice changes nothing the second time.

Money is counted once. A credit and its reversals move one sum between the order's escrow
and the merchant's bank, however their outcomes interleave:
- a credit returned late brings back only what its succeeded reversals have not already
  pulled back; what those reversals collected is then owed to the merchant and is paid
  into the merchant's payable account by a *compensation* credit (never into the escrow);
- a credit's pending reversals fail when the credit is returned (nothing is left to pull
  back); if the rail collects one anyway, that money is owed to the merchant the same way;
- a reversal returned after it succeeded takes its money back out of the escrow, and what
  the escrow no longer holds (paid out again) lands in the marketplace's shortfall account.
Reversals lock their credit first, then themselves: the credit's return and its reversals'
outcomes take turns, whichever order the bank sends them in."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import asyncpg

from ledger import accounts, ach_debits, events, postings, transfers, wire
from ledger.outbox import Job
from ledger.records import DestinationKind, RailOutcome, TransferKind
from ledger.sql import QUERIES
from ledger.status import ALLOWED_TRANSITIONS, Status, assert_transition, sources_of
from ledger.transfers import Parties, TransferRequest

log = logging.getLogger(__name__)

# What the rail's notification types mean for one of our transfers.
RAIL_OUTCOMES = {"entry.settled": Status.SUCCEEDED, "entry.returned": Status.FAILED}
NOTICE_OF_CHANGE = "entry.corrected"
# Our own failure codes beside the bank's R-codes.
CREDIT_RETURNED = "credit-returned"
REVERSAL_RETURNED = "reversal-returned"
Row = dict[str, Any]


def home_account(row: Row) -> str:
    """The account a rail transfer's money belongs to while it is ours: an order's (or the
    marketplace's) escrow for credits and reversals, the payable account for settlements."""
    if row["kind"] == TransferKind.SETTLEMENT:
        if row["rail_entry_kind"] == TransferKind.CREDIT:
            assert row["destination_kind"] == DestinationKind.BANK_ACCOUNT, row
            paying_out: str = row["source_id"]
            return paying_out
        assert row["destination_kind"] == DestinationKind.ACCOUNT, row
        collecting: str = row["destination_id"]
        return collecting
    return postings.escrow_of(row["marketplace_id"], row["order_id"])


def outcome_lines(row: Row, previous: Status, target: Status) -> dict[str, int]:
    """The posting a decision on a payout or a settlement makes (reversals and late returns
    of credits have their own rules below).

    Payouts (credits, `SC` settlements) left their home when created: success settles them
    at the bank, failure brings them home (from flight, or from the bank after a late
    return). Collections (`SD` settlements) arrived at creation and mirror that."""
    assert row["kind"] != TransferKind.REVERSAL, row
    amount_cents = row["amount_cents"]
    in_flight = postings.system_account(row["marketplace_id"], "ach_in_flight")
    settled = postings.system_account(row["marketplace_id"], "ach_settled")
    home = home_account(row)
    sign = 1 if row["rail_entry_kind"] == TransferKind.CREDIT else -1
    if target == Status.SUCCEEDED:
        return {in_flight: -sign * amount_cents, settled: sign * amount_cents}
    origin = in_flight if previous == Status.PENDING else settled
    return {origin: -sign * amount_cents, home: sign * amount_cents}


def _lines(lines_cents: dict[str, int]) -> dict[str, int]:
    """Drop the lines that move nothing (a return whose whole amount was reversed)."""
    return {account_id: cents for account_id, cents in lines_cents.items() if cents != 0}


async def _from_the_bank(
    connection: asyncpg.Connection, row: Row, kind: str, account_id: str, amount_cents: int
) -> None:
    """Post money that came back from the merchant's bank into `account_id` (a negative
    amount: money that went back out to it)."""
    settled = postings.system_account(row["marketplace_id"], "ach_settled")
    await _post(connection, row, kind, {settled: -amount_cents, account_id: amount_cents})


async def _post(connection: asyncpg.Connection, row: Row, kind: str, lines: dict[str, int]) -> None:
    lines = _lines(lines)
    if lines:
        await postings.post(connection, row["marketplace_id"], row["id"], kind, lines)


async def _notice_of_change(
    connection: asyncpg.Connection, row: Row, outcome: RailOutcome
) -> list[Job]:
    """The bank corrected the account's details (a NOC): no money moves; the bank account
    records the correction and a `bank_account.updated` event tells the marketplace."""
    updated = await connection.fetchrow(
        QUERIES["customers"]["record_notice_of_change"],
        row["bank_account_id"],
        outcome.correction_code or "C00",
        outcome.corrected_data or "",
    )
    assert updated is not None
    entity = wire.envelope("bank_accounts", [wire.bank_account(dict(updated))])
    return await events.record(
        connection, row["marketplace_id"], "bank_account.updated", updated["id"], entity
    )


async def _lock_family(
    connection: asyncpg.Connection, entry_id: str
) -> tuple[Row, Row | None] | None:
    """The transfer and, for a reversal, its credit (None: not ours). The parent is locked
    first, as every path that touches both does (reversing locks the credit, then inserts
    the reversal)."""
    family = await connection.fetchrow(transfers.Q["family"], entry_id)
    if family is None:
        return None
    parent = None
    if family["parent_id"] is not None:
        parent = dict(await connection.fetchrow(transfers.Q["lock"], family["parent_id"]))
    return dict(await connection.fetchrow(transfers.Q["lock"], entry_id)), parent


def _refusal(row: Row, outcome: RailOutcome) -> str | None:
    """Why a notification may not move this transfer, or None. A valid signature is not
    enough: the entry must be one we sent to the rail, of the kind and amount we sent."""
    if row["rail_entry_kind"] is None:
        return "is not a rail transfer"
    if outcome.entry_kind != row["rail_entry_kind"]:
        return f"claims kind {outcome.entry_kind}, we sent a {row['rail_entry_kind']}"
    if outcome.amount_cents is not None and outcome.amount_cents != row["amount_cents"]:
        return f"claims {outcome.amount_cents} cents, we sent {row['amount_cents']}"
    return None


async def apply_rail_outcomes(
    connection: asyncpg.Connection, notifications: list[Mapping[str, Any]]
) -> list[Job]:
    """Apply a batch of notifications in the caller's transaction, as applying each in turn
    would. The common decision, a payout settled (pending → succeeded, no reversal in
    play), is applied to the whole batch at once: its transfers locked in id order, moved,
    posted and announced in four statements. Every other notification, and every one of an
    entry that has more than one in the batch, goes through `apply_rail_outcome`, in the
    batch's order."""
    parsed = [RailOutcome.from_notification(notification) for notification in notifications]
    settled = await _settled_payouts(connection, parsed)
    jobs = await _apply_settled(connection, settled)
    for notification, outcome in zip(notifications, parsed, strict=True):
        if outcome.entry_id not in settled:
            jobs += await apply_rail_outcome(connection, notification)
    return jobs


async def _settled_payouts(
    connection: asyncpg.Connection, parsed: list[RailOutcome]
) -> dict[str, Row]:
    """The batch's plain settlements, by transfer id: entries with one notification in the
    batch, `entry.settled`, about a pending credit or settlement of ours (no parent), of the
    kind and amount we sent. Returned locked, in id order."""
    per_entry: dict[str, list[RailOutcome]] = {}
    for outcome in parsed:
        per_entry.setdefault(outcome.entry_id, []).append(outcome)
    candidates = {
        entry_id: outcomes[0]
        for entry_id, outcomes in per_entry.items()
        if len(outcomes) == 1 and RAIL_OUTCOMES.get(outcomes[0].type) == Status.SUCCEEDED
    }
    if not candidates:
        return {}
    families = await connection.fetch(transfers.Q["families"], list(candidates))
    orphans = [row["id"] for row in families if row["parent_id"] is None]
    locked = await connection.fetch(transfers.Q["lock_many"], orphans)
    return {
        row["id"]: dict(row)
        for row in locked
        if row["status"] == Status.PENDING
        and row["kind"] in (TransferKind.CREDIT, TransferKind.SETTLEMENT)
        and _refusal(dict(row), candidates[row["id"]]) is None
    }


async def _apply_settled(connection: asyncpg.Connection, settled: dict[str, Row]) -> list[Job]:
    """pending → succeeded for each of `settled` (locked), its posting and its event."""
    if not settled:
        return []
    assert_transition(Status.PENDING, Status.SUCCEEDED)
    updated = await connection.fetch(
        transfers.Q["transition_many"],
        list(settled),
        Status.SUCCEEDED,
        sources_of(Status.SUCCEEDED),
    )
    # Every row was locked pending by this transaction: each one moves.
    assert len(updated) == len(settled), (len(updated), len(settled))
    moves = []
    for row in updated:
        assert row["status"] == Status.SUCCEEDED, row["id"]
        lines = outcome_lines(dict(row), Status.PENDING, Status.SUCCEEDED)
        (from_account, _), (to_account, amount_cents) = sorted(lines.items(), key=lambda i: i[1])
        moves.append(
            postings.Move(
                row["marketplace_id"],
                row["id"],
                f"{row['kind']}.{Status.SUCCEEDED}",
                from_account,
                to_account,
                amount_cents,
            )
        )
    await postings.post_many(connection, moves)
    return await events.record_many(
        connection,
        [
            events.NewEvent(
                row["marketplace_id"],
                f"{row['kind']}.{Status.SUCCEEDED}",
                row["id"],
                transfers.resource(dict(row)),
            )
            for row in updated
        ],
    )


async def apply_rail_outcome(
    connection: asyncpg.Connection, notification: Mapping[str, Any]
) -> list[Job]:
    """Apply one notification (an outcome job's arguments, validated when it was kept)."""
    outcome = RailOutcome.from_notification(notification)
    family = await _lock_family(connection, outcome.entry_id)
    if family is None:
        return []  # An entry that is not ours: nothing to do.
    row, parent = family
    refusal = _refusal(row, outcome)
    if refusal is not None:
        log.warning("rail notification %s for %s refused: it %s", outcome.type, row["id"], refusal)
        return []
    if outcome.type == NOTICE_OF_CHANGE:
        return await _notice_of_change(connection, row, outcome)
    target = RAIL_OUTCOMES.get(outcome.type)
    if target is None:
        return []
    if row["kind"] == TransferKind.REVERSAL:
        assert parent is not None, row
        return await _reversal_outcome(connection, row, parent, target, outcome)
    if row["kind"] == TransferKind.DEBIT:
        return await ach_debits.apply_outcome(connection, row, target, outcome)
    previous = Status(row["status"])
    if target not in ALLOWED_TRANSITIONS[previous]:
        return []  # A repeated or out-of-order outcome: an operating fact, not a bug.
    if row["kind"] == TransferKind.CREDIT and previous == Status.SUCCEEDED:
        return await _credit_returned(connection, row, outcome)
    failure = outcome.failure if target == Status.FAILED else None
    updated = await transfers.transition(connection, row, target, failure)
    if updated is None:
        return []
    await _post(connection, row, f"{row['kind']}.{target}", outcome_lines(row, previous, target))
    return await transfers.record_event(connection, updated, f"{row['kind']}.{target}")


async def _credit_returned(
    connection: asyncpg.Connection, credit: Row, outcome: RailOutcome
) -> list[Job]:
    """The bank returned a credit after it succeeded: the whole amount comes back from the
    bank, but only what no reversal pulled back already goes to the escrow."""
    reversals = [
        dict(r) for r in await connection.fetch(transfers.Q["lock_children"], credit["id"])
    ]
    returned = await transfers.transition(connection, credit, Status.FAILED, outcome.failure)
    assert returned is not None
    collected = [r for r in reversals if r["status"] == Status.SUCCEEDED]
    restored_cents = credit["amount_cents"] - sum(r["amount_cents"] for r in collected)
    assert 0 <= restored_cents <= credit["amount_cents"], (credit["id"], restored_cents)
    await _from_the_bank(
        connection, credit, "credit.returned", home_account(credit), restored_cents
    )
    jobs = await transfers.record_event(connection, returned, "credit.failed")
    for reversal in reversals:
        if reversal["status"] == Status.SUCCEEDED:
            jobs += await _compensate(connection, credit, reversal)
        elif reversal["status"] == Status.PENDING:
            reason = (
                f"Credit {credit['id']} was returned by the bank ({outcome.return_code}): "
                "nothing is left to reverse."
            )
            failed = await transfers.transition(
                connection, reversal, Status.FAILED, (CREDIT_RETURNED, reason)
            )
            assert failed is not None
            jobs += await transfers.record_event(connection, failed, "reversal.failed")
    return jobs


async def _compensate(connection: asyncpg.Connection, credit: Row, reversal: Row) -> list[Job]:
    """Pay what `reversal` collected from the merchant into the merchant's payable account:
    the bank returned the credit it reversed, so that money is the merchant's. At most once
    per reversal (unique index transactions_one_compensation)."""
    if await _compensation(connection, reversal) is not None:
        return []
    marketplace_id, amount_cents = reversal["marketplace_id"], reversal["amount_cents"]
    payable_id = await connection.fetchval(accounts.Q["payable_of_customer"], credit["customer_id"])
    assert payable_id is not None, credit
    description = (
        f"Returned to the merchant: reversal {reversal['id']} collected {amount_cents} cents "
        f"of credit {credit['id']}, which the bank returned."
    )
    row = await transfers.insert(
        connection,
        marketplace_id,
        TransferKind.CREDIT,
        TransferRequest(amount_cents, description=description),
        Parties(
            customer_id=credit["customer_id"],
            destination_id=payable_id,
            destination_kind=DestinationKind.ACCOUNT,
            compensates_id=reversal["id"],
        ),
    )
    await _from_the_bank(connection, row, "credit.compensation", payable_id, amount_cents)
    _, jobs = await transfers.succeed_now(connection, row)
    return jobs


async def _reversal_outcome(
    connection: asyncpg.Connection, reversal: Row, credit: Row, target: Status, outcome: RailOutcome
) -> list[Job]:
    previous = Status(reversal["status"])
    if previous == Status.FAILED:
        return await _outcome_after_credit_returned(connection, reversal, credit, target)
    if target not in ALLOWED_TRANSITIONS[previous]:
        return []
    if target == Status.SUCCEEDED:
        succeeded = await transfers.transition(connection, reversal, Status.SUCCEEDED)
        assert succeeded is not None
        await _from_the_bank(
            connection,
            reversal,
            "reversal.succeeded",
            home_account(reversal),
            reversal["amount_cents"],
        )
        return await transfers.record_event(connection, succeeded, "reversal.succeeded")
    failed = await transfers.transition(connection, reversal, Status.FAILED, outcome.failure)
    assert failed is not None
    jobs = await transfers.record_event(connection, failed, "reversal.failed")
    if previous == Status.SUCCEEDED:
        jobs += await _take_back(connection, reversal)
    return jobs


async def _take_back(connection: asyncpg.Connection, reversal: Row) -> list[Job]:
    """A reversal returned after it succeeded: the money it pulled back went back to the
    merchant. If the credit was returned meanwhile, the compensation that paid it to the
    merchant is what is undone; otherwise the escrow gives it back, and what the escrow no
    longer holds becomes the marketplace's shortfall."""
    if await _compensation(connection, reversal) is not None:
        return await _undo_compensation(connection, reversal)
    marketplace_id, amount_cents = reversal["marketplace_id"], reversal["amount_cents"]
    escrow = home_account(reversal)
    absorbed_cents = min(amount_cents, await postings.locked_balance_cents(connection, escrow))
    settled = postings.system_account(marketplace_id, "ach_settled")
    await _post(
        connection,
        reversal,
        "reversal.returned",
        {
            settled: amount_cents,
            escrow: -absorbed_cents,
            postings.shortfall_of(marketplace_id): absorbed_cents - amount_cents,
        },
    )
    if absorbed_cents < amount_cents:
        log.warning(
            "reversal %s returned after its escrow %s was paid out: shortfall of %d cents",
            reversal["id"],
            escrow,
            amount_cents - absorbed_cents,
        )
    return []


async def _compensation(connection: asyncpg.Connection, reversal: Row) -> Row | None:
    row = await connection.fetchrow(transfers.Q["lock_compensation"], reversal["id"])
    return None if row is None else dict(row)


async def _undo_compensation(connection: asyncpg.Connection, reversal: Row) -> list[Job]:
    """The merchant got a reversal's money back from the bank: the compensation that paid
    it to them is undone (their payable account may go negative, settled later)."""
    compensation = await _compensation(connection, reversal)
    if compensation is None or compensation["status"] != Status.SUCCEEDED:
        return []
    reason = f"Reversal {reversal['id']} was returned: the merchant kept that money."
    failed = await transfers.transition(
        connection, compensation, Status.FAILED, (REVERSAL_RETURNED, reason)
    )
    assert failed is not None
    await _from_the_bank(
        connection,
        compensation,
        "credit.compensation_undone",
        compensation["destination_id"],
        -compensation["amount_cents"],
    )
    return await transfers.record_event(connection, failed, "credit.failed")


async def _outcome_after_credit_returned(
    connection: asyncpg.Connection, reversal: Row, credit: Row, target: Status
) -> list[Job]:
    """A reversal we failed because its credit was returned, and which the rail had
    already taken: if the rail collects it, the merchant is owed that money; if the rail
    then returns it, the merchant got it back and owes nothing."""
    if reversal["failure_reason_code"] != CREDIT_RETURNED:
        return []  # Failed at the rail already; a repeated notification.
    if target == Status.SUCCEEDED:
        return await _compensate(connection, credit, reversal)
    return await _undo_compensation(connection, reversal)
