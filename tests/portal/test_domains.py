"""Domain normalisation and the live DNS check (vm112_portal/domains.py), no network."""

from __future__ import annotations

from typing import Any

import dns.asyncresolver
import dns.exception
import dns.resolver
import pytest

from vm112_portal.domains import DnsLookup, normalise
from vm112_portal.errors import BadRequest, UpstreamTimeout


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
