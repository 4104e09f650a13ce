"""`python -m rails`: serve the rail on its own, e.g. for load tests."""

from __future__ import annotations

import argparse
import logging
import os

from rails.app import RailConfig, run


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m rails", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--day-ms", type=int, default=0, help="wall ms per simulated day")
    parser.add_argument("--rules", default=None, help="TOML file of [[rules]]")
    parser.add_argument(
        "--nacha-dir", default=None, help="write the NACHA files sent and received here"
    )
    parser.add_argument(
        "--no-same-day", action="store_true", help="no Same Day ACH windows: next-day only"
    )
    parser.add_argument(
        "--secret",
        default=os.environ.get("RAIL_SECRET"),
        help="whsec_ signing secret (default: $RAIL_SECRET)",
    )
    args = parser.parse_args()
    if not args.secret:
        parser.error("a signing secret is required: --secret or RAIL_SECRET")
    logging.basicConfig(level=logging.WARNING)
    run(
        RailConfig(
            secret=args.secret,
            host=args.host,
            port=args.port,
            day_ms=args.day_ms,
            rules_path=args.rules,
            nacha_dir=args.nacha_dir,
            same_day_ach=not args.no_same_day,
        )
    )


if __name__ == "__main__":
    main()
