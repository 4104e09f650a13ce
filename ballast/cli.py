"""The `ballast` command line: `up`, `status`, `api`, `worker`, `rails`, `audit`, `migrate`,
`load`.

Each subcommand imports what it runs only when it runs, so that `ballast up` and
`ballast --help` do not load the API, the workers or the rail.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ballast.launcher import API_PROCESSES_MAX
from ballast.logs import LEVELS

if TYPE_CHECKING:
    from config import Settings

DEFAULT_API_PORT = 8090
DEFAULT_WORKERS = 1
# Two seconds per simulated banking day: an ACH payout settles in a few seconds locally.
DEFAULT_UP_RAIL_DAY_MS = 2000
LOCAL_HOST = "127.0.0.1"
PORT_MAX = 65535
# What a command that refuses its configuration exits with (as argparse on bad usage).
EXIT_CONFIG_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default: sys.argv[1:]), run the subcommand, return its exit code."""
    parser = _parser()
    # `ballast rails` hands its arguments to the rail's own command line (rails/__main__.py),
    # so that `python -m rails` and `ballast rails` are one program.
    args, rest = parser.parse_known_args(argv)
    if rest and not args.passes_rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    code: int = args.run(args)
    assert isinstance(code, int)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ballast", description="Marketplace escrow and payout engine."
    )
    parser.set_defaults(passes_rest=False)
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run the whole system locally (API, workers, rail)")
    up.add_argument("--port", type=_port, default=DEFAULT_API_PORT, help="API port")
    up.add_argument("--workers", type=_count, default=DEFAULT_WORKERS, help="worker processes")
    up.add_argument(
        "--api-processes",
        type=_api_processes,
        default=1,
        help=f"API processes sharing the API port, 1 to {API_PROCESSES_MAX}",
    )
    up.add_argument(
        "--rail-day-ms",
        type=_count,
        default=DEFAULT_UP_RAIL_DAY_MS,
        help="length of one simulated banking day, in milliseconds",
    )
    up.add_argument(
        "--keep-data", action="store_true", help="keep the embedded servers' data on exit"
    )
    _add_log_level(up)
    up.set_defaults(run=_run_up)
    commands.add_parser(
        "status", help="print what `ballast up` printed: its URLs and API key"
    ).set_defaults(run=_run_status)

    api = commands.add_parser("api", help="run the HTTP API")
    api.add_argument(
        "--processes",
        type=_api_processes,
        default=1,
        help=f"API processes sharing the port (SO_REUSEPORT), 1 to {API_PROCESSES_MAX}",
    )
    _add_log_level(api)
    api.set_defaults(run=_run_api)
    worker = commands.add_parser("worker", help="run one background worker")
    _add_log_level(worker)
    worker.set_defaults(run=_run_worker)

    # Its options are the rail's own (`ballast rails --help` lists them).
    rails = commands.add_parser("rails", help="run the simulated ACH rail", add_help=False)
    rails.set_defaults(run=_run_rails, passes_rest=True)

    commands.add_parser("audit", help="check the ledger's invariants").set_defaults(run=_run_audit)
    commands.add_parser(
        "migrate", help="bring the database to the newest schema migration"
    ).set_defaults(run=_run_migrate)

    _add_load_parser(commands)
    return parser


def _add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        choices=sorted(LEVELS),
        default=None,
        help="info brings back a line per job; default: our own lines at info, "
        "per-job lines (arq's) at warning ($BALLAST_LOG_LEVEL)",
    )


