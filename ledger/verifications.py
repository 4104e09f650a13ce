"""Bank-account verifications: two micro-deposits the account holder confirms, after which
the bank account may be debited over ACH (`can_debit`).

The deposits are Balanced's own cost of verifying, not marketplace money: they are not
sent through the rail nor posted in the ledger. In test mode (ballast is always in test
mode) both are 1 cent, as Balanced documents; `deposit_status` turns `succeeded` when the
holder confirms them, since that proves they arrived. A verification allows
`ATTEMPTS_MAX` confirmations; the last one wrong fails it, and only then may a new one be
made (the unique index `bank_account_verifications_one_open`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from ledger import events, ids, instruments, wire
from ledger.errors import Conflict, NotFound
from ledger.outbox import Job
from ledger.sql import QUERIES

Q = QUERIES["verifications"]

# Balanced: "attempts_remaining" runs 3 → 0 (the `bank_account_verifications` CHECKs).
ATTEMPTS_MAX = wire.VERIFICATION_ATTEMPTS_MAX
# Balanced: "In a test marketplace, the micro deposit amounts will always be 1 cent".
TEST_DEPOSIT_CENTS = (1, 1)
AUTHENTICATION_FAILED = "Bank account authentication amounts do not match."


@dataclass(frozen=True)
class Outcome:
    """A verification as committed, the jobs to enqueue, and the error to answer with when
    the attempt was recorded but was wrong."""

    row: dict[str, Any]
    jobs: list[Job]
    error: Conflict | None = None


def resource(row: dict[str, Any]) -> dict[str, Any]:
    return wire.envelope("bank_account_verifications", [wire.bank_account_verification(row)])


async def _record_events(
    connection: asyncpg.Connection, row: dict[str, Any], *event_types: str
) -> list[Job]:
    jobs: list[Job] = []
    for event_type in event_types:
        jobs += await events.record(
            connection, row["marketplace_id"], event_type, row["id"], resource(row)
        )
    return jobs


async def _lock_bank_account(
    connection: asyncpg.Connection, marketplace_id: str, bank_account_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["lock_bank_account"], marketplace_id, bank_account_id)
    if row is None:
        raise NotFound(f"Bank account {bank_account_id} could not be found.")
    return dict(row)


async def _bank_account_event(connection: asyncpg.Connection, bank_account: Any) -> list[Job]:
    entity = wire.envelope("bank_accounts", [wire.bank_account(dict(bank_account))])
    return await events.record(
        connection,
        bank_account["marketplace_id"],
        "bank_account.updated",
        bank_account["id"],
        entity,
    )


async def create(
    connection: asyncpg.Connection,
    marketplace_id: str,
    bank_account_id: str,
    meta: dict[str, str],
) -> Outcome:
    """Start verifying a bank account: its micro-deposits are on their way (`pending`). 409
    while one of its verifications is pending or has succeeded."""
    bank_account = await _lock_bank_account(connection, marketplace_id, bank_account_id)
    if bank_account["deleted_at"] is not None:
        raise instruments.unusable("bank_account", bank_account_id, "verified")
    if bank_account["verification_id"] is not None:
        current = await connection.fetchrow(
            Q["get"], marketplace_id, bank_account["verification_id"]
        )
        assert current is not None, bank_account
        if current["verification_status"] != "failed":
            raise Conflict(
                f"Bank account {bank_account_id} already has verification {current['id']} "
                f"({current['verification_status']}).",
                category_code="bank-account-authentication-already-exists",
            )
    amount_1_cents, amount_2_cents = TEST_DEPOSIT_CENTS
    row = await connection.fetchrow(
        Q["insert"],
        ids.new_id("bank_account_verification"),
        marketplace_id,
        bank_account_id,
        amount_1_cents,
        amount_2_cents,
        meta,
    )
    assert row is not None and row["attempts"] == 0
    pointed = await connection.fetchrow(Q["point_bank_account"], bank_account_id, row["id"], False)
    assert pointed is not None
    jobs = await _record_events(connection, dict(row), "bank_account_verification.created")
    jobs += await _bank_account_event(connection, pointed)
    return Outcome(dict(row), jobs)


async def confirm(
    connection: asyncpg.Connection,
    marketplace_id: str,
    verification_id: str,
    amounts_cents: tuple[int, int],
) -> Outcome:
    """One attempt at confirming the two deposits (in either order). Right: the bank
    account can be debited from now on. Wrong: the attempt is recorded (committed) and
    answered 409 `bank-account-authentication-failed`; the last wrong one fails it."""
    current = await connection.fetchrow(Q["lock"], marketplace_id, verification_id)
    if current is None:
        raise NotFound(f"Bank account verification {verification_id} could not be found.")
    if current["verification_status"] != "pending":
        raise Conflict(
            "Bank account authentication is not in state ``pending``.",
            category_code="bank-account-authentication-not-pending",
        )
    expected = sorted((current["amount_1_cents"], current["amount_2_cents"]))
    right = sorted(amounts_cents) == expected
    row = await connection.fetchrow(Q["record_attempt"], verification_id, right)
    assert row is not None and row["attempts"] == current["attempts"] + 1, current
    row = dict(row)
    if right:
        assert row["verification_status"] == "succeeded"
        verified = await connection.fetchrow(
            Q["point_bank_account"], row["bank_account_id"], row["id"], True
        )
        assert verified is not None and verified["verified_at"] is not None
        jobs = await _record_events(
            connection,
            row,
            "bank_account_verification.updated",
            "bank_account_verification.verified",
        )
        return Outcome(row, jobs + await _bank_account_event(connection, verified))
    failed = row["verification_status"] == "failed"
    event_type = "failed" if failed else "updated"
    jobs = await _record_events(connection, row, f"bank_account_verification.{event_type}")
    remaining = ATTEMPTS_MAX - row["attempts"]
    error = Conflict(
        AUTHENTICATION_FAILED,
        category_code="bank-account-authentication-failed",
        extras={"attempts_remaining": remaining},
    )
    return Outcome(row, jobs, error)


async def get(
    connection: asyncpg.Connection | asyncpg.Pool, marketplace_id: str, verification_id: str
) -> dict[str, Any]:
    row = await connection.fetchrow(Q["get"], marketplace_id, verification_id)
    if row is None:
        raise NotFound(f"Bank account verification {verification_id} could not be found.")
    return dict(row)


async def list_page(
    pool: asyncpg.Pool, marketplace_id: str, bank_account_id: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    rows = await pool.fetch(Q["list"], marketplace_id, bank_account_id, limit, offset)
    total = int(rows[0]["total"]) if rows else 0
    return [dict(row) for row in rows], total
