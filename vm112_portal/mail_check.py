"""The mail check: does the customer's mail work, as the world's DNS shows it?

For an onboarded session (account step completed) the check looks up the domain's records
through the Portal's resolvers (``PORTAL_DNS_RESOLVERS`` when set, else the host's:
vm112_portal/resolvers.py; in sandbox mode without resolvers, the sandbox's zones) and
compares them with what the onboarding planned (vm112_portal/providers/dns_plan.py). Five
items, each ``ok``, ``pending`` (``todo``: ``customer`` or ``team`` must act, with the
``record`` to publish) or ``failed`` (``code`` says why), in the order of
``servicekit.contract.MAIL_ITEMS``:

- ``mx``: every MX of the domain is our host; another provider's MX is ``mx_elsewhere``
  (``provider`` named from the host: Microsoft 365, Google Workspace...), ours beside
  another's ``mx_mixed`` (mail split between two providers), none ``mx_missing``.
- ``spf``: one ``v=spf1`` record (two are a permerror, RFC 7208 §4.5) that authorises our
  host (``a:<host>``, or ``mx`` while the MX is ours) within 10 DNS lookups counted as an
  evaluator does, nested includes included (vm112_portal/spf.py, RFC 7208 §4.6.4).
- ``dmarc``: one ``v=DMARC1`` record at ``_dmarc.<domain>`` (several: none applies,
  RFC 7489 §6.6.3).
- ``dkim``: the key `dkim publish` read from Carbonio (vm112_portal/dkim.py) is what
  ``<selector>._domainkey.<domain>`` shows (the ``p=`` tags equal); no key yet is our
  team's to do (``dkim_not_created``, with the commands and by when).
- ``autodiscover``: ``autodiscover.<domain>`` is a CNAME to our host.

A lookup that fails (SERVFAIL, timeout) makes its item ``failed`` with ``dns_error``: a
failure says nothing about the record, so it is never read as "missing".

``MailChecker`` runs a check, keeps the result in ``mail_checks`` and queues
``mail.checked`` in the same transaction when it is the session's first check or the
result (``ready``, any item's status or code) changed. It runs when the account step
completes, on the customer's "check again", from ``python -m vm112_portal mail-check``,
after ``dkim publish``, and on a schedule while the mail is not ready: every 15 minutes
for the first 7 days after the first check, then daily until 37 days after it (30 more
days), then no more (``next_check_at`` null; the Desk keeps listing it). The lifespan's
loop (``run_periodically``) looks for due checks every minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver
import orjson

from servicekit.contract import MAIL_CHECKED, MAIL_ITEMS
from servicekit.documents import fields_document
from vm112_portal import spf
from vm112_portal.db import Database, Transaction
from vm112_portal.dkim import public_key_of
from vm112_portal.providers.dns_plan import mail_records, provider_of
from vm112_portal.resolvers import DnsFailure, DnsTxt, rdatas, txt_texts

log = logging.getLogger("vm112_portal.mail_check")

MINUTE = 60.0
DAY = 86_400.0
FAST_EVERY = 15 * MINUTE  # the schedule: every 15 minutes...
FAST_FOR = 7 * DAY  # ...for 7 days after the first check,
SLOW_EVERY = DAY  # then daily...
SLOW_UNTIL = 37 * DAY  # ...until 37 days after the first check (30 more days).
POLL = MINUTE  # how often the lifespan's loop looks for due checks
DUE_BATCH = 50  # due checks run per look
CUSTOMER_MIN_INTERVAL = 30.0  # "check again" within this answers the last result
DKIM_DUE = DAY  # our team creates the DKIM key within a day of the account step

Emit = Callable[..., Awaitable[bool]]


class MailDns(Protocol):
    """The lookups the check makes; DnsFailure when DNS fails (never an empty answer)."""

    async def mx(self, name: str) -> list[str]: ...

    async def txt(self, name: str) -> list[str]: ...

    async def cname(self, name: str) -> str | None: ...


class ResolverDns:
    """Lookups through a resolver from ``resolvers.resolver_for``."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, timeout: float = 3.0) -> None:
        self._resolver = resolver
        self._timeout = timeout
        self._txt = DnsTxt(resolver, timeout)

    async def _answer(self, name: str, rdtype: dns.rdatatype.RdataType) -> list[Any]:
        return await rdatas(self._resolver, name, rdtype, self._timeout)

    async def mx(self, name: str) -> list[str]:
        found = await self._answer(name, dns.rdatatype.MX)
        return [r.exchange.to_text(omit_final_dot=True).lower() for r in found]

    async def txt(self, name: str) -> list[str]:
        return await txt_texts(self._txt, name)

    async def cname(self, name: str) -> str | None:
        found = await self._answer(name, dns.rdatatype.CNAME)
        return found[0].target.to_text(omit_final_dot=True).lower() if found else None


