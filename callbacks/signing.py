"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

`webhook-signature: v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>`, one entry per live
secret (during a rotation both old and new sign), over the exact bytes sent. Signing is
done by the reference `standardwebhooks` library, so receivers using it agree with us."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
# The spec asks for 24..64 random bytes; 32 is the common choice (256 bits).
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_header(
    signing_secrets: Sequence[str], message_id: str, timestamp_s: int, body: str
) -> str:
    assert signing_secrets, "a message needs at least one signing secret"
    assert "." not in message_id, "the id is a field of the signed content"
    moment = datetime.fromtimestamp(timestamp_s, tz=UTC)
    return " ".join(Webhook(s).sign(message_id, moment, body) for s in signing_secrets)


def headers(
    signing_secrets: Sequence[str], message_id: str, timestamp_s: int, body: str
) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": signature_header(signing_secrets, message_id, timestamp_s, body),
    }
