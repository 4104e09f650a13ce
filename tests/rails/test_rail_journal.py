"""The rail's journal: a rail restarted on the same data directory still knows every entry
it accepted, under the same trace number, so a resubmission by id stays one entry (it can
never be paid twice); and a rail says since when its journal vouches for "no such entry"."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from rails.app import JOURNAL_NAME, create_app
from rails.client import EntryRequest, HttpRailClient
from rails.config import RailConfig

SECRET = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _entry(entry_id: str) -> EntryRequest:
    return EntryRequest(
        id=entry_id,
        kind="credit",
        routing_number="021000021",
        account_number="9900000002",
        name="Ada Lovelace",
        amount_cents=1234,
    )


async def _serving(config: RailConfig) -> TestServer:
    server = TestServer(create_app(config), host="127.0.0.1")
    await server.start_server()
    return server


async def test_a_restarted_rail_with_a_journal_still_knows_every_entry_it_accepted(
    tmp_path: Path,
) -> None:
    config = RailConfig(secret=SECRET, day_ms=0, open_control=True, nacha_dir=str(tmp_path))
    async with aiohttp.ClientSession() as session:
        first = await _serving(config)
        client = HttpRailClient(str(first.make_url("")), session)
        accepted = await client.submit(_entry("CR-journaled"))
        since = await client.journal_since()
        await first.close()

        second = await _serving(config)
        client = HttpRailClient(str(second.make_url("")), session)
        try:
            known = await client.get("CR-journaled")
            assert known is not None and known.trace_number == accepted.trace_number
            again = await client.submit(_entry("CR-journaled"))
            assert again.trace_number == accepted.trace_number
            newer = await client.submit(_entry("CR-after-restart"))
            assert int(newer.trace_number) == int(accepted.trace_number) + 1
            assert await client.journal_since() == since is not None
            async with session.get(second.make_url("/healthz")) as response:
                health = await response.json()
            assert (health["entries"], health["resubmissions"]) == (2, 1)
        finally:
            await second.close()
    assert len((tmp_path / JOURNAL_NAME).read_text().splitlines()) == 1 + 2


async def test_a_torn_last_journal_line_is_dropped_and_the_rail_starts(tmp_path: Path) -> None:
    """A rail killed while writing an entry never answered that submission: the torn line
    is cut off and the caller's retry is taken as new."""
    config = RailConfig(secret=SECRET, day_ms=0, open_control=True, nacha_dir=str(tmp_path))
    async with aiohttp.ClientSession() as session:
        first = await _serving(config)
        await HttpRailClient(str(first.make_url("")), session).submit(_entry("CR-whole"))
        await first.close()
        with (tmp_path / JOURNAL_NAME).open("a") as journal:
            journal.write('{"id": "CR-torn", "kind": "cre')
        second = await _serving(config)
        client = HttpRailClient(str(second.make_url("")), session)
        try:
            assert await client.get("CR-whole") is not None
            assert await client.get("CR-torn") is None
            await client.submit(_entry("CR-torn"))
        finally:
            await second.close()
        third = await _serving(config)
        try:
            client = HttpRailClient(str(third.make_url("")), session)
            assert await client.get("CR-torn") is not None
        finally:
            await third.close()


async def test_a_rail_without_a_journal_vouches_for_nothing() -> None:
    config = RailConfig(secret=SECRET, day_ms=0, open_control=True)
    async with aiohttp.ClientSession() as session:
        server = await _serving(config)
        try:
            assert await HttpRailClient(str(server.make_url("")), session).journal_since() is None
        finally:
            await server.close()
