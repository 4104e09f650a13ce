"""`ballast load`: drive load against the rail alone or the whole pipeline, then report.

Two targets:
- `rail`: POST /entries straight to a rail, each with a `notify_url` on a local receiver,
  so an outcome is the rail's `entry.settled` / `entry.returned` notification;
- `pipeline`: through the API, as a marketplace would. It creates an API key and a
  marketplace, subscribes a local receiver with POST /callbacks, funds `--orders` orders
  with card debits, then POSTs credits; an outcome is the signed `credit.succeeded` /
  `credit.failed` callback (verified with the callback's secret).

Load is either open (`--rate N`: a transfer starts every 1/N s, at most `--concurrency`
in flight) or closed (as fast as `--concurrency` requests in flight allow), for
`--count` transfers or `--duration` seconds, every one of them bounded (COUNT_MAX,
DURATION_S_MAX, …). `--returns P` sends P % of the transfers (evenly spread) to
Balanced's failing test account, so the outcome mix has returns. Targets must be loopback
addresses unless `--allow-remote`. After the load, outcomes are awaited for at most
`--drain-timeout` seconds; whatever has not arrived by then counts as pending.

The report, in `--out` (default ./load-report): report.html with the figures embedded as
base64 PNGs, the same figures as throughput.png, latency.png and outcomes.png, and
summary.json with every number (percentiles are nearest-rank).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import html
import ipaddress
import json
import math
import os
import secrets
import socket
import sys
import time
from array import array
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from io import BytesIO
from pathlib import Path
from typing import Any, Literal, Protocol

import aiohttp
from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from yarl import URL

# Every run is bounded, whatever its arguments.
COUNT_MAX = 1_000_000  # Transfers per run: ~40 MB of timings, minutes of load.
DURATION_S_MAX = 3600.0  # An hour of load is a soak test; longer is a mistake.
RATE_MAX = 100_000.0  # Far above what one Python process can send.
CONCURRENCY_MAX = 1024  # Sockets in flight; a default ulimit allows 1024 descriptors.
DRAIN_TIMEOUT_S_MAX = 600.0
ORDERS_MAX = 1000
DEFAULT_COUNT = 1000
REQUEST_TIMEOUT_S = 30.0  # One request's budget; a slower answer counts as an error.
PROGRESS_REFRESH_S = 0.25  # How often the progress bar and the drain re-check counts.
AMOUNT_CENTS = 100  # Each transfer's amount: $1.00.
HISTOGRAM_BINS = 40
# Throughput over time: round bucket widths, at most 120 buckets (a readable plot).
TIMELINE_BUCKET_WIDTHS_S = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
TIMELINE_BUCKETS_MAX = 120
assert DURATION_S_MAX / TIMELINE_BUCKET_WIDTHS_S[-1] <= TIMELINE_BUCKETS_MAX
DEFAULT_URLS = {"rail": "http://127.0.0.1:8091", "pipeline": "http://127.0.0.1:8090"}
# Balanced's test bank accounts (the rail's default rules): success and an R03 return.
ROUTING_NUMBER = "021000021"
ACCOUNT_SUCCEEDS = "9900000002"
ACCOUNT_RETURNED = "9900000004"
CARD_NUMBER = "4111111111111111"
PERCENTILES = (50, 90, 99)

Target = Literal["rail", "pipeline"]
# Outcome codes in Recorder.outcome.
PENDING, SUCCEEDED, RETURNED, ERROR = 0, 1, 2, 3
OUTCOME_NAMES = {SUCCEEDED: "succeeded", RETURNED: "returned", PENDING: "pending", ERROR: "error"}


class LoadError(Exception):
    """The run cannot go ahead (bad arguments, a refused target, a failed setup)."""


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    target: Target
    url: str
    count: int | None = None  # None with no duration means DEFAULT_COUNT.
    duration_s: float | None = None
    rate: float | None = None  # Transfers per second; None is as fast as possible.
    concurrency: int = 32
    returns_percent: float = 0.0
    orders: int = 10
    drain_timeout_s: float = 30.0
    out_dir: Path = Path("load-report")
    allow_remote: bool = False
    receiver_host: str = "127.0.0.1"
    rail_secret: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        _check(self.target in ("rail", "pipeline"), f"unknown target {self.target!r}")
        _check(self.count is None or 1 <= self.count <= COUNT_MAX, f"count: 1..{COUNT_MAX}")
        _check(self.count is None or self.duration_s is None, "give --count or --duration")
        duration_ok = self.duration_s is None or 0 < self.duration_s <= DURATION_S_MAX
        _check(duration_ok, f"duration: up to {DURATION_S_MAX:.0f} s")
        _check(self.rate is None or 0 < self.rate <= RATE_MAX, f"rate: up to {RATE_MAX:.0f}/s")
        concurrency_ok = 1 <= self.concurrency <= CONCURRENCY_MAX
        _check(concurrency_ok, f"concurrency: 1..{CONCURRENCY_MAX}")
        _check(0 <= self.returns_percent <= 100, "returns: a percentage, 0..100")
        _check(1 <= self.orders <= ORDERS_MAX, f"orders: 1..{ORDERS_MAX}")
        drain_ok = 0 <= self.drain_timeout_s <= DRAIN_TIMEOUT_S_MAX
        _check(drain_ok, f"drain timeout: up to {DRAIN_TIMEOUT_S_MAX:.0f} s")

    @property
    def transfers_max(self) -> int:
        """The most transfers this run may start."""
        if self.count is not None:
            return self.count
        if self.duration_s is None:
            return DEFAULT_COUNT
        if self.rate is not None:
            return min(COUNT_MAX, math.ceil(self.rate * self.duration_s))
        return COUNT_MAX


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise LoadError(message)


def is_returned(index: int, returns_percent: float) -> bool:
    """Whether transfer `index` goes to the failing account: exactly ⌊n·p/100⌋ of the
    first n transfers do, spread evenly, so any prefix of the run has the same mix."""
    share = returns_percent / 100
    return math.floor((index + 1) * share) > math.floor(index * share)


def check_loopback(url: str) -> None:
    """Refuse a target that does not resolve only to loopback addresses."""
    host = URL(url).host
    if not host:
        raise LoadError(f"not an http(s) URL: {url}")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        raise LoadError(f"cannot resolve {host}: {error}") from None
    if not all(ipaddress.ip_address(str(address)).is_loopback for address in addresses):
        raise LoadError(f"{host} is not a loopback address; pass --allow-remote to load it")


class Recorder:
    """Per-transfer timings in flat arrays (monotonic seconds; NaN when not reached), so a
    million transfers cost ~30 MB rather than a million objects."""

    def __init__(self) -> None:
        self.started = array("d")
        self.accepted = array("d")
        self.finished = array("d")
        self.outcome = bytearray()
        self.accepted_count = 0
        self.errors = 0
        self.outcomes = 0
        self.changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self.started)

    def start(self, at_s: float) -> int:
        self.started.append(at_s)
        self.accepted.append(math.nan)
        self.finished.append(math.nan)
        self.outcome.append(PENDING)
        return len(self.started) - 1

    def accept(self, index: int, at_s: float) -> None:
        self.accepted[index] = at_s
        self.accepted_count += 1

    def fail(self, index: int) -> None:
        self.outcome[index] = ERROR
        self.errors += 1
        self.changed.set()

    def finish(self, index: int, outcome: int, at_s: float) -> None:
        """Record an outcome; a later one (a late return after success) replaces it."""
        assert outcome in (SUCCEEDED, RETURNED)
        if self.outcome[index] == ERROR:
            return
        if self.outcome[index] == PENDING:
            self.outcomes += 1
        self.outcome[index] = outcome
        self.finished[index] = at_s
        self.changed.set()


class Outcomes:
    """Maps incoming outcomes to transfers. An outcome may arrive before the POST that
    created its transfer has answered (the pipeline is fast): it waits here until then."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder
        self._index_of: dict[str, int] = {}
        self._early: dict[str, tuple[int, float]] = {}
        self._seen: set[str] = set()
        self.duplicates = 0
        self.rejected = 0

    def known(self, transfer_id: str, index: int) -> None:
        self._index_of[transfer_id] = index
        early = self._early.pop(transfer_id, None)
        if early is not None:
            self._recorder.finish(index, *early)

    def deliver(self, message_id: str, transfer_id: str, outcome: int) -> None:
        if message_id in self._seen:
            self.duplicates += 1
            return
        self._seen.add(message_id)
        at_s = time.monotonic()
        index = self._index_of.get(transfer_id)
        if index is None:
            self._early[transfer_id] = (outcome, at_s)
        else:
            self._recorder.finish(index, outcome, at_s)


