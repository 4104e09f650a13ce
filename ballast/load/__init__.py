"""`ballast load`: drive load against the rail alone or the whole pipeline, then report.

Two targets:
- `rail`: POST /entries straight to a rail, each with a `notify_url` on a local receiver,
  so an outcome is the rail's `entry.settled` / `entry.returned` / `entry.corrected`
  notification;
- `pipeline`: through the API, as a marketplace would. It creates an API key and a
  marketplace, subscribes a local receiver with POST /callbacks, funds `--orders` orders
  with card debits, then runs the scenario's credits, refunds, reversals and settlements;
  a credit's outcome is its signed `credit.succeeded` / `credit.failed` callback.

What runs is a scenario (`scenario`: a TOML mix of steps with weights, amounts, failing /
late-returning / corrected shares and think times; three ship in `scenarios/`). Load is
the open model (`--rate`, `--stages`: each transfer starts at its scheduled time and its
latency counts from then, `arrival`) or the closed model (`--concurrency` users), always
bounded (COUNT_MAX, DURATION_S_MAX, …) and loopback-only unless `--allow-remote`.
Thresholds (`thresholds`) decide the exit code. The report (`summary`, `figures`,
`report`) goes to a timestamped folder; `compare` sets two runs side by side. `locustfile`
runs the same scenarios on Locust's workers, distributed.

The package: `config` (bounds and checks), `arrival`, `scenario`, `thresholds`,
`recorder` (timings and outcomes), `latency` (HDR histograms), `client` (JSON over HTTP,
the Balanced API client, the local receiver; bench/ uses it too), `railcontrol` (the
rail's clock and rules), `targets` (the rail and pipeline drivers), `driver` (the run),
`live` (the progress bar), `metadata`, `summary`, `figures`, `report`, `compare`,
`command` (the CLI's glue), `locustfile` and `distributed` (Locust).
"""

from __future__ import annotations

from ballast.load.client import ApiClient, request_json, serve
from ballast.load.config import (
    ACCOUNT_RETURNED,
    ACCOUNT_SUCCEEDS,
    AMOUNT_CENTS,
    CARD_NUMBER,
    CONCURRENCY_MAX,
    COUNT_MAX,
    DEFAULT_COUNT,
    DRAIN_TIMEOUT_S_MAX,
    DURATION_S_MAX,
    ORDERS_MAX,
    RATE_MAX,
    ROUTING_NUMBER,
    LoadConfig,
    LoadError,
    Target,
    check_loopback,
)
from ballast.load.driver import run
from ballast.load.recorder import Outcomes, Recorder
from ballast.load.summary import bucket_width_s, summarize
from ballast.load.targets import Driver, PipelineDriver, RailDriver

__all__ = [
    "ACCOUNT_RETURNED",
    "ACCOUNT_SUCCEEDS",
    "AMOUNT_CENTS",
    "CARD_NUMBER",
    "CONCURRENCY_MAX",
    "COUNT_MAX",
    "DEFAULT_COUNT",
    "DRAIN_TIMEOUT_S_MAX",
    "DURATION_S_MAX",
    "ORDERS_MAX",
    "RATE_MAX",
    "ROUTING_NUMBER",
    "ApiClient",
    "Driver",
    "LoadConfig",
    "LoadError",
    "Outcomes",
    "PipelineDriver",
    "RailDriver",
    "Recorder",
    "Target",
    "bucket_width_s",
    "check_loopback",
    "request_json",
    "run",
    "serve",
    "summarize",
]