def _add_load_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`ballast load`: its bounds are checked by ballast.load.LoadConfig, imported only
    when the command runs."""
    load = commands.add_parser(
        "load",
        help="drive load against the rail or the whole pipeline and write a report",
        description="Drive load against the rail or the whole pipeline and write a report "
        "(exit codes: 0 passed, 1 a threshold or transfer failed, 2 bad input, 130 Ctrl-C). "
        "`ballast load compare RUN_A RUN_B` compares two runs.",
    )
    load.add_argument("--target", choices=("rail", "pipeline"), default=None, help="default: rail")
    load.add_argument("--url", default=None, help="default: the local rail or API port")
    load.add_argument(
        "--scenario",
        default=None,
        help="TOML scenario file, or a shipped one: payday, marketplace-day, soak",
    )
    amount = load.add_mutually_exclusive_group()
    amount.add_argument("--count", type=_count, default=None, help="transfers (default 1000)")
    amount.add_argument("--duration", default=None, help="length of the load, e.g. 90s, 5m")
    load.add_argument(
        "--rate",
        type=float,
        default=None,
        help="open model: transfers started per second, on schedule (default: closed model)",
    )
    load.add_argument(
        "--stages",
        default=None,
        help="open model, ramping: DURATION:RATE,… e.g. 30s:100,60s:500,30s:0 (from --rate or 0)",
    )
    load.add_argument(
        "--concurrency",
        type=_count,
        default=None,
        help="closed model: users (default 32); open model: most requests in flight (1024)",
    )
    load.add_argument(
        "--threshold",
        action="append",
        default=None,
        metavar="EXPR",
        help="pass/fail criterion, repeatable: p99<250ms, e2e_p95<5s, errors<0.1%%, rate>100",
    )
    load.add_argument(
        "--returns", type=float, default=0.0, help="percent sent to the failing test account"
    )
    load.add_argument("--orders", type=_count, default=10, help="pipeline: funded orders")
    load.add_argument(
        "--drain-timeout", type=float, default=30.0, help="seconds to wait for outcomes"
    )
    load.add_argument(
        "--out", type=Path, default=None, help="report folder (default: load-reports/<time>-…)"
    )
    load.add_argument(
        "--allow-remote", action="store_true", help="allow a target that is not loopback"
    )
    load.add_argument(
        "--receiver-host", default=LOCAL_HOST, help="where outcomes are received (bind host)"
    )
    load.add_argument(
        "--rail-secret",
        default=None,
        help="rail: verify notification signatures (default: $BALLAST_RAIL_SECRET)",
    )
    load.add_argument(
        "--rail-url",
        default=None,
        help="the rail's control API, for its clock and rules (token: "
        "$BALLAST_RAIL_CONTROL_TOKEN; default: the rail target, or `ballast up`'s, :8091)",
    )
    load.add_argument("--no-progress", action="store_true", help="no live progress bar")
    load.add_argument(
        "--no-figures", action="store_true", help="a report without figures (quicker, for CI)"
    )
    load.set_defaults(run=_run_load, load_command=None)
    actions = load.add_subparsers(dest="load_command", metavar="[compare | locustfile]")
    compare = actions.add_parser("compare", help="compare two runs' reports side by side")
    compare.add_argument("run_a", type=Path, help="a run's report folder (the baseline)")
    compare.add_argument("run_b", type=Path, help="another run's report folder")
    compare.add_argument("--out", type=Path, default=None, help="HTML file (default: beside RUN_B)")
    actions.add_parser(
        "locustfile", help='print the locustfile\'s path: locust -f "$(ballast load locustfile)"'
    )


def _run_up(args: argparse.Namespace) -> int:
    from ballast import launcher

    return launcher.run_up(
        port=args.port,
        workers=args.workers,
        rail_day_ms=args.rail_day_ms,
        keep_data=args.keep_data,
        api_processes=args.api_processes,
        log_level=args.log_level,
    )


def _run_status(args: argparse.Namespace) -> int:
    from ballast import status

    return status.main()


def _run_api(args: argparse.Namespace) -> int:
    settings = _settings_or_none("api")
    if settings is None:
        return EXIT_CONFIG_ERROR
    from ballast import logs

    if args.processes > 1:
        from ballast import launcher

        # Each API process configures its own logging from the environment.
        if args.log_level:
            os.environ[logs.LOG_LEVEL_VARIABLE] = args.log_level
        return launcher.run_api_processes(args.processes)
    logs.configure("api", args.log_level)
    from api.app import run

    run(settings)
    return 0


def _run_worker(args: argparse.Namespace) -> int:
    settings = _settings_or_none("worker")
    if settings is None:
        return EXIT_CONFIG_ERROR
    from ballast import logs

    logs.configure("worker", args.log_level)
    from workers.main import run

    run(settings)
    return 0


def _settings_or_none(command: str) -> Settings | None:
    """The settings, or None after saying in one line which variable to set."""
    from config import SettingsError, from_environment

    try:
        return from_environment()
    except SettingsError as error:
        print(f"ballast {command}: {error}", file=sys.stderr)
        return None


def _run_rails(args: argparse.Namespace) -> int:
    from rails.__main__ import main as rails_main

    return rails_main(args.rest, prog="ballast rails")


def _run_load(args: argparse.Namespace) -> int:
    from ballast.load.command import main as load_main

    return load_main(args)


def _run_audit(args: argparse.Namespace) -> int:
    from config import StoreSettings
    from ledger.audit import main as audit_main

    # The audit reads the ledger only: it needs no secret.
    code: int = audit_main(StoreSettings().database_url)  # type: ignore[call-arg]
    return code


def _run_migrate(args: argparse.Namespace) -> int:
    import asyncio

    from config import StoreSettings
    from ledger import db

    async def migrate(database_url: str) -> tuple[list[int], int]:
        pool = await db.create_pool(database_url, min_size=1, max_size=1)
        try:
            return await db.migrate(pool), await db.schema_version(pool)
        finally:
            await pool.close()

    # Migrating needs the database only, no secret (as the audit).
    applied, version = asyncio.run(migrate(StoreSettings().database_url))  # type: ignore[call-arg]
    done = ", ".join(str(v) for v in applied) if applied else "none"
    print(f"migrate: applied {done}; the database is at version {version}")
    return 0


def _port(text: str) -> int:
    value = _count(text)
    if not 0 < value <= PORT_MAX:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text}")
    return value


def _api_processes(text: str) -> int:
    value = _count(text)
    if not 1 <= value <= API_PROCESSES_MAX:
        raise argparse.ArgumentTypeError(f"must be 1 to {API_PROCESSES_MAX}: {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value
