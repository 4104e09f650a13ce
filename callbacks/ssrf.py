"""Refuse callback URLs that point inside our network.

A marketplace chooses its callback URL; without this guard it could make our workers
call loopback services, private networks or a cloud metadata endpoint. A deployment may
allow private targets (`ballast up` does, for loopback receivers on one machine)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

ALLOWED_SCHEMES = frozenset({"http", "https"})


class UnsafeUrl(ValueError):
    """The URL may not be called back."""


def _address_is_internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def check_url(url: str, *, allow_private: bool) -> None:
    """Raise UnsafeUrl unless `url` is http(s) and every address it resolves to is public."""
    try:
        parts = urlsplit(url)
        port = parts.port  # Raises for a port that is not a number from 0 to 65535.
    except ValueError as error:  # A malformed URL: `http://[::1`, `http://host:99999`.
        raise UnsafeUrl("must be an absolute http or https URL") from error
    if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise UnsafeUrl("must be an absolute http or https URL")
    if parts.username or parts.password:
        raise UnsafeUrl("must not carry credentials")
    if allow_private:
        return
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            parts.hostname, port, type=socket.SOCK_STREAM
        )
    except OSError as error:
        raise UnsafeUrl(f"host {parts.hostname} does not resolve") from error
    for info in infos:
        if _address_is_internal(str(info[4][0])):
            raise UnsafeUrl(f"host {parts.hostname} resolves to an internal address")
