"""`ballast load` from its parsed arguments: the configuration (command line over the
scenario's own load shape), the run with Ctrl-C handled, the verdict and the exit code.

Exit codes: 0 passed; 1 a threshold failed (with no thresholds: a transfer failed);
2 the run could not go ahead (bad arguments, scenario, threshold or stages; a refused
target); 130 interrupted by Ctrl-C (the report is still written)."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from ballast.load.arrival import parse_duration_s, parse_stages
from ballast.load.config import (
    DEFAULT_PIPELINE_RAIL_URL,
    DEFAULT_URLS,
    REPORTS_DIR,
    LoadConfig,
    LoadError,
)
from ballast.load.driver import run, stop_on_interrupt
from ballast.load.report import one_line
from ballast.load.scenario import LoadShape, load_scenario
from ballast.load.thresholds import parse_thresholds, render_results

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
CONTROL_TOKEN_ENV = "BALLAST_RAIL_CONTROL_TOKEN"
RAIL_SECRET_ENV = "BALLAST_RAIL_SECRET"


def report_dir(target: str, scenario_name: str, now: datetime | None = None) -> Path:
    """load-reports/20261130-142501-rail-payday: a new folder per run, never overwritten."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = REPORTS_DIR / f"{stamp}-{target}-{scenario_name}"
    candidate, suffix = base, 1
    while candidate.exists():
        suffix += 1
        candidate = base.with_name(f"{base.name}-{suffix}")
    return candidate


def _shape(args: argparse.Namespace, shape: LoadShape) -> dict[str, Any]:
    """The load's shape: the command line's when it gives any, else the scenario's."""
    given = (args.count, args.duration, args.rate, args.stages)
    if any(value is not None for value in given):
        count, duration, rate, stages = given
    else:
        count, duration, rate, stages = shape.count, shape.duration, shape.rate, shape.stages
    return {
        "count": count,
        "duration_s": None if duration is None else parse_duration_s(str(duration)),
        "rate": rate,
        "stages": parse_stages(stages) if stages else (),
    }


def config_from_args(args: argparse.Namespace) -> LoadConfig:
    scenario = load_scenario(args.scenario) if args.scenario else None
    if scenario is not None and args.returns:
        raise LoadError("--returns is for the plain run; a scenario sets failing_percent per step")
    shape = scenario.load if scenario is not None else LoadShape()
    target = args.target or shape.target or "rail"
    url = (args.url or DEFAULT_URLS[target]).rstrip("/")
    rail_url = args.rail_url or (url if target == "rail" else DEFAULT_PIPELINE_RAIL_URL)
    return LoadConfig(
        target=target,
        url=url,
        **_shape(args, shape),
        concurrency=args.concurrency if args.concurrency is not None else shape.concurrency,
        returns_percent=args.returns,
        scenario=scenario,
        # The scenario's thresholds and the command line's, each once.
        thresholds=parse_thresholds(
            list(dict.fromkeys([*shape.thresholds, *(args.threshold or [])]))
        ),
        orders=args.orders,
        drain_timeout_s=args.drain_timeout,
        out_dir=args.out or report_dir(target, scenario.name if scenario else "credits"),
        allow_remote=args.allow_remote,
        receiver_host=args.receiver_host,
        rail_secret=args.rail_secret or os.environ.get(RAIL_SECRET_ENV),
        rail_url=rail_url.rstrip("/"),
        rail_control_token=os.environ.get(CONTROL_TOKEN_ENV),
        progress=not args.no_progress,
        figures=not args.no_figures,
        command_line=shlex.join(["ballast", *sys.argv[1:]]),
    )


async def _run_until_interrupted(config: LoadConfig) -> dict[str, Any]:
    stopped = asyncio.Event()
    stop_on_interrupt(stopped)
    return await run(config, stopped)


def exit_code(summary: dict[str, Any]) -> int:
    if summary["run"].get("interrupted"):
        return EXIT_INTERRUPTED
    if summary["thresholds"]:
        passed = all(result["passed"] for result in summary["thresholds"])
        return EXIT_PASSED if passed else EXIT_FAILED
    return EXIT_PASSED if summary["transfers"]["errors"] == 0 else EXIT_FAILED


def main(args: argparse.Namespace) -> int:
    if getattr(args, "load_command", None) == "locustfile":
        # Printed, not imported: importing the locustfile patches the standard library.
        print(Path(__file__).with_name("locustfile.py"))
        return EXIT_PASSED
    if getattr(args, "load_command", None) == "compare":
        from ballast.load.compare import main as compare_main

        return compare_main(args)
    try:
        config = config_from_args(args)
        summary = asyncio.run(_run_until_interrupted(config))
    except LoadError as error:
        print(f"ballast load: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(one_line(summary))
    if summary["thresholds"]:
        print("thresholds:")
        print(render_results(summary["thresholds"]))
    assert config.out_dir is not None
    print(f"report: {config.out_dir / 'report.html'}")
    return exit_code(summary)
