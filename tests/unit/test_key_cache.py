"""The API process's cache of live API keys (`api.keycache`): believed for KEY_TTL_S,
forgotten at once on revocation, bounded, and never holding what it should not."""

from __future__ import annotations

from api.keycache import KEY_TTL_S, KeyCache

DIGEST = b"d" * 32
KEY = {"id": "AK1", "marketplace_id": "MP1", "secret_sha256": DIGEST}


def test_a_key_read_moments_ago_is_served_from_the_cache() -> None:
    cache = KeyCache()
    cache.put(DIGEST, KEY, now_s=100.0)  # type: ignore[arg-type]
    assert cache.get(DIGEST, now_s=100.0 + KEY_TTL_S / 2) == KEY


def test_a_key_older_than_the_ttl_must_be_read_again() -> None:
    cache = KeyCache()
    cache.put(DIGEST, KEY, now_s=100.0)  # type: ignore[arg-type]
    assert cache.get(DIGEST, now_s=100.0 + KEY_TTL_S) is None
    assert len(cache) == 0


def test_a_revoked_key_is_forgotten_at_once() -> None:
    cache = KeyCache()
    cache.put(DIGEST, KEY, now_s=100.0)  # type: ignore[arg-type]
    cache.forget("AK1")
    assert cache.get(DIGEST, now_s=100.0) is None


def test_a_key_without_a_marketplace_is_not_cached() -> None:
    """POST /marketplaces is about to bind it; a cached copy would still say unbound."""
    cache = KeyCache()
    cache.put(DIGEST, {**KEY, "marketplace_id": None}, now_s=100.0)  # type: ignore[arg-type]
    assert cache.get(DIGEST, now_s=100.0) is None


def test_the_least_recently_used_key_goes_first_when_full() -> None:
    cache = KeyCache(size_max=2)
    first, second, third = (bytes([n]) * 32 for n in range(3))
    cache.put(first, {**KEY, "id": "AK1"}, now_s=100.0)  # type: ignore[arg-type]
    cache.put(second, {**KEY, "id": "AK2"}, now_s=100.0)  # type: ignore[arg-type]
    assert cache.get(first, now_s=100.0) is not None  # `second` is now the least recent.
    cache.put(third, {**KEY, "id": "AK3"}, now_s=100.0)  # type: ignore[arg-type]
    assert len(cache) == 2
    assert cache.get(second, now_s=100.0) is None
    assert cache.get(first, now_s=100.0) is not None
