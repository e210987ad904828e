"""SPF lookup counting as an evaluator does it (RFC 7208 §4.6.4), for planning a record.

An SPF record may cause at most 10 DNS-querying terms during its evaluation: the
mechanisms ``include``, ``a``, ``mx``, ``ptr``, ``exists`` and the ``redirect`` modifier,
counted across every record reached through ``include`` and ``redirect`` (nested includes
count); past 10 the result is a permerror for every sender. "Void lookups" (a name with no
answer, NXDOMAIN or NODATA) are limited to 2 (RFC 7208 §4.6.4). ``all``, ``ip4``, ``ip6``
and ``exp=`` cost nothing. An ``include`` whose target has no SPF record is a permerror
(RFC 7208 §5.2), two SPF records at one name too (§4.5). ``redirect`` is ignored when the
record has an ``all`` mechanism (§6.1).

``count`` follows ``include``/``redirect`` through TXT lookups (the resolver of
vm112_portal/resolvers.py), stops once the count passes 10 (so at most 11 names are ever
fetched per record) and keeps every answer in the ``cache`` the caller gives, one per
plan, so a name shared by two includes is asked once. Names holding a macro (``%{``)
cannot be known in advance: counted, not followed, and reported as unresolved.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from vm112_portal.resolvers import DnsFailure

LOOKUP_LIMIT = 10  # RFC 7208 §4.6.4
VOID_LIMIT = 2  # RFC 7208 §4.6.4
_MECHANISMS_WITH_LOOKUP = ("include", "a", "mx", "ptr", "exists")

Fetch = Callable[[str], Awaitable[list[str]]]


def is_spf(text: str) -> bool:
    """A record's text is SPF: ``v=spf1`` alone or followed by a space (RFC 7208 §4.5)."""
    low = text.strip().lower()
    return low == "v=spf1" or low.startswith("v=spf1 ")


def terms(text: str) -> list[str]:
    """The terms after ``v=spf1`` (separated by spaces, RFC 7208 §4.6.1)."""
    return text.split()[1:]


def _mechanism(term: str) -> tuple[str, str]:
    """(name, argument) of a term, the qualifier dropped; modifiers keep their ``=``."""
    bare = term.lstrip("+-~?")
    for sep in (":", "/"):
        name, found, rest = bare.partition(sep)
        if found and "=" not in name:
            return name.lower(), rest if sep == ":" else ""
    name, eq, value = bare.partition("=")
    if eq:
        return name.lower() + "=", value
    return bare.lower(), ""


def own_lookups(text: str) -> int:
    """The DNS-querying terms of one record, without following includes."""
    count = 0
    for term in terms(text):
        name, _ = _mechanism(term)
        if name in _MECHANISMS_WITH_LOOKUP or name == "redirect=":
            count += 1
    return count


@dataclass
class SpfCount:
    """What evaluating a record would cost: ``lookups`` (terms that query DNS, nested
    included), ``void`` (followed names without an SPF record), the names it followed,
    and the ones it could not (``unresolved``: name and why)."""

    lookups: int = 0
    void: int = 0
    followed: list[str] = field(default_factory=list)
    unresolved: list[tuple[str, str]] = field(default_factory=list)

    @property
    def over_limit(self) -> bool:
        return self.lookups > LOOKUP_LIMIT or self.void > VOID_LIMIT

    def as_dict(self) -> dict[str, object]:
        return {
            "lookups": self.lookups,
            "limit": LOOKUP_LIMIT,
            "void_lookups": self.void,
            "void_limit": VOID_LIMIT,
            "followed": list(self.followed),
            "unresolved": [{"name": n, "reason": r} for n, r in self.unresolved],
        }


async def count(text: str, fetch: Fetch, cache: dict[str, list[str] | DnsFailure]) -> SpfCount:
    """Count the lookups evaluating ``text`` would make (RFC 7208 §4.6.4)."""
    result = SpfCount()
    await _walk(text, fetch, cache, result, depth=0)
    return result


async def _spf_at(
    name: str, fetch: Fetch, cache: dict[str, list[str] | DnsFailure], result: SpfCount
) -> str | None:
    key = name.lower().rstrip(".")
    if key not in cache:
        try:
            cache[key] = await fetch(key)
        except DnsFailure as failure:
            cache[key] = failure
    found = cache[key]
    result.followed.append(key)
    if isinstance(found, DnsFailure):
        result.unresolved.append((key, f"{failure_code(found)}: {found.detail}"))
        return None
    records = [t for t in found if is_spf(t)]
    if not found:
        result.void += 1  # no answer at all: a void lookup
    if not records:
        result.unresolved.append((key, "no SPF record (permerror, RFC 7208 §5.2)"))
        return None
    if len(records) > 1:
        result.unresolved.append((key, "several SPF records (permerror, RFC 7208 §4.5)"))
        return None
    return records[0]


def failure_code(failure: DnsFailure) -> str:
    return failure.code


async def _walk(
    text: str,
    fetch: Fetch,
    cache: dict[str, list[str] | DnsFailure],
    result: SpfCount,
    depth: int,
) -> None:
    parsed = [_mechanism(t) for t in terms(text)]
    has_all = any(name == "all" for name, _ in parsed)
    redirect: str | None = None
    for name, arg in parsed:
        if result.lookups > LOOKUP_LIMIT:
            return  # an evaluator stops here: permerror
        if name == "redirect=":
            redirect = arg
            continue
        if name not in _MECHANISMS_WITH_LOOKUP:
            continue
        result.lookups += 1
        if name != "include":
            continue
        if "%{" in arg or not arg:
            result.unresolved.append((arg, "a macro: not known before mail arrives"))
            continue
        if depth >= LOOKUP_LIMIT:
            continue
        target = await _spf_at(arg, fetch, cache, result)
        if target is not None:
            await _walk(target, fetch, cache, result, depth + 1)
    if redirect is not None and not has_all and result.lookups <= LOOKUP_LIMIT:
        result.lookups += 1
        if "%{" in redirect:
            result.unresolved.append((redirect, "a macro: not known before mail arrives"))
            return
        target = await _spf_at(redirect, fetch, cache, result)
        if target is not None and depth < LOOKUP_LIMIT:
            await _walk(target, fetch, cache, result, depth + 1)
