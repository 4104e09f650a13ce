"""The audit: proof that the money is right, recomputed from first principles.

It does not reuse the rules that wrote the ledger (`ledger.outcomes`, `ledger.credits`):
from each transfer's own facts — kind, amount, status, when it succeeded and when it
failed, its parent and its reversals — it derives what that transfer must have moved, and
compares with what the ledger holds. From one consistent snapshot it checks that:
1. every posting sums to zero and has two lines or more;
2. every tracked balance equals the sum of its lines;
3. every transfer's net lines are exactly what its history implies;
4. money is counted once: a credit and its reversals never give an escrow back more than
   the credit took (a returned credit's family nets to zero);
5. every account (order and marketplace escrows, payable accounts, money in flight on the
   rail, the shortfall) holds what the transfers' histories imply.
Run by `ballast audit` (exit status 1 on any violation; shortfalls are reported) and by
the tests after each scenario."""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from ledger import db
from ledger.sql import QUERIES

Q = QUERIES["ledger"]
Lines = dict[str, int]


@dataclass(frozen=True)
class Transfer:
    """What the audit knows of one transfer: its facts, never its postings."""

    id: str
    marketplace_id: str
    kind: str
    status: str
    amount_cents: int
    order_id: str | None
    source_id: str | None
    destination_id: str | None
    parent_id: str | None
    bank_account_id: str | None
    succeeded_at: datetime | None
    failed_at: datetime | None
    compensates_id: str | None
    #: Set on a debit the card network disputed (and charged back).
    dispute_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Transfer:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    @property
    def returned(self) -> bool:
        """Failed after it had succeeded: the bank sent it back."""
        return self.status == "failed" and self.succeeded_at is not None

    def succeeded_at_moment(self, moment: datetime) -> bool:
        """Whether it stood `succeeded` at `moment`."""
        if self.succeeded_at is None or self.succeeded_at > moment:
            return False
        return self.failed_at is None or self.failed_at > moment

    def account(self, suffix: str) -> str:
        return f"{self.marketplace_id}:{suffix}"

    @property
    def escrow(self) -> str:
        return self.order_id if self.order_id is not None else self.account("escrow")


@dataclass
class Snapshot:
    transfers: dict[str, Transfer]
    # Net lines per transfer: {transfer id: {account id: cents}}.
    lines: dict[str, Lines]
    payable_ids: set[str]
    accounts: list[Any]
    children: dict[str, list[Transfer]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        children: dict[str, list[Transfer]] = defaultdict(list)
        for transfer in self.transfers.values():
            if transfer.parent_id is not None:
                children[transfer.parent_id].append(transfer)
        self.children = dict(children)


def _nonzero(lines: Lines) -> Lines:
    return {account_id: cents for account_id, cents in lines.items() if cents != 0}


def _credit_lines(t: Transfer, snapshot: Snapshot) -> Lines:
    a, settled = t.amount_cents, t.account("ach_settled")
    if t.compensates_id is not None:
        # Pays back what a reversal collected from the merchant; undone if it is returned.
        return {settled: -a, str(t.destination_id): a} if t.status == "succeeded" else {}
    if t.bank_account_id is None:
        # Payable account or card: out of escrow at once; failed ones never moved.
        payee = t.destination_id if t.destination_id in snapshot.payable_ids else None
        to_id = payee or t.account("card_network")
        return {} if t.status == "failed" else {t.escrow: -a, to_id: a}
    if t.status == "pending":
        return {t.escrow: -a, t.account("ach_in_flight"): a}
    if t.status == "succeeded":
        return {t.escrow: -a, settled: a}
    if not t.returned:
        return {}
    # Returned: the bank gave back everything; the escrow got only what the reversals
    # standing `succeeded` at that moment had not pulled back already.
    assert t.failed_at is not None
    failed_at = t.failed_at
    kept_cents = sum(
        r.amount_cents for r in snapshot.children.get(t.id, []) if r.succeeded_at_moment(failed_at)
    )
    return {t.escrow: -kept_cents, settled: kept_cents}


def _taken_back(t: Transfer, actual: Lines) -> Lines:
    """A debit whose money left its escrow again (returned by the bank, or disputed): the
    escrow gave back what it held, the rest is the shortfall, so what remains is the
    shortfall's mirror on the escrow."""
    shortfall_cents = actual.get(t.account("shortfall"), 0)
    if not -t.amount_cents <= shortfall_cents <= 0:
        return {t.account("shortfall"): 0}  # Impossible: reported as a mismatch.
    return {t.escrow: -shortfall_cents, t.account("shortfall"): shortfall_cents}


def _debit_lines(t: Transfer, actual: Lines) -> Lines:
    """A card debit arrives at once from the card network; an ACH debit (it has a bank
    account) when the rail settles it. A disputed or late-returned one was taken back."""
    a = t.amount_cents
    if t.dispute_id is not None or t.returned:
        return _taken_back(t, actual)
    if t.status != "succeeded":
        return {}  # Pending at the rail, declined, refused or failed at the rail.
    origin = t.account("card_network" if t.bank_account_id is None else "ach_settled")
    return {origin: -a, t.escrow: a}


def _reversal_lines(t: Transfer, snapshot: Snapshot, actual: Lines) -> Lines:
    r, settled = t.amount_cents, t.account("ach_settled")
    if t.bank_account_id is None:
        # A payable account's credit reversed at once.
        return {str(t.source_id): -r, t.escrow: r} if t.status == "succeeded" else {}
    if t.status == "succeeded":
        return {settled: -r, t.escrow: r}
    if not t.returned:
        return {}  # Pending, failed at the rail, or failed because its credit was returned.
    assert t.parent_id is not None and t.failed_at is not None
    credit = snapshot.transfers[t.parent_id]
    if credit.returned and credit.failed_at is not None and t.succeeded_at_moment(credit.failed_at):
        # The credit's return paid this reversal's money to the merchant (a compensation);
        # the reversal's own return undid the compensation, not this.
        return {settled: -r, t.escrow: r}
    # Taken back out of the escrow; what the escrow no longer held is the shortfall.
    shortfall_cents = actual.get(t.account("shortfall"), 0)
    if not -r <= shortfall_cents <= 0:
        return {t.account("shortfall"): 0}  # Impossible: reported as a mismatch.
    return {t.escrow: -shortfall_cents, t.account("shortfall"): shortfall_cents}


def _settlement_lines(t: Transfer) -> Lines:
    """A payable account's balance settled: paid out (source is the account) or collected
    (destination is the account); failed or returned, it comes back whole."""
    a = t.amount_cents
    paying_out = t.source_id != t.bank_account_id
    account_id = str(t.source_id if paying_out else t.destination_id)
    sign = 1 if paying_out else -1
    if t.status == "pending":
        return {account_id: -sign * a, t.account("ach_in_flight"): sign * a}
    if t.status == "succeeded":
        return {account_id: -sign * a, t.account("ach_settled"): sign * a}
    return {}


def expected_lines(t: Transfer, snapshot: Snapshot, actual: Lines) -> Lines:
    """The net lines a transfer's history implies."""
    a = t.amount_cents
    network = t.account("card_network")
    if t.kind == "debit":
        return _nonzero(_debit_lines(t, actual))
    if t.kind == "refund":
        return {t.escrow: -a, network: a} if t.status == "succeeded" else {}
    if t.kind == "credit":
        return _nonzero(_credit_lines(t, snapshot))
    if t.kind == "reversal":
        return _nonzero(_reversal_lines(t, snapshot, actual))
    assert t.kind == "settlement", t
    return _nonzero(_settlement_lines(t))


def _counted_once(credit: Transfer, snapshot: Snapshot) -> str | None:
    """A credit and its reversals may give the escrow back at most what the credit took,
    and exactly that once the credit is returned."""
    if credit.kind != "credit" or credit.bank_account_id is None:
        return None
    family = [credit, *snapshot.children.get(credit.id, [])]
    escrow_cents = sum(
        snapshot.lines.get(t.id, {}).get(credit.escrow, 0)
        + snapshot.lines.get(t.id, {}).get(credit.account("shortfall"), 0)
        for t in family
    )
    took_cents = 0 if credit.status == "failed" and not credit.returned else credit.amount_cents
    if credit.returned and credit.failed_at is not None:
        late = [
            r.id
            for r in family[1:]
            if r.succeeded_at is not None and r.succeeded_at > credit.failed_at
        ]
        if late:
            return f"reversals {late} succeeded after their credit {credit.id} was returned"
    if credit.returned and escrow_cents != 0:
        return f"returned credit {credit.id}: its family moved {escrow_cents} cents, not 0"
    if not -took_cents <= escrow_cents <= 0:
        return (
            f"credit {credit.id} of {credit.amount_cents} cents: with its reversals it moved "
            f"{escrow_cents} cents on escrow {credit.escrow}"
        )
    return None


def _account_totals(per_transfer: Iterable[Lines]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for lines in per_transfer:
        for account_id, cents in lines.items():
            totals[account_id] += cents
    return totals


def check(snapshot: Snapshot) -> list[str]:
    """Rules 3, 4 and 5 over a snapshot; one line per violation."""
    found: list[str] = []
    expected: dict[str, Lines] = {}
    for t in snapshot.transfers.values():
        actual = snapshot.lines.get(t.id, {})
        expected[t.id] = expected_lines(t, snapshot, actual)
        if expected[t.id] != actual:
            found.append(
                f"transfer differs from its history: {t.kind} {t.id} ({t.status}) "
                f"moved {actual}, its history implies {expected[t.id]}"
            )
        problem = _counted_once(t, snapshot)
        if problem is not None:
            found.append(f"money counted twice: {problem}")
    implied = _account_totals(expected.values())
    for account in snapshot.accounts:
        held = account["lines_cents"]
        if held != implied.get(account["id"], 0):
            found.append(
                f"account differs from its transfers: {account['kind']} {account['id']} "
                f"holds {held} cents, its transfers imply {implied.get(account['id'], 0)}"
            )
    return found


async def _snapshot(connection: asyncpg.Connection) -> Snapshot:
    transfers = {
        row["id"]: Transfer.from_row(row) for row in await connection.fetch(Q["audit_transfers"])
    }
    lines: dict[str, Lines] = defaultdict(dict)
    for row in await connection.fetch(Q["audit_transfer_lines"]):
        if row["amount_cents"] != 0:
            lines[row["transaction_id"]][row["account_id"]] = row["amount_cents"]
    accounts = await connection.fetch(Q["audit_accounts"])
    payable_ids = {a["id"] for a in accounts if a["kind"] == "payable"}
    return Snapshot(transfers, dict(lines), payable_ids, accounts)


CHECKS = {
    "posting does not sum to zero": "audit_unbalanced_postings",
    "balance differs from its lines": "audit_drifted_balances",
}


async def _violations(connection: asyncpg.Connection) -> list[str]:
    found: list[str] = []
    for label, query in CHECKS.items():
        for row in await connection.fetch(Q[query]):
            found.append(f"{label}: {dict(row)}")
    snapshot = await _snapshot(connection)
    # The recomputation is plain Python over every transfer: off the event loop, so that an
    # audit beside live traffic (the soak, the tests) does not stall it.
    return found + await asyncio.to_thread(check, snapshot)


async def violations(connection: asyncpg.Connection | asyncpg.Pool) -> list[str]:
    """Every violation found, one line each; empty when the ledger is right. Reads one
    consistent snapshot, so it may run beside live traffic."""
    if isinstance(connection, asyncpg.Pool):
        async with connection.acquire() as acquired:
            return await violations(acquired)
    if connection.is_in_transaction():
        return await _violations(connection)  # The caller's transaction is the snapshot.
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        return await _violations(connection)


async def shortfalls(connection: asyncpg.Connection | asyncpg.Pool) -> list[tuple[str, int]]:
    """Marketplaces whose reversals were returned after their escrow was paid out again:
    (marketplace id, cents the marketplace is out)."""
    rows = await connection.fetch(Q["shortfalls"])
    return [(row["marketplace_id"], -row["balance_cents"]) for row in rows]


async def _run(database_url: str) -> tuple[list[str], list[tuple[str, int]]]:
    pool = await db.create_pool(database_url, min_size=1, max_size=1)
    try:
        return await violations(pool), await shortfalls(pool)
    finally:
        await pool.close()


def main(database_url: str) -> int:
    found, short = asyncio.run(_run(database_url))
    for line in found:
        print(line, file=sys.stderr)
    for marketplace_id, cents in short:
        print(
            f"shortfall: marketplace {marketplace_id} is out {cents} cents (late returns, disputes)"
        )
    print("audit: clean" if not found else f"audit: {len(found)} violation(s)")
    return 0 if not found else 1
