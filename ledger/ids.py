"""Resource ids and transaction numbers in Balanced's formats."""

from __future__ import annotations

import secrets
import string
import time

# Balanced ids are a type prefix plus 16..32 alphanumerics. Ours are 32 hex digits: the
# minting time in milliseconds (12 digits, good until the year 10889), then 80 random bits,
# so ids can be minted anywhere (API, workers) without coordination and never collide in
# practice. Time first makes every id index grow at its right edge, as a sequence would:
# random ids touched pages all over each index, and after every checkpoint PostgreSQL logs
# each page's first change whole (a full-page image), most of the WAL once tables grew.
ID_BODY_HEX_DIGITS = 32
ID_TIME_HEX_DIGITS = 12
_TRANSACTION_NUMBER_ALPHABET = string.digits + string.ascii_uppercase

PREFIXES = {
    "marketplace": "TEST-MP",
    "api_key": "AK",
    "customer": "CU",
    "card": "CC",
    "bank_account": "BA",
    "order": "OR",
    "account": "AT",
    "debit": "WD",
    "credit": "CR",
    "refund": "RF",
    "reversal": "RV",
    "settlement": "ST",
    "card_hold": "HL",
    "bank_account_verification": "BZ",
    "dispute": "DT",
    "event": "EV",
    "callback": "CB",
    "delivery": "DL",
    "request": "OHM",
}


def new_id(kind: str) -> str:
    """A fresh id for a resource of `kind` (a key of PREFIXES)."""
    prefix = PREFIXES[kind]
    minted_ms = time.time_ns() // 1_000_000
    random_digits = ID_BODY_HEX_DIGITS - ID_TIME_HEX_DIGITS
    identifier = (
        f"{prefix}{minted_ms:0{ID_TIME_HEX_DIGITS}x}{secrets.token_hex(random_digits // 2)}"
    )
    assert len(identifier) == len(prefix) + ID_BODY_HEX_DIGITS
    return identifier


def new_transaction_number(prefix: str) -> str:
    """`XX123-ABC-4567`: the human-readable number Balanced puts on every transaction.

    Debits use the one-letter prefix `W`, per the schema; the groups are 3, 3 and 4 long."""
    assert prefix in {"W", "CR", "RF", "RV", "HL", "SC", "SD"}
    parts = [
        "".join(secrets.choice(_TRANSACTION_NUMBER_ALPHABET) for _ in range(n)) for n in (3, 3, 4)
    ]
    return f"{prefix}{parts[0]}-{parts[1]}-{parts[2]}"


def new_api_key_secret() -> str:
    """`ak-test-` + 32 alphanumerics (190 random bits)."""
    alphabet = string.ascii_letters + string.digits
    return "ak-test-" + "".join(secrets.choice(alphabet) for _ in range(32))
