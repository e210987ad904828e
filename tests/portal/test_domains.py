"""Domain normalisation and the live DNS check (vm112_portal/domains.py), no network."""

from __future__ import annotations

import asyncio
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.resolver
import dns.rrset
import pytest

from vm112_portal.domains import DnsLookup, normalise, resolver_for
from vm112_portal.errors import BadRequest, UpstreamTimeout
from vm112_portal.settings import parse_resolvers


@pytest.mark.parametrize(
    ("raw", "name", "unicode", "registrable"),
    [
        pytest.param(" Example.PT. ", "example.pt", "example.pt", "example.pt", id="trim-case-dot"),
        pytest.param("Bücher.de", "xn--bcher-kva.de", "bücher.de", "xn--bcher-kva.de", id="idna"),
        pytest.param("eu.shop.co.uk", "eu.shop.co.uk", "eu.shop.co.uk", "shop.co.uk", id="sub"),
    ],
)
def test_normalise(raw: str, name: str, unicode: str, registrable: str) -> None:
    domain = normalise(raw)
    assert (domain.name, domain.unicode, domain.registrable) == (name, unicode, registrable)


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        pytest.param("example7.PT\u3002", "example7.pt", id="ideographic-full-stop"),
        pytest.param("example7\uff0ept\uff61", "example7.pt", id="fullwidth-stops"),
        pytest.param("tésté-idn.pt.", "xn--tst-idn-byac.pt", id="idn-root-dot"),
    ],
)
def test_one_trailing_root_dot_is_allowed_in_any_of_its_forms(raw: str, name: str) -> None:
    assert normalise(raw).name == name


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(
            "example-three.pt..",
            "domain ends in more than one dot: at most one, the DNS root's, like example.pt.",
            id="two-dots",
        ),
        pytest.param(
            "example7.pt\u3002\u3002",
            "domain ends in more than one dot: at most one, the DNS root's, like example.pt.",
            id="two-ideographic",
        ),
        pytest.param("a..b.pt", "domain has an empty label (two dots in a row)", id="inner-empty"),
        pytest.param(
            ".example.pt", "domain has an empty label (it starts with a dot)", id="leading"
        ),
        pytest.param(".", "domain is empty", id="root-only"),
    ],
)
def test_empty_labels_are_refused_with_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(BadRequest) as refused:
        normalise(raw)
    assert refused.value.message == reason


def make(kind: type[Exception]) -> Exception:
    """dnspython's exceptions are untyped; build them through a typed call."""
    return kind()


class FakeResolver(dns.asyncresolver.Resolver):
    def __init__(self, answers: dict[str, Exception | None]) -> None:
        super().__init__(configure=False)
        self.answers = answers
        self.asked: list[tuple[str, str, float | None]] = []

    async def resolve(self, qname: Any, rdtype: Any = "A", *args: Any, **kwargs: Any) -> Any:
        self.asked.append((str(qname), str(rdtype), kwargs.get("lifetime")))
        error = self.answers.get(str(rdtype))
        if error is not None:
            raise error
        return object()


@pytest.mark.parametrize(
    ("answers", "expected", "asked"),
    [
        pytest.param({}, None, ["NS"], id="ns"),
        pytest.param({"NS": make(dns.resolver.NoAnswer)}, None, ["NS", "SOA"], id="soa-only"),
        pytest.param(
            {"NS": make(dns.resolver.NoAnswer), "SOA": make(dns.resolver.NoAnswer)},
            "has no NS or SOA",
            ["NS", "SOA"],
            id="nothing",
        ),
        pytest.param({"NS": make(dns.resolver.NXDOMAIN)}, "does not exist", ["NS"], id="nxdomain"),
        pytest.param({"NS": make(dns.exception.Timeout)}, "did not answer", ["NS"], id="timeout"),
    ],
)
async def test_dns_lookup(
    answers: dict[str, Exception | None], expected: str | None, asked: list[str]
) -> None:
    resolver = FakeResolver(answers)
    lookup = DnsLookup(timeout=1.5, resolver=resolver)
    domain = normalise("mail.example.pt")
    if expected is None:
        await lookup.check(domain)
    else:
        with pytest.raises((BadRequest, UpstreamTimeout)) as caught:
            await lookup.check(domain)
        assert expected in str(caught.value)
    assert [(q, t) for q, t, _ in resolver.asked] == [("example.pt", t) for t in asked]
    assert {lifetime for _, _, lifetime in resolver.asked} == {1.5}


class _LocalDns(asyncio.DatagramProtocol):
    """A one-zone authoritative stand-in on 127.0.0.1: NS for example.pt, NXDOMAIN else."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport  # a DatagramTransport (sendto)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        query = dns.message.from_wire(data)
        answer = dns.message.make_response(query)
        question = query.question[0]
        if question.name == dns.name.from_text("example.pt."):
            answer.answer.append(
                dns.rrset.from_text(question.name, 300, "IN", "NS", "ns1.example.pt.")
            )
        else:
            answer.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(answer.to_wire(), addr)


async def test_dns_resolvers_setting_points_live_validation_at_a_local_resolver() -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_LocalDns, local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        servers = parse_resolvers(f"127.0.0.1:{port}")
        lookup = DnsLookup(2.0, resolver_for(servers))
        await lookup.check(normalise("example.pt"))  # found through the local resolver
        with pytest.raises(BadRequest) as caught:
            await lookup.check(normalise("absent.pt"))
    finally:
        transport.close()
    assert caught.value.message == "absent.pt does not exist in DNS"
    assert caught.value.code == "domain_not_in_dns"
