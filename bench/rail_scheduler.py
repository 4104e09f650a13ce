"""Resident memory and scheduler tick cost with 10k, 100k and 1,000,000 scheduled outcomes.

    python bench/rail_scheduler.py [--sizes 10000 100000 1000000] [--due windows|distinct]

In-process, no HTTP: a rail `Bank` on a frozen clock takes N entries through
`Bank.submit` (validation, rules, store, scheduler: what POST /entries does after parsing),
each with one outcome scheduled. Each size runs in a fresh child process, so that its
resident memory (RSS, from /proc) is its own. Then the clock is advanced and outcomes are
fired in scheduler ticks of FIRE_BATCH, as the rail's scheduler task does; a tick's cost
is the wall time of one `fire_due()` (popping and applying 1,000 outcomes), and an idle
tick is one with nothing due. Targets (issue 4): 1,000,000 outcomes in <= 500 MB, and a
tick cost that stays flat from 10k to 1M.

`--due windows` (default) is how ACH behaves: entries submitted over a night and morning
(Monday 00:00-08:00 ET) settle in the two windows they catch (08:30 and 13:00 ET), so
outcomes share a few due times. `--due distinct`
gives every outcome its own due time (a rule with `after_banking_days = 0` and a delay,
the clock moving 1 ms per entry): the scheduler's worst case for memory.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime

from rails.bank import Bank
from rails.clock import DAY_MS, BankingClock, ms_from_datetime
from rails.models import EntryRequest
from rails.rules import DEFAULT_RULES, Rule, RuleBook
from rails.scheduler import FIRE_BATCH
from rails.store import Store

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
PAGE_BYTES = 4096
# Monday 2026-03-02 00:00 ET; entries are spread over the 8 hours before the first window
# settles (08:30 ET), so that nothing is due until the clock is advanced.
SPREAD_MS = 8 * 3_600_000
START_MS = ms_from_datetime(datetime.fromisoformat("2026-03-02T05:00:00+00:00"))
TICKS_MEASURED = 200  # Ticks timed per size (200,000 outcomes at most): enough for a median.
IDLE_TICKS = 10_000


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES / 2**20


def _request(index: int) -> EntryRequest:
    return EntryRequest.model_validate(
        {
            "id": f"CR{index:022d}",  # As long as a Balanced credit id.
            "kind": "credit",
            "routing_number": "021000021",
            "account_number": f"{index:010d}",
            "name": "Jane Doe",
            "amount_cents": 100 + index % 100_000,
        }
    )


def _fill(bank: Bank, size: int, due: str) -> float:
    """Submit `size` entries; returns the seconds it took."""
    started = time.perf_counter()
    step_ms = SPREAD_MS // size if due == "windows" else 1
    for index in range(size):
        bank.clock.advance_to(START_MS + index * step_ms)
        bank.submit(_request(index))
    return time.perf_counter() - started


def measure(size: int, due: str) -> dict[str, float]:
    distinct = (Rule(action="succeed", after_banking_days=0, delay_ms=DAY_MS),)
    rules = DEFAULT_RULES if due == "windows" else distinct
    clock = BankingClock(0, start_ms=START_MS)
    clock.freeze()
    # No entry has a notify_url, so the notifier is never reached.
    bank = Bank(clock=clock, rules=RuleBook(rules), store=Store(), notifier=None)  # type: ignore
    gc.collect()
    base_mb = rss_mb()
    submit_s = _fill(bank, size, due)
    gc.collect()
    full_mb = rss_mb()
    assert len(bank.scheduler) == size
    buckets = bank.scheduler.bucket_count()
    idle_started = time.perf_counter()
    for _ in range(IDLE_TICKS):
        bank.scheduler.fire_due()
    idle_us = (time.perf_counter() - idle_started) / IDLE_TICKS * 1e6
    bank.clock.advance_to(START_MS + 10 * DAY_MS)
    ticks = []
    for _ in range(min(TICKS_MEASURED, size // FIRE_BATCH)):
        started = time.perf_counter()
        fired = bank.scheduler.fire_due()
        ticks.append(time.perf_counter() - started)
        assert fired == FIRE_BATCH
    return {
        "size": size,
        "buckets": buckets,
        "rss_mb": round(full_mb, 1),
        "rss_delta_mb": round(full_mb - base_mb, 1),
        "bytes_per_outcome": round((full_mb - base_mb) * 2**20 / size),
        "submit_per_s": round(size / submit_s),
        "tick_ms_median": round(statistics.median(ticks) * 1000, 3),
        "tick_ms_p99": round(sorted(ticks)[int(len(ticks) * 0.99)] * 1000, 3),
        "us_per_outcome": round(statistics.median(ticks) / FIRE_BATCH * 1e6, 3),
        "idle_tick_us": round(idle_us, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--due", choices=("windows", "distinct"), default="windows")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # Child process mode.
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(asyncio.run(_measure_async(args.one, args.due))))
        return
    print(f"scheduled outcomes ({args.due} due times); each size in a fresh process")
    header = (
        f"{'outcomes':>10} {'buckets':>7} {'RSS MB':>8} {'+MB':>7} {'B/outcome':>9} "
        f"{'submit/s':>9} {'tick ms':>8} {'p99 ms':>7} {'µs/outcome':>10} {'idle µs':>8}"
    )
    print(header)
    for size in args.sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(size), "--due", args.due],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(child.stdout)
        print(
            f"{row['size']:>10,} {row['buckets']:>7,} {row['rss_mb']:>8} "
            f"{row['rss_delta_mb']:>7} {row['bytes_per_outcome']:>9} {row['submit_per_s']:>9,} "
            f"{row['tick_ms_median']:>8} {row['tick_ms_p99']:>7} {row['us_per_outcome']:>10} "
            f"{row['idle_tick_us']:>8}"
        )


async def _measure_async(size: int, due: str) -> dict[str, float]:
    # The scheduler's wake-up Event wants a running loop on Python 3.11.
    return measure(size, due)


if __name__ == "__main__":
    main()
