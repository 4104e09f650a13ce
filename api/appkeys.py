"""Typed application state (aiohttp AppKeys)."""

from __future__ import annotations

import asyncpg
from aiohttp import web
from arq.connections import ArqRedis

from api.credit_batches import CreditBatcher
from api.keycache import KeyCache
from config import Settings

SETTINGS = web.AppKey("settings", Settings)
POOL = web.AppKey("pool", asyncpg.Pool)
REDIS = web.AppKey("redis", ArqRedis)

REQUEST_ID = web.RequestKey("request_id", str)
# The authenticated key (id, marketplace_id), or None on a public route called anonymously.
API_KEY = web.RequestKey("api_key", asyncpg.Record | None)
# The Idempotency-Key this request holds (api.idempotency.Claim), if it sent one.
IDEMPOTENCY = web.RequestKey("idempotency", object)
# Live API keys this process read lately (api.keycache).
KEY_CACHE = web.AppKey("key_cache", KeyCache)
# Per API key: (window, requests counted in it), for the rate limiter of this process.
RATE_WINDOWS = web.AppKey("rate_windows", dict)
# Per client address: (tokens, when last counted), for first API keys (api.ratelimit).
NEW_KEY_BUCKETS = web.AppKey("new_key_buckets", dict)
# Whether Redis answered the last health check (a one-item list: shared and mutable).
QUEUE_UP = web.AppKey("queue_up", list)
# Credits to bank accounts made together (api.credit_batches.CreditBatcher).
CREDIT_BATCHER = web.AppKey("credit_batcher", CreditBatcher)
