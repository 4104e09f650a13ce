"""HttpRailClient against the real rail, and against servers that fail."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiohttp.typedefs import Handler
from conftest import Rail

from rails.client import EntryRequest, HttpRailClient, RailRejected, RailUnavailable

REQUEST = EntryRequest(
    id="CR-9",
    kind="credit",
    routing_number="021000021",
    account_number="9900000000",
    amount_cents=500,
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


def base_url(rail: Rail) -> str:
    return str(rail.client.make_url(""))


async def test_submit_then_get_returns_the_receipt(
    rail: Rail, session: aiohttp.ClientSession
) -> None:
    client = HttpRailClient(base_url(rail), session)
    receipt = await client.submit(REQUEST)
    assert (receipt.id, receipt.status, receipt.amount_cents) == ("CR-9", "pending", 500)
    assert await client.get("CR-9") == receipt
    assert await client.get("CR-unknown") is None


async def test_reused_id_with_other_body_is_rejected(
    rail: Rail, session: aiohttp.ClientSession
) -> None:
    client = HttpRailClient(base_url(rail), session)
    await client.submit(REQUEST)
    with pytest.raises(RailRejected) as raised:
        await client.submit(REQUEST.model_copy(update={"amount_cents": 501}))
    assert raised.value.status == 409


async def test_unreachable_rail_is_unavailable(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HttpRailClient(f"http://127.0.0.1:{port}", session)
    with pytest.raises(RailUnavailable):
        await client.submit(REQUEST)


async def failing_server(handler: Handler) -> TestServer:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


async def test_server_error_is_unavailable(session: aiohttp.ClientSession) -> None:
    async def answer_503(request: web.Request) -> web.Response:
        return web.json_response({"error": "full"}, status=503)

    server = await failing_server(answer_503)
    try:
        with pytest.raises(RailUnavailable):
            await HttpRailClient(str(server.make_url("")), session).get("CR-9")
    finally:
        await server.close()


async def test_slow_rail_times_out_as_unavailable(session: aiohttp.ClientSession) -> None:
    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    server = await failing_server(stall)
    try:
        client = HttpRailClient(str(server.make_url("")), session, timeout_s=0.05)
        with pytest.raises(RailUnavailable):
            await client.submit(REQUEST)
    finally:
        await server.close()
