"""Callback delivery: throughput to a local receiver, and delivery lag at a fixed rate.

    python bench/callbacks.py [--events 2000] [--rate 200] [--seconds 10] [--workers 2]
    python bench/callbacks.py --api http://127.0.0.1:8090   # against a running `ballast up`

Events are customers created through the API (one `account.created` each). Lag is the
time from the event's `occurred_at` (written in the transaction that creates it) to its
arrival at the receiver. The lag phase runs twice: with one healthy receiver, then with a
second callback whose receiver hangs past the delivery timeout, to show that one slow
receiver does not delay the others.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from datetime import datetime

import aiohttp
from _harness import Client, add_system_options, p50_p99, serve, system
from aiohttp import web

# The hanging receiver holds each request this long: past any sensible delivery timeout.
HANG_S = 30.0
DRAIN_TIMEOUT_S = 300


class Receiver:
    def __init__(self) -> None:
        self.lags_ms: dict[str, float] = {}
        self.last_at = 0.0
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        event = json.loads(await request.text())["events"][0]
        occurred = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        self.lags_ms[event["id"]] = (time.time() - occurred.timestamp()) * 1000
        self.last_at = time.monotonic()
        self.arrived.set()
        return web.Response(status=204)

    async def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while len(self.lags_ms) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(self.lags_ms)} of {count} deliveries arrived")
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), DRAIN_TIMEOUT_S)


async def _hang(request: web.Request) -> web.Response:
    await asyncio.sleep(HANG_S)
    return web.Response(status=204)


async def _throughput(client: Client, receiver: Receiver, events: int, concurrency: int) -> None:
    semaphore = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with semaphore:
            await client.post("/customers", {"name": f"Backer {index}"})

    expected = len(receiver.lags_ms) + events
    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(events)))
    await receiver.wait_for(expected)
    elapsed_s = receiver.last_at - started
    print(
        f"throughput: {events} events delivered in {elapsed_s:.1f} s = "
        f"{events / elapsed_s:,.0f} deliveries/s (concurrency {concurrency})"
    )


async def _lag(client: Client, receiver: Receiver, rate: int, seconds: int, label: str) -> None:
    count = rate * seconds
    before = set(receiver.lags_ms)
    start = time.monotonic()
    tasks = []
    for index in range(count):
        delay_s = start + index / rate - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        tasks.append(asyncio.create_task(client.post("/customers", {"name": f"Lag {index}"})))
    await asyncio.gather(*tasks)
    await receiver.wait_for(len(before) + count)
    lags = [lag for event_id, lag in receiver.lags_ms.items() if event_id not in before]
    print(
        f"lag at {rate} events/s for {seconds} s ({label}): {p50_p99(lags, 0)}, "
        f"max {max(lags):.0f} ms"
    )


async def _run(args: argparse.Namespace) -> None:
    receiver = Receiver()
    healthy, hanging = web.Application(), web.Application()
    healthy.router.add_post("/hooks", receiver.handle)
    hanging.router.add_post("/hooks", _hang)
    async with (
        serve(healthy) as healthy_url,
        serve(hanging) as hanging_url,
        system(args.api, args.workers, args.api_processes) as url,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session,
    ):
        client = Client(session, url)
        await client.login()
        await client.subscribe(f"{healthy_url}/hooks")
        await _throughput(client, receiver, args.events, concurrency=32)
        await _lag(client, receiver, args.rate, args.seconds, "one healthy receiver")
        await client.subscribe(f"{hanging_url}/hooks")
        await _lag(
            client, receiver, args.rate, args.seconds, "healthy receiver, beside one that hangs"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=10)
    add_system_options(parser)
    asyncio.run(_run(parser.parse_args()))


if __name__ == "__main__":
    main()
