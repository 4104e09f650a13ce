"""Reading a posted form without ever answering 500 to a malformed one."""

from __future__ import annotations

import re

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiDictProxy

from dashboard.actions import AMOUNT_CENTS_MAX

# The longest text field any dashboard form takes (an API key secret, a description).
FIELD_CHARS_MAX = 2048


async def read_form(
    request: web.Request,
) -> MultiDictProxy[str | bytes | bytearray | web.FileField]:
    """The posted form (aiohttp caches it: the CSRF check and the handler share it), or a
    400 for a body that is not one (bad encoding, broken multipart)."""
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError, AssertionError, HttpProcessingError):
        raise web.HTTPBadRequest(reason="The form could not be read.") from None


def text_field(
    form: MultiDictProxy[str | bytes | bytearray | web.FileField], name: str
) -> str | None:
    """A text field, stripped; None when absent, empty, too long, or not storable text
    (a NUL or a lone surrogate, which PostgreSQL cannot take)."""
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > FIELD_CHARS_MAX or "\x00" in value:
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


# Dollars as an operator types them: `12`, `12.5`, `1,234.56`, `$12.00`.
DOLLARS = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d{1,13})(?:\.(\d{1,2}))?")


def dollars_cents(text: str) -> int | None:
    """Dollars typed in a form as integer cents (`12.5` → 1250), or None when the text is
    not an amount from one cent to the ledger's bound."""
    match = DOLLARS.fullmatch(text.strip())
    if match is None:
        return None
    cents = int(match.group(1).replace(",", "")) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    return cents if 1 <= cents <= AMOUNT_CENTS_MAX else None
