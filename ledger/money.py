"""Money: integer cents, USD only, never a float.

`amount` on the wire is an integer number of cents (numeric strings are accepted because
Balanced's own clients send them); inside, every name carries `_cents`."""

from __future__ import annotations

CURRENCY = "USD"

# One transfer moves at least one cent and at most ten billion dollars: far above any real
# ACH entry, and small enough that sums of millions of them stay exact in a bigint.
AMOUNT_CENTS_MIN = 1
AMOUNT_CENTS_MAX = 10**12

# Longest accepted decimal string for an amount: the digits of AMOUNT_CENTS_MAX plus
# leading zeros a client might send; anything longer is refused before int() parses it.
AMOUNT_DIGITS_MAX = 15


class AmountError(ValueError):
    """The amount is not a whole number of cents within bounds."""


def parse_amount_cents(value: object) -> int:
    """Parse a wire amount: an int, or a string of decimal digits; never a float or bool."""
    if isinstance(value, bool):
        raise AmountError("must be an integer number of cents, not a boolean")
    if isinstance(value, int):
        amount_cents = value
    elif isinstance(value, str):
        text = value.strip()
        if not text.isascii() or not text.isdigit() or len(text) > AMOUNT_DIGITS_MAX:
            raise AmountError("must be an integer number of cents")
        amount_cents = int(text)
    else:
        raise AmountError("must be an integer number of cents")
    if not AMOUNT_CENTS_MIN <= amount_cents <= AMOUNT_CENTS_MAX:
        raise AmountError(f"must be between {AMOUNT_CENTS_MIN} and {AMOUNT_CENTS_MAX} cents")
    return amount_cents
