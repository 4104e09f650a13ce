"""Deployment settings, read from the environment once at process start.

`DATABASE_URL` and `REDIS_URL` keep their conventional names; everything else is
prefixed `BALLAST_`. Units are in the names so that no reader has to guess.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_RAIL_SECRET = "whsec_ZGV2LXJhaWwtc2VjcmV0LW5vdC1mb3ItcHJvZHVjdGlvbg=="


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BALLAST_", extra="ignore")

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres", validation_alias="DATABASE_URL"
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")

    api_host: str = "127.0.0.1"
    api_port: int = 8090
    # The URL at which the rail reaches our API to report outcomes (the API's own base URL).
    api_public_url: str = "http://127.0.0.1:8090"

    rail_url: str = "http://127.0.0.1:8091"
    # Shared secret with which the rail signs its outcome notifications (Standard Webhooks).
    rail_secret: str = DEV_RAIL_SECRET

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
