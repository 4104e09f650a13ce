"""`python -m ballast`: the same as the `ballast` command."""

from __future__ import annotations

from ballast.cli import main

raise SystemExit(main())
