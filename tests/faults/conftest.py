"""Fixtures of the fault-injection suite: one system for the whole package (starting one
takes a couple of seconds; it stops when the last test here is done, so the rest of the
suite does not share the machine with it), put back together after every test, whatever
the test broke.

These tests use their own embedded PostgreSQL and Valkey even when DATABASE_URL /
REDIS_URL name the machine's servers: they stop and restart them, which the machine's
services must never suffer."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.faults.receiver import Receiver
from tests.faults.system import System, Tuning
from tests.faults.traffic import Client, Marketplace, open_marketplace

# Short job timeouts: a SIGKILLed worker's jobs wait job timeout + 10 s (arq) for another
# worker; the longest job here is a 2 s callback attempt.
CI_TUNING = Tuning(workers=2, job_timeout_ms=3000, callback_timeout_ms=2000)


@pytest.fixture(scope="package")
async def system() -> AsyncIterator[System]:
    running = System(CI_TUNING)
    await running.start()
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture(autouse=True)
async def restored(system: System) -> AsyncIterator[None]:
    """Every test starts from a whole system and leaves one behind, even when it fails."""
    await system.restore()
    yield
    await system.restore()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    receiver = Receiver()
    async with receiver.serving() as url:
        yield receiver, url


@pytest.fixture
async def marketplace(
    system: System, http: aiohttp.ClientSession, receiver: tuple[Receiver, str]
) -> Marketplace:
    """A fresh marketplace, its key, a buyer's card and a callback to `receiver`."""
    return await open_marketplace(Client(http, system.api_url), *receiver)
