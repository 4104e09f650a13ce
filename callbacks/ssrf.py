"""Refuse callback URLs that point inside our network.

A marketplace chooses its callback URL; without this guard it could make our workers
call loopback services, private networks or a cloud metadata endpoint. A deployment may
allow private targets (`ballast up` does, for loopback receivers on one machine).

Checking a host name once and letting the HTTP client resolve it again to connect is not
enough: a name that answers a public address to the check and an internal one to the
connect (DNS rebinding) would get through. So deliveries connect through `PinnedResolver`,
which vets every address it hands the connector: the answer checked is the answer used.
The client skips the resolver for an IP literal, which `check_target` vets instead."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.helpers import is_ip_address
from aiohttp.resolver import ThreadedResolver
from yarl import URL

ALLOWED_SCHEMES = frozenset({"http", "https"})

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not be called back."""


def _low_32_bits(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)


def _sixtofour(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    embedded = ip.sixtofour
    assert embedded is not None, ip
    return embedded


@dataclass(frozen=True)
class Embedding:
    """IPv6 addresses that carry an IPv4 address their packets may be delivered to, by the
    host's own stack or by a translator or tunnel on the way."""

    network: ipaddress.IPv6Network
    name: str
    # The embedded IPv4 address, vetted like any other; None refuses the whole range:
    # nothing a marketplace could legitimately point at lives there.
    ipv4: Callable[[ipaddress.IPv6Address], ipaddress.IPv4Address] | None


# Python's `is_global` (3.11) calls most of these global, whatever IPv4 address they carry.
EMBEDDINGS = (
    # getaddrinfo may answer these for an IPv4 host (AI_V4MAPPED); the kernel connects to
    # the IPv4 address.
    Embedding(ipaddress.IPv6Network("::ffff:0:0/96"), "IPv4-mapped", _low_32_bits),
    # Stateless IP/ICMP translation (RFC 2765), obsolete.
    Embedding(ipaddress.IPv6Network("::ffff:0:0:0/96"), "IPv4-translated", None),
    # Deprecated by RFC 4291; `::` and `::1` are in it but are refused as such before.
    Embedding(ipaddress.IPv6Network("::/96"), "IPv4-compatible", None),
    # NAT64 (RFC 6052): a gateway of ours would connect to the IPv4 address. The
    # well-known prefix also serves public IPv4 hosts to IPv6-only networks.
    Embedding(ipaddress.IPv6Network("64:ff9b::/96"), "NAT64", _low_32_bits),
    # Local-use NAT64 (RFC 8215): a translator inside the network, by definition.
    Embedding(ipaddress.IPv6Network("64:ff9b:1::/48"), "local-use NAT64", None),
    # 6to4 (RFC 3056): relays deliver to the IPv4 address in bits 16-47.
    Embedding(ipaddress.IPv6Network("2002::/16"), "6to4", _sixtofour),
    # Teredo (RFC 4380): a tunnel through a server and NATs to a client's obfuscated IPv4
    # address; no callback receiver lives there.
    Embedding(ipaddress.IPv6Network("2001::/32"), "Teredo", None),
)

# Ranges that are not reachable from the Internet but that Python's `is_global` (3.11)
# still calls global.
INTERNAL_NETWORKS: tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...] = (
    (ipaddress.IPv4Network("192.0.0.0/24"), "IETF protocol assignments"),
    (ipaddress.IPv6Network("fec0::/10"), "site-local"),
    (ipaddress.IPv6Network("3fff::/20"), "documentation"),
    (ipaddress.IPv6Network("5f00::/16"), "segment routing"),
)


def _internal_reason_direct(ip: IPAddress) -> str | None:
    """Why `ip` itself (whatever it embeds) is internal, or None."""
    for network, name in INTERNAL_NETWORKS:
        if ip.version == network.version and ip in network:
            return name
    for flag in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if not ip.is_global:  # Shared address space 100.64.0.0/10 (carrier-grade NAT), ...
        return "not global"
    return None


def internal_reason(address: str) -> str | None:
    """Why connecting to `address` could reach inside our network, or None when it is a
    public address. An IPv6 address that embeds an IPv4 one is judged by that one too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # `%scope` of link-local IPv6.
    if isinstance(ip, ipaddress.IPv6Address) and not (ip.is_loopback or ip.is_unspecified):
        for embedding in EMBEDDINGS:
            if ip not in embedding.network:
                continue
            if embedding.ipv4 is None:
                return embedding.name
            embedded = embedding.ipv4(ip)
            reason = _internal_reason_direct(embedded)
            return f"{embedding.name} {embedded}, {reason}" if reason else None
    return _internal_reason_direct(ip)


def address_is_internal(address: str) -> bool:
    return internal_reason(address) is not None


def _vet(host: str, address: str) -> None:
    reason = internal_reason(address)
    if reason is not None:
        raise UnsafeUrl(f"host {host} resolves to an internal address ({address}: {reason})")


class PinnedResolver(AbstractResolver):
    """The name lookup of callback deliveries: hands the connector only addresses that
    passed the guard, so the address vetted is the address connected to. It keeps no cache
    (the connector must be made with `use_dns_cache=False`): every new connection resolves
    and is vetted again. `lookup` is the underlying resolver (getaddrinfo by default)."""

    def __init__(self, *, allow_private: bool, lookup: AbstractResolver | None = None) -> None:
        self.allow_private = allow_private
        self._lookup = lookup if lookup is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._lookup.resolve(host, port, family)
        if not self.allow_private:
            for answer in answers:
                _vet(host, answer["host"])
        return answers

    async def close(self) -> None:
        await self._lookup.close()


def check_target(url: str, *, allow_private: bool) -> tuple[str, int]:
    """The host and port of `url` once it is an http(s) URL without credentials whose host,
    if an IP address, is public. A host name is vetted when it is resolved (see
    `PinnedResolver`). Raises UnsafeUrl."""
    try:
        parsed = URL(url)  # The parser the HTTP client uses: both see the same host.
        host, port = parsed.raw_host, parsed.port  # `port` raises for one out of range.
    except (ValueError, TypeError) as error:  # `http://[::1`, `http://host:99999`.
        raise UnsafeUrl("must be an absolute http or https URL") from error
    if parsed.scheme not in ALLOWED_SCHEMES or not host or port is None:
        raise UnsafeUrl("must be an absolute http or https URL")
    if parsed.user is not None or parsed.password is not None:
        raise UnsafeUrl("must not carry credentials")
    if not allow_private and is_ip_address(host):
        # The client connects to what it takes for an IP literal without resolving it.
        try:
            _vet(host, host)
        except ValueError as error:
            if isinstance(error, UnsafeUrl):
                raise
            raise UnsafeUrl(f"host {host} is not a valid IP address") from error
    return host, port


async def check_url(
    url: str, *, allow_private: bool, lookup: AbstractResolver | None = None
) -> None:
    """Raise UnsafeUrl unless `url` is http(s) and every address it resolves to now is
    public. Deliveries are guarded again at each connection; this check gives a marketplace
    an immediate answer when it registers a callback."""
    host, port = check_target(url, allow_private=allow_private)
    if allow_private or is_ip_address(host):
        return
    resolver = PinnedResolver(allow_private=False, lookup=lookup)
    try:
        await resolver.resolve(host, port, socket.AF_UNSPEC)
    except OSError as error:
        raise UnsafeUrl(f"host {host} does not resolve") from error
    finally:
        if lookup is None:
            await resolver.close()
