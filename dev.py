"""Developer entry point; needs only Python >= 3.11 (standard library) and PyPI.

    python3 dev.py up [ARGS...]     run the whole system (ARGS go to `ballast up`)
    python3 dev.py test [--no-lint] [ARGS...]
                                    lint, then run the test suite (ARGS go to pytest)
    python3 dev.py lint [PACKAGE...]
                                    ruff check, ruff format --check and mypy (strict) over the
                                    PACKAGEs, by default over pyproject's [tool.mypy] files

`test` lints first, as CI does, and stops before pytest when the lint fails; `--no-lint`
skips that for a quick local run. It also makes sure the browser tests have Chromium:
run as root it installs Debian's `chromium` when missing, otherwise it says what to install.

Creates `.venv` next to this file on first use and installs the project into it
(`pip install -e '.[dev]'`), again whenever pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

PYTHON_MIN = (3, 11)
ROOT = Path(__file__).resolve().parent
VENV_DIR = ROOT / ".venv"
VENV_BIN = VENV_DIR / "bin"
VENV_PYTHON = VENV_BIN / "python"
PYPROJECT = ROOT / "pyproject.toml"
# sha256 of the pyproject.toml last installed; a different one means install again.
INSTALL_STAMP = VENV_DIR / ".ballast-install-stamp"
COMMANDS = ("up", "test", "lint")
EDITABLE_WARNING_FILTER = "ignore:Editable installation"
USAGE = "usage: python3 dev.py {up|test|lint} [ARGS...]"
# The argument of `test` that skips the lint; pytest has no option of that name.
NO_LINT = "--no-lint"
# The browser tests (tests/browser) drive Debian's chromium: Playwright's own browser
# download is not reachable from the project's machines. BALLAST_CHROMIUM names another.
CHROMIUM_VARIABLE = "BALLAST_CHROMIUM"
CHROMIUM_DEFAULT = Path("/usr/bin/chromium")
CHROMIUM_INSTALL = ["apt-get", "install", "-y", "chromium"]


def main(argv: list[str]) -> int:
    if sys.version_info < PYTHON_MIN:
        found = ".".join(str(part) for part in sys.version_info[:3])
        wanted = ".".join(str(part) for part in PYTHON_MIN)
        print(
            f"dev.py: Python >= {wanted} is required; {sys.executable} is {found}", file=sys.stderr
        )
        return 1
    if len(argv) < 2 or argv[1] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    command, passthrough = argv[1], argv[2:]
    try:
        ensure_venv()
        ensure_installed()
    except subprocess.CalledProcessError as error:
        failed = " ".join(map(str, error.cmd))
        print(f"dev.py: {failed} failed (exit code {error.returncode})", file=sys.stderr)
        return 1
    except SetupError as error:
        print(f"dev.py: {error}", file=sys.stderr)
        return 1
    os.chdir(ROOT)
    if command == "up":
        program = str(VENV_BIN / "ballast")
        os.execv(program, [program, "up", *passthrough])
    if command == "lint":
        return lint(passthrough)
    lint_wanted, pytest_args = split_no_lint(passthrough)
    try:
        ensure_chromium()
    except (SetupError, subprocess.CalledProcessError) as error:
        print(f"dev.py: {error}", file=sys.stderr)
        return 1
    if lint_wanted and lint([]) != 0:
        print(
            f"dev.py: the lint failed, so the tests did not run ({NO_LINT} skips the lint"
            " for a local run; CI always lints)",
            file=sys.stderr,
        )
        return 1
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), "-m", "pytest", *pytest_args])
    raise AssertionError("execv does not return")


def split_no_lint(args: list[str]) -> tuple[bool, list[str]]:
    """Whether `test` lints, and the arguments left for pytest."""
    return NO_LINT not in args, [arg for arg in args if arg != NO_LINT]


def lint_steps(packages: list[str]) -> list[list[str]]:
    """The lint commands over `packages`, or over the whole tree and pyproject's mypy files.

    Without packages mypy gets no paths, so that it reads `files` from pyproject.toml: the
    one list of what is type-checked, here and for anyone running `mypy` by hand.
    """
    ruff, mypy = str(VENV_BIN / "ruff"), str(VENV_BIN / "mypy")
    paths = packages or ["."]
    return [
        [ruff, "check", *paths],
        [ruff, "format", "--check", *paths],
        [mypy, *packages],
    ]


def mypy_files() -> list[str]:
    """pyproject.toml's [tool.mypy] files: what mypy checks when given no paths."""
    config = tomllib.loads(PYPROJECT.read_text())
    files: list[str] = config["tool"]["mypy"]["files"]
    return files


