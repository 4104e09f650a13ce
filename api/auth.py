"""HTTP Basic authentication with the API key secret as the username (Balanced 1.1)."""

from __future__ import annotations

import binascii
import time
from base64 import b64decode

import asyncpg
from aiohttp import web

from api.appkeys import API_KEY, KEY_CACHE, POOL
from api.errors import Handler
from ledger import marketplaces
from ledger.errors import BalancedError, Unauthorized

# Routes anyone may call: creating the first key of a new marketplace, the health check,
# the rail's notifications (authenticated by the rail's own signature instead), and the
# API's own documentation.
PUBLIC_ROUTES = frozenset(
    {
        ("POST", "/api_keys"),
        ("GET", "/healthz"),
        ("POST", "/_rail/notifications"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/"),
    }
)
# The API reference page's own files (api/docs.py).
PUBLIC_PREFIXES = ("/docs/assets/",)
# Longest Authorization header accepted; real ones are well under 100 bytes.
AUTHORIZATION_LENGTH_MAX = 512
CHALLENGE = {"WWW-Authenticate": 'Basic realm="ballast"'}


def _secret(header: str) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or len(header) > AUTHORIZATION_LENGTH_MAX:
        return None
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, _, _ = decoded.partition(":")
    return username or None


async def _authenticate(request: web.Request, secret: str) -> asyncpg.Record | None:
    """The live key with this secret: from this process's cache (api.keycache), else from
    PostgreSQL, and then cached."""
    cache, digest, now_s = (
        request.app[KEY_CACHE],
        marketplaces.secret_sha256(secret),
        time.monotonic(),
    )
    key = cache.get(digest, now_s)
    if key is None:
        key = await marketplaces.authenticate(request.app[POOL], secret)
        if key is not None:
            cache.put(digest, key, now_s)
    return key


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    header = request.headers.get("Authorization")
    public = (request.method, request.path) in PUBLIC_ROUTES or (
        request.method == "GET" and request.path.startswith(PUBLIC_PREFIXES)
    )
    if header is None and public:
        request[API_KEY] = None
        return await handler(request)
    secret = _secret(header or "")
    key = await _authenticate(request, secret) if secret else None
    if key is None:
        raise Unauthorized(
            "Authentication is required: use HTTP Basic with your API key secret as the username."
            if header is None
            else "The API key is not valid.",
            headers=CHALLENGE,
        )
    request[API_KEY] = key
    return await handler(request)


def marketplace_id(request: web.Request) -> str:
    """The marketplace of the request's key; every query is scoped by it."""
    key = request[API_KEY]
    assert key is not None, "a public route asked for a marketplace"
    if key["marketplace_id"] is None:
        raise BalancedError(
            "This API key has no marketplace yet: create one with POST /marketplaces.",
            status_code=409,
            category_code="marketplace-not-created",
        )
    identifier: str = key["marketplace_id"]
    return identifier
