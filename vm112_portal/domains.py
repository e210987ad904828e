"""Domain names: normalisation, syntax, the public suffix list, and (live) DNS presence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.resolver
import idna
from publicsuffixlist import PublicSuffixList

from servicekit.contract import REJECTED_DOMAIN
from vm112_portal import resolvers
from vm112_portal.errors import BadRequest, Unprocessable, UpstreamTimeout

MAX_INPUT = 300
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Bidi controls and zero-width characters (Unicode Bidi_Control plus the zero-width format
# characters; the same set as vm122_ops/ingest/events.py). UTS 46 maps some of them to nothing,
# so "acme\u200b-bank.com" would pass as acme-bank.com: refused before IDNA instead.
_SPOOFING = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# What onboarding.started carries instead of a domain that failed validation: the raw
# text of a rejected domain is never forwarded to Ops (the contract's REJECTED_DOMAIN).
REJECTED = REJECTED_DOMAIN
# The list ships inside the package: no network at start-up. Unknown TLDs are refused.
PSL = PublicSuffixList(accept_unknown=False)


@dataclass(frozen=True)
class Domain:
    name: str  # ASCII (A-label) form, lowercase, no trailing dot
    unicode: str  # the same name for people
    registrable: str  # the registrable domain (public suffix plus one label)
    public_suffix: str


def printable(raw: str) -> str:
    """The user's text made safe for an event: no control characters, at most 253 chars."""
    return _CONTROL.sub("", raw).strip()[:253]


def normalise(raw: str) -> Domain:
    """Trim, lowercase, IDNA-encode and check a domain; raises BadRequest with the reason."""
    if _SPOOFING.search(raw):
        raise Unprocessable("domain must not contain bidi controls or zero-width characters")
    text = raw.strip()
    if len(text) > MAX_INPUT:
        raise BadRequest("domain is too long (at most 253 characters)")
    if _CONTROL.search(text) or any(ch.isspace() for ch in text):
        raise BadRequest("domain must not contain spaces or control characters")
    for bad in ("@", "/", ":", "_", "*"):
        if bad in text:
            raise BadRequest(f"domain must not contain {bad!r}; give a name like example.com")
    try:
        # UTS #46 §4 step 1 (Map): the IDNA mapping table maps the other label
        # separators, U+3002 IDEOGRAPHIC FULL STOP, U+FF0E and U+FF61, to "." (§2.3), so
        # the dots are counted after it.
        mapped = idna.uts46_remap(text, std3_rules=False, transitional=False)
        name = _without_root_dot(mapped)
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise BadRequest(f"domain is not a valid domain name ({exc})") from None
    except UnicodeError:
        raise BadRequest("domain is not a valid domain name") from None
    ascii_name = ascii_name.lower()
    if len(ascii_name) > 253:
        raise BadRequest("domain is too long (at most 253 characters)")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise BadRequest("domain needs at least two labels, like example.com")
    for label in labels:
        if not _LABEL.match(label):
            raise BadRequest(
                f"label {label[:63]!r} is not valid: letters, digits and inner hyphens, "
                "1 to 63 characters"
            )
    suffix = PSL.publicsuffix(ascii_name)
    if suffix is None:
        raise BadRequest(f"{ascii_name} does not end in a known top-level domain")
    registrable = PSL.privatesuffix(ascii_name)
    if registrable is None:
        raise BadRequest(
            f"{ascii_name} is a public suffix (like com or co.uk), not a domain one can register"
        )
    try:
        unicode_name = idna.decode(ascii_name)
    except idna.IDNAError:
        unicode_name = ascii_name
    return Domain(ascii_name, unicode_name, registrable, suffix)


def _without_root_dot(mapped: str) -> str:
    """The name without its one trailing dot: RFC 1034 §3.1, a name ending in a dot is
    absolute, the dot standing for the root's empty label. Any other empty label (two
    dots at the end or in a row, a dot at the start) is refused with the reason."""
    if mapped.endswith(".."):
        raise BadRequest(
            "domain ends in more than one dot: at most one, the DNS root's, like example.pt."
        )
    name = mapped.removesuffix(".")
    if not name:
        raise BadRequest("domain is empty")
    if name.startswith("."):
        raise BadRequest("domain has an empty label (it starts with a dot)")
    if ".." in name:
        raise BadRequest("domain has an empty label (two dots in a row)")
    return name


class DomainChecker(Protocol):
    async def check(self, domain: Domain) -> None:
        """Raise a RequestError when the domain cannot be used."""


class NoLookup:
    """Sandbox: the syntax and the public suffix list are all that is checked."""

    async def check(self, domain: Domain) -> None:
        return None


def resolver_for(servers: tuple[tuple[str, int], ...]) -> dns.asyncresolver.Resolver:
    """The Portal's one resolver factory (vm112_portal/resolvers.py)."""
    return resolvers.resolver_for(servers)


class DnsLookup:
    """Live: the registrable domain must have NS (or at least SOA) records in DNS."""

    def __init__(self, timeout: float, resolver: dns.asyncresolver.Resolver | None = None) -> None:
        self._timeout = timeout
        self._resolver = resolver or dns.asyncresolver.Resolver()

    async def check(self, domain: Domain) -> None:
        for rdtype in ("NS", "SOA"):
            try:
                await self._resolver.resolve(domain.registrable, rdtype, lifetime=self._timeout)
                return
            except dns.resolver.NXDOMAIN:
                raise BadRequest(
                    f"{domain.registrable} does not exist in DNS", "domain_not_in_dns"
                ) from None
            except dns.resolver.NoAnswer:
                continue
            except dns.exception.Timeout:
                raise UpstreamTimeout(
                    f"DNS did not answer for {domain.registrable} within {self._timeout:g}s; "
                    "try again"
                ) from None
            except dns.resolver.NoNameservers:
                raise BadRequest(
                    f"no name server answers for {domain.registrable}; is it delegated?",
                    "domain_not_in_dns",
                ) from None
        raise BadRequest(
            f"{domain.registrable} has no NS or SOA records in DNS", "domain_not_in_dns"
        )
