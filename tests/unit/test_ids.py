"""Ids and transaction numbers in Balanced's formats (`ledger.ids`)."""

from __future__ import annotations

import re
import time

import pytest

from ledger.ids import (
    ID_BODY_HEX_DIGITS,
    ID_TIME_HEX_DIGITS,
    PREFIXES,
    new_api_key_secret,
    new_id,
    new_transaction_number,
)

# Balanced's id format: a type prefix, then 16 to 32 alphanumerics.
BALANCED_ID_BODY = "[a-zA-Z0-9]{16,32}"


@pytest.mark.parametrize("kind", sorted(PREFIXES))
def test_every_kind_gets_its_prefix_and_a_balanced_id_body(kind: str) -> None:
    identifier = new_id(kind)
    assert re.fullmatch(re.escape(PREFIXES[kind]) + BALANCED_ID_BODY, identifier)
    assert len(identifier) == len(PREFIXES[kind]) + ID_BODY_HEX_DIGITS


def test_ids_minted_in_one_millisecond_are_distinct() -> None:
    assert len({new_id("credit") for _ in range(1_000)}) == 1_000


def test_ids_grow_with_time_so_that_indexes_grow_at_their_right_edge() -> None:
    earlier = new_id("credit")
    time.sleep(0.002)  # Two milliseconds apart: the time digits differ.
    later = new_id("credit")
    assert earlier < later
    body = later.removeprefix(PREFIXES["credit"])
    assert abs(int(body[:ID_TIME_HEX_DIGITS], 16) - time.time() * 1000) < 60_000


def test_the_random_part_is_unguessable() -> None:
    """80 random bits after the time: knowing when an id was minted does not give it away."""
    bodies = {new_id("credit")[len(PREFIXES["credit"]) + ID_TIME_HEX_DIGITS :] for _ in range(100)}
    assert len(bodies) == 100
    assert ID_BODY_HEX_DIGITS - ID_TIME_HEX_DIGITS == 20


def test_prefixes_tell_every_kind_apart() -> None:
    prefixes = list(PREFIXES.values())
    assert len(set(prefixes)) == len(prefixes)
    # No prefix begins another, so that an id names exactly one kind.
    assert not [(a, b) for a in prefixes for b in prefixes if a != b and b.startswith(a)]


def test_an_unknown_kind_has_no_id() -> None:
    with pytest.raises(KeyError):
        new_id("payout")


@pytest.mark.parametrize("prefix", ["W", "CR", "RF", "RV", "HL", "SC", "SD"])
def test_transaction_numbers_are_prefix_three_three_four(prefix: str) -> None:
    number = new_transaction_number(prefix)
    assert re.fullmatch(re.escape(prefix) + r"[0-9A-Z]{3}-[0-9A-Z]{3}-[0-9A-Z]{4}", number)


def test_a_transaction_number_of_an_unknown_kind_is_a_bug() -> None:
    with pytest.raises(AssertionError):
        new_transaction_number("XX")


def test_api_key_secrets_are_test_keys_of_32_alphanumerics() -> None:
    secret = new_api_key_secret()
    assert re.fullmatch(r"ak-test-[a-zA-Z0-9]{32}", secret)
    assert secret != new_api_key_secret()
