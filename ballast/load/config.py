"""`ballast load`'s settings: the bounds every run is held to, the checks that hold it to
them, and Balanced's test instruments the transfers use."""

from __future__ import annotations

import ipaddress
import math
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from yarl import URL

if TYPE_CHECKING:
    from ballast.load.arrival import Stage
    from ballast.load.scenario import Scenario
    from ballast.load.thresholds import Threshold

# Every run is bounded, whatever its arguments.
COUNT_MAX = 1_000_000  # Transfers per run: ~40 MB of timings, minutes of load.
DURATION_S_MAX = 3600.0  # An hour of load is a soak test; longer is a mistake.
RATE_MAX = 100_000.0  # Far above what one Python process can send.
CONCURRENCY_MAX = 1024  # Sockets in flight; a default ulimit allows 1024 descriptors.
# Requests in flight by default: the closed model's users; the open model's ceiling, high
# enough that a slow target delays answers (latency) rather than sends (the rate).
CLOSED_CONCURRENCY = 32
OPEN_IN_FLIGHT_MAX = CONCURRENCY_MAX
DRAIN_TIMEOUT_S_MAX = 600.0
ORDERS_MAX = 1000
DEFAULT_COUNT = 1000
AMOUNT_CENTS = 100  # Each transfer's amount: $1.00.
# A rail started alone (`ballast rails`), and `ballast up`'s API with its own rail (the port
# after the API's).
DEFAULT_URLS = {"rail": "http://127.0.0.1:8095", "pipeline": "http://127.0.0.1:8090"}
DEFAULT_PIPELINE_RAIL_URL = "http://127.0.0.1:8091"
REPORTS_DIR = Path("load-reports")  # Each run writes a timestamped folder in here.
# Balanced's test bank accounts (the rail's default rules): success and an R03 return.
ROUTING_NUMBER = "021000021"
ACCOUNT_SUCCEEDS = "9900000002"
ACCOUNT_RETURNED = "9900000004"
CARD_NUMBER = "4111111111111111"

Target = Literal["rail", "pipeline"]


class LoadError(Exception):
    """The run cannot go ahead (bad arguments, a refused target, a failed setup)."""


@dataclass(frozen=True, kw_only=True)
class LoadConfig:
    target: Target
    url: str
    count: int | None = None  # None with no duration means DEFAULT_COUNT.
    duration_s: float | None = None
    # The open model: transfers per second (the start rate when stages follow); None
    # with no stages is the closed model, as fast as `concurrency` in flight allow.
    rate: float | None = None
    stages: tuple[Stage, ...] = ()
    concurrency: int | None = None  # None: CLOSED_CONCURRENCY or OPEN_IN_FLIGHT_MAX.
    returns_percent: float = 0.0  # The default scenario's share of failing transfers.
    scenario: Scenario | None = None  # None: $1.00 credits, returns_percent failing.
    thresholds: tuple[Threshold, ...] = ()
    orders: int = 10
    drain_timeout_s: float = 30.0
    out_dir: Path | None = None  # None: a timestamped folder in REPORTS_DIR.
    allow_remote: bool = False
    receiver_host: str = "127.0.0.1"
    rail_secret: str | None = None
    # The rail's control API, read for the report (day length, rules): the target itself
    # for a rail run, the rail behind the API for a pipeline run.
    rail_url: str | None = None
    rail_control_token: str | None = None
    progress: bool = True
    # Draw the report's figures (about a quarter of a second each); without them the
    # report has every number but no picture (CI runs that only gate on thresholds).
    figures: bool = True
    command_line: str = ""

    def __post_init__(self) -> None:
        _check(self.target in ("rail", "pipeline"), f"unknown target {self.target!r}")
        _check(self.count is None or 1 <= self.count <= COUNT_MAX, f"count: 1..{COUNT_MAX}")
        _check(self.count is None or self.duration_s is None, "give --count or --duration")
        duration_ok = self.duration_s is None or 0 < self.duration_s <= DURATION_S_MAX
        _check(duration_ok, f"duration: up to {DURATION_S_MAX:.0f} s")
        _check(self.rate is None or 0 < self.rate <= RATE_MAX, f"rate: up to {RATE_MAX:.0f}/s")
        _check(not (self.stages and self.duration_s), "give --stages or --duration, not both")
        concurrency_ok = self.concurrency is None or 1 <= self.concurrency <= CONCURRENCY_MAX
        _check(concurrency_ok, f"concurrency: 1..{CONCURRENCY_MAX}")
        _check(0 <= self.returns_percent <= 100, "returns: a percentage, 0..100")
        _check(1 <= self.orders <= ORDERS_MAX, f"orders: 1..{ORDERS_MAX}")
        drain_ok = 0 <= self.drain_timeout_s <= DRAIN_TIMEOUT_S_MAX
        _check(drain_ok, f"drain timeout: up to {DRAIN_TIMEOUT_S_MAX:.0f} s")
        from ballast.load.arrival import check_stages
        from ballast.load.scenario import check_target

        check_stages(self.stages)
        check_target(self.effective_scenario, self.target)

    @property
    def effective_scenario(self) -> Scenario:
        from ballast.load.scenario import default_scenario

        return self.scenario or default_scenario(self.returns_percent)

    @property
    def is_open(self) -> bool:
        return self.rate is not None or bool(self.stages)

    @property
    def in_flight_max(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        return OPEN_IN_FLIGHT_MAX if self.is_open else CLOSED_CONCURRENCY

    @property
    def transfers_max(self) -> int:
        """The most transfers this run may start."""
        from ballast.load.arrival import stages_count

        if self.stages:
            most = min(COUNT_MAX, stages_count(self.stages, self.rate or 0.0))
            return most if self.count is None else min(self.count, most)
        if self.count is not None:
            return self.count
        if self.duration_s is None:
            return DEFAULT_COUNT
        if self.rate is not None:
            return min(COUNT_MAX, math.ceil(self.rate * self.duration_s))
        return COUNT_MAX

    @property
    def arrival_stages(self) -> tuple[Stage, ...]:
        """The open model's stages: `stages`, or one at `rate` for the run's length."""
        from ballast.load.arrival import Stage

        if self.stages or self.rate is None:
            return self.stages
        length_s = self.duration_s or self.transfers_max / self.rate
        return (Stage(length_s, self.rate),)


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise LoadError(message)


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
