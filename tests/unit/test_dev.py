"""`dev.py`, the README's test command: it lints what pyproject.toml names before pytest,
and `--no-lint` skips only that."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_lint_is_taken_out_and_every_other_argument_reaches_pytest() -> None:
    dev = _dev()
    assert dev.split_no_lint(["-q", "--no-lint", "-x", "tests/unit"]) == (
        False,
        ["-q", "-x", "tests/unit"],
    )
    assert dev.split_no_lint(["-k", "lint"]) == (True, ["-k", "lint"])


def test_the_default_lint_is_the_whole_tree_and_pyprojects_mypy_files() -> None:
    steps = _dev().lint_steps([])
    assert [Path(step[0]).name for step in steps] == ["ruff", "ruff", "mypy"]
    assert steps[0][1:] == ["check", "."]
    assert steps[1][1:] == ["format", "--check", "."]
    # No paths: mypy reads `files` from pyproject.toml, the one list of what is checked.
    assert steps[2][1:] == []


def test_a_lint_told_its_packages_checks_just_those_with_every_tool() -> None:
    steps = _dev().lint_steps(["api", "ballast"])
    assert all(step[-2:] == ["api", "ballast"] for step in steps)


def test_mypy_checks_every_installed_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {
        pattern.rstrip("*")
        for pattern in config["tool"]["setuptools"]["packages"]["find"]["include"]
    }
    assert set(_dev().mypy_files()) == packages
    assert config["tool"]["mypy"]["strict"] is True


def test_the_browser_tests_chromium_is_found_where_ballast_chromium_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = _dev()
    browser = tmp_path / "chromium"
    browser.write_text("")
    monkeypatch.setenv("BALLAST_CHROMIUM", str(browser))
    dev.ensure_chromium()  # Found: nothing to install.
    monkeypatch.setenv("BALLAST_CHROMIUM", str(tmp_path / "missing"))
    with pytest.raises(dev.SetupError, match="BALLAST_CHROMIUM names"):
        dev.ensure_chromium()


def test_without_chromium_and_root_the_test_command_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dev = _dev()
    monkeypatch.delenv("BALLAST_CHROMIUM", raising=False)
    monkeypatch.setattr(dev, "CHROMIUM_DEFAULT", tmp_path / "no-chromium")
    monkeypatch.setattr(dev.os, "geteuid", lambda: 1000)
    with pytest.raises(dev.SetupError, match=r"sudo apt-get install -y chromium"):
        dev.ensure_chromium()
