"""Running a load: the driver of the chosen target submits transfers, open or closed
loop, while a local receiver takes their outcomes; then the outcomes are drained and the
report is written."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from ballast.load.client import serve
from ballast.load.config import DEFAULT_URLS, LoadConfig, LoadError, check_loopback
from ballast.load.recorder import Outcomes, Recorder
from ballast.load.report import Timing, one_line, summarize, write_report
from ballast.load.targets import Driver, PipelineDriver, RailDriver

PROGRESS_REFRESH_S = 0.25  # How often the progress bar and the drain re-check counts.


async def run(config: LoadConfig) -> dict[str, Any]:
    """Run the load, write the report into `config.out_dir`, return the summary."""
    if not config.allow_remote:
        check_loopback(config.url)
    recorder = Recorder()
    outcomes = Outcomes(recorder)
    connector = aiohttp.TCPConnector(limit=config.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        driver: Driver
        if config.target == "rail":
            driver = RailDriver(config, session, outcomes)
        else:
            driver = PipelineDriver(config, session, outcomes)
        receiver = web.Application()
        receiver.router.add_post("/outcomes", driver.receive)
        async with serve(receiver, config.receiver_host) as receiver_url:
            await driver.prepare(f"{receiver_url}/outcomes")
            async with LiveProgress(config, recorder):
                started_s = time.monotonic()
                await _generate(config, driver, recorder, outcomes)
                load_ended_s = time.monotonic()
                await _drain(config, recorder)
            ended_s = time.monotonic()
    clock = Timing(started_s, load_ended_s, ended_s)
    summary = summarize(config, recorder, outcomes, clock)
    write_report(config.out_dir, summary)
    return summary


async def _one(driver: Driver, recorder: Recorder, outcomes: Outcomes, index: int) -> None:
    try:
        transfer_id = await driver.submit(index)
    except LoadError:
        recorder.fail(index)
        return
    recorder.accept(index, time.monotonic())
    outcomes.known(transfer_id, index)


async def _generate(
    config: LoadConfig, driver: Driver, recorder: Recorder, outcomes: Outcomes
) -> None:
    limit = config.transfers_max
    deadline_s = None if config.duration_s is None else time.monotonic() + config.duration_s

    def more() -> bool:
        return len(recorder) < limit and (deadline_s is None or time.monotonic() < deadline_s)

    if config.rate is None:

        async def worker() -> None:
            while more():
                await _one(driver, recorder, outcomes, recorder.start(time.monotonic()))

        await asyncio.gather(*(worker() for _ in range(config.concurrency)))
        return
    await _open_loop(config.rate, config.concurrency, more, driver, recorder, outcomes)


async def _open_loop(
    rate: float,
    concurrency: int,
    more: Callable[[], bool],
    driver: Driver,
    recorder: Recorder,
    outcomes: Outcomes,
) -> None:
    """Start transfer n at n / rate seconds, with at most `concurrency` in flight: when
    the target falls behind, starts wait, and the achieved rate shows it."""
    in_flight = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()
    started_s = time.monotonic()

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        in_flight.release()

    while more():
        delay_s = started_s + len(recorder) / rate - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        await in_flight.acquire()
        if not more():
            in_flight.release()
            break
        index = recorder.start(time.monotonic())
        task = asyncio.create_task(_one(driver, recorder, outcomes, index))
        tasks.add(task)
        task.add_done_callback(done)
    await asyncio.gather(*tasks)


async def _drain(config: LoadConfig, recorder: Recorder) -> None:
    """Wait until every accepted transfer has an outcome, or the drain timeout."""
    deadline_s = time.monotonic() + config.drain_timeout_s
    while True:
        recorder.changed.clear()
        remaining_s = deadline_s - time.monotonic()
        if recorder.outcomes >= recorder.accepted_count or remaining_s <= 0:
            return
        try:
            async with asyncio.timeout(remaining_s):
                await recorder.changed.wait()
        except TimeoutError:
            return


class LiveProgress:
    """A live rich progress bar refreshed from the recorder's counters (not per request,
    so that drawing costs nothing at high rates); does nothing when disabled."""

    def __init__(self, config: LoadConfig, recorder: Recorder) -> None:
        self._config = config
        self._recorder = recorder
        self._task: asyncio.Task[None] | None = None
        self._bar: Any = None

    async def __aenter__(self) -> None:
        if not self._config.progress:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description:>9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
        )
        self._bar.start()
        total = self._config.transfers_max if self._config.duration_s is None else None
        self._sent = self._bar.add_task("submitted", total=total, detail="")
        self._done = self._bar.add_task("outcomes", total=0, detail="")
        self._task = asyncio.create_task(self._refresh())

    def _update(self) -> None:
        recorder = self._recorder
        detail = f"{recorder.accepted_count} accepted, {recorder.errors} errors"
        self._bar.update(self._sent, completed=len(recorder), detail=detail)
        self._bar.update(
            self._done, completed=recorder.outcomes, total=recorder.accepted_count, detail=""
        )

    async def _refresh(self) -> None:
        while True:
            self._update()
            await asyncio.sleep(PROGRESS_REFRESH_S)

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is None:
            return
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._update()
        self._bar.stop()


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    return LoadConfig(
        target=args.target,
        url=(args.url or DEFAULT_URLS[args.target]).rstrip("/"),
        count=args.count,
        duration_s=args.duration,
        rate=args.rate,
        concurrency=args.concurrency,
        returns_percent=args.returns,
        orders=args.orders,
        drain_timeout_s=args.drain_timeout,
        out_dir=args.out,
        allow_remote=args.allow_remote,
        receiver_host=args.receiver_host,
        rail_secret=args.rail_secret or os.environ.get("BALLAST_RAIL_SECRET"),
        progress=not args.no_progress,
    )


def main(args: argparse.Namespace) -> int:
    """Run `ballast load`; 0 when every transfer was accepted, 1 otherwise, 2 when the
    run could not go ahead."""
    try:
        config = config_from_args(args)
        summary = asyncio.run(run(config))
    except LoadError as error:
        print(f"ballast load: {error}", file=sys.stderr)
        return 2
    print(one_line(summary))
    print(f"report: {config.out_dir / 'report.html'}")
    return 0 if summary["transfers"]["errors"] == 0 else 1