@dataclass(frozen=True)
class Planned:
    """What the onboarding planned: the DNS step's mode and the records it wanted."""

    domain: str
    mode: str  # cloudflare | manual
    mail_host: str

    def record(self, purpose: str) -> dict[str, Any]:
        found = next(r for r in mail_records(self.domain, self.mail_host) if r.purpose == purpose)
        return found.brief()


def _item(name: str, status: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "status": status, "code": code, **extra}


def _dns_error(name: str, failure: DnsFailure) -> dict[str, Any]:
    return _item(name, "failed", "dns_error", lookup=failure.name, why=failure.detail)


def _host(value: str) -> str:
    return value.strip().rstrip(".").lower()


@dataclass
class Seen:
    """What DNS showed for each name the check reads (a DnsFailure where it failed)."""

    mx: list[str] | DnsFailure = field(default_factory=list)
    txt: list[str] | DnsFailure = field(default_factory=list)
    dmarc: list[str] | DnsFailure = field(default_factory=list)
    autodiscover: str | DnsFailure | None = None
    dkim: list[str] | DnsFailure | None = None  # None: no key to look for
    spf_lookups: int | None = None


async def look(lookup: MailDns, domain: str, dkim_name: str | None, cache: dict[str, Any]) -> Seen:
    """Every lookup of one check, concurrently; failures kept per name."""

    async def guard(call: Awaitable[Any]) -> Any:
        try:
            return await call
        except DnsFailure as failure:
            return failure

    mx, txt, dmarc, autodiscover, dkim = await asyncio.gather(
        guard(lookup.mx(domain)),
        guard(lookup.txt(domain)),
        guard(lookup.txt(f"_dmarc.{domain}")),
        guard(lookup.cname(f"autodiscover.{domain}")),
        guard(lookup.txt(dkim_name)) if dkim_name else asyncio.sleep(0, None),
    )
    seen = Seen(mx=mx, txt=txt, dmarc=dmarc, autodiscover=autodiscover, dkim=dkim)
    if isinstance(txt, list):
        records = [t for t in txt if spf.is_spf(t)]
        if len(records) == 1:
            counted = await spf.count(records[0], lookup.txt, cache)
            seen.spf_lookups = counted.lookups
    return seen


