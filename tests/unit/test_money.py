"""Wire amounts (`ledger.money.parse_amount_cents`): whole cents as an integer or a
string of ASCII digits, within bounds; never a float, a boolean or a sign."""

from __future__ import annotations

import pytest

from ledger.money import (
    AMOUNT_CENTS_MAX,
    AMOUNT_CENTS_MIN,
    AMOUNT_DIGITS_MAX,
    AmountError,
    parse_amount_cents,
)


@pytest.mark.parametrize(
    ("value", "amount_cents"),
    [
        (1, 1),
        (AMOUNT_CENTS_MAX, AMOUNT_CENTS_MAX),
        ("500", 500),
        (" 500 ", 500),
        ("0000000000500", 500),
        (str(AMOUNT_CENTS_MAX), AMOUNT_CENTS_MAX),
    ],
)
def test_whole_cents_are_accepted_as_integers_or_digit_strings(
    value: object, amount_cents: int
) -> None:
    assert parse_amount_cents(value) == amount_cents


@pytest.mark.parametrize(
    "value",
    [
        True,
        False,
        5.0,
        "5.00",
        "-5",
        "+5",
        "1e3",
        "",
        "five",
        "\uff15",  # A full-width 5: isdigit() says yes, the wire format says no.
        "\u0665",  # An Arabic-Indic 5, likewise.
        None,
        [500],
        "0" * AMOUNT_DIGITS_MAX + "1",  # Too long to parse, whatever its value.
    ],
)
def test_anything_but_whole_cents_is_refused(value: object) -> None:
    with pytest.raises(AmountError, match="integer number of cents"):
        parse_amount_cents(value)


@pytest.mark.parametrize(
    "value", [AMOUNT_CENTS_MIN - 1, -1, AMOUNT_CENTS_MAX + 1, str(AMOUNT_CENTS_MAX + 1), "0"]
)
def test_amounts_out_of_bounds_are_refused_with_the_bounds(value: object) -> None:
    with pytest.raises(AmountError, match=f"between {AMOUNT_CENTS_MIN} and {AMOUNT_CENTS_MAX}"):
        parse_amount_cents(value)


def test_the_longest_accepted_string_holds_the_largest_amount() -> None:
    assert len(str(AMOUNT_CENTS_MAX)) <= AMOUNT_DIGITS_MAX
