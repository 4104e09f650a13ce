"""The PostgreSQL a benchmark runs against, and what it can do on its own (`pgbench -N`),
so that a figure means something on any machine: throughput is printed beside the
transactions per second the same server commits for pgbench in the same run."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from ballast.embedded import EmbeddedPostgres
from ballast.embedded.postgres import installed_program

# pgbench's workload: the simple-update transaction (-N) at scale 10 (1M accounts), with
# as many clients as our pipeline's API keeps connections busy.
PGBENCH_SCALE = 10
PGBENCH_CLIENTS = 8
PGBENCH_THREADS = 2
_TPS = re.compile(r"tps = ([0-9.]+) \(without initial connection time\)")


@contextlib.contextmanager
def database() -> Iterator[str]:
    """`DATABASE_URL`, or an embedded PostgreSQL started for the block (and removed)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    postgres = EmbeddedPostgres()
    try:
        yield postgres.start()
    finally:
        postgres.stop()


@dataclass(frozen=True)
class Pgbench:
    tps: float
    seconds: int
    clients: int

    def ratio(self, per_second: float) -> str:
        return f"{100 * per_second / self.tps:.1f} % of pgbench -N"


async def pgbench(database_url: str, seconds: int) -> Pgbench:
    """`pgbench -N` for `seconds` on a scratch database of the same server."""
    scratch = f"ballast_pgbench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{scratch}"')
        try:
            url = urlunsplit(urlsplit(database_url)._replace(path=f"/{scratch}"))
            _pgbench(["-i", "-q", "-s", str(PGBENCH_SCALE), url])
            output = _pgbench(
                [
                    *("-N", "-n", "-c", str(PGBENCH_CLIENTS), "-j", str(PGBENCH_THREADS)),
                    *("-T", str(seconds), url),
                ]
            )
        finally:
            await admin.execute(f'DROP DATABASE "{scratch}" WITH (FORCE)')
    finally:
        await admin.close()
    match = _TPS.search(output)
    if match is None:
        raise SystemExit(f"pgbench printed no tps:\n{output}")
    return Pgbench(float(match[1]), seconds, PGBENCH_CLIENTS)


def _pgbench(arguments: list[str]) -> str:
    found = shutil.which("pgbench")
    program = Path(found) if found else installed_program("pgbench")
    done = subprocess.run(
        [str(program), *arguments], capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr
