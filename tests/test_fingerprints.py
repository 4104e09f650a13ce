"""Fingerprints identify a card or bank account for deduplication and reveal nothing of
its number: they are keyed with the installation's secret, so the search that a response's
last four digits, length and expiry allow finds nothing, while the same card keeps one
fingerprint within an installation. Rows fingerprinted before the key are re-keyed once,
at the API's start."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from aiohttp.test_utils import TestServer

from api.app import create_app
from ledger import instruments
from tests.conftest import Marketplace
from tests.support import flows
from tests.support.pipeline import Api, Pipeline

# A public Visa BIN: an attacker knows it, or tries the few thousand in use.
BIN = "424242"
CARD_LENGTH = 16
ROUTING = flows.ROUTING


def _luhn_check_digit(partial: str) -> str:
    total = 0
    for position, char in enumerate(reversed(partial)):
        digit = int(char)
        if position % 2 == 0:  # Doubled: the check digit will sit to their right.
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def _random_card_number() -> str:
    partial = BIN + "".join(secrets.choice("0123456789") for _ in range(CARD_LENGTH - 7))
    number = partial + _luhn_check_digit(partial)
    assert instruments.luhn_valid(number)
    return number


def _unkeyed_card_fingerprint(number: str, month: int, year: int) -> str:
    """The fingerprint as it was: a plain SHA-256 of the number and expiry."""
    return hashlib.sha256(f"{number}|{month:02d}{year}".encode()).hexdigest()


def _unkeyed_bank_fingerprint(account_number: str, name: str) -> str:
    return hashlib.sha256(f"{ROUTING}|{account_number}|{name}|checking".encode()).hexdigest()


def _search(candidates: Any, digest: Any, targets: set[str]) -> set[str]:
    """Every candidate whose plain hash is among `targets` (the attacker's search)."""
    return {candidate for candidate in candidates if digest(candidate) in targets}


async def _card(api: Api, number: str, month: int = 7, year: int = 2031) -> dict[str, Any]:
    response = await api.post(
        "/cards", {"number": number, "expiration_month": month, "expiration_year": year}
    )
    return await flows.created(response, "cards")


async def _bank_account(api: Api, account_number: str, name: str) -> dict[str, Any]:
    body = {
        "name": name,
        "routing_number": ROUTING,
        "account_number": account_number,
        "account_type": "checking",
    }
    return await flows.created(await api.post("/bank_accounts", body), "bank_accounts")


async def test_a_card_fingerprint_does_not_give_away_the_number(
    marketplace: Marketplace,
) -> None:
    number = _random_card_number()
    card = await _card(marketplace.api, number)
    # What the response shows: the last four digits, the length, the expiry.
    last4, length = card["number"][-4:], len(card["number"])
    month, year = card["expiration_month"], card["expiration_year"]
    middle_digits = length - len(BIN) - len(last4)
    candidates = (f"{BIN}{middle:0{middle_digits}d}{last4}" for middle in range(10**middle_digits))
    old_style = _unkeyed_card_fingerprint(number, month, year)
    found = _search(
        candidates,
        lambda candidate: _unkeyed_card_fingerprint(candidate, month, year),
        {card["fingerprint"], old_style},
    )
    # The search covers the number (it finds it from an unkeyed fingerprint) ...
    assert found == {number}
    # ... and the fingerprint the API gives is none of the candidates' plain hashes.
    assert card["fingerprint"] != old_style
    assert all(number not in str(value) for value in card.values())


async def test_a_bank_account_fingerprint_does_not_give_away_the_number(
    marketplace: Marketplace,
) -> None:
    account_number = "77" + "".join(secrets.choice("0123456789") for _ in range(8))
    bank_account = await _bank_account(marketplace.api, account_number, "Grace Hopper")
    shown = bank_account["account_number"]
    assert shown == "x" * 6 + account_number[-4:]
    candidates = (f"77{middle:04d}{shown[-4:]}" for middle in range(10**4))
    old_style = _unkeyed_bank_fingerprint(account_number, "Grace Hopper")
    found = _search(
        candidates,
        lambda candidate: _unkeyed_bank_fingerprint(candidate, bank_account["name"]),
        {bank_account["fingerprint"], old_style},
    )
    assert found == {account_number}
    assert bank_account["fingerprint"] != old_style


async def test_one_card_one_fingerprint_per_installation_and_another_elsewhere(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    number = _random_card_number()
    first = await _card(marketplace.api, number)
    again = await _card(marketplace.api, number)
    other_expiry = await _card(marketplace.api, number, month=8)
    other_number = await _card(marketplace.api, _random_card_number())
    assert first["id"] != again["id"] and first["fingerprint"] == again["fingerprint"]
    assert other_expiry["fingerprint"] != first["fingerprint"]
    assert other_number["fingerprint"] != first["fingerprint"]

    # Another marketplace of this installation sees the same fingerprint: the key belongs
    # to the installation.
    key = (await pipeline.api.post("/api_keys")).body["api_keys"][0]["secret"]
    neighbour = pipeline.api.as_key(key)
    assert (await neighbour.post("/marketplaces", {})).status == 201
    assert (await _card(neighbour, number))["fingerprint"] == first["fingerprint"]

    # Another installation (another key) gives the same card another fingerprint.
    elsewhere_settings = pipeline.settings.model_copy(
        update={"fingerprint_key": secrets.token_urlsafe(32)}
    )
    elsewhere = TestServer(create_app(elsewhere_settings), host="127.0.0.1")
    await elsewhere.start_server()
    try:
        api = Api(pipeline.http, str(elsewhere.make_url("")).rstrip("/"), marketplace.secret)
        assert (await _card(api, number))["fingerprint"] != first["fingerprint"]
    finally:
        await elsewhere.close()


async def test_fingerprints_from_before_the_key_are_rekeyed_once_at_start(
    pipeline: Pipeline, marketplace: Marketplace
) -> None:
    number = _random_card_number()
    card = await _card(marketplace.api, number)
    bank_account = await _bank_account(marketplace.api, "8800012345", "Alan Turing")
    # As a database migrated by 0003 has them: plain hashes, marked not keyed.
    await pipeline.pool.execute(
        "UPDATE cards SET fingerprint = $2, fingerprint_keyed = false WHERE id = $1",
        card["id"],
        _unkeyed_card_fingerprint(number, 7, 2031),
    )
    await pipeline.pool.execute(
        "UPDATE bank_accounts SET fingerprint = $2, fingerprint_keyed = false WHERE id = $1",
        bank_account["id"],
        _unkeyed_bank_fingerprint("8800012345", "Alan Turing"),
    )
    assert (await marketplace.api.get(card["href"])).body["cards"][0]["fingerprint"] == (
        _unkeyed_card_fingerprint(number, 7, 2031)
    )

    restarted = TestServer(create_app(pipeline.settings), host="127.0.0.1")
    await restarted.start_server()  # Its start-up re-keys them.
    await restarted.close()

    rekeyed_card = (await marketplace.api.get(card["href"])).body["cards"][0]
    rekeyed_bank = (await marketplace.api.get(bank_account["href"])).body["bank_accounts"][0]
    # Exactly what a card or bank account made now gets: deduplication spans the upgrade.
    assert rekeyed_card["fingerprint"] == card["fingerprint"]
    assert rekeyed_bank["fingerprint"] == bank_account["fingerprint"]
    assert (await _card(marketplace.api, number))["fingerprint"] == card["fingerprint"]
    # Once: a second pass finds nothing to do and changes nothing.
    key = pipeline.settings.fingerprint_key.encode()
    assert await instruments.key_fingerprints(pipeline.pool, key) == 0
    again = (await marketplace.api.get(card["href"])).body["cards"][0]
    assert again["fingerprint"] == card["fingerprint"]
