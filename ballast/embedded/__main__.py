"""`python -m ballast.embedded guard PID START SIGNALS [DIR...]`: the guard process that
`Guard.watch` starts beside each embedded server."""

from __future__ import annotations

import sys

from ballast.embedded.guard import GUARD_COMMAND, GUARD_PACKAGE, guard_main

if __name__ == "__main__":
    if sys.argv[1:2] != [GUARD_COMMAND]:
        sys.exit(f"usage: python -m {GUARD_PACKAGE} {GUARD_COMMAND} PID START SIGNALS [DIR...]")
    sys.exit(guard_main(sys.argv[2:]))
