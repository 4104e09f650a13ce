"""The `ballast` command line: arguments reach the right entry point, lazily imported."""

from __future__ import annotations

import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ballast import cli, launcher
from ballast.settings import Settings


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: Any) -> None:
    module = types.ModuleType(name)
    for key, value in attributes.items():
        setattr(module, key, value)
    monkeypatch.setitem(sys.modules, name, module)


def test_up_passes_its_options_to_the_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(launcher, "run_up", lambda **kwargs: calls.append(kwargs) or 4)
    assert cli.main(["up"]) == 4
    argv = ["up", "--port", "9000", "--workers", "3", "--rail-day-ms", "50", "--keep-data"]
    assert cli.main(argv) == 4
    assert calls == [
        {"port": 8090, "workers": 1, "rail_day_ms": 2000, "keep_data": False},
        {"port": 9000, "workers": 3, "rail_day_ms": 50, "keep_data": True},
    ]


@pytest.mark.parametrize(
    "argv",
    [[], ["nonsense"], ["up", "--port", "70000"], ["up", "--port", "0"], ["up", "--workers", "-1"]],
)
def test_bad_arguments_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2


@pytest.mark.parametrize(("command", "module"), [("api", "api.app"), ("worker", "workers.main")])
def test_api_and_worker_run_with_settings(
    monkeypatch: pytest.MonkeyPatch, command: str, module: str
) -> None:
    received: list[object] = []
    _fake_module(monkeypatch, module, run=received.append)
    monkeypatch.setenv("BALLAST_API_PORT", "9123")
    assert cli.main([command]) == 0
    [settings] = received
    assert isinstance(settings, Settings) and settings.api_port == 9123


@dataclass
class FakeRailConfig:
    host: str
    port: int
    day_ms: int
    secret: str
    rules_path: Path | None


def test_rails_builds_its_config(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[FakeRailConfig] = []
    _fake_module(monkeypatch, "rails.app", RailConfig=FakeRailConfig, run=received.append)
    monkeypatch.setenv("BALLAST_RAIL_SECRET", "whsec_from_env")
    assert cli.main(["rails"]) == 0
    argv = ["rails", "--host", "0.0.0.0", "--port", "9200", "--day-ms", "10"]
    assert cli.main([*argv, "--secret", "whsec_arg", "--rules", "rules.json"]) == 0
    monkeypatch.delenv("BALLAST_RAIL_SECRET")
    assert cli.main(["rails"]) == 0
    assert received == [
        FakeRailConfig("127.0.0.1", 8091, 0, "whsec_from_env", None),
        FakeRailConfig("0.0.0.0", 9200, 10, "whsec_arg", Path("rules.json")),
        FakeRailConfig("127.0.0.1", 8091, 0, Settings().rail_secret, None),
    ]
