"""Push N credits through the whole pipeline and print what it sustained.

    python bench/pipeline.py [--credits 2000] [--concurrency 32] [--orders 20] [--workers 2]
                             [--api-processes 1]
    python bench/pipeline.py --api http://127.0.0.1:8090   # against a running `ballast up`
    python bench/pipeline.py --workers 0 --api-processes 2  # the API alone, at saturation

Without `--api` it starts `ballast up --rail-day-ms 0` itself (embedded PostgreSQL and
Valkey unless DATABASE_URL / REDIS_URL are set) and stops it afterwards. Each credit goes
API → PostgreSQL → arq → rail → outcome → signed `credit.succeeded` callback, which this
script receives; "end to end" is the first POST to the last `credit.succeeded` received.
Figures: credits/s end to end, API latency p50/p99 of the credit POSTs.

Profiling: `BALLAST_QUERY_COUNTS=<folder>` makes every ballast process write its statement
counts by query name to `<folder>/<pid>.json` when it stops (see ledger/db.py); py-spy
(`py-spy record -f raw -p <pid>`) on the `ballast api` and `ballast worker` processes
gives the CPU profile. bench/README.md has the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from urllib.parse import urlsplit

import aiohttp
import asyncpg
from _database import Pgbench, database, pgbench
from _harness import (
    DRAIN_TIMEOUT_S,
    Client,
    Cpu,
    Memory,
    add_system_options,
    p50_p99,
    serve,
    system,
)
from aiohttp import web

from ballast.load.config import ACCOUNT_SUCCEEDS

# Each credit's amount; each order is funded with enough for every credit it will see.
CREDIT_AMOUNT_CENTS = 100


class Receiver:
    def __init__(self, expected: int) -> None:
        self.expected, self.succeeded = expected, set[str]()
        self.done = asyncio.Event()
        self.last_at = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        event = json.loads(await request.text())["events"][0]
        if event["type"] == "credit.succeeded":
            self.succeeded.add(event["entity"]["credits"][0]["id"])
            self.last_at = time.monotonic()
            if len(self.succeeded) >= self.expected:
                self.done.set()
        return web.Response(text="ok")


# What the benchmark sets the per-key rate limit to: far above what two cores can send.
RATE_LIMIT_REQUESTS_PER_S_UNBOUNDED = 1_000_000


async def _run(args: argparse.Namespace) -> None:
    if args.api is not None and not os.environ.get("DATABASE_URL"):
        # Another's system, whose database we do not know: the pipeline figures only.
        await _pipeline(args, None, Memory(), None)
        return
    with database() as database_url:
        baseline = await pgbench(database_url, args.pgbench_s) if args.pgbench_s else None
        memory = Memory()
        await _pipeline(args, database_url, memory, baseline)
        await _leftovers(database_url)


async def _leftovers(database_url: str) -> None:
    """What the run leaves in the outbox: a row is work never done (finished jobs delete
    theirs), and its size says whether vacuum keeps up with the rows it churns through."""
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM outbox) AS open,"
            " pg_total_relation_size('outbox') AS size_bytes"
        )
    finally:
        await connection.close()
    size_mib = row["size_bytes"] / 2**20
    print(f"outbox after the run: {row['open']} open jobs, {size_mib:.1f} MiB with its indexes")


async def _pipeline(
    args: argparse.Namespace, database_url: str | None, memory: Memory, baseline: Pgbench | None
) -> None:
    receiver = Receiver(args.credits)
    database = urlsplit(database_url).path.lstrip("/") if database_url else ""
    cpu = Cpu(database)
    app = web.Application()
    app.router.add_post("/hooks", receiver.handle)
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with (
        serve(app) as hooks_url,
        system(
            args.api,
            args.workers,
            args.api_processes,
            database_url=database_url,
            memory=memory,
            settings_env={
                # One key sends everything here: the per-key limit (1,000 requests/s by
                # default) would measure the limiter, not the pipeline.
                "BALLAST_RATE_LIMIT_REQUESTS_PER_S": str(RATE_LIMIT_REQUESTS_PER_S_UNBOUNDED),
            },
        ) as url,
        aiohttp.ClientSession(connector=connector) as session,
    ):
        client = Client(session, url)
        await client.login()
        await client.subscribe(f"{hooks_url}/hooks")
        per_order = -(-args.credits // args.orders)
        funding_cents = CREDIT_AMOUNT_CENTS * per_order
        funded = await client.fund_orders(args.orders, funding_cents, (ACCOUNT_SUCCEEDS,))
        latencies_ms: list[float] = []
        semaphore = asyncio.Semaphore(args.concurrency)

        async def credit(index: int) -> None:
            order_id, (bank_id,) = funded[index % len(funded)]
            async with semaphore:
                started = time.monotonic()
                await client.post(
                    f"/bank_accounts/{bank_id}/credits",
                    {"amount": CREDIT_AMOUNT_CENTS, "order": order_id},
                )
                latencies_ms.append((time.monotonic() - started) * 1000)

        cpu.begin()
        started = time.monotonic()
        await asyncio.gather(*(credit(i) for i in range(args.credits)))
        submitted_s = time.monotonic() - started
        api_only = args.api is None and args.workers == 0
        if not api_only:
            await asyncio.wait_for(receiver.done.wait(), DRAIN_TIMEOUT_S)
        total_s = receiver.last_at - started
        cpu_report = cpu.report(args.credits, "credit")
    print(
        f"credits: {args.credits} over {args.orders} orders, concurrency {args.concurrency}, "
        f"workers {args.workers if args.api is None else 'external'}, "
        f"API processes {args.api_processes if args.api is None else 'external'}"
    )
    api_per_s = args.credits / submitted_s
    print(f"API accepted: {api_per_s:,.0f} credits/s ({p50_p99(latencies_ms, 1)})")
    ratios = f"API {baseline.ratio(api_per_s)}" if baseline is not None else ""
    if api_only:
        print("end to end: not measured (no workers: the API alone)")
    else:
        end_to_end_per_s = args.credits / total_s
        print(
            f"end to end (POST → credit.succeeded callback): {end_to_end_per_s:,.0f} credits/s "
            f"({total_s:.1f} s)"
        )
        ratios += f", end to end {baseline.ratio(end_to_end_per_s)}" if baseline else ""
    if baseline is not None:
        print(
            f"pgbench -N on the same PostgreSQL ({baseline.clients} clients, "
            f"{baseline.seconds} s, before the run): {baseline.tps:,.0f} tps; {ratios}"
        )
    scope = "POST to 201" if api_only else "POST to callback"
    print(f"CPU ms per credit ({scope}): {cpu_report}")
    if memory.first:
        print(f"memory: {memory.report()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credits", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--orders", type=int, default=20)
    parser.add_argument(
        "--pgbench-s", type=int, default=10, help="seconds of pgbench -N first (0: none)"
    )
    add_system_options(parser)
    args = parser.parse_args()
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
