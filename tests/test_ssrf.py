"""The SSRF guard of callback deliveries: which addresses count as internal (every IPv6
form that embeds an IPv4 address included), and a delivery connects only to an address it
vetted, so a DNS name that rebinds between the check and the connect gets nowhere. Real
HTTP over loopback; only DNS is a stand-in."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from callbacks import delivery, ssrf
from tests.support.receiver import Receiver

# Any address on the Internet: the tests never connect to it.
PUBLIC = "93.184.215.14"
TIMEOUT_MS = 2_000


class ScriptedDns(AbstractResolver):
    """A DNS stand-in answering the n-th question with `answers[n]` (the last one for every
    question after), whatever the name: a rebinding name answers a public address, then an
    internal one."""

    def __init__(self, *answers: list[str]) -> None:
        assert answers
        self.answers = answers
        self.questions: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.questions.append(host)
        addresses = self.answers[min(len(self.questions), len(self.answers)) - 1]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=socket.IPPROTO_TCP,
                flags=socket.AI_NUMERICHOST | socket.AI_NUMERICSERV,
            )
            for address in addresses
        ]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "not global"),
        ("0.0.0.0", "unspecified"),
        ("192.0.0.8", "IETF protocol assignments"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "private"),
        ("3fff::1", "documentation"),
        # IPv6 forms that carry an internal IPv4 address.
        ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1, loopback"),
        ("::ffff:169.254.169.254", "IPv4-mapped 169.254.169.254, link-local"),
        ("::7f00:1", "IPv4-compatible"),
        ("::a00:1", "IPv4-compatible"),
        ("::8.8.8.8", "IPv4-compatible"),
        ("::ffff:0:7f00:1", "IPv4-translated"),
        ("64:ff9b::7f00:1", "NAT64 127.0.0.1, loopback"),
        ("64:ff9b::a9fe:a9fe", "NAT64 169.254.169.254, link-local"),
        ("64:ff9b::c0a8:1", "NAT64 192.168.0.1, private"),
        ("64:ff9b:1::a00:1", "local-use NAT64"),
        ("64:ff9b:1::808:808", "local-use NAT64"),
        ("2002:7f00:1::", "6to4 127.0.0.1, loopback"),
        ("2002:a00:1::1", "6to4 10.0.0.1, private"),
        ("2002:c0a8:101::1", "6to4 192.168.1.1, private"),
        ("2001::1", "Teredo"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ],
)
def test_internal_addresses_are_recognised_with_their_reason(address: str, why: str) -> None:
    assert ssrf.internal_reason(address) == why
    assert ssrf.address_is_internal(address)


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        PUBLIC,
        "2001:4860:4860::8888",
        "2606:4700:4700::1111",
        # Embedded forms are as public as the IPv4 address they carry.
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_public_addresses_pass(address: str) -> None:
    assert ssrf.internal_reason(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hooks",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[::7f00:1]/x",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",
        "http://[2002:a00:1::1]/x",
        "http://[fe80::1%25eth0]/x",
        "http://127.1/x",
        "ftp://example.com/x",
        "http://user:pass@example.com/x",
        "http://example.com:99999/x",
        "http://[::1",
        "not a url",
    ],
)
def test_internal_literals_and_odd_urls_are_refused_before_any_lookup(url: str) -> None:
    with pytest.raises(ssrf.UnsafeUrl):
        ssrf.check_target(url, allow_private=False)


def test_a_host_name_is_left_to_the_resolver_and_private_literals_may_be_allowed() -> None:
    assert ssrf.check_target("https://hooks.example.com/x", allow_private=False) == (
        "hooks.example.com",
        443,
    )
    assert ssrf.check_target("http://127.0.0.1:8080/x", allow_private=True) == ("127.0.0.1", 8080)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, int]]:
    receiving = Receiver()
    server = TestServer(receiving.app(), host="127.0.0.1")
    await server.start_server()
    assert server.port is not None
    yield receiving, server.port
    await server.close()


async def _post(http: aiohttp.ClientSession, url: str) -> delivery.Attempt:
    headers = {"webhook-id": "msg_ssrf"}  # The receiver counts attempts by message.
    return await delivery.attempt(http, "post", url, '{"events":[]}', headers, TIMEOUT_MS)


async def test_a_rebinding_name_never_reaches_the_internal_address(
    receiver: tuple[Receiver, int],
) -> None:
    receiving, port = receiver
    url = f"http://rebinding.example:{port}/hooks"
    # Without pinning, this DNS gets a request through to loopback: the check sees the
    # public answer, the HTTP client resolves again and connects to the internal one.
    dns = ScriptedDns([PUBLIC], ["127.0.0.1"])
    await ssrf.check_url(url, allow_private=False, lookup=dns)
    connector = aiohttp.TCPConnector(resolver=dns, use_dns_cache=False)
    async with aiohttp.ClientSession(connector=connector) as unpinned:
        assert (await _post(unpinned, url)).status_code == 200
    assert len(receiving.deliveries) == 1

    # The delivery client vets the answer it connects with.
    dns = ScriptedDns([PUBLIC], ["127.0.0.1"])
    await ssrf.check_url(url, allow_private=False, lookup=dns)
    async with delivery.session(allow_private=False, connections_max=4, lookup=dns) as http:
        refused = await _post(http, url)
        assert refused.status_code is None and refused.error is not None
        assert refused.error.startswith("refused: host rebinding.example resolves to an internal")
        assert "127.0.0.1: loopback" in refused.error
        # Every attempt asks again, and is refused again.
        assert (await _post(http, url)).status_code is None
    assert dns.questions == ["rebinding.example"] * 3
    assert len(receiving.deliveries) == 1


@pytest.mark.parametrize(
    "answer",
    [
        [PUBLIC, "127.0.0.1"],
        ["::ffff:127.0.0.1"],
        ["::7f00:1"],
        ["64:ff9b::7f00:1"],
        ["2002:7f00:1::1"],
    ],
)
async def test_one_internal_address_in_an_answer_refuses_the_host(
    receiver: tuple[Receiver, int], answer: list[str]
) -> None:
    receiving, port = receiver
    dns = ScriptedDns(answer)
    url = f"http://mixed.example:{port}/hooks"
    with pytest.raises(ssrf.UnsafeUrl):
        await ssrf.check_url(url, allow_private=False, lookup=dns)
    async with delivery.session(allow_private=False, connections_max=4, lookup=dns) as http:
        refused = await _post(http, url)
    assert refused.error is not None and refused.error.startswith("refused: ")
    assert receiving.deliveries == []


async def test_loopback_receivers_work_when_private_targets_are_allowed(
    receiver: tuple[Receiver, int],
) -> None:
    receiving, port = receiver
    dns = ScriptedDns(["127.0.0.1"])
    async with delivery.session(allow_private=True, connections_max=4, lookup=dns) as http:
        by_name = await _post(http, f"http://receiver.example:{port}/hooks")
        by_address = await _post(http, f"http://127.0.0.1:{port}/hooks")
    async with delivery.session(allow_private=True, connections_max=4) as http:
        by_system_dns = await _post(http, f"http://localhost:{port}/hooks")
    assert [by_name.status_code, by_address.status_code, by_system_dns.status_code] == [200] * 3
    # The host name stays the request's (Host here, SNI and certificate checks over TLS);
    # only the connection goes to the vetted address.
    assert receiving.deliveries[0].headers["Host"] == f"receiver.example:{port}"
