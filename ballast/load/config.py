"""`ballast load`'s settings: the bounds every run is held to, the checks that hold it to
them, and Balanced's test instruments the transfers use."""

from __future__ import annotations

import ipaddress
import math
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from yarl import URL

# Every run is bounded, whatever its arguments.
COUNT_MAX = 1_000_000  # Transfers per run: ~40 MB of timings, minutes of load.
DURATION_S_MAX = 3600.0  # An hour of load is a soak test; longer is a mistake.
RATE_MAX = 100_000.0  # Far above what one Python process can send.
CONCURRENCY_MAX = 1024  # Sockets in flight; a default ulimit allows 1024 descriptors.
DRAIN_TIMEOUT_S_MAX = 600.0
ORDERS_MAX = 1000
DEFAULT_COUNT = 1000
AMOUNT_CENTS = 100  # Each transfer's amount: $1.00.
DEFAULT_URLS = {"rail": "http://127.0.0.1:8091", "pipeline": "http://127.0.0.1:8090"}
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
