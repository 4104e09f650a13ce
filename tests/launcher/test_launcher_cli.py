"""The `ballast` command line: arguments reach the right entry point, lazily imported."""

from __future__ import annotations

import base64
import secrets
import sys
import types
from typing import Any

import pytest

from ballast import cli, launcher
from config import Settings
from rails.config import RailConfig

RAIL_SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


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
    assert cli.main([*argv, "--api-processes", "2"]) == 4
    assert cli.main(["up", "--log-level", "info"]) == 4
    defaults = {"port": 8090, "workers": 1, "rail_day_ms": 2000, "keep_data": False}
    assert calls == [
        defaults | {"api_processes": 1, "log_level": None},
        {"port": 9000, "workers": 3, "rail_day_ms": 50, "keep_data": True}
        | {"api_processes": 2, "log_level": None},
        defaults | {"api_processes": 1, "log_level": "info"},
    ]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["up", "--port", "70000"],
        ["up", "--port", "0"],
        ["up", "--workers", "-1"],
        ["up", "--api-processes", "0"],
        ["up", "--api-processes", str(launcher.API_PROCESSES_MAX + 1)],
        ["api", "--processes", "0"],
        ["up", "--log-level", "chatty"],
        ["worker", "--log-level", "error"],
    ],
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
    monkeypatch.setenv("BALLAST_RAIL_SECRET", RAIL_SECRET)
    monkeypatch.setenv("BALLAST_FINGERPRINT_KEY", secrets.token_urlsafe(32))
    assert cli.main([command]) == 0
    [settings] = received
    assert isinstance(settings, Settings) and settings.api_port == 9123


def test_rails_builds_its_config(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[RailConfig] = []
    _fake_module(monkeypatch, "rails.app", run=received.append)
    token = secrets.token_urlsafe(32)
    monkeypatch.setenv("BALLAST_RAIL_SECRET", RAIL_SECRET)
    monkeypatch.setenv("BALLAST_RAIL_CONTROL_TOKEN", token)
    assert cli.main(["rails"]) == 0
    argv = ["rails", "--host", "0.0.0.0", "--port", "9200", "--day-ms", "10"]
    assert cli.main([*argv, "--rules", "rules.json", "--open-control"]) == 0
    assert received == [
        RailConfig(secret=RAIL_SECRET, control_token=token),
        RailConfig(
            secret=RAIL_SECRET,
            open_control=True,
            host="0.0.0.0",
            port=9200,
            day_ms=10,
            rules_path="rules.json",
        ),
    ]