def evaluate(
    planned: Planned, seen: Seen, dkim_key: dict[str, Any] | None, *, account_at: float
) -> list[dict[str, Any]]:
    """The five items from what DNS showed (pure)."""
    todo = "customer"
    host = _host(planned.mail_host)
    items: list[dict[str, Any]] = []

    # mx
    if isinstance(seen.mx, DnsFailure):
        items.append(_dns_error("mx", seen.mx))
    else:
        hosts = [_host(h) for h in seen.mx]
        others = [h for h in hosts if h != host]
        if not hosts:
            items.append(
                _item("mx", "pending", "mx_missing", todo=todo, record=planned.record("mx"))
            )
        elif others and len(others) == len(hosts):
            items.append(
                _item(
                    "mx",
                    "pending",
                    "mx_elsewhere",
                    todo=todo,
                    provider=provider_of(others[0]),
                    found=others,
                    record=planned.record("mx"),
                )
            )
        elif others:
            items.append(
                _item(
                    "mx",
                    "pending",
                    "mx_mixed",
                    todo=todo,
                    provider=provider_of(others[0]),
                    found=others,
                )
            )
        else:
            items.append(_item("mx", "ok", "ok"))
    mx_is_ours = (
        isinstance(seen.mx, list) and bool(seen.mx) and all(_host(h) == host for h in seen.mx)
    )

    # spf
    if isinstance(seen.txt, DnsFailure):
        items.append(_dns_error("spf", seen.txt))
    else:
        records = [t for t in seen.txt if spf.is_spf(t)]
        if not records:
            items.append(
                _item("spf", "pending", "spf_missing", todo=todo, record=planned.record("spf"))
            )
        elif len(records) > 1:
            items.append(_item("spf", "failed", "spf_multiple", found=records))
        else:
            (text,) = records
            terms = [t.lower().lstrip("+") for t in spf.terms(text)]
            ours = f"a:{host}" in terms or ("mx" in terms and mx_is_ours)
            lookups = seen.spf_lookups
            if lookups is not None and lookups > spf.LOOKUP_LIMIT:
                items.append(
                    _item("spf", "failed", "spf_too_many_lookups", lookups=lookups, found=[text])
                )
            elif not ours:
                items.append(
                    _item(
                        "spf",
                        "pending",
                        "spf_without_us",
                        todo=todo,
                        found=[text],
                        record=planned.record("spf"),
                    )
                )
            else:
                items.append(_item("spf", "ok", "ok"))

    # dmarc
    if isinstance(seen.dmarc, DnsFailure):
        items.append(_dns_error("dmarc", seen.dmarc))
    else:
        dmarc = [t for t in seen.dmarc if t.strip().upper().startswith("V=DMARC1")]
        if not dmarc:
            items.append(
                _item(
                    "dmarc", "pending", "dmarc_missing", todo=todo, record=planned.record("dmarc")
                )
            )
        elif len(dmarc) > 1:
            items.append(_item("dmarc", "failed", "dmarc_multiple", found=dmarc))
        else:
            items.append(_item("dmarc", "ok", "ok", policy=_dmarc_policy(dmarc[0])))

    # dkim
    if dkim_key is None:
        items.append(
            _item(
                "dkim",
                "pending",
                "dkim_not_created",
                todo="team",
                due_at=_iso(account_at + DKIM_DUE),
                commands=dkim_commands(planned.domain),
            )
        )
    elif isinstance(seen.dkim, DnsFailure):
        items.append(_dns_error("dkim", seen.dkim))
    else:
        record = {
            "type": "TXT",
            "name": f"{dkim_key['selector']}._domainkey.{planned.domain}",
            "content": dkim_key["txt"],
        }
        wanted = public_key_of(str(dkim_key["txt"]))
        shown = [public_key_of(t) for t in (seen.dkim or [])]
        if not shown:
            items.append(
                _item(
                    "dkim",
                    "pending",
                    "dkim_not_visible",
                    todo="team" if planned.mode == "cloudflare" else todo,
                    selector=dkim_key["selector"],
                    record=record,
                )
            )
        elif wanted in shown:
            items.append(_item("dkim", "ok", "ok", selector=dkim_key["selector"]))
        else:
            items.append(
                _item(
                    "dkim", "failed", "dkim_mismatch", selector=dkim_key["selector"], record=record
                )
            )

    # autodiscover
    if isinstance(seen.autodiscover, DnsFailure):
        items.append(_dns_error("autodiscover", seen.autodiscover))
    elif seen.autodiscover is None:
        items.append(
            _item(
                "autodiscover",
                "pending",
                "autodiscover_missing",
                todo=todo,
                record=planned.record("autodiscover"),
            )
        )
    elif _host(seen.autodiscover) != host:
        items.append(
            _item(
                "autodiscover",
                "pending",
                "autodiscover_elsewhere",
                todo=todo,
                found=[seen.autodiscover],
                record=planned.record("autodiscover"),
            )
        )
    else:
        items.append(_item("autodiscover", "ok", "ok"))
    assert tuple(i["name"] for i in items) == MAIL_ITEMS
    return items


def _dmarc_policy(text: str) -> str | None:
    for tag in text.split(";"):
        key, _, value = tag.strip().partition("=")
        if key.strip().lower() == "p":
            return value.strip().lower()
    return None


