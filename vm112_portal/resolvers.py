"""Every DNS lookup of the Portal goes through one resolver factory: ``resolver_for``.

``PORTAL_DNS_RESOLVERS`` is how an operator points the Portal at DNS it trusts, so the
domain check (vm112_portal/domains.py), the proof of control's TXT lookup
(vm112_portal/ownership.py), SPF planning (vm112_portal/spf.py) and the mail check all
ask the same servers; unset, the system's (/etc/resolv.conf).

``DnsTxt`` answers the TXT records at a name as their RFC 1035 character-strings:

- "no such name" (NXDOMAIN) and "no TXT record" (NoAnswer) are an empty answer;
- a timeout, SERVFAIL or REFUSED from every server is ``DnsFailure`` with ``kind``
  ``timeout`` or ``servfail``: a failed lookup is never read as "not found" (a cached
  "not found" would stay for the zone's negative TTL, RFC 2308 §5, while a failure says
  nothing about the record).

dnspython's resolver keeps no cache unless given one (``Resolver.cache`` is None by
default), so each lookup asks the servers again: a "check again" minutes later sees a
record published meanwhile, unless the servers themselves cached the negative answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

FailureKind = Literal["timeout", "servfail"]


def resolver_for(
    servers: tuple[tuple[str, int], ...], timeout: float = 3.0
) -> dns.asyncresolver.Resolver:
    """A resolver on the given (address, port) servers (PORTAL_DNS_RESOLVERS), or on the
    system's (/etc/resolv.conf) when there are none; ``timeout`` bounds one lookup."""
    if not servers:
        resolver = dns.asyncresolver.Resolver()
    else:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(a, port) for a, port in servers]
    resolver.lifetime = timeout
    resolver.timeout = timeout
    return resolver


class DnsFailure(Exception):
    """DNS did not answer (``timeout``) or answered with an error (``servfail``)."""

    def __init__(self, name: str, kind: FailureKind, detail: str) -> None:
        super().__init__(detail)
        self.name = name
        self.kind = kind
        self.detail = detail

    @property
    def code(self) -> str:
        return f"dns_{self.kind}"


@dataclass(frozen=True)
class TxtRecord:
    """One TXT record: its character-strings as DNS holds them (RFC 1035 §3.3.14)."""

    strings: tuple[bytes, ...]

    @property
    def text(self) -> str:
        """The strings concatenated without anything between (RFC 7208 §3.3), UTF-8."""
        return b"".join(self.strings).decode("utf-8", "replace")


class TxtLookup(Protocol):
    async def txt_records(self, name: str) -> list[TxtRecord]:
        """The TXT records at ``name``; [] when there are none; DnsFailure on errors."""


class DnsTxt:
    """TXT lookups through a resolver made by ``resolver_for``."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, timeout: float = 3.0) -> None:
        self._resolver = resolver
        self._timeout = timeout

    async def txt_records(self, name: str) -> list[TxtRecord]:
        answer = await rdatas(self._resolver, name, dns.rdatatype.TXT, self._timeout)
        return [TxtRecord(tuple(rdata.strings)) for rdata in answer]


async def rdatas(
    resolver: dns.asyncresolver.Resolver,
    name: str,
    rdtype: dns.rdatatype.RdataType,
    lifetime: float,
) -> list[Any]:
    """The records of ``rdtype`` at ``name``: [] for "no such name" (NXDOMAIN) and "no
    such record" (NoAnswer); DnsFailure for a timeout, SERVFAIL or REFUSED (never "not
    found"). Every lookup of the Portal that reads records goes through here."""
    try:
        answer = await resolver.resolve(name, rdtype, lifetime=lifetime, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.Timeout:
        raise DnsFailure(
            name, "timeout", f"DNS did not answer for {name} within {lifetime:g}s"
        ) from None
    except dns.resolver.NoNameservers:
        # Every server answered SERVFAIL or REFUSED (or could not be asked).
        raise DnsFailure(
            name, "servfail", f"DNS answered with an error (SERVFAIL) for {name}"
        ) from None
    except (dns.exception.DNSException, OSError) as exc:
        raise DnsFailure(
            name, "servfail", f"DNS lookup of {name} failed ({type(exc).__name__})"
        ) from None
    return list(answer)


class NoDns:
    """No DNS at all: every name has no TXT record (sandbox without a DNS table)."""

    async def txt_records(self, name: str) -> list[TxtRecord]:
        return []


async def txt_texts(lookup: TxtLookup, name: str) -> list[str]:
    """The TXT records at ``name`` as texts (strings joined, RFC 7208 §3.3)."""
    return [record.text for record in await lookup.txt_records(name)]
