"""No secret has a default: the API, the worker and the rail, started on their own, refuse
to start until they are given theirs, and a rail notification signed with the secret that
used to be the default (published in the source) is refused."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import standardwebhooks

from ballast.embedded import free_port
from config import Settings
from ledger import protocol
from tests.support.pipeline import Pipeline, random_rail_secret

REPO_ROOT = Path(__file__).resolve().parent.parent
# A refusal comes before any server starts; the time is Python importing pydantic.
REFUSAL_TIMEOUT_S = 60.0
RAIL_START_TIMEOUT_S = 30.0
# Loopback requests must not go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# The rail secret that ballast/settings.py used to default to. Anyone could read it, so
# it must never be accepted again.
PUBLISHED_RAIL_SECRET = "whsec_ZGV2LXJhaWwtc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbg=="
SECRET_VARIABLES = (
    "BALLAST_RAIL_SECRET",
    "BALLAST_FINGERPRINT_KEY",
    "BALLAST_RAIL_CONTROL_TOKEN",
    "BALLAST_SESSION_KEY",
)


def _environment(**variables: str) -> dict[str, str]:
    """Ours without any secret, plus `variables`; nothing is reachable, nothing needed."""
    env = {key: value for key, value in os.environ.items() if key not in SECRET_VARIABLES}
    # Nothing may be reached: a process that started anyway would fail differently.
    env |= {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "REDIS_URL": "redis://:9/0"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env | variables


def _refusal(command: list[str], **variables: str) -> str:
    """Run `command`; it must exit non-zero with exactly one line on stderr: that line."""
    finished = subprocess.run(
        [sys.executable, *command],
        env=_environment(**variables),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=REFUSAL_TIMEOUT_S,
        check=False,
    )
    assert finished.returncode != 0, finished
    lines = finished.stderr.splitlines()
    assert len(lines) == 1, finished.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["api", "worker"])
def test_api_and_worker_refuse_to_start_without_their_secrets(command: str) -> None:
    line = _refusal(["-m", "ballast", command])
    assert line.startswith(f"ballast {command}: ")
    assert "BALLAST_RAIL_SECRET is not set" in line
    assert "BALLAST_FINGERPRINT_KEY is not set" in line

    only_key = _refusal(["-m", "ballast", command], BALLAST_FINGERPRINT_KEY="k" * 40)
    assert "BALLAST_RAIL_SECRET is not set" in only_key and "FINGERPRINT" not in only_key


def test_the_api_refuses_to_start_without_the_dashboards_session_key() -> None:
    line = _refusal(
        ["-m", "ballast", "api"],
        BALLAST_RAIL_SECRET=random_rail_secret(),
        BALLAST_FINGERPRINT_KEY=secrets.token_urlsafe(32),
    )
    assert line.startswith("ballast api: ") and "BALLAST_SESSION_KEY is not set" in line


def test_a_session_key_that_is_no_fernet_key_is_refused() -> None:
    line = _refusal(
        ["-m", "ballast", "api"],
        BALLAST_RAIL_SECRET=random_rail_secret(),
        BALLAST_FINGERPRINT_KEY=secrets.token_urlsafe(32),
        BALLAST_SESSION_KEY="too-short",
    )
    assert "BALLAST_SESSION_KEY is invalid" in line


def test_weak_secrets_are_refused_too() -> None:
    short_secret = "whsec_" + base64.b64encode(b"sixteen-bytes-ab").decode()
    line = _refusal(
        ["-m", "ballast", "api"], BALLAST_RAIL_SECRET=short_secret, BALLAST_FINGERPRINT_KEY="abc"
    )
    assert "BALLAST_RAIL_SECRET is invalid" in line and "32 key bytes" in line
    assert "BALLAST_FINGERPRINT_KEY is invalid" in line


@pytest.mark.parametrize(
    ("command", "prog"),
    [(["-m", "ballast", "rails"], "ballast rails"), (["-m", "rails"], "python -m rails")],
)
def test_the_rail_refuses_to_start_without_its_secret_or_control_token(
    command: list[str], prog: str
) -> None:
    line = _refusal(command)
    assert line.startswith(f"{prog}: BALLAST_RAIL_SECRET is not set")
    # The name the rail used to read on its own (RAIL_SECRET) is not read any more.
    line = _refusal(command, RAIL_SECRET=random_rail_secret())
    assert line.startswith(f"{prog}: BALLAST_RAIL_SECRET is not set")
    line = _refusal(command, BALLAST_RAIL_SECRET=random_rail_secret())
    assert line.startswith(f"{prog}: BALLAST_RAIL_CONTROL_TOKEN is not set")
    assert "--open-control" in line
    line = _refusal(
        command, BALLAST_RAIL_SECRET=random_rail_secret(), BALLAST_RAIL_CONTROL_TOKEN="letmein"
    )
    assert "at least 32 characters" in line


def test_open_control_starts_the_rail_without_a_token() -> None:
    port = free_port()
    rail = subprocess.Popen(
        [sys.executable, "-m", "rails", "--port", str(port), "--open-control"],
        env=_environment(BALLAST_RAIL_SECRET=random_rail_secret()),
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + RAIL_START_TIMEOUT_S
        while True:
            assert rail.poll() is None, "the rail exited"
            assert time.monotonic() < deadline, "the rail did not start"
            try:
                # A control endpoint, with no Authorization header at all.
                with _OPENER.open(f"http://127.0.0.1:{port}/clock", timeout=5) as answer:
                    assert answer.status == 200
                    assert "now" in json.load(answer)
                    break
            except OSError:  # Not listening yet (an HTTP error would fail the assert).
                time.sleep(0.1)
    finally:
        rail.terminate()
        rail.wait(timeout=RAIL_START_TIMEOUT_S)


def test_no_secret_has_a_default_in_the_source() -> None:
    assert Settings.model_fields["rail_secret"].is_required()
    assert Settings.model_fields["fingerprint_key"].is_required()
    published_key = PUBLISHED_RAIL_SECRET.removeprefix("whsec_")
    for directory in ("api", "ballast", "callbacks", "ledger", "rails", "workers"):
        for path in (REPO_ROOT / directory).rglob("*.py"):
            text = path.read_text()
            assert "DEV_RAIL_SECRET" not in text, path
            assert published_key not in text, path


async def test_a_notification_signed_with_the_published_secret_is_refused(
    pipeline: Pipeline,
) -> None:
    """Before, a test pipeline (like any process started without BALLAST_RAIL_SECRET) used
    the published secret, and this forged return was queued for applying."""
    notification_id = f"forged-{secrets.token_hex(4)}"
    body = json.dumps({"id": notification_id, "type": "entry.returned"})
    headers = _signed_headers(PUBLISHED_RAIL_SECRET, notification_id, body)
    # Well formed: the same signing with the installation's secret verifies.
    genuine = _signed_headers(pipeline.rail_secret, notification_id, body)
    standardwebhooks.Webhook(pipeline.rail_secret).verify(body, genuine)
    async with pipeline.http.post(
        pipeline.api.base_url + "/_rail/notifications", data=body, headers=headers
    ) as response:
        assert response.status == 401, await response.text()
    queued = await pipeline.pool.fetchval(
        "SELECT count(*) FROM outbox WHERE id = $1", protocol.outcome_job_id(notification_id)
    )
    assert queued == 0


def _signed_headers(secret: str, message_id: str, body: str) -> dict[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    signature = standardwebhooks.Webhook(secret).sign(message_id, now, body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "Content-Type": "application/json",
    }
