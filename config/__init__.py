"""Deployment settings, read from the environment once at process start.

Low in the import graph: the API, the workers and the `ballast` CLI import it, and it
imports nothing of ours, so no layer reaches upward for its configuration.

`DATABASE_URL` and `REDIS_URL` keep their conventional names; everything else is
prefixed `BALLAST_`. Units are in the names so that no reader has to guess.

Secrets have no defaults. A default would be a constant in this public source, and
anyone could sign with it. `ballast up` generates them (ballast/launcher.py); a process
started on its own (`ballast api`, `ballast worker`) must be given them and refuses to
start without them (`from_environment`).
"""

from __future__ import annotations

import base64
import binascii
import secrets

from pydantic import Field, ValidationError, field_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

# HMAC-SHA256 keys: 32 bytes is the hash's own size; shorter keys are guessable sooner.
RAIL_SECRET_KEY_BYTES_MIN = 32
# The fingerprint key is text (an environment variable); 32 random characters carry
# ≥ 160 bits, far beyond any search, while a short word would be found at once.
FINGERPRINT_KEY_CHARS_MIN = 32
WEBHOOK_SECRET_PREFIX = "whsec_"
# The dashboard's session cookies are encrypted and authenticated with a Fernet key: the
# URL-safe base64 of exactly 32 random bytes (AES-128 and HMAC-SHA256 keys, 16 bytes each).
SESSION_KEY_BYTES = 32
# Appended to the one-line message of a process that refuses to start.
ENVIRONMENT_HINT = " (`ballast up` generates the secrets; see the README, Configuration)"


class SettingsError(Exception):
    """The environment lacks a required setting or gives a bad one (a one-line message)."""


class StoreSettings(BaseSettings):
    """Where the data lives: all that `ballast audit` needs."""

    model_config = SettingsConfigDict(env_prefix="BALLAST_", extra="ignore")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres", validation_alias="DATABASE_URL"
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")


