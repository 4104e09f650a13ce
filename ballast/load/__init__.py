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

The package: `config` (bounds and checks), `recorder` (timings and outcomes), `client`
(JSON over HTTP, the Balanced API client, the local receiver; bench/ uses it too),
`targets` (the rail and pipeline drivers), `driver` (the run), `report` (summary, figures,
HTML). What `ballast load` and its tests use is importable from here.
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
    is_returned,
)
from ballast.load.driver import config_from_args, main, run
from ballast.load.recorder import Outcomes, Recorder
from ballast.load.report import (
    bucket_width_s,
    histogram,
    one_line,
    percentiles,
    render_figures,
    render_html,
    summarize,
    write_report,
)
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
    "config_from_args",
    "histogram",
    "is_returned",
    "main",
    "one_line",
    "percentiles",
    "render_figures",
    "render_html",
    "request_json",
    "run",
    "serve",
    "summarize",
    "write_report",
]