def lint(packages: list[str]) -> int:
    """Run every lint step (all of them, so one run shows every problem); 0 if all pass."""
    if packages:
        print(f"dev.py: lint: ruff and mypy (strict) over {' '.join(packages)}", file=sys.stderr)
    else:
        mypy_over = " ".join(mypy_files())
        print(f"dev.py: lint: ruff over the tree, mypy (strict) over {mypy_over}", file=sys.stderr)
    failed = []
    for step in lint_steps(packages):
        if subprocess.run(step, cwd=ROOT).returncode != 0:
            failed.append(" ".join([Path(step[0]).name, *step[1:]]))
    for step_text in failed:
        print(f"dev.py: lint: `{step_text}` failed (see above)", file=sys.stderr)
    if any(text.startswith("ruff format") for text in failed):
        print(
            "dev.py: lint: `.venv/bin/ruff format <files>` formats the files it names",
            file=sys.stderr,
        )
    return 1 if failed else 0


class SetupError(Exception):
    """The virtualenv could not be made ready; the message says what to do."""


def ensure_venv() -> None:
    """Create .venv unless one whose Python runs is there."""
    if _runs(VENV_PYTHON, "-c", ""):
        return
    if VENV_DIR.exists():
        print(f"dev.py: {VENV_DIR} is broken; creating it again", file=sys.stderr)
        shutil.rmtree(VENV_DIR)
    print(f"dev.py: creating {VENV_DIR}", file=sys.stderr)
    if _runs(sys.executable, "-m", "venv", str(VENV_DIR)):
        return
    # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate package; then
    # the venv is made without pip, and ensure_installed brings pip in another way.
    shutil.rmtree(VENV_DIR, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(VENV_DIR)], check=True)


def ensure_installed() -> None:
    """Install the project into .venv when it is new or pyproject.toml has changed."""
    digest = hashlib.sha256(PYPROJECT.read_bytes()).hexdigest()
    if INSTALL_STAMP.exists() and INSTALL_STAMP.read_text().strip() == digest:
        return
    if not _runs(VENV_PYTHON, "-m", "pip", "--version"):
        install_pip()
    print("dev.py: installing the project and its dependencies into .venv", file=sys.stderr)
    pip = [str(VENV_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # setuptools warns on every editable install of a flat layout, which this is on purpose.
    warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), EDITABLE_WARNING_FILTER]))
    env = {**os.environ, "PYTHONWARNINGS": warnings}
    subprocess.run([*pip, "-e", ".[dev]"], cwd=ROOT, env=env, check=True)
    alone = tomllib.loads(PYPROJECT.read_text())["tool"]["ballast"]["dev-without-dependencies"]
    subprocess.run([*pip, "--no-deps", *alone], cwd=ROOT, env=env, check=True)
    # Written only after a successful install, so that a failed one is retried next time.
    INSTALL_STAMP.write_text(digest + "\n")


def ensure_chromium() -> None:
    """Make sure the browser tests have their browser: Debian's chromium, installed here
    when missing and we are root (apt-get), else SetupError saying what to install."""
    named = os.environ.get(CHROMIUM_VARIABLE)
    if named:
        if not Path(named).exists():
            raise SetupError(f"{CHROMIUM_VARIABLE} names {named}, which does not exist")
        return
    if CHROMIUM_DEFAULT.exists():
        return
    root = getattr(os, "geteuid", lambda: -1)() == 0
    if not root or shutil.which("apt-get") is None:
        raise SetupError(
            "the browser tests need Chromium at /usr/bin/chromium: install it with "
            f"`sudo {' '.join(CHROMIUM_INSTALL)}` (Debian/Ubuntu), or set {CHROMIUM_VARIABLE} "
            "to a Chromium binary"
        )
    print(f"dev.py: installing chromium for the browser tests ({' '.join(CHROMIUM_INSTALL)})")
    if subprocess.run(CHROMIUM_INSTALL, stdin=subprocess.DEVNULL).returncode != 0:
        # A fresh machine's package lists may be missing or stale.
        subprocess.run(["apt-get", "update"], stdin=subprocess.DEVNULL, check=True)
        subprocess.run(CHROMIUM_INSTALL, stdin=subprocess.DEVNULL, check=True)


def install_pip() -> None:
    """Put pip into a venv made without it, with the pip of the Python running us."""
    if not _runs(sys.executable, "-m", "pip", "--version"):
        raise SetupError(
            f"{sys.executable} has neither ensurepip nor pip, so .venv cannot get pip;"
            " install one of them (on Debian or Ubuntu: apt install python3-venv)"
        )
    print("dev.py: installing pip into .venv with the system's pip", file=sys.stderr)
    pip_for_venv = [sys.executable, "-m", "pip", "--python", str(VENV_PYTHON)]
    subprocess.run(
        [*pip_for_venv, "install", "-q", "--disable-pip-version-check", "pip"], check=True
    )


def _runs(program: Path | str, *args: str) -> bool:
    """Whether `program args` runs and exits 0 (its output is not wanted)."""
    try:
        completed = subprocess.run(
            [str(program), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return False
    return completed.returncode == 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
