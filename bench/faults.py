"""The large fault run: 10,000 transfers while workers are SIGKILLed 20 times, Redis is
flushed and restarted empty, and PostgreSQL is restarted; then the proof that nothing was
lost or duplicated, and how long each fault took to recover from.

    python bench/faults.py [--transfers 10000] [--kills 20] [--workers 2] [--concurrency 16]
                           [--keep-logs DIR]

It starts a system of its own (embedded PostgreSQL and Valkey it may restart, whatever
DATABASE_URL / REDIS_URL say; the rail, the API and the workers as processes), the same
one `tests/faults` uses, and removes it afterwards. Exit status 0 when the run is sound
(lost = 0, duplicated = 0, audit clean, nothing stuck), else 1.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import shutil
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.faults import scenario  # noqa: E402
from tests.faults.system import System, Tuning  # noqa: E402
from tests.faults.traffic import BANK_CREDITS  # noqa: E402

# Transfers per unit: a debit, the bank credits, a payable-account credit, its settlement,
# a refund, and (nine units in ten: the tenth pays to a failing account) a reversal.
TRANSFERS_PER_UNIT = 1 + BANK_CREDITS + 1 + 1 + 1 + 0.9
# Defaults for a long run: the sweeper's batches stay cheap under a deep backlog, and a
# killed worker's jobs are taken over after job timeout + 10 s (arq).
BENCH_TUNING = Tuning(
    sweep_interval_ms=1000,
    outbox_stale_after_ms=5000,
    job_timeout_ms=5000,
    callback_timeout_ms=3000,
)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _print_report(report: scenario.Report, elapsed_s: float) -> None:
    verdict = report.verdict
    transfers = sum(verdict.transfers.values())
    kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(verdict.transfers.items()))
    faults: dict[str, int] = {}
    for fault in report.faults:
        faults[fault.name] = faults.get(fault.name, 0) + 1
    print(f"transfers:    {transfers:,} ({kinds}), {verdict.rail_transfers:,} through the rail")
    print("faults:       " + ", ".join(f"{count} x {name}" for name, count in faults.items()))
    print(f"kills:        {faults.get(scenario.KILL, 0)}")
    print(f"lost:         {verdict.lost}")
    print(f"duplicated:   {verdict.duplicated}")
    print(f"audit:        {'clean' if not verdict.audit else f'{len(verdict.audit)} violation(s)'}")
    print(
        f"rail:         {verdict.rail_entries:,} entries for {verdict.rail_transfers:,} rail "
        f"transfers, {len(verdict.rail_mismatched)} mismatched, "
        f"{verdict.rail_resubmissions} idempotent resubmission(s)"
    )
    print(
        f"callbacks:    {verdict.events:,} events, {len(verdict.undelivered)} undelivered, "
        f"{verdict.redeliveries} redelivered (deduplicated on webhook-id), "
        f"{verdict.bad_signatures} bad signature(s)"
    )
    retries = ", ".join(f"{reason}: {count}" for reason, count in report.client.retries.items())
    print(f"client:       {report.client.requests:,} requests; retries: {retries or 'none'}")
    print(
        f"time:         traffic {report.traffic_s:.1f} s, settled {report.settle_s:.1f} s "
        f"after it, {elapsed_s:.1f} s in all"
    )
    print("recovery after each fault (until every job open when it struck was done):")
    for number, fault in enumerate(report.faults, start=1):
        api = "" if fault.api_down_s is None else f"; API back after {fault.api_down_s:.2f} s"
        print(
            f"  {number:2d}. {fault.name:<22} {len(fault.open_jobs):5d} open jobs, "
            f"recovered in {fault.recovered_s or 0.0:5.1f} s{api}"
        )
    for problem in verdict.problems():
        print(f"PROBLEM: {problem}")


async def _run(args: argparse.Namespace) -> int:
    units = math.ceil(args.transfers / TRANSFERS_PER_UNIT)
    plan = scenario.Plan(
        units=units,
        concurrency=args.concurrency,
        kills=args.kills,
        settle_timeout_s=args.settle_timeout,
    )
    system = System(Tuning(**{**BENCH_TUNING.__dict__, "workers": args.workers}))
    started = time.monotonic()
    _say(f"starting the system ({args.workers} workers) ...")
    await system.start()
    try:

        def log(message: str) -> None:
            _say(f"{time.monotonic() - started:7.1f} s  {message}")

        log(f"{units} units (~{args.transfers:,} transfers), {len(plan.faults())} faults")
        report = await scenario.run(system, plan, log)
        system.assert_running()
    finally:
        if args.keep_logs is not None:
            shutil.copytree(system.root / "logs", args.keep_logs, dirs_exist_ok=True)
        await system.close()
    _print_report(report, time.monotonic() - started)
    return 0 if not report.verdict.problems() else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="units in flight")
    parser.add_argument(
        "--settle-timeout", type=float, default=600.0, help="seconds to settle after traffic"
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy process logs here")
    args = parser.parse_args()
    sys.exit(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()
