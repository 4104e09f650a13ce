"""ACH debits: money pulled from a verified bank account into an order's escrow (or the
marketplace's), through the rail like a credit in the other direction.

When the money counts, and the risk of what counts (README, "ACH debits: when their money
counts"):
- created `pending`, submitted to the rail; nothing moves yet, so nothing of it can be
  paid out (Balanced: "charges to bank accounts take 3-4 days to settle … funds will be
  available at a later date");
- `succeeded` when the rail settles it: the money arrives in the escrow, from the bank
  (`ach_settled` → escrow), and may be paid out;
- `failed` before that (a return, e.g. R01): nothing had moved, nothing moves;
- returned after it succeeded (`succeeded` → `failed`, the R-code): the money goes back
  out of the escrow to the bank; what the escrow no longer holds (it was paid out) is the
  marketplace's **shortfall**, as for a reversal returned late (`GET
  /marketplaces/{id}/shortfall`, `ballast audit`). The escrow never goes negative and no
  payout already made is undone.
A debit from a bank account no verification has confirmed is refused: kept as `failed`
(`funding-source-not-debitable`, 409) and never sent to the rail."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg

from ledger import instruments, marketplaces, postings, transfers
from ledger.errors import NotFound
from ledger.outbox import Job
from ledger.records import RailOutcome, Transfer, TransferKind
from ledger.sql import QUERIES
from ledger.status import ALLOWED_TRANSITIONS, Status
from ledger.transfers import Parties, TransferRequest, TransferResult

# ACH entries show at most 14 characters on the account holder's statement (Balanced).
ACH_STATEMENT_LENGTH_MAX = 14
NOT_DEBITABLE = "funding-source-not-debitable"
# How long after it settled a bank may still return an ACH debit: NACHA gives a consumer
# 60 calendar days to return an unauthorized debit (R10); most returns (R01…) come within
# two banking days. Money an ACH debit brought in is "returnable" for this long.
RETURN_WINDOW = timedelta(days=60)


async def debit_bank_account(
    connection: asyncpg.Connection,
    marketplace_id: str,
    bank_account_id: str,
    request: TransferRequest,
) -> TransferResult:
    """Pull `request.amount_cents` from a bank account over ACH: `pending` now, decided by
    the rail later. 409 with the debit kept as `failed` unless the account is verified."""
    bank_account = await connection.fetchrow(
        QUERIES["verifications"]["lock_bank_account"], marketplace_id, bank_account_id
    )
    if bank_account is None:
        raise NotFound(f"Bank account {bank_account_id} could not be found.")
    if bank_account["deleted_at"] is not None:
        raise instruments.unusable("bank_account", bank_account_id, "debited")
    request, _ = await transfers.with_order(connection, marketplace_id, request)
    marketplace = await marketplaces.get(connection, marketplace_id)
    statement = request.appears_on_statement_as or marketplace["domain_url"]
    verified = bank_account["verified_at"] is not None
    parties = Parties(
        customer_id=bank_account["customer_id"],
        source_id=bank_account_id,
        statement=statement[:ACH_STATEMENT_LENGTH_MAX],
    )
    if not verified:
        # Kept off the rail (no rail entry kind): the trigger transactions_debit_verified
        # refuses any ACH debit from an unverified bank account.
        row = await transfers.insert(
            connection, marketplace_id, TransferKind.DEBIT, request, parties
        )
        jobs = await transfers.record_event(connection, row, "debit.created")
        reason = (
            f"Bank account {bank_account_id} is not verified: confirm its micro-deposits "
            "(POST /bank_accounts/{id}/verifications) before debiting it."
        )
        result = await transfers.fail_now(connection, row, NOT_DEBITABLE, reason)
        return replace(result, jobs=jobs + result.jobs)
    on_rail = replace(parties, bank_account_id=bank_account_id, rail_entry_kind="debit")
    row = await transfers.insert(connection, marketplace_id, TransferKind.DEBIT, request, on_rail)
    assert row["status"] == Status.PENDING and row["rail_entry_kind"] == "debit"
    jobs = await transfers.record_event(connection, row, "debit.created")
    jobs += await transfers.submit_later(connection, row)
    return TransferResult(Transfer.from_row(row), jobs)


async def returnable_cents(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str
) -> int:
    """The marketplace's exposure: what its ACH debits brought in that their banks may
    still return (settled within RETURN_WINDOW). Paid out, a return of it becomes the
    shortfall; shown beside the shortfall so that the risk is visible before it is lost."""
    cents: int = await connection.fetchval(
        QUERIES["ach_debits"]["returnable_cents"], marketplace_id, RETURN_WINDOW
    )
    assert cents >= 0, (marketplace_id, cents)
    return cents


async def apply_outcome(
    connection: asyncpg.Connection, row: dict[str, Any], target: Status, outcome: RailOutcome
) -> list[Job]:
    """The rail's decision on an ACH debit (locked by the caller): settled, the money
    arrives in the escrow; returned before that, nothing moves; returned after, it leaves
    the escrow again, and what the escrow no longer holds is the marketplace's shortfall."""
    assert row["kind"] == TransferKind.DEBIT and row["rail_entry_kind"] == "debit", row
    previous = Status(row["status"])
    if target not in ALLOWED_TRANSITIONS[previous]:
        return []  # A repeated or out-of-order outcome: an operating fact, not a bug.
    failure = outcome.failure if target == Status.FAILED else None
    updated = await transfers.transition(connection, row, target, failure)
    if updated is None:
        return []
    marketplace_id, amount_cents = row["marketplace_id"], row["amount_cents"]
    settled = postings.system_account(marketplace_id, "ach_settled")
    escrow = postings.escrow_of(marketplace_id, row["order_id"])
    if target == Status.SUCCEEDED:
        await postings.post(
            connection,
            marketplace_id,
            row["id"],
            "debit.succeeded",
            {settled: -amount_cents, escrow: amount_cents},
        )
    elif previous == Status.SUCCEEDED:
        await take_back(connection, row, "debit.returned")
    return await transfers.record_event(connection, updated, f"debit.{target}")


async def take_back(
    connection: asyncpg.Connection,
    row: dict[str, Any],
    kind: str,
    counterparty: str = "ach_settled",
) -> int:
    """A debit's money leaves its escrow again (an ACH return, or a card dispute): what the
    escrow still holds goes back to `counterparty`; the rest, already paid out, is the
    marketplace's shortfall. Returns the cents of the shortfall."""
    marketplace_id, amount_cents = row["marketplace_id"], row["amount_cents"]
    escrow = postings.escrow_of(marketplace_id, row["order_id"])
    absorbed_cents = min(amount_cents, await postings.locked_balance_cents(connection, escrow))
    short_cents: int = amount_cents - absorbed_cents
    assert 0 <= short_cents <= amount_cents, (row["id"], short_cents)
    lines = {
        postings.system_account(marketplace_id, counterparty): amount_cents,
        escrow: -absorbed_cents,
        postings.shortfall_of(marketplace_id): -short_cents,
    }
    await postings.post(
        connection,
        marketplace_id,
        row["id"],
        kind,
        {account_id: cents for account_id, cents in lines.items() if cents != 0},
    )
    return short_cents
