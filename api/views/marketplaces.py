"""API keys and marketplaces."""

from __future__ import annotations

from aiohttp import web

from api import ratelimit
from api.appkeys import API_KEY, KEY_CACHE, POOL, SETTINGS
from api.auth import marketplace_id
from api.parsing import page, parse, read_json
from api.request_models import MarketplaceCreate
from api.responses import no_content
from api.views.common import many, one, transaction
from ledger import ach_debits, marketplaces, wire
from ledger.errors import NotFound


async def create_api_key(request: web.Request) -> web.Response:
    """Without credentials: a key for a new marketplace (limited per client address, as
    anyone may call it). With them: another key of the same marketplace (limited with the
    key's other requests)."""
    key = request[API_KEY]
    if key is None:
        ratelimit.limit_new_api_keys(request)
    await read_json(request)  # A malformed body is refused even though it is unused.
    async with transaction(request) as connection:
        row, secret = await marketplaces.create_api_key(
            connection, key["marketplace_id"] if key is not None else None
        )
    return one("api_keys", wire.api_key(row, secret), status=201)


async def create_marketplace(request: web.Request) -> web.Response:
    fields = await parse(request, MarketplaceCreate, "marketplaces")
    async with transaction(request) as connection:
        row = await marketplaces.create(
            connection,
            request[API_KEY]["id"],
            fields.model_dump(),
            fingerprint_key=request.app[SETTINGS].fingerprint_key.encode(),
        )
    return one("marketplaces", wire.marketplace(row), status=201)


async def list_marketplaces(request: web.Request) -> web.Response:
    """A key sees one marketplace at most: its own."""
    owned = request[API_KEY]["marketplace_id"]
    items = []
    if owned is not None:
        items = [wire.marketplace(await marketplaces.get(request.app[POOL], owned))]
    return many(request, "marketplaces", items, len(items))


async def get_marketplace(request: web.Request) -> web.Response:
    requested = request.match_info["id"]
    if requested != marketplace_id(request):
        raise NotFound(f"Marketplace {requested} could not be found.")
    row = await marketplaces.get(request.app[POOL], requested)
    return one("marketplaces", wire.marketplace(row))


async def get_shortfall(request: web.Request) -> web.Response:
    requested = request.match_info["id"]
    if requested != marketplace_id(request):
        raise NotFound(f"Marketplace {requested} could not be found.")
    amount_cents = await marketplaces.shortfall_cents(request.app[POOL], requested)
    returnable_cents = await ach_debits.returnable_cents(request.app[POOL], requested)
    return one("shortfalls", wire.shortfall(requested, amount_cents, returnable_cents))


async def list_api_keys(request: web.Request) -> web.Response:
    limit, offset = page(request)
    rows, total = await marketplaces.list_api_keys(
        request.app[POOL], marketplace_id(request), limit, offset
    )
    return many(request, "api_keys", [wire.api_key(row) for row in rows], total)


async def get_api_key(request: web.Request) -> web.Response:
    row = await marketplaces.get_api_key(
        request.app[POOL], marketplace_id(request), request.match_info["id"]
    )
    return one("api_keys", wire.api_key(row))


async def revoke_api_key(request: web.Request) -> web.StreamResponse:
    """Revoked in PostgreSQL, and forgotten by this process's key cache at once (other
    API processes stop believing their copy within api.keycache.KEY_TTL_S)."""
    key_id = request.match_info["id"]
    await marketplaces.revoke_api_key(request.app[POOL], marketplace_id(request), key_id)
    request.app[KEY_CACHE].forget(key_id)
    return no_content()
