"""`python -m rails` (and `ballast rails`, which runs the same `main`): serve the rail."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from rails.config import RailConfigError, add_arguments, from_arguments

# What a process that refuses its configuration exits with (as argparse on bad usage).
EXIT_CONFIG_ERROR = 2


def main(argv: Sequence[str] | None = None, prog: str = "python -m rails") -> int:
    """Parse `argv` (default: sys.argv[1:]) and the environment, serve until a signal."""
    parser = argparse.ArgumentParser(prog=prog, description="Serve the simulated ACH rail.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = from_arguments(args, os.environ)
    except RailConfigError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    logging.basicConfig(level=logging.WARNING)
    # Imported here, after the configuration is known good: the app pulls in aiohttp.
    from rails.app import run

    run(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
