"""Double-entry postings. Every movement of money is one posting whose lines sum to zero;
PostgreSQL checks the sum at commit and keeps escrows from going negative."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from ledger.sql import QUERIES

Q = QUERIES["ledger"]

# The counterparties of every marketplace. Their balances are derived from their lines only.
SYSTEM_ACCOUNT_KINDS = ("card_network", "ach_in_flight", "ach_settled")


class InsufficientFunds(Exception):
    """The posting would have taken an escrow below zero; nothing was written."""


def system_account(marketplace_id: str, kind: str) -> str:
    assert kind in SYSTEM_ACCOUNT_KINDS or kind in {"escrow", "shortfall"}, kind
    return f"{marketplace_id}:{kind}"


def marketplace_escrow(marketplace_id: str) -> str:
    return system_account(marketplace_id, "escrow")


def shortfall_of(marketplace_id: str) -> str:
    """What reversals returned after they succeeded took back beyond their escrow."""
    return system_account(marketplace_id, "shortfall")


def escrow_of(marketplace_id: str, order_id: str | None) -> str:
    """The escrow a transfer draws on: its order's when it has one, else the marketplace's.
    An order's escrow account has the order's id."""
    return order_id if order_id is not None else marketplace_escrow(marketplace_id)


async def open_marketplace_accounts(connection: asyncpg.Connection, marketplace_id: str) -> None:
    account_ids = [marketplace_escrow(marketplace_id), shortfall_of(marketplace_id)]
    account_ids += [system_account(marketplace_id, kind) for kind in SYSTEM_ACCOUNT_KINDS]
    kinds = ["marketplace_escrow", "shortfall", *SYSTEM_ACCOUNT_KINDS]
    await connection.execute(Q["insert_accounts"], marketplace_id, account_ids, kinds)


async def open_account(
    connection: asyncpg.Connection, marketplace_id: str, account_id: str, kind: str
) -> None:
    await connection.execute(Q["insert_accounts"], marketplace_id, [account_id], [kind])


async def locked_balance_cents(connection: asyncpg.Connection, account_id: str) -> int:
    """A tracked balance, locked until the end of the transaction."""
    return (await balances_cents(connection, [account_id], lock=True))[account_id]


async def balances_cents(
    connection: asyncpg.Connection, account_ids: list[str], *, lock: bool
) -> dict[str, int]:
    """Tracked balances by account id, locked (in id order) until the end of the
    transaction; or, with `lock` False, as the snapshot sees them, for a decision that a
    posting's CHECK makes again."""
    rows = await connection.fetch(Q["lock_balances" if lock else "balances"], account_ids)
    found = {row["id"]: row["balance_cents"] for row in rows}
    assert found.keys() == set(account_ids), (account_ids, found)
    return found


async def post(
    connection: asyncpg.Connection,
    marketplace_id: str,
    transaction_id: str,
    kind: str,
    lines_cents: dict[str, int],
) -> int:
    """Post `lines_cents` ({account id: signed amount}) as one posting.

    A posting the escrow CHECK refuses raises InsufficientFunds and leaves the caller's
    transaction usable (a refused credit is still recorded, as `failed`): PostgreSQL rolls
    back only the posting (ledger_try_post), which costs no savepoint round trips."""
    assert len(lines_cents) >= 2, lines_cents
    assert sum(lines_cents.values()) == 0, lines_cents
    assert all(amount_cents != 0 for amount_cents in lines_cents.values()), lines_cents
    posting_id: int | None = await connection.fetchval(
        Q["post"],
        marketplace_id,
        transaction_id,
        kind,
        list(lines_cents),
        list(lines_cents.values()),
    )
    if posting_id is None:
        raise InsufficientFunds
    assert posting_id > 0
    return posting_id


@dataclass(frozen=True)
class Move:
    """A two-line posting: `amount_cents` from one account to another, for a transfer."""

    marketplace_id: str
    transaction_id: str
    kind: str
    from_account_id: str
    to_account_id: str
    amount_cents: int


async def post_many(connection: asyncpg.Connection, moves: list[Move]) -> None:
    """Post many two-line postings (one per transfer) in one round trip."""
    assert all(m.amount_cents > 0 and m.from_account_id != m.to_account_id for m in moves)
    assert len({m.transaction_id for m in moves}) == len(moves), moves
    if not moves:
        return
    posted = await connection.fetchval(
        Q["post_many"],
        [m.marketplace_id for m in moves],
        [m.transaction_id for m in moves],
        [m.kind for m in moves],
        [m.from_account_id for m in moves],
        [m.to_account_id for m in moves],
        [m.amount_cents for m in moves],
    )
    assert posted == len(moves), (posted, len(moves))