class Settings(StoreSettings):
    api_host: str = "127.0.0.1"
    api_port: int = 8090
    # The URL at which the rail reaches our API to report outcomes (the API's own base URL).
    api_public_url: str = "http://127.0.0.1:8090"
    # BALLAST_API_REUSE_PORT: listen with SO_REUSEPORT, so that several API processes share
    # api_port (the kernel spreads connections among them). Set by `ballast api --processes
    # N` and `ballast up --api-processes N` for their API processes; off otherwise, so that
    # a second API started by mistake on a busy port fails instead of sharing it.
    api_reuse_port: bool = False

    rail_url: str = "http://127.0.0.1:8095"  # A rail started alone: rails.config.DEFAULT_PORT.
    # BALLAST_RAIL_CONTROL_TOKEN: the bearer token of the rail's control API (clock,
    # simulations, rules, files), which the dashboard's Rail page calls from the server.
    # Optional: without it that page says the rail is not configured. Never shown in a page.
    rail_control_token: str | None = Field(None, repr=False)
    # BALLAST_RAIL_SECRET: the secret shared with the rail, which signs its outcome
    # notifications with it (Standard Webhooks: `whsec_` + base64 of ≥ 32 random bytes).
    # Whoever has it can fail a paid credit, so it has no default.
    rail_secret: str = Field(repr=False)
    # BALLAST_FINGERPRINT_KEY: the installation's key for card and bank-account
    # fingerprints (HMAC-SHA256, see ledger/instruments.py). Without it a fingerprint is a
    # plain hash, and the card number falls out of it given the last four digits and the
    # expiry. It lives outside the database (in the environment; `ballast up` keeps it in
    # `fingerprint.key` beside its PostgreSQL data dir), so that a copy of the rows alone
    # reveals nothing. Keep it for the installation's life: with another key, the same
    # card gets another fingerprint.
    fingerprint_key: str = Field(repr=False, min_length=FINGERPRINT_KEY_CHARS_MIN)
    # BALLAST_SESSION_KEY: the key the dashboard encrypts its session cookies with (a
    # Fernet key, see SESSION_KEY_BYTES). Whoever has it can sign in as any API key's
    # marketplace, so it has no default. Only the API uses it: `ballast api` refuses to
    # start without it (api/app.py), the workers never need it.
    session_key: str | None = Field(None, repr=False)

    # arq queue name; tests give each run its own so that runs never share work.
    queue_name: str = "ballast:queue"
    worker_max_jobs: int = 50
    # How often an idle worker asks Redis for jobs: the floor of every job's queueing delay,
    # and cheap (one sorted-set read).
    worker_poll_delay_ms: int = 10
    # A job running longer than this is presumed stuck and cancelled. The jobs of a worker
    # that died (SIGKILL, OOM) wait this + 10 s before another worker takes them over.
    job_timeout_ms: int = 60_000

    # The outbox sweeper re-enqueues work whose job was lost (Redis flushed, process killed).
    sweep_interval_ms: int = 1000
    outbox_stale_after_ms: int = 5000

    # Transfers still pending this long after their submission are checked with the rail
    # (a lost notification, or a rail that forgot the entry), every interval.
    reconcile_interval_ms: int = 30_000
    reconcile_after_ms: int = 120_000

    # Callbacks to loopback/private addresses are refused unless a deployment allows them.
    callbacks_allow_private: bool = False
    callback_timeout_ms: int = 10_000
    # Delays before each retry of a failed callback delivery (Standard Webhooks schedule).
    callback_retry_schedule_ms: list[int] = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000]
    # Deliveries in flight per callback per worker: one slow receiver holds no more slots.
    callback_concurrency_max: int = 16
    # A callback whose every delivery has failed for this long is disabled (5 days, as Svix).
    callback_disable_after_ms: int = 5 * 24 * 3600 * 1000
    # How long the old secret keeps signing beside the new one after a rotation (1 day).
    callback_secret_overlap_ms: int = 24 * 3600 * 1000

    # Requests per second one API key may make (0: no limit). Generous: it stops a runaway
    # client, not a busy one.
    rate_limit_requests_per_s: int = 1000
    # First API keys (POST /api_keys without credentials) per client address: a bucket of
    # this many, refilled at this many per minute (0: no limit). A marketplace needs one;
    # `ballast up`, a benchmark or the fault suite (~15) fit in the burst, while a script
    # minting keys in bulk is held to one every 3 s (api/ratelimit.py).
    rate_limit_new_api_keys_per_min: int = 20

    db_pool_min_size: int = 2
    db_pool_max_size: int = 10

    @field_validator("rail_secret")
    @classmethod
    def _rail_secret_is_a_strong_webhook_secret(cls, value: str) -> str:
        if not value.startswith(WEBHOOK_SECRET_PREFIX):
            raise ValueError(f"must start with {WEBHOOK_SECRET_PREFIX}")
        try:
            key = base64.b64decode(value.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
        except binascii.Error:
            raise ValueError("needs base64 key bytes after whsec_") from None
        if len(key) < RAIL_SECRET_KEY_BYTES_MIN:
            raise ValueError(f"needs at least {RAIL_SECRET_KEY_BYTES_MIN} key bytes")
        return value

    @field_validator("session_key")
    @classmethod
    def _session_key_is_a_fernet_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            key = base64.urlsafe_b64decode(value.encode())
        except (binascii.Error, ValueError):
            raise ValueError("needs URL-safe base64") from None
        if len(key) != SESSION_KEY_BYTES:
            raise ValueError(f"needs exactly {SESSION_KEY_BYTES} key bytes in URL-safe base64")
        return value


def new_session_key() -> str:
    """A fresh BALLAST_SESSION_KEY (what `ballast up` and the tests use)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(SESSION_KEY_BYTES)).decode()


def require_session_key(settings: Settings) -> str:
    """The session key, or SettingsError: the API serves the dashboard and needs it."""
    if settings.session_key is None:
        raise SettingsError("BALLAST_SESSION_KEY is not set" + ENVIRONMENT_HINT)
    return settings.session_key


def from_environment() -> Settings:
    """The settings from the environment, or SettingsError naming each variable to set."""
    try:
        return Settings()  # type: ignore[call-arg]  # The fields come from the environment.
    except ValidationError as error:
        problems = [_describe(problem) for problem in error.errors()]
        raise SettingsError("; ".join(problems) + ENVIRONMENT_HINT) from None


def _describe(problem: ErrorDetails) -> str:
    name = str(problem["loc"][0]) if problem["loc"] else "?"
    field = Settings.model_fields.get(name)
    alias = field.validation_alias if field is not None else None
    variable = alias if isinstance(alias, str) else f"BALLAST_{name.upper()}"
    if problem["type"] == "missing":
        return f"{variable} is not set"
    return f"{variable} is invalid: {problem['msg'].removeprefix('Value error, ')}"
