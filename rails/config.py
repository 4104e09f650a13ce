"""The rail's configuration: one frozen value, checked once at construction, and the
command line that builds it (shared by `python -m rails` and `ballast rails`)."""

from __future__ import annotations

import argparse
import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook

from rails.notifier import NOTIFY_BATCH_MAX

# One name per variable, the same that ballast's API reads (config/__init__.py).
SECRET_ENV = "BALLAST_RAIL_SECRET"
CONTROL_TOKEN_ENV = "BALLAST_RAIL_CONTROL_TOKEN"
WEBHOOK_SECRET_PREFIX = "whsec_"
# HMAC-SHA256 keys: 32 bytes is the hash's own size; shorter keys are guessable sooner.
SECRET_KEY_BYTES_MIN = 32
# A bearer token of 32 random characters carries ≥ 160 bits; a short word is guessed.
CONTROL_TOKEN_CHARS_MIN = 32
PORT_MAX = 65535
# A rail started on its own listens here: not on 8091, which `ballast up` (API on 8090)
# gives its own rail, so that the README's standalone rail runs beside `ballast up`.
DEFAULT_PORT = 8095


class RailConfigError(ValueError):
    """The rail cannot start with what it was given; the message is one line."""


@dataclass(frozen=True, kw_only=True, slots=True)
class RailConfig:
    # The Standard Webhooks secret (`whsec_` + base64) that signs every notification.
    secret: str = field(repr=False)
    # The bearer token of the control API (simulations, clock, rules, files; see
    # rails/app.py). Required unless `open_control`: a callback that ballast delivers to a
    # loopback address could otherwise drive the rail.
    control_token: str | None = field(default=None, repr=False)
    # Serve the control API without a token: only for a rail on a machine of one's own.
    open_control: bool = False
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    # Wall milliseconds per simulated day: 86_400_000 is real time, 0 makes every outcome
    # due at once (tests). The clock can be frozen (`PUT /clock`) and advanced
    # (`POST /clock/advance`).
    day_ms: int = 0
    # A TOML file of `[[rules]]`; None means the default rules (Balanced's test numbers).
    rules_path: str | None = None
    # Where the rail writes the NACHA files it sends and receives at each window cut-off;
    # None writes none (and costs nothing per entry).
    nacha_dir: str | None = None
    # Same Day ACH windows (10:30, 14:45, 16:45 ET cut-offs); off, entries catch only the
    # next-day window (02:15 ET cut-off, settling 08:30 ET on the next banking day).
    same_day_ach: bool = True
    # Notification retries: the first retry after about this long, doubling each time.
    notify_retry_base_ms: int = 200
    notify_max_attempts: int = 20
    # Outcomes ready together for one receiver go in one request of up to this many
    # (rails/notifier.py); 1 sends each alone, which every receiver understands.
    notify_batch_max: int = 1

    def __post_init__(self) -> None:
        _check_secret(self.secret)
        _check_control(self.control_token, self.open_control)
        if not 0 <= self.port <= PORT_MAX:
            raise ValueError(f"port out of range: {self.port}")
        if self.day_ms < 0:
            raise ValueError("day_ms must be >= 0")
        if self.notify_retry_base_ms < 0 or self.notify_max_attempts < 1:
            raise ValueError("notify_retry_base_ms must be >= 0 and notify_max_attempts >= 1")
        if not 1 <= self.notify_batch_max <= NOTIFY_BATCH_MAX:
            raise ValueError(f"notify_batch_max must be 1 .. {NOTIFY_BATCH_MAX}")


def _check_secret(secret: str) -> None:
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        raise ValueError("secret must be a Standard Webhooks secret starting with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
        Webhook(secret)
    except (binascii.Error, EmptyWebhookSecretError) as error:
        raise ValueError(f"secret needs base64 key bytes after whsec_: {error}") from None
    if len(key) < SECRET_KEY_BYTES_MIN:
        raise ValueError(f"secret needs at least {SECRET_KEY_BYTES_MIN} key bytes after whsec_")


def _check_control(control_token: str | None, open_control: bool) -> None:
    if open_control:
        if control_token is not None:
            raise ValueError("give either a control token or open_control, not both")
        return
    if control_token is None:
        raise ValueError("the control API needs a token (control_token), or open_control")
    if len(control_token) < CONTROL_TOKEN_CHARS_MIN:
        raise ValueError(f"the control token needs at least {CONTROL_TOKEN_CHARS_MIN} characters")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The rail's options. Secrets come only from the environment: argv is public (`ps`)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT)
    parser.add_argument(
        "--day-ms",
        type=_count,
        default=0,
        help="wall-clock ms per simulated banking day: 86400000 is real time, 2000 an "
        "accelerated day; 0 (the default) is instant: every outcome falls due at once. Not a "
        "manual clock: to stop and step time, freeze it with PUT /clock and advance it with "
        "POST /clock/advance",
    )
    parser.add_argument("--rules", default=None, help="TOML file of [[rules]]")
    parser.add_argument(
        "--nacha-dir", default=None, help="write the NACHA files sent and received here"
    )
    parser.add_argument(
        "--no-same-day", action="store_true", help="no Same Day ACH windows: next-day only"
    )
    parser.add_argument(
        "--notify-batch-max",
        type=_count,
        default=1,
        help="send outcomes ready together for one receiver in one request of up to this many "
        '({"type": "batch", "notifications": [...]}); 1: each alone',
    )
    parser.add_argument(
        "--open-control",
        action="store_true",
        help=f"serve the control API (simulations, clock, rules, files) without "
        f"${CONTROL_TOKEN_ENV}: only on a machine of your own, e.g. to load-test the rail",
    )


def from_arguments(args: argparse.Namespace, environ: Mapping[str, str]) -> RailConfig:
    """The configuration from parsed `args` and the environment; RailConfigError names
    the variable to set when a secret is missing."""
    secret = environ.get(SECRET_ENV)
    if not secret:
        raise RailConfigError(
            f"{SECRET_ENV} is not set: give the rail the whsec_ secret it shares with "
            "ballast's API (`ballast up` generates one)"
        )
    control_token = None if args.open_control else environ.get(CONTROL_TOKEN_ENV)
    if not args.open_control and not control_token:
        raise RailConfigError(
            f"{CONTROL_TOKEN_ENV} is not set: give the rail a token of at least "
            f"{CONTROL_TOKEN_CHARS_MIN} characters for its control API, or pass "
            "--open-control (only on a machine of your own)"
        )
    try:
        return RailConfig(
            secret=secret,
            control_token=control_token,
            open_control=args.open_control,
            host=args.host,
            port=args.port,
            day_ms=args.day_ms,
            rules_path=args.rules,
            nacha_dir=args.nacha_dir,
            same_day_ach=not args.no_same_day,
            notify_batch_max=args.notify_batch_max,
        )
    except ValueError as error:
        raise RailConfigError(str(error)) from None


def _port(text: str) -> int:
    value = _count(text)
    if not 0 < value <= PORT_MAX:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text}")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value