def dkim_commands(domain: str) -> list[str]:
    """What our team runs for a domain's DKIM, the domain filled in (docs/portal.md, "DKIM")."""
    return [
        f"as the zextras user on one MTA node: /opt/zextras/libexec/zmdkimkeyutil -a -d {domain}",
        "on the Portal host, with that node's output (the -a output, or "
        f"zmdkimkeyutil -q -d {domain}) on standard input: "
        f"python -m vm112_portal dkim publish {domain}",
    ]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(items: list[dict[str, Any]]) -> dict[str, str]:
    return {item["name"]: item["status"] for item in items}


def _signature(ready: bool, items: list[dict[str, Any]]) -> list[Any]:
    """What decides "the result changed": ready and each item's status and code."""
    return [ready, [[i["name"], i["status"], i.get("code")] for i in items]]


def next_check(first_checked_at: float, now: float, ready: bool) -> float | None:
    """The schedule: every 15 min for 7 days after the first check, then daily until day
    37; none once ready or past it."""
    if ready:
        return None
    age = now - first_checked_at
    if age < FAST_FOR:
        return now + FAST_EVERY
    if age + SLOW_EVERY <= SLOW_UNTIL:
        return now + SLOW_EVERY
    return None


@dataclass(frozen=True)
class MailResult:
    session_id: str
    domain: str
    mode: str
    ready: bool
    items: list[dict[str, Any]]
    checked_at: float
    next_check_at: float | None
    emitted: bool

    def document(self) -> dict[str, Any]:
        """The answer: every field but ``emitted`` (whether this check told Ops), times
        as ISO 8601."""
        return fields_document(
            self,
            omit=("emitted",),
            checked_at=_iso(self.checked_at),
            next_check_at=None if self.next_check_at is None else _iso(self.next_check_at),
        )


class SessionNotOnboarded(LookupError):
    """No completed onboarding for that session or domain."""


