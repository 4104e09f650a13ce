"""The audit: proof that the money is right.

Every posting sums to zero; every tracked balance equals the sum of its lines; every
order's escrow equals debits - refunds - credits + reversals (design §3). Run by
`ballast audit` (exit status 1 on any violation) and by the tests after each scenario."""

from __future__ import annotations

import asyncio
import sys

import asyncpg

from ledger import db
from ledger.sql import QUERIES

Q = QUERIES["ledger"]
CHECKS = {
    "posting does not sum to zero": "audit_unbalanced_postings",
    "balance differs from its lines": "audit_drifted_balances",
    "order escrow differs from its transfers": "audit_order_escrows",
}


async def violations(connection: asyncpg.Connection | asyncpg.Pool) -> list[str]:
    """Every violation found, one line each; empty when the ledger is right."""
    found: list[str] = []
    for label, query in CHECKS.items():
        for row in await connection.fetch(Q[query]):
            found.append(f"{label}: {dict(row)}")
    return found


async def _run(database_url: str) -> list[str]:
    pool = await db.create_pool(database_url, min_size=1, max_size=1)
    try:
        return await violations(pool)
    finally:
        await pool.close()


def main(database_url: str) -> int:
    found = asyncio.run(_run(database_url))
    for line in found:
        print(line, file=sys.stderr)
    print("audit: clean" if not found else f"audit: {len(found)} violation(s)")
    return 0 if not found else 1
