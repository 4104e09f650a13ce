"""Stand-in for the real `rails` package (launcher tests only).

Only `rails.app` is stood in for; the real package's other modules (its configuration and
command line, which `ballast rails` runs) are found behind this one."""

from pathlib import Path

__path__.append(str(Path(__file__).resolve().parents[4] / "rails"))