class MailChecker:
    def __init__(
        self,
        db: Database,
        lookup: MailDns,
        mail_host: str,
        emit: Emit,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._lookup = lookup
        self._mail_host = mail_host
        self._emit = emit
        self._clock = clock
        # "check again" within this many seconds answers the last check (tests set 0).
        self.customer_interval = CUSTOMER_MIN_INTERVAL

    async def _planned(self, session_id: str) -> tuple[Planned, float]:
        session = await self._db.fetch_one("mail_session", {"session_id": session_id})
        if session is not None:
            stored = orjson.loads(session["dns_result"]) if session["dns_result"] else {}
            mode = "manual" if stored.get("mode") == "manual" else "cloudflare"
            return Planned(session["domain"], mode, self._mail_host), float(session["updated_at"])
        kept = await self._db.fetch_one("get_mail_check", {"session_id": session_id})
        if kept is None:
            raise SessionNotOnboarded(f"no completed onboarding for session {session_id}")
        return Planned(kept["domain"], kept["mode"], self._mail_host), float(
            kept["first_checked_at"]
        )

    async def session_for(self, domain_or_session: str) -> str:
        """The session a ``mail-check`` argument names: a session id, or a domain's newest
        completed session (or newest checked one)."""
        target = domain_or_session.strip()
        for query, params in (
            ("mail_session", {"session_id": target}),
            ("get_mail_check", {"session_id": target}),
            ("latest_mail_session_for_domain", {"domain": target.lower().rstrip(".")}),
            ("latest_mail_check_for_domain", {"domain": target.lower().rstrip(".")}),
        ):
            row = await self._db.fetch_one(query, params)
            if row is not None:
                return str(row["session_id"])
        raise SessionNotOnboarded(
            f"{target[:80]!r} is neither a session whose account step completed nor the "
            "domain of one"
        )

    async def mode_of(self, domain: str) -> str | None:
        """The DNS step's mode of the domain's onboarding (cloudflare, manual), if any."""
        try:
            session_id = await self.session_for(domain)
        except SessionNotOnboarded:
            return None
        planned, _ = await self._planned(session_id)
        return planned.mode

    async def last(self, session_id: str) -> MailResult | None:
        row = await self._db.fetch_one("get_mail_check", {"session_id": session_id})
        if row is None:
            return None
        return MailResult(
            session_id=session_id,
            domain=row["domain"],
            mode=row["mode"],
            ready=bool(row["ready"]),
            items=orjson.loads(row["items"]),
            checked_at=float(row["checked_at"]),
            next_check_at=row["next_check_at"],
            emitted=False,
        )

    async def check(self, session_id: str, trigger: str) -> MailResult:
        """Check the session's domain now; queue mail.checked on a first or changed result."""
        planned, account_at = await self._planned(session_id)
        key = await self._db.fetch_one("get_dkim_key", {"domain": planned.domain})
        dkim_key = None if key is None else dict(key)
        dkim_name = (
            None if dkim_key is None else f"{dkim_key['selector']}._domainkey.{planned.domain}"
        )
        seen = await look(self._lookup, planned.domain, dkim_name, {})
        items = evaluate(planned, seen, dkim_key, account_at=account_at)
        ready = all(item["status"] == "ok" for item in items)
        now = self._clock()
        async with self._db.transaction() as tx:
            before = await tx.fetch_one("get_mail_check", {"session_id": session_id})
            first_at = now if before is None else float(before["first_checked_at"])
            upcoming = next_check(first_at, now, ready)
            previous = (
                None if before is None or before["sent"] is None else orjson.loads(before["sent"])
            )
            emitted = previous is None or previous["signature"] != _signature(ready, items)
            sent = None
            if emitted:
                sent = orjson.dumps(
                    {"signature": _signature(ready, items), "ready": ready, "items": summary(items)}
                ).decode()
                await self._emit_checked(
                    tx, session_id, planned, ready, items, previous, trigger, upcoming
                )
            await tx.execute(
                "upsert_mail_check",
                {
                    "session_id": session_id,
                    "domain": planned.domain,
                    "mode": planned.mode,
                    "ready": int(ready),
                    "items": orjson.dumps(items).decode(),
                    "sent": sent,
                    "now": now,
                    "next_check_at": upcoming,
                    "trigger": trigger,
                },
            )
        log.info(
            "mail check of %s (session %s, %s): %s",
            planned.domain,
            session_id,
            trigger,
            "ready"
            if ready
            else ", ".join(f"{i['name']} {i['code']}" for i in items if i["status"] != "ok"),
        )
        return MailResult(
            session_id, planned.domain, planned.mode, ready, items, now, upcoming, emitted
        )

    async def _emit_checked(
        self,
        tx: Transaction,
        session_id: str,
        planned: Planned,
        ready: bool,
        items: list[dict[str, Any]],
        previous: dict[str, Any] | None,
        trigger: str,
        upcoming: float | None,
    ) -> None:
        changed_from = (
            None if previous is None else {"ready": previous["ready"], "items": previous["items"]}
        )
        await self._emit(
            tx,
            MAIL_CHECKED,
            {
                "session_id": session_id,
                "domain": planned.domain,
                "ready": ready,
                "items": items,
                "changed_from": changed_from,
                "trigger": trigger,
                "mode": planned.mode,
                "next_check_at": None if upcoming is None else _iso(upcoming),
            },
        )

    async def check_again(self, session_id: str) -> MailResult:
        """The customer's "check again": a new check, unless the last is under 30 s old."""
        last = await self.last(session_id)
        if last is not None and self._clock() - last.checked_at < self.customer_interval:
            return last
        return await self.check(session_id, "customer")

    async def run_due(self, now: float | None = None) -> int:
        """Run every scheduled check that is due; how many ran."""
        at = self._clock() if now is None else now
        due = await self._db.fetch_all("due_mail_checks", {"now": at, "limit": DUE_BATCH})
        ran = 0
        for row in due:
            try:
                await self.check(str(row["session_id"]), "schedule")
                ran += 1
            except Exception:  # one domain's trouble must not stop the others
                log.exception("scheduled mail check of session %s failed", row["session_id"])
        return ran

    async def run_periodically(self, poll: float = POLL) -> None:
        """The lifespan's loop: due checks every ``poll`` seconds."""
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("the mail check schedule failed; trying again later")
            await asyncio.sleep(poll)
