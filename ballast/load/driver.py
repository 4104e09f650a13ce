"""Running a load: the driver of the chosen target submits the scenario's transfers,
open model (each at its scheduled time) or closed model (each user's next after its
last answer and think time), while a local receiver takes their outcomes; then outcomes
are drained, thresholds checked and the report written. A first Ctrl-C ends the load and
the drain early and still writes the report; a second one stops at once."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
from aiohttp import web

from ballast.load.arrival import arrival_offsets_s
from ballast.load.client import RequestFailed, serve
from ballast.load.config import LoadConfig, LoadError, check_loopback
from ballast.load.live import LiveProgress
from ballast.load.metadata import run_metadata
from ballast.load.railcontrol import install_load_rules, rail_facts
from ballast.load.recorder import Outcomes, Recorder
from ballast.load.report import write_report
from ballast.load.scenario import Mix, Transfer
from ballast.load.summary import Timing, summarize
from ballast.load.targets import Driver, PipelineDriver, RailDriver
from ballast.load.thresholds import check_all


class Run:
    """One run's moving parts, shared by the generators and the drain."""

    def __init__(
        self,
        config: LoadConfig,
        driver: Driver,
        recorder: Recorder,
        outcomes: Outcomes,
        mix: Mix,
        stopped: asyncio.Event,
    ):
        self.config = config
        self.driver = driver
        self.recorder = recorder
        self.outcomes = outcomes
        self.mix = mix
        self.stopped = stopped  # Set by Ctrl-C (or a test): end the load early.

    def more(self, deadline_s: float | None) -> bool:
        return (
            len(self.recorder) < self.config.transfers_max
            and not self.stopped.is_set()
            and (deadline_s is None or time.monotonic() < deadline_s)
        )

    def follow_up(self, transfer: Transfer) -> bool:
        """Whether a second outcome is due: the rail notifies a late return or a
        correction after the settlement (the pipeline's callbacks may not tell)."""
        return self.config.target == "rail" and transfer.variant in ("late_return", "correction")

    async def one(self, index: int, transfer: Transfer) -> None:
        """Submit transfer `index` (already started in the recorder) and record the answer."""
        recorder = self.recorder
        try:
            submitted = await self.driver.submit(index, transfer)
        except RequestFailed as error:
            recorder.fail(index, time.monotonic(), error.status)
            return
        recorder.accept(index, time.monotonic(), submitted.status, completed=submitted.completed)
        if not submitted.completed:
            self.outcomes.known(submitted.transfer_id, index)


async def run(config: LoadConfig, stopped: asyncio.Event | None = None) -> dict[str, Any]:
    """Run the load, write the report into `config.out_dir`, return the summary.
    Setting `stopped` ends the load early, as Ctrl-C does."""
    if not config.allow_remote:
        for url in (config.url, config.rail_url):
            if url:
                check_loopback(url)
    mix = Mix(config.effective_scenario)
    if mix.needs_rail_rules and not config.rail_url:
        raise LoadError("late returns and corrections need the rail's control API: --rail-url")
    metadata = run_metadata(config)
    recorder = Recorder()
    outcomes = Outcomes(recorder)
    connector = aiohttp.TCPConnector(limit=config.in_flight_max)
    async with aiohttp.ClientSession(connector=connector) as session:
        if config.rail_url:
            if mix.needs_rail_rules:
                await install_load_rules(session, config.rail_url, config.rail_control_token)
            metadata["rail"] = await rail_facts(session, config.rail_url, config.rail_control_token)
        driver: Driver
        if config.target == "rail":
            driver = RailDriver(config, session, outcomes)
        else:
            driver = PipelineDriver(config, session, outcomes, mix)
        load = Run(config, driver, recorder, outcomes, mix, stopped or asyncio.Event())
        receiver = web.Application()
        receiver.router.add_post("/outcomes", driver.receive)
        async with serve(receiver, config.receiver_host) as receiver_url:
            await driver.prepare(f"{receiver_url}/outcomes")
            async with LiveProgress(config, recorder) as progress:
                started_s = time.monotonic()
                await _generate(load)
                load_ended_s = time.monotonic()
                await _drain(load)
                if load.stopped.is_set():
                    progress.note = "interrupted: writing the report"
            ended_s = time.monotonic()
    metadata["interrupted"] = load.stopped.is_set()
    summary = summarize(config, recorder, outcomes, Timing(started_s, load_ended_s, ended_s))
    summary["run"] = metadata
    summary["thresholds"] = check_all(config.thresholds, summary)
    assert config.out_dir is not None, "main() or the caller chooses the folder"
    write_report(config.out_dir, summary, recorder, mix, started_s, figures=config.figures)
    return summary


async def _generate(load: Run) -> None:
    config = load.config
    if config.is_open:
        offsets = arrival_offsets_s(config.arrival_stages, config.rate or 0.0)
        await _open_loop(load, offsets)
        return
    deadline_s = None if config.duration_s is None else time.monotonic() + config.duration_s

    async def user() -> None:
        while load.more(deadline_s):
            now_s = time.monotonic()
            transfer = load.mix.transfer(len(load.recorder))
            index = load.recorder.start(
                now_s, now_s, transfer.step_index, follow_up=load.follow_up(transfer)
            )
            await load.one(index, transfer)
            if transfer.think_time_ms:
                await asyncio.sleep(transfer.think_time_ms / 1000)

    await asyncio.gather(*(user() for _ in range(config.in_flight_max)))


async def _open_loop(load: Run, offsets_s: Iterator[float]) -> None:
    """Send transfer n at its scheduled time, whatever earlier ones are doing. At most
    `in_flight_max` are in flight: past that a send waits, and since its latency counts
    from the schedule, the wait shows in the latency (no coordinated omission)."""
    recorder = load.recorder
    in_flight = asyncio.Semaphore(load.config.in_flight_max)
    tasks: set[asyncio.Task[None]] = set()
    origin_s = time.monotonic()

    def done(task: asyncio.Task[None]) -> None:
        tasks.discard(task)
        in_flight.release()

    for offset_s in offsets_s:
        if not load.more(None):
            break
        due_s = origin_s + offset_s
        delay_s = due_s - time.monotonic()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        await in_flight.acquire()
        if load.stopped.is_set():
            in_flight.release()
            break
        transfer = load.mix.transfer(len(recorder))
        index = recorder.start(
            due_s, time.monotonic(), transfer.step_index, follow_up=load.follow_up(transfer)
        )
        task = asyncio.create_task(load.one(index, transfer))
        tasks.add(task)
        task.add_done_callback(done)
    await asyncio.gather(*tasks)


async def _drain(load: Run) -> None:
    """Wait until every accepted transfer has an outcome, the drain timeout, or a stop."""
    recorder = load.recorder
    deadline_s = time.monotonic() + load.config.drain_timeout_s
    while not load.stopped.is_set():
        recorder.changed.clear()
        remaining_s = deadline_s - time.monotonic()
        if recorder.settled or remaining_s <= 0:
            return
        waits = [
            asyncio.create_task(recorder.changed.wait()),
            asyncio.create_task(load.stopped.wait()),
        ]
        _, pending = await asyncio.wait(
            waits, timeout=remaining_s, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()


def stop_on_interrupt(stopped: asyncio.Event) -> None:
    """The first Ctrl-C sets `stopped`; the next one interrupts as usual. Signals reach
    only the main thread: elsewhere (a run inside another program) this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    loop = asyncio.get_running_loop()

    def interrupted() -> None:
        stopped.set()
        loop.remove_signal_handler(signal.SIGINT)

    loop.add_signal_handler(signal.SIGINT, interrupted)
