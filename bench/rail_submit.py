"""Rail submissions per second: one rail process over HTTP, an aiohttp load generator.

    python bench/rail_submit.py [--entries 50000] [--concurrency 64] [--day-ms 0]
                                [--nacha-dir DIR] [--notify]

Starts `python -m rails` (one process, one event loop) on a loopback port and POSTs
`--entries` distinct entries to /entries from `--concurrency` keep-alive connections of
one aiohttp client session in this process, after a warm-up. Both processes share the
machine (2 cores here): the figures are what one rail process sustains with its load
generator beside it. `--day-ms 0` (default) applies every outcome as it is submitted, so
the scheduler and the outcome path are in the measurement too; `--notify` adds a
`notify_url` (a local receiver) so that notifications are signed and sent as well.

Prints: submissions/s, request latency p50/p99, and the rail process's own CPU time per
submission (from /proc), i.e. what one core of rail could do with a free load generator.
Target (issue 4): >= 5,000 submissions/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import secrets
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from _harness import free_port, p50_p99, process, serve
from aiohttp import web

WARM_UP_ENTRIES = 2000
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS_PER_S


@contextlib.asynccontextmanager
async def _rail(day_ms: int, nacha_dir: str | None) -> AsyncIterator[tuple[str, int]]:
    """`python -m rails` on a free port for the block: its URL and process id."""
    port = free_port()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    # Its control API stays closed: this load uses entries only, which need no token.
    control_token = secrets.token_urlsafe(32)
    command = [sys.executable, "-m", "rails", "--port", str(port), "--day-ms", str(day_ms)]
    if nacha_dir:
        command += ["--nacha-dir", nacha_dir]
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BALLAST_RAIL_SECRET": secret,
        "BALLAST_RAIL_CONTROL_TOKEN": control_token,
    }
    async with process(command, url, env=env) as rail:
        yield url, rail.pid


@contextlib.asynccontextmanager
async def _receiver() -> AsyncIterator[str]:
    """A notification receiver that takes everything; yields its URL."""

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", accept)
    async with serve(app) as url:
        yield f"{url}/hook"


def _bodies(prefix: str, count: int, notify_url: str | None) -> list[bytes]:
    """Pre-encoded bodies, so that the generator spends its CPU on HTTP only."""
    return [
        json.dumps(
            {
                "id": f"{prefix}-{index}",
                "kind": "credit",
                "routing_number": "021000021",
                "account_number": "9900000002",
                "name": "Jane Doe",
                "amount_cents": 100 + index % 1000,
                "notify_url": notify_url,
            }
        ).encode()
        for index in range(count)
    ]


async def _submit_all(
    session: aiohttp.ClientSession, url: str, bodies: list[bytes], concurrency: int
) -> list[float]:
    latencies_ms: list[float] = []
    pending = iter(bodies)
    headers = {"content-type": "application/json"}

    async def worker() -> None:
        for body in pending:
            started = time.perf_counter()
            async with session.post(f"{url}/entries", data=body, headers=headers) as response:
                await response.read()
                if response.status != 201:
                    raise SystemExit(f"POST /entries answered {response.status}")
            latencies_ms.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies_ms


async def _run(args: argparse.Namespace) -> None:
    async with contextlib.AsyncExitStack() as stack:
        url, pid = await stack.enter_async_context(_rail(args.day_ms, args.nacha_dir))
        notify_url = await stack.enter_async_context(_receiver()) if args.notify else None
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        session = await stack.enter_async_context(aiohttp.ClientSession(connector=connector))
        await _submit_all(session, url, _bodies("WARM", WARM_UP_ENTRIES, notify_url), 16)
        bodies = _bodies("BENCH", args.entries, notify_url)
        cpu_before_s = _cpu_s(pid)
        started = time.perf_counter()
        latencies_ms = await _submit_all(session, url, bodies, args.concurrency)
        elapsed_s = time.perf_counter() - started
        rail_cpu_s = _cpu_s(pid) - cpu_before_s
        async with session.get(f"{url}/healthz") as response:
            health = await response.json()
    assert health["entries"] == WARM_UP_ENTRIES + args.entries, health
    cpu_us = rail_cpu_s / args.entries * 1e6
    print(
        f"rail submissions: {args.entries:,} entries, concurrency {args.concurrency}, "
        f"day_ms {args.day_ms}, notify {'on' if args.notify else 'off'}, "
        f"NACHA files {'on' if args.nacha_dir else 'off'}"
    )
    print(f"  {args.entries / elapsed_s:,.0f} submissions/s over HTTP ({p50_p99(latencies_ms, 2)})")
    print(
        f"  rail process CPU: {cpu_us:.0f} µs per submission "
        f"({rail_cpu_s / elapsed_s:.0%} of one core; ~{1e6 / cpu_us:,.0f}/s on a free core)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--day-ms", type=int, default=0)
    parser.add_argument("--nacha-dir", default=None)
    parser.add_argument("--notify", action="store_true", help="send signed notifications too")
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