Handler = Callable[[web.Request], Awaitable[web.Response]]


class Driver(Protocol):
    """One target's way of setting up and of starting one transfer."""

    async def prepare(self, receiver_url: str) -> None: ...

    async def submit(self, index: int) -> str:
        """Start transfer `index`; returns its id, raises LoadError when refused."""
        ...

    async def receive(self, request: web.Request) -> web.Response: ...


class RailDriver:
    def __init__(self, config: LoadConfig, session: aiohttp.ClientSession, outcomes: Outcomes):
        self._config = config
        self._session = session
        self._outcomes = outcomes
        self._run = secrets.token_hex(4)  # Ids unique to this run: the rail is idempotent.
        self._notify_url = ""
        self._webhook = None if config.rail_secret is None else Webhook(config.rail_secret)

    async def prepare(self, receiver_url: str) -> None:
        self._notify_url = receiver_url

    async def submit(self, index: int) -> str:
        returned = is_returned(index, self._config.returns_percent)
        body = {
            "id": f"LD-{self._run}-{index}",
            "kind": "credit",
            "routing_number": ROUTING_NUMBER,
            "account_number": ACCOUNT_RETURNED if returned else ACCOUNT_SUCCEEDS,
            "name": "Load Test",
            "amount_cents": AMOUNT_CENTS,
            "notify_url": self._notify_url,
        }
        entry = await _post(self._session, f"{self._config.url}/entries", body)
        return str(entry["id"])

    async def receive(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self._webhook is not None:
            try:
                self._webhook.verify(raw, dict(request.headers))
            except WebhookVerificationError:
                self._outcomes.rejected += 1
                return web.Response(status=400)
        notification = json.loads(raw)
        outcome = {"entry.settled": SUCCEEDED, "entry.returned": RETURNED}.get(notification["type"])
        if outcome is not None:
            entry_id = notification["entry"]["id"]
            self._outcomes.deliver(notification["id"], entry_id, outcome)
        return web.Response(status=204)


class PipelineDriver:
    def __init__(self, config: LoadConfig, session: aiohttp.ClientSession, outcomes: Outcomes):
        self._config = config
        self._session = session
        self._outcomes = outcomes
        self._auth: dict[str, str] = {}
        self._webhook: Webhook | None = None
        self._orders: list[tuple[str, str, str]] = []  # (order, good bank, failing bank)

    async def _call(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await _post(
            self._session, f"{self._config.url}{path}", body, headers=self._auth, method=method
        )

    async def prepare(self, receiver_url: str) -> None:
        key = (await self._call("POST", "/api_keys", {}))["api_keys"][0]["secret"]
        token = base64.b64encode(f"{key}:".encode()).decode()
        self._auth = {"Authorization": f"Basic {token}"}
        await self._call("POST", "/marketplaces", {"name": "Load test"})
        callback = (await self._call("POST", "/callbacks", {"url": receiver_url}))["callbacks"][0]
        self._webhook = Webhook(callback["secret"])
        card_body = {"number": CARD_NUMBER, "expiration_month": 12, "expiration_year": 2030}
        card = (await self._call("POST", "/cards", card_body))["cards"][0]["id"]
        per_order = -(-self._config.transfers_max // self._config.orders)
        for index in range(self._config.orders):
            self._orders.append(await self._funded_order(index, card, per_order * AMOUNT_CENTS))

    async def _funded_order(self, index: int, card: str, amount_cents: int) -> tuple[str, str, str]:
        merchant = await self._call("POST", "/customers", {"name": f"Load merchant {index}"})
        merchant_id = merchant["customers"][0]["id"]
        banks = []
        for account_number in (ACCOUNT_SUCCEEDS, ACCOUNT_RETURNED):
            bank_body = {
                "name": f"Load merchant {index}",
                "routing_number": ROUTING_NUMBER,
                "account_number": account_number,
                "account_type": "checking",
            }
            created = await self._call("POST", "/bank_accounts", bank_body)
            bank_id = created["bank_accounts"][0]["id"]
            link = {"links": {"customer": merchant_id}}
            await self._call("PUT", f"/bank_accounts/{bank_id}", link)
            banks.append(bank_id)
        order = (await self._call("POST", f"/customers/{merchant_id}/orders", {}))["orders"][0]
        debit = {"amount": amount_cents, "order": order["id"]}
        await self._call("POST", f"/cards/{card}/debits", debit)
        return (order["id"], banks[0], banks[1])

    async def submit(self, index: int) -> str:
        order_id, good_bank, failing_bank = self._orders[index % len(self._orders)]
        bank = failing_bank if is_returned(index, self._config.returns_percent) else good_bank
        body = {"amount": AMOUNT_CENTS, "order": order_id}
        credit = await self._call("POST", f"/bank_accounts/{bank}/credits", body)
        return str(credit["credits"][0]["id"])

    async def receive(self, request: web.Request) -> web.Response:
        raw = (await request.read()).decode()
        assert self._webhook is not None
        try:
            payload = self._webhook.verify(raw, dict(request.headers))
        except WebhookVerificationError:
            self._outcomes.rejected += 1
            return web.Response(status=400)
        event = payload["events"][0]
        outcome = {"credit.succeeded": SUCCEEDED, "credit.failed": RETURNED}.get(event["type"])
        if outcome is not None:
            credit_id = event["entity"]["credits"][0]["id"]
            self._outcomes.deliver(request.headers["webhook-id"], credit_id, outcome)
        return web.Response(status=204)


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> dict[str, Any]:
    """One JSON request; anything but 200/201 is a LoadError carrying the answer."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    try:
        async with session.request(
            method, url, json=body, headers=headers, timeout=timeout
        ) as response:
            payload = await response.read()
            if response.status not in (200, 201):
                raise LoadError(f"{method} {url} answered {response.status}: {payload[:200]!r}")
    except (aiohttp.ClientError, TimeoutError) as error:
        raise LoadError(f"{method} {url} failed: {error!r}") from None
    answer: dict[str, Any] = json.loads(payload)
    return answer


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
        runner, receiver_url = await _serve(config.receiver_host, driver.receive)
        try:
            await driver.prepare(receiver_url)
            async with LiveProgress(config, recorder):
                started_s = time.monotonic()
                await _generate(config, driver, recorder, outcomes)
                load_ended_s = time.monotonic()
                await _drain(config, recorder)
            ended_s = time.monotonic()
        finally:
            await runner.cleanup()
    clock = Timing(started_s, load_ended_s, ended_s)
    summary = summarize(config, recorder, outcomes, clock)
    write_report(config.out_dir, summary)
    return summary


async def _serve(host: str, handler: Handler) -> tuple[web.AppRunner, str]:
    """The outcome receiver, on an ephemeral port of `host`."""
    app = web.Application()
    app.router.add_post("/outcomes", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    port = listener.getsockname()[1]
    await web.SockSite(runner, listener).start()
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    return runner, f"http://{shown}:{port}/outcomes"


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


@dataclass(frozen=True)
class Timing:
    started_s: float
    load_ended_s: float
    ended_s: float


def percentiles(sorted_values: list[float]) -> dict[str, float]:
    """Nearest-rank percentiles, the mean and the max, rounded to 0.01."""
    if not sorted_values:
        return {"count": 0}
    count = len(sorted_values)
    figures: dict[str, float] = {"count": count}
    for percent in PERCENTILES:
        figures[f"p{percent}"] = round(sorted_values[math.ceil(percent / 100 * count) - 1], 2)
    figures["max"] = round(sorted_values[-1], 2)
    figures["mean"] = round(sum(sorted_values) / count, 2)
    return figures


def histogram(values: list[float], bins: int = HISTOGRAM_BINS) -> dict[str, list[Any]]:
    """Equal-width bins from 0 to the maximum; every value lands in exactly one bin."""
    if not values:
        return {"edges": [], "counts": []}
    width = max(values) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int(value / width), bins - 1)] += 1
    return {"edges": [round(width * i, 3) for i in range(bins + 1)], "counts": counts}


def bucket_width_s(span_s: float) -> float:
    """The narrowest round bucket that draws the run in at most TIMELINE_BUCKETS_MAX."""
    for width_s in TIMELINE_BUCKET_WIDTHS_S:
        if span_s / width_s <= TIMELINE_BUCKETS_MAX:
            return width_s
    return TIMELINE_BUCKET_WIDTHS_S[-1]


def _timeline(recorder: Recorder, timing: Timing) -> dict[str, Any]:
    """Submissions accepted and outcomes received per time bucket since the start."""
    span_s = max(timing.ended_s - timing.started_s, 1e-9)
    width_s = bucket_width_s(span_s)
    buckets = max(1, math.ceil(span_s / width_s))
    accepted, finished = [0] * buckets, [0] * buckets
    for series, moments in ((accepted, recorder.accepted), (finished, recorder.finished)):
        for at_s in moments:
            if not math.isnan(at_s):
                series[min(max(0, int((at_s - timing.started_s) / width_s)), buckets - 1)] += 1
    rows = [
        {"start_s": round(i * width_s, 3), "accepted": accepted[i], "outcomes": finished[i]}
        for i in range(buckets)
    ]
    return {"bucket_s": width_s, "rows": rows}


def summarize(
    config: LoadConfig, recorder: Recorder, outcomes: Outcomes, timing: Timing
) -> dict[str, Any]:
    pairs = zip(recorder.started, recorder.accepted, recorder.finished, strict=True)
    submit_ms, outcome_ms = [], []
    for started, accepted, finished in pairs:
        if not math.isnan(accepted):
            submit_ms.append((accepted - started) * 1000)
        if not math.isnan(finished):
            outcome_ms.append((finished - started) * 1000)
    submit_ms.sort()
    outcome_ms.sort()
    mix = {name: recorder.outcome.count(code) for code, name in OUTCOME_NAMES.items()}
    load_s = max(timing.load_ended_s - timing.started_s, 1e-9)
    last_outcome_s = max((f for f in recorder.finished if not math.isnan(f)), default=math.nan)
    outcome_span_s = last_outcome_s - timing.started_s
    settings = asdict(config) | {"out_dir": str(config.out_dir), "rail_secret": None}
    return {
        "config": settings,
        "transfers": {
            "started": len(recorder),
            "accepted": recorder.accepted_count,
            "errors": recorder.errors,
        },
        "outcomes": mix,
        "load_duration_s": round(load_s, 3),
        "total_duration_s": round(timing.ended_s - timing.started_s, 3),
        "throughput_per_s": {
            "accepted": round(recorder.accepted_count / load_s, 1),
            "outcomes": round(recorder.outcomes / outcome_span_s, 1) if outcome_ms else 0.0,
        },
        "submit_latency_ms": percentiles(submit_ms),
        "outcome_latency_ms": percentiles(outcome_ms),
        "histograms": {"submit_ms": histogram(submit_ms), "outcome_ms": histogram(outcome_ms)},
        "timeline": _timeline(recorder, timing),
        "notifications": {"duplicates": outcomes.duplicates, "rejected": outcomes.rejected},
    }


FIGURES = ("throughput", "latency", "outcomes")
FIGURE_SIZE_INCHES = (8.0, 3.6)
FIGURE_DPI = 100  # 800 x 360 pixels: readable in the page, ~30 KB per PNG.


def write_report(out_dir: Path, summary: dict[str, Any]) -> dict[str, Path]:
    """report.html (figures embedded), one PNG per figure, and summary.json."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pngs = render_figures(summary)
    written = {}
    for name, png in pngs.items():
        written[name] = out_dir / f"{name}.png"
        written[name].write_bytes(png)
    written["summary"] = out_dir / "summary.json"
    written["summary"].write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    written["report"] = out_dir / "report.html"
    written["report"].write_text(render_html(summary, pngs), encoding="utf-8")
    return written


def render_figures(summary: dict[str, Any]) -> dict[str, bytes]:
    """The figures as PNG bytes, drawn with matplotlib's Agg canvas (no display, no
    pyplot global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawings = {"throughput": _draw_throughput, "latency": _draw_latency, "outcomes": _draw_mix}
    pngs = {}
    for name in FIGURES:
        figure = Figure(figsize=FIGURE_SIZE_INCHES, layout="constrained")
        FigureCanvasAgg(figure)  # Renders through Agg, whatever backend is configured.
        drawings[name](figure, summary)
        output = BytesIO()
        figure.savefig(output, format="png", dpi=FIGURE_DPI)
        pngs[name] = output.getvalue()
    return pngs


def _draw_throughput(figure: Any, summary: dict[str, Any]) -> None:
    axes = figure.subplots()
    width_s, rows = summary["timeline"]["bucket_s"], summary["timeline"]["rows"]
    starts = [row["start_s"] for row in rows] + [rows[-1]["start_s"] + width_s]
    for key, label in (("accepted", "submissions accepted/s"), ("outcomes", "outcomes/s")):
        rates = [row[key] / width_s for row in rows]
        axes.stairs(rates, starts, label=label)
    axes.set_xlabel(f"seconds since start ({width_s:g} s buckets)")
    axes.set_ylabel("per second")
    axes.set_title("Throughput over time")
    axes.legend(loc="upper right")


def _draw_latency(figure: Any, summary: dict[str, Any]) -> None:
    panels = figure.subplots(1, 2)
    titles = {"submit_ms": "Submission latency", "outcome_ms": "Submission → outcome"}
    figures = {"submit_ms": "submit_latency_ms", "outcome_ms": "outcome_latency_ms"}
    for axes, key in zip(panels, ("submit_ms", "outcome_ms"), strict=True):
        data = summary["histograms"][key]
        axes.set_title(titles[key])
        axes.set_xlabel("ms")
        if not data["counts"]:
            axes.text(0.5, 0.5, "no data", ha="center", transform=axes.transAxes)
            continue
        edges = data["edges"]
        axes.bar(edges[:-1], data["counts"], width=edges[1] - edges[0], align="edge")
        for percent, style in zip(PERCENTILES, (":", "--", "-"), strict=True):
            value = summary[figures[key]][f"p{percent}"]
            axes.axvline(value, color="black", linestyle=style, label=f"p{percent} {value:.1f}")
        axes.legend(loc="upper right", fontsize="small")


def _draw_mix(figure: Any, summary: dict[str, Any]) -> None:
    axes = figure.subplots()
    names = list(summary["outcomes"])
    counts = [summary["outcomes"][name] for name in names]
    bars = axes.bar(names, counts, color=["tab:green", "tab:red", "tab:gray", "black"])
    axes.bar_label(bars)
    axes.margins(y=0.15)  # Room for the labels above the tallest bar.
    axes.set_title("Outcome mix")
    axes.set_ylabel("transfers")


def _table(rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th>{html.escape(str(name))}</th><td>{html.escape(str(value))}</td></tr>"
        for name, value in rows
    )
    return f"<table>{cells}</table>"


def render_html(summary: dict[str, Any], pngs: dict[str, bytes]) -> str:
    config = summary["config"]
    images = "".join(
        f'<h2>{name.title()}</h2><img alt="{name}" '
        f'src="data:image/png;base64,{base64.b64encode(pngs[name]).decode()}">'
        for name in FIGURES
    )
    latency_rows = [
        (f"{label} {key}", value)
        for label, field in (("submit", "submit_latency_ms"), ("outcome", "outcome_latency_ms"))
        for key, value in summary[field].items()
    ]
    setup = [(key, value) for key, value in config.items() if value is not None]
    figures = [
        *summary["transfers"].items(),
        *((f"outcome {name}", count) for name, count in summary["outcomes"].items()),
        ("load duration (s)", summary["load_duration_s"]),
        ("accepted/s", summary["throughput_per_s"]["accepted"]),
        ("outcomes/s", summary["throughput_per_s"]["outcomes"]),
    ]
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>ballast load: {html.escape(config['target'])}</title>"
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;"
        "padding:.2em .6em;text-align:left}img{max-width:100%}</style></head><body>"
        f"<h1>ballast load against the {html.escape(config['target'])}</h1>"
        f"<h2>Run</h2>{_table(setup)}<h2>Figures</h2>{_table(figures)}"
        f"<h2>Latency (ms)</h2>{_table(latency_rows)}{images}</body></html>\n"
    )


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


def one_line(summary: dict[str, Any]) -> str:
    transfers, mix = summary["transfers"], summary["outcomes"]
    submit = summary["submit_latency_ms"]
    latency = (
        f"p50 {submit['p50']} ms, p99 {submit['p99']} ms, max {submit['max']} ms"
        if submit["count"]
        else "no latency"
    )
    return (
        f"{transfers['accepted']}/{transfers['started']} accepted "
        f"({summary['throughput_per_s']['accepted']}/s; {latency}); "
        f"{mix['succeeded']} succeeded, {mix['returned']} returned, "
        f"{mix['pending']} pending, {transfers['errors']} errors"
    )
