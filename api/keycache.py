"""Live API keys remembered by this API process, so that authenticating a request costs
no round trip to PostgreSQL when its key was seen moments ago.

Revocation: the process that revokes a key forgets it at once (`forget`); another API
process believes its copy until it is KEY_TTL_S old, so a key revoked elsewhere keeps
working there for at most that long. Only live keys bound to a marketplace are kept: an
unknown secret is never cached (guessing secrets cannot grow this), and a key without a
marketplace is about to be bound by POST /marketplaces, which a cached copy would hide."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field

import asyncpg

# How long a cached key is believed without asking PostgreSQL again: the bound on how long
# a key revoked through another API process still authenticates in this one. At the
# benchmark's rate this turns hundreds of lookups per second per key into one every 2 s.
KEY_TTL_S = 2.0
# Keys one process remembers; past this the least recently used is forgotten. Only keys
# that exist (and so were created under the rate limit) get in. A key row is ~0.5 KB.
KEYS_MAX = 10_000


@dataclass
class KeyCache:
    """API key rows by the SHA-256 of their secret, each with the time it was read."""

    ttl_s: float = KEY_TTL_S
    size_max: int = KEYS_MAX
    # digest -> (read at, monotonic seconds; key row), least recently used first.
    _entries: collections.OrderedDict[bytes, tuple[float, asyncpg.Record]] = field(
        default_factory=collections.OrderedDict
    )

    def get(self, digest: bytes, now_s: float) -> asyncpg.Record | None:
        """The key, if it was read from PostgreSQL less than ttl_s ago."""
        entry = self._entries.get(digest)
        if entry is None:
            return None
        read_at_s, key = entry
        if now_s - read_at_s >= self.ttl_s:
            del self._entries[digest]
            return None
        self._entries.move_to_end(digest)
        return key

    def put(self, digest: bytes, key: asyncpg.Record, now_s: float) -> None:
        """Remember a live key just read; a key without a marketplace is not kept."""
        if key["marketplace_id"] is None:
            return
        self._entries[digest] = (now_s, key)
        self._entries.move_to_end(digest)
        while len(self._entries) > self.size_max:
            self._entries.popitem(last=False)

    def forget(self, key_id: str) -> None:
        """Drop a key revoked by this process. Revocations are rare, so a scan is fine."""
        for digest in [d for d, (_, key) in self._entries.items() if key["id"] == key_id]:
            del self._entries[digest]

    def __len__(self) -> int:
        return len(self._entries)
