"""The rail's configuration: one frozen value, checked once at construction."""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook


@dataclass(frozen=True, kw_only=True, slots=True)
class RailConfig:
    # The Standard Webhooks secret (`whsec_` + base64) that signs every notification.
    secret: str
    host: str = "127.0.0.1"
    port: int = 8091
    # Wall milliseconds per simulated day: 86_400_000 is real time, 0 makes every outcome
    # due at once (tests). The clock can be frozen (`PUT /clock`) and advanced
    # (`POST /clock/advance`).
    day_ms: int = 0
    # A TOML file of `[[rules]]`; None means the default rules (Balanced's test numbers).
    rules_path: str | None = None
    # Where the rail writes the NACHA files it sends and receives at each window cut-off;
    # None writes none (and costs nothing per entry).
    nacha_dir: str | None = None
    # Same Day ACH windows (10:30, 14:45, 16:45 ET cut-offs); off, entries catch only the
    # next-day window (02:15 ET cut-off, settling 08:30 ET on the next banking day).
    same_day_ach: bool = True
    # Notification retries: the first retry after about this long, doubling each time.
    notify_retry_base_ms: int = 200
    notify_max_attempts: int = 20

    def __post_init__(self) -> None:
        if not self.secret.startswith("whsec_"):
            raise ValueError("secret must be a Standard Webhooks secret starting with whsec_")
        try:
            Webhook(self.secret)
        except (binascii.Error, EmptyWebhookSecretError) as error:
            raise ValueError(f"secret needs base64 key bytes after whsec_: {error}") from None
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port out of range: {self.port}")
        if self.day_ms < 0:
            raise ValueError("day_ms must be >= 0")
        if self.notify_retry_base_ms < 0 or self.notify_max_attempts < 1:
            raise ValueError("notify_retry_base_ms must be >= 0 and notify_max_attempts >= 1")
