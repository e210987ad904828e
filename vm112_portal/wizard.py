"""The onboarding wizard's three steps, their order, and the events each one emits.

Provider calls happen outside any transaction; the state change and the events it emits
then commit together (``emit_event`` in the same ``db.transaction()``). Nothing here talks
to Ops. Passwords reach Carbonio and nothing else.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from servicekit.contract import REFUSAL_CODE
from vm112_portal.db import Database, Transaction
from vm112_portal.domains import REJECTED, Domain, DomainChecker, normalise, printable
from vm112_portal.errors import (
    BadRequest,
    CarbonioFault,
    CloudflareFailed,
    DomainTaken,
    Forbidden,
    OutOfOrder,
    ProviderBusy,
    ProviderError,
    Reported,
    RequestError,
    Unprocessable,
    UpstreamFailed,
    UpstreamTimeout,
)
from vm112_portal.mail_check import dkim_commands
from vm112_portal.outbox.ops_webhook import Emit, emit_event, started_webhook_id
from vm112_portal.ownership import ONBOARDED, Ownership, refuse_unhostable
from vm112_portal.providers.carbonio import (
    CarbonioClient,
    CreatedAccount,
    CreatedDomain,
    ascii_address,
)
from vm112_portal.providers.cloudflare_dns import (
    CloudflareBusy,
    CloudflareDns,
    DnsOutcome,
    ZoneNotUsable,
)
from vm112_portal.providers.dns_plan import Step, mail_records, previous_of, previous_provider
from vm112_portal.resolvers import DnsFailure
from vm112_portal.settings import Settings
from vm112_portal.support import new_secret, secret_hash, support_reference

log = logging.getLogger("vm112_portal.wizard")
# dns.applied's fields the customer's answer leaves out.
_EVENT_ONLY = ("zone_id", "session_id", "previous_provider")

# Carbonio fault codes that describe the caller's input rather than a server failure, with
# the key of the customer's message (vm112_portal/static/js/i18n.js).
_INPUT_FAULTS: dict[str, tuple[type[RequestError], str]] = {
    "account.INVALID_PASSWORD": (Unprocessable, "password_refused"),
    "account.INVALID_ATTR_VALUE": (Unprocessable, "refused"),
    "account.INVALID_ATTR_NAME": (Unprocessable, "refused"),
    "service.INVALID_REQUEST": (Unprocessable, "refused"),
    "account.ACCOUNT_EXISTS": (OutOfOrder, "address_taken"),
    "account.DOMAIN_EXISTS": (OutOfOrder, "domain_taken"),
}
# Failures a retry may get past (the provider was slow, unreachable or busy), and how many
# in a row at one step before the page stops offering a retry and says to contact support.
_TRANSIENT = ("timeout", "unreachable", "http_429", "http_500", "http_502", "http_503", "http_504")
MAX_RETRIES = 3
# The customer's message for a provider failure that will repeat, by provider.
_REFUSED = {"cloudflare": "dns_refused", "carbonio": "account_refused"}
REPLACEABLE = frozenset({"mx", "spf", "dmarc", "autodiscover"})
# Aliases every onboarded domain's first account gets: postmaster (RFC 5321 §4.5.1) and
# dmarc (the rua of the DMARC record we publish).
ALIASES = ("postmaster", "dmarc")
# Takes one provider token or raises TooManyRequests (routes.spender): called by the
# provider steps once the request is valid and its session may make the calls.
Spend = Callable[[], None]


def _free() -> None:
    """No budget (tests and the CLI)."""


# Steps after which the session's domain is fixed: DNS was (or may have been) published.
_DNS_TOUCHED = ("dns_done", "failed")


def dkim_pending(domain: str) -> dict[str, Any]:
    """DKIM as Carbonio does it: its own per-domain key, made by an operator (docs/portal.md).

    zmdkimkeyutil (carbonio-core-utils src/libexec/zmdkimkeyutil) generates the key pair
    with a random UUID selector, stores it on the domain's LDAP entry (DKIMSelector,
    DKIMKey, DKIMPublicKey) and prints the TXT record to publish; the admin SOAP API has no
    call that creates or reads it. Once the account step has made the Carbonio domain, our
    team runs the commands of ``mail_check.dkim_commands`` (the domain filled in): the
    second, ``dkim publish``, publishes the record and raises DMARC.
    """
    return {"status": "pending", "operations": dkim_commands(domain)}


def refusal_of(error: RequestError | None) -> dict[str, Any] | None:
    """onboarding.started's ``refusal`` for a refused domain: the code and status the
    wizard API answers the customer with (docs/webhook-funnel-events.md). None for no
    error or a 5xx (DNS did not answer in time): the domain was not refused, the customer
    may try again, and the session is an attempt like any other."""
    if error is None or not 400 <= error.status <= 499:
        return None
    code = error.code if error.code and REFUSAL_CODE.match(error.code) else "refused"
    return {"code": code, "status": error.status}


def _unvalidated(session: Any) -> bool:
    """A stored session that has no validated domain yet."""
    return session is not None and session["domain"] is None


def _unicode_beside(data: dict[str, Any], key: str, ascii_value: str, unicode_value: str) -> None:
    """Events carry ASCII; the Unicode form goes beside it where it differs."""
    data[key] = ascii_value
    if unicode_value != ascii_value:
        data[f"{key}_unicode"] = unicode_value


@dataclass(frozen=True)
class AccountRequest:
    session_id: str
    domain: str
    admin_local_part: str
    display_name: str
    password: str  # never stored, logged or emitted

    def __repr__(self) -> str:  # keep the password out of any traceback or log line
        return f"AccountRequest(session_id={self.session_id!r}, domain={self.domain!r}, ...)"


def _breakdown_values(language: str | None, release: str | None) -> dict[str, str]:
    """onboarding.started's breakdown fields: the wizard's language when known and the
    Portal's release (Settings.release, PORTAL_RELEASE; docs/webhook-funnel-events.md,
    "Breakdowns")."""
    values = {"language": language, "release": release}
    return {name: value for name, value in values.items() if value is not None}


@dataclass
class _Held:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # requests holding or waiting for the lock


class SessionSteps:
    """One step at a time per wizard session: a double click, an API client's retry that
    overtakes its first try, or "Start again" during a step waits for the step in progress
    and then sees what it stored.

    The Portal is one process, so an asyncio.Lock per session is enough; the database
    re-checks the step in the transaction that records it all the same. A session's lock
    exists only while a request holds or waits for it, so there are never more locks than
    requests in flight.
    """

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    def __len__(self) -> int:
        return len(self._held)

    @asynccontextmanager
    async def one_at_a_time(self, session_id: str) -> AsyncIterator[None]:
        held = self._held.setdefault(session_id, _Held())
        held.users += 1
        try:
            async with held.lock:
                yield
        finally:
            held.users -= 1
            if held.users == 0:
                del self._held[session_id]


@dataclass(frozen=True)
class Onboarded:
    """The account step's answer to the customer, and the session it completed (for the
    route's first mail check: the answer itself never carries the session id)."""

    session_id: str
    answer: dict[str, Any]


class MxLookup(Protocol):
    """The world's DNS for a domain's MX hosts; DnsFailure when DNS fails."""

    async def mx(self, name: str) -> list[str]: ...


class Visitor:
    """Who calls a wizard step: the session an API client names (None from the page, which
    never knows it) and the wizard secret the request holds (cookie or header).

    ``issued`` is set when validate-domain starts a session: the new secret, which the
    route sets as the cookie on its answer (an error included) and nothing else sees.
    Left unset for a session the page starts (none named) that is refused because another
    session holds or onboarded the domain: that other session may be this browser's own
    first submit, answered in parallel, and its cookie must not be overwritten. The
    refused session is stored all the same (the funnel counts its refused start).
    ``chosen``: an API client that names a new session may choose its secret (the
    X-Wizard-Secret header it will send), e.g. one for all of its sessions.
    """

    def __init__(
        self, session_id: str | None, secret: str | None, chosen: str | None = None
    ) -> None:
        self.session_id = session_id
        self.secret = secret
        self.chosen = chosen if session_id is not None else None
        self.issued: str | None = None

    def __repr__(self) -> str:  # the secret never reaches a log line
        return f"Visitor(session_id={self.session_id!r})"


class Wizard:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        checker: DomainChecker,
        dns: CloudflareDns,
        carbonio: CarbonioClient,
        ownership: Ownership,
        *,
        emit: Emit = emit_event,
        previous_mx: MxLookup | None = None,
    ) -> None:
        self._db = db
        # Manual mode's previous_provider: the domain's MX as the world's DNS shows it
        # (vm112_portal/app.py ``previous_mx_lookup``); None reads nothing (unknown).
        self._previous_mx = previous_mx
        self._ownership = ownership
        self._settings = settings
        self._checker = checker
        self._dns = dns
        self._carbonio = carbonio
        # Queues an event with the state change, in the same transaction.
        self._emit = emit
        self._steps = SessionSteps()

    # -- step 1 -----------------------------------------------------------------------

    async def session_of(self, visitor: Visitor, *, create: bool = False) -> str | None:
        """The session the visitor may act for: the one it names (an API client) or the
        one its secret belongs to (the page). A named session needs its secret; without
        one, 403 and nothing happens. None (only when ``create``): start a new session."""
        secret = visitor.secret
        if visitor.session_id is not None:
            row = await self._db.fetch_one("get_session", {"session_id": visitor.session_id})
            if row is None:
                if create:
                    return visitor.session_id
            elif (
                secret is not None
                and row["secret_hash"] is not None
                and hmac.compare_digest(row["secret_hash"], secret_hash(secret))
            ):
                _refuse_released(row)
                return visitor.session_id
        elif secret is not None:
            found = await self._db.fetch_one(
                "session_by_secret", {"secret_hash": secret_hash(secret)}
            )
            if found is not None:
                row = await self._db.fetch_one("get_session", {"session_id": found["session_id"]})
                if row is not None and row["released_at"] is None:
                    return str(found["session_id"])
            if create:  # a session started again (or purged): a new one
                return None
        elif create:
            return None
        raise Forbidden(
            "this wizard session is not held by this browser: the request carries no "
            "matching wizard secret; start again",
            "not_your_session",
        )

    async def restart(self, visitor: Visitor) -> bool:
        """ "Start again": the session gives up its domain at once. True when a hold was
        released; False when the visitor has no session holding anything. A session whose
        account step completed keeps its domain (its mailbox exists): 409 ``session_done``
        and nothing is released. A step in progress finishes first (``SessionSteps``)."""
        session_id = await self.session_of(visitor, create=True)
        if session_id is None:
            return False
        async with self._steps.one_at_a_time(session_id), self._db.transaction() as tx:
            released = await tx.execute(
                "release_session", {"session_id": session_id, "now": time.time()}
            )
            session = await tx.fetch_one("get_session", {"session_id": session_id})
        if released:
            log.info("session %s started again: its hold on its domain is released", session_id)
            return True
        if session is not None and session["step"] in ONBOARDED:
            raise OutOfOrder(
                f"{session['domain']} is onboarded by this session: its mailbox exists and "
                "nothing was released; start a new session for another domain",
                "session_done",
            )
        return False

    async def validate_domain(
        self,
        visitor: Visitor,
        raw_domain: str,
        contact: str | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        """Check a domain; emits onboarding.started (once per session) whatever the result,
        with the support reference, the customer's ``contact`` when given, the wizard's
        ``language`` when known and the Portal's release (the breakdowns' values)."""
        if not printable(raw_domain):
            raise BadRequest("domain is required", "domain_invalid")
        known = await self.session_of(visitor, create=True)
        if known is not None and visitor.session_id is None:
            known = await self._unless_finished(known, raw_domain)
        session_id = known or str(uuid.uuid4())
        async with self._steps.one_at_a_time(session_id):
            return await self._validate(visitor, session_id, raw_domain, contact, language)

    async def _validate(
        self,
        visitor: Visitor,
        session_id: str,
        raw_domain: str,
        contact: str | None,
        language: str | None,
    ) -> dict[str, Any]:
        session = await self._db.fetch_one("get_session", {"session_id": session_id})
        error: RequestError | None = None
        domain: Domain | None = None
        tried: Domain | None = None  # the name as normalised, whatever its checks said
        try:
            domain = tried = normalise(raw_domain)
        except RequestError as exc:  # 400 or 422 (a spoofing character), same message key
            error = type(exc)(exc.message, "domain_invalid")
        else:
            _refuse_finished(session, domain)
            _refuse_other_domain(session, domain)
            _refuse_contact_at(contact, domain)
            try:
                refuse_unhostable(domain)
                await self._checker.check(domain)
            except RequestError as exc:
                error, domain = exc, None
        if error is not None or domain is None:
            _refuse_finished(session)
        now = time.time()
        async with self._db.transaction() as tx:
            session = await tx.fetch_one("get_session", {"session_id": session_id})
            _refuse_finished(session, domain)
            if domain is not None:
                _refuse_other_domain(session, domain)
                try:  # in the transaction that records it: two sessions cannot both claim it
                    await self._ownership.check_free(tx, session_id, domain.name, now)
                except DomainTaken as exc:
                    error, domain = exc, None
            secret = (visitor.chosen or new_secret()) if session is None else None
            reference = await _free_reference(tx, session_id) if session is None else None
            inserted = await tx.fetch_one(
                "insert_session",
                {
                    "session_id": session_id,
                    "now": now,
                    "reference": reference,
                    "secret_hash": secret_hash(secret) if secret else None,
                },
            )
            if inserted:
                if not (isinstance(error, DomainTaken) and visitor.session_id is None):
                    visitor.issued = secret
                refusal = refusal_of(error)
                # A refused domain is never named (its raw text may carry bidi or
                # zero-width characters that would spoof a name on the Desk); one whose
                # check did not answer (a 5xx) is, as normalised: Ops reads a nameless
                # start without a refusal as an older Portal's refusal.
                shown = domain or (tried if refusal is None else None)
                started: dict[str, Any] = {
                    "session_id": session_id,
                    "domain": shown.name if shown else REJECTED,
                    "reference": reference,
                }
                if contact is not None:
                    started["contact"] = contact
                if refusal is not None:
                    started["refusal"] = refusal
                started.update(_breakdown_values(language, self._settings.release))
                await self._emit(
                    tx, "onboarding.started", started, webhook_id=started_webhook_id(session_id)
                )
            elif (refusal := refusal_of(error)) is not None and _unvalidated(session):
                assert session is not None
                # A later attempt refused too, the session still without a validated
                # domain: Ops keeps the newest refusal (docs/webhook-funnel-events.md).
                again: dict[str, Any] = {
                    "session_id": session_id,
                    "domain": REJECTED,
                    "reference": session["reference"],
                    "refusal": refusal,
                    # The newest start's values count.
                    **_breakdown_values(language, self._settings.release),
                }
                await self._emit(tx, "onboarding.started", again)
            changed = domain is not None and (session is None or session["domain"] != domain.name)
            if domain is not None and changed:
                await tx.execute(
                    "set_session_domain",
                    {"session_id": session_id, "domain": domain.name, "now": now},
                )
                await self._emit(
                    tx,
                    "domain.validated",
                    {
                        "session_id": session_id,
                        "domain": domain.name,
                        "domain_unicode": domain.unicode,
                        "registrable_domain": domain.registrable,
                        "public_suffix": domain.public_suffix,
                    },
                )
        if error is not None:
            raise error
        assert domain is not None
        reference = await self._reference(session_id)
        result: dict[str, Any] = {
            "reference": reference,
            "domain": domain.name,
            "domain_unicode": domain.unicode,
            "registrable_domain": domain.registrable,
            "public_suffix": domain.public_suffix,
        }
        proof = await self._ownership.proof(session_id, domain.name)
        if proof is not None:
            result["proof"] = proof
        return result

    # -- step 2 -----------------------------------------------------------------------

    async def plan_dns(
        self, visitor: Visitor, raw_domain: str, *, spend: Spend = _free
    ) -> dict[str, Any]:
        """Read the zone and say what applying would do; changes nothing, emits nothing."""
        session_id = await self._owned(visitor)
        domain = await self._session_domain(
            session_id, raw_domain, allowed=("domain_validated", "dns_done", "failed")
        )
        await self._ownership.require(session_id, domain.name)
        spend()
        unusable: ZoneNotUsable | None = None
        try:
            zone, steps = await self._read_plan(domain)
        except ZoneNotUsable as exc:
            zone, steps, unusable = None, [], exc
        except CloudflareBusy as exc:
            raise ProviderBusy(exc.reason, exc.retry_after) from None
        except CloudflareFailed as exc:
            log.warning("session %s: reading the zone failed: %s", session_id, exc.reason)
            fields = {"reference": await self._reference(session_id), "retry": _transient(exc)}
            raise UpstreamFailed(exc.reason, fields=fields) from None
        result: dict[str, Any] = {
            "reference": await self._reference(session_id),
            "domain": domain.name,
            "domain_unicode": domain.unicode,
            "mode": "cloudflare" if zone else "manual",
            "zone": zone[1] if zone else None,
            "dkim": dkim_pending(domain.name),
        }
        if unusable is not None:
            result["manual_reason"] = unusable.as_dict()
        if zone is None:
            result["records"] = self._manual_records(domain)
        else:
            result["plan"] = [_with_mx_timing(step.as_dict(), domain.name) for step in steps]
        return result

    async def apply_dns(
        self,
        visitor: Visitor,
        raw_domain: str,
        replace: frozenset[str] = frozenset(),
        *,
        spend: Spend = _free,
    ) -> dict[str, Any]:
        """Plan again from the zone as it is now, then apply; ``replace`` names the
        conflicts the customer confirmed replacing (the others are kept). Emits dns.applied
        (mode cloudflare, or manual when there is no zone) when the step succeeds.

        Once it succeeded, a later call answers the stored result, so repeating the step
        costs no Cloudflare calls; a run after a failure is not stored, so it re-plans
        from the zone and finishes the job. Concurrent calls of one session run one after
        the other: the later ones answer the stored result."""
        session_id = await self._owned(visitor)
        async with self._steps.one_at_a_time(session_id):
            return await self._apply_dns(session_id, raw_domain, replace, spend)

    async def _apply_dns(
        self, session_id: str, raw_domain: str, replace: frozenset[str], spend: Spend
    ) -> dict[str, Any]:
        domain = await self._session_domain(
            session_id, raw_domain, allowed=("domain_validated", "dns_done", "failed")
        )
        await self._ownership.require(session_id, domain.name)
        stored = await self._ownership.dns_result(session_id)
        if stored is not None:
            return stored
        spend()
        outcome: DnsOutcome | None = None
        unusable: ZoneNotUsable | None = None
        before: str | None = None  # what the MX named before the step, when known
        try:
            zone, steps = await self._read_plan(domain)
            if zone is not None:
                before = previous_provider(steps, self._settings.mail_host)
                # The MX is held: written by the account step once Carbonio has the
                # domain and its first account (mail never bounces in between).
                outcome = await self._dns.apply(
                    zone, steps, replace & REPLACEABLE, hold=frozenset({"mx"})
                )
        except ZoneNotUsable as exc:
            unusable = exc
        except CloudflareBusy as exc:  # not a failure: the same step works later
            raise ProviderBusy(exc.reason, exc.retry_after) from None
        except CloudflareFailed as exc:
            raise await self._fail(session_id, domain, "dns_applied", exc, "cloudflare") from None
        data: dict[str, Any] = {"session_id": session_id}
        _unicode_beside(data, "domain", domain.name, domain.unicode)
        if outcome is None:
            data.update(
                provider="customer",
                mode="manual",
                records=self._manual_records(domain),
            )
            if unusable is not None:
                data["manual_reason"] = unusable.as_dict()
        else:
            data.update(
                provider="cloudflare",
                mode="cloudflare",
                zone_id=outcome.zone_id,
                zone=outcome.zone_name,
                created=outcome.created,
                merged=outcome.merged,
                replaced=outcome.replaced,
                kept=outcome.kept,
                present=outcome.present,
                held=outcome.held,
            )
        if outcome is None:  # manual mode: no zone read, the world's DNS says
            before = await self._previous_in_dns(domain.name)
        if before is not None:  # None: the lookup failed, unknown
            data["previous_provider"] = before
        data["dkim"] = dkim_pending(domain.name)
        result = {
            **{k: v for k, v in data.items() if k not in _EVENT_ONLY},
            "reference": await self._reference(session_id),
            "domain_unicode": domain.unicode,
            "zone_found": outcome is not None,
        }
        async with self._db.transaction() as tx:
            # The session as stored now: a step recorded since it was read wins, and this
            # run records and emits nothing.
            session = await tx.fetch_one("get_session", {"session_id": session_id})
            _refuse_moved_on(session, domain)
            earlier = await self._ownership.dns_result(session_id, tx)
            if earlier is not None:
                return earlier
            assert session is not None  # _refuse_moved_on refuses a missing one
            first_time = session["step"] != "dns_done"
            await self._step(tx, session_id, "dns_done")
            await self._ownership.store_dns_result(tx, session_id, result)
            if first_time or (outcome is not None and outcome.changed):
                await self._emit(tx, "dns.applied", data)
        return result

    async def _previous_in_dns(self, name: str) -> str | None:
        """Manual mode's ``previous_provider``: ``previous_of`` the domain's MX as the
        world's DNS shows it now, at the DNS step, before the customer publishes anything
        (the MX of the records to publish comes after the account step). A lookup that
        fails (SERVFAIL, timeout: resolvers.rdatas' DnsFailure) leaves it unknown (None)
        and the step goes on; a timeout costs the step at most Settings.dns_timeout (3 s)."""
        if self._previous_mx is None:
            return None
        try:
            hosts = await self._previous_mx.mx(name)
        except DnsFailure as exc:
            log.info("previous provider of %s unknown: %s", name, exc.detail)
            return None
        return previous_of(hosts, self._settings.mail_host)

    async def _read_plan(self, domain: Domain) -> tuple[tuple[str, str] | None, list[Step]]:
        return await self._dns.plan(domain, self._settings.mail_host)

    def _manual_records(self, domain: Domain) -> list[dict[str, Any]]:
        """The exact records a customer without a Cloudflare zone adds at their DNS host;
        the MX last, marked to be added only once the mailbox exists (after the account
        step), as the Portal itself does in Cloudflare."""
        records = mail_records(domain.name, self._settings.mail_host)
        ordered = [r for r in records if r.purpose != "mx"] + [
            r for r in records if r.purpose == "mx"
        ]
        return [
            {
                "purpose": r.purpose,
                **r.brief(),
                **({"when": "after_account"} if r.purpose == "mx" else {}),
            }
            for r in ordered
        ]

    async def _write_held_mx(self, session_id: str, domain: Domain) -> dict[str, Any] | None:
        """The DNS step's held MX, written now that Carbonio has the domain and its first
        account: the account step's last provider call. Plans the MX again from the zone
        as it is now (a create, or the replace the customer chose); None when nothing
        was held (manual mode, our MX already there, or "keep")."""
        stored = await self._ownership.dns_result(session_id)
        held = [h for h in (stored or {}).get("held", []) if h.get("purpose") == "mx"]
        if not held:  # manual mode, our MX already there, or the conflict kept
            return None
        replace = frozenset({"mx"}) if held[0].get("action") == "replace" else frozenset()
        try:
            zone, steps = await self._dns.plan(domain, self._settings.mail_host, mx_only=True)
        except ZoneNotUsable:  # no longer written by us: the customer adds it by hand
            return {"action": "manual"}
        if zone is None:
            return {"action": "manual"}
        outcome = await self._dns.apply(zone, steps, replace, only=frozenset({"mx"}))
        if outcome.created:
            return {"action": "created", **outcome.created[0]}
        if outcome.replaced:
            return {"action": "replaced", **outcome.replaced[0]}
        if outcome.present:
            return {"action": "present", **outcome.present[0]}
        return {"action": "kept", **outcome.kept[0]} if outcome.kept else None

    # -- step 3 -----------------------------------------------------------------------

    async def create_account(
        self, visitor: Visitor, request: AccountRequest, *, spend: Spend = _free
    ) -> Onboarded:
        """Carbonio domain, admin account and its postmaster@/dmarc@ aliases, then (the
        last provider call) the MX the DNS step held, then the infra record; emits three
        events. The MX is written only once Carbonio accepts mail for the domain, so a
        failing account step never leaves the customer's mail pointing at us.

        Concurrent calls of one session run one after the other: a later one finds the
        session complete and answers 409 ``session_done``, as a retry does."""
        session_id = await self._owned(visitor)
        async with self._steps.one_at_a_time(session_id):
            answer = await self._create_account(session_id, request, spend)
        return Onboarded(session_id, answer)

    async def _create_account(
        self, session_id: str, request: AccountRequest, spend: Spend
    ) -> dict[str, Any]:
        domain = await self._session_domain(
            session_id, request.domain, allowed=("dns_done", "failed")
        )
        await self._ownership.require(session_id, domain.name)
        spend()
        address = f"{request.admin_local_part}@{domain.name}"
        created_domain: CreatedDomain | None = None
        mx: dict[str, Any] | None = None
        provider = "carbonio"
        try:
            # The class of service's password limits (GetCosRequest): refused before any
            # write, with the figure, rather than a generic INVALID_PASSWORD afterwards.
            low, high = await self._carbonio.password_limits(self._settings.carbonio_cos)
            if not low <= len(request.password) <= high:
                raise Unprocessable(
                    f"password must be {low} to {high} characters (the mail server's class "
                    "of service)",
                    "password_rule",
                )
            # The client answers existed=True only for a domain marked with this session
            # (zimbraNotes, vm112_portal/providers/carbonio.py); anyone else's is a
            # DOMAIN_EXISTS fault.
            created_domain = await self._carbonio.create_domain(domain.name, owner=session_id)
            if not created_domain.existed:
                await self._ownership.carbonio_domain_is_ours(session_id, False)
            else:
                # A retry: an account this session created earlier fixes the address (a
                # second one would be left behind, unowned by any onboarding).
                earlier = await self._carbonio.owned_accounts(domain.name, owner=session_id)
                others = [a for a in earlier if a != ascii_address(address)]
                if others and ascii_address(address) not in earlier:
                    raise OutOfOrder(
                        f"this onboarding already created {others[0]} on the mail server; "
                        "finish it with that address (the password and name you give now "
                        "replace the earlier ones)",
                        "address_fixed",
                    )
            # On a retry the client finds this session's account and sets the password
            # and display name given now (SetPasswordRequest, ModifyAccountRequest).
            account = await self._carbonio.create_account(
                address,
                request.password,
                {
                    "displayName": request.display_name,
                    **self._ownership.admin_attributes(),
                    "zimbraMailQuota": str(self._settings.mailbox_quota_mb * 1024 * 1024),
                },
                owner=session_id,
            )
            # RFC 5321 §4.5.1: postmaster@ must exist; dmarc@ receives the DMARC reports
            # our record's rua names (vm112_portal/providers/dns_plan.py).
            for local in ALIASES:
                if local != request.admin_local_part.lower():
                    await self._carbonio.add_alias(account.id, f"{local}@{domain.name}")
            provider = "cloudflare"
            mx = await self._write_held_mx(session_id, domain)
        except CloudflareBusy as exc:  # not a failure: the whole step runs again later
            raise ProviderBusy(exc.reason, exc.retry_after) from None
        except CarbonioFault as fault:
            failed = await self._fail(
                session_id, domain, "account_created", fault, "carbonio", contact=address
            )
            if fault.code not in _INPUT_FAULTS:
                raise failed from None
            error, key = _INPUT_FAULTS[fault.code]
            if key == "domain_taken":  # someone else's domain on the mail server: support
                raise OutOfOrder(fault.reason, key, fields=failed.fields) from None
            raise error(fault.reason, key) from None  # the customer's to fix: no reference
        except ProviderError as exc:
            raise await self._fail(
                session_id, domain, "account_created", exc, provider, contact=address
            ) from None
        data: dict[str, Any] = {"session_id": session_id}
        _unicode_beside(data, "domain", domain.name, domain.unicode)
        _unicode_beside(data, "account", account.name, account.unicode)
        data.update(
            account_id=account.id,
            display_name=request.display_name,
            domain_created=not created_domain.existed,
            contact=address,
            aliases=[
                f"{a}@{domain.name}" for a in ALIASES if a != request.admin_local_part.lower()
            ],
        )
        if mx is not None:
            data["mx"] = mx
        async with self._db.transaction() as tx:
            session = await tx.fetch_one("get_session", {"session_id": session_id})
            _refuse_moved_on(session, domain)
            await self._step(tx, session_id, "account_created")
            await self._emit(tx, "account.created", data)
        infra = await self._provision(session_id, domain, account, address)
        return {
            "reference": await self._reference(session_id),
            "domain": domain.name,
            "domain_unicode": domain.unicode,
            "account": account.name,
            "account_unicode": account.unicode,
            "domain_created": not created_domain.existed,
            "aliases": data["aliases"],
            "mx": mx,
            "dkim": dkim_pending(domain.name),
            **infra,
        }

    async def _provision(
        self, session_id: str, domain: Domain, account: CreatedAccount, contact: str
    ) -> dict[str, Any]:
        """The infrastructure record (portal inventory), then onboarding.completed; both
        carry ``contact``, the admin address the customer typed."""
        async with self._db.transaction() as tx:
            session = await tx.fetch_one("get_session", {"session_id": session_id})
            if session is None or session["step"] != "account_created":
                raise OutOfOrder(
                    "this onboarding session is already complete; start a new session",
                    "session_done",
                )
            row = await tx.fetch_one(
                "upsert_infra",
                {
                    "domain": domain.name,
                    "session_id": session_id,
                    "account": account.name,
                    "plan": self._settings.plan,
                    "mailbox_quota_mb": self._settings.mailbox_quota_mb,
                    "now": time.time(),
                },
            )
            if row is None:  # another session's record: never overwritten
                raise DomainTaken(f"{domain.name} is already onboarded by another customer")
            await self._ownership.record_owner(tx, session_id, domain.name)
            infra = {"plan": row["plan"], "mailbox_quota_mb": row["mailbox_quota_mb"]}
            await self._emit(
                tx,
                "infra.synced",
                {"session_id": session_id, "domain": domain.name, **infra, "contact": contact},
            )
            await self._step(tx, session_id, "completed")
            await self._emit(
                tx,
                "onboarding.completed",
                {
                    "session_id": session_id,
                    "domain": domain.name,
                    "account": account.name,
                    "contact": contact,
                },
            )
        return infra

    # -- helpers ----------------------------------------------------------------------

    async def _owned(self, visitor: Visitor) -> str:
        """The session of a later step: the visitor's own, else 403."""
        session_id = await self.session_of(visitor)
        assert session_id is not None  # create=False: None is never answered
        return session_id

    async def _unless_finished(self, session_id: str, raw_domain: str) -> str | None:
        """The page's session, unless it finished with another domain: the browser (any of
        its tabs) then onboards the next domain in a new session (None)."""
        row = await self._db.fetch_one("get_session", {"session_id": session_id})
        if row is None or row["step"] not in ONBOARDED:
            return session_id
        try:
            same = normalise(raw_domain).name == row["domain"]
        except RequestError:
            same = False
        return session_id if same else None

    async def _reference(self, session_id: str) -> str | None:
        """The session's support reference (None for a session older than references)."""
        row = await self._db.fetch_one("get_session", {"session_id": session_id})
        return None if row is None else row["reference"]

    async def _session_domain(
        self, session_id: str, raw_domain: str, *, allowed: tuple[str, ...]
    ) -> Domain:
        """The session's validated domain, checking the step order and the domain given."""
        session = await self._db.fetch_one("get_session", {"session_id": session_id})
        if session is not None:
            _refuse_released(session)
        if session is None or session["domain"] is None:
            raise OutOfOrder(
                "validate the domain first: this session has no validated domain", "out_of_order"
            )
        _refuse_finished(session)
        if session["step"] not in allowed:
            raise OutOfOrder("apply the DNS records first: the account comes after the DNS step")
        domain = normalise(raw_domain)
        if domain.name != session["domain"]:
            raise OutOfOrder(
                f"domain {domain.name} is not the one validated for this session "
                f"({session['domain']}); validate it first"
            )
        return domain

    async def _step(self, tx: Transaction, session_id: str, step: str) -> None:
        await tx.execute(
            "set_session_step", {"session_id": session_id, "step": step, "now": time.time()}
        )

    async def _fail(
        self,
        session_id: str,
        domain: Domain,
        stage: str,
        exc: ProviderError,
        provider: str,
        *,
        contact: str | None = None,
    ) -> Reported:
        """onboarding.failed with the technical reason and its machine-readable code, and
        who to contact once the step knows it (the admin address the customer typed).

        Returns the customer's answer: what happened (``code``), the support reference,
        and whether a retry can help: only for a transient fault (timeout, unreachable,
        busy), and not after MAX_RETRIES of them in a row at this step."""
        log.warning(
            "session %s failed at %s (%s): %s", session_id, stage, exc.event_code, exc.reason
        )
        data: dict[str, Any] = {"session_id": session_id}
        _unicode_beside(data, "domain", domain.name, domain.unicode)
        data.update(stage=stage, reason=exc.reason, code=exc.event_code, provider=provider)
        if contact is not None:
            data["contact"] = contact
        async with self._db.transaction() as tx:
            row = await tx.fetch_one(
                "set_session_failed", {"session_id": session_id, "stage": stage, "now": time.time()}
            )
            await self._emit(tx, "onboarding.failed", data)
        in_a_row = int(row["failures"]) if row is not None else 1
        retry = _transient(exc) and in_a_row < MAX_RETRIES
        fields: dict[str, object] = {
            "reference": await self._reference(session_id),
            "retry": retry,
        }
        if exc.kind == "timeout":
            return UpstreamTimeout(exc.reason, fields=fields)
        if _transient(exc):
            return UpstreamFailed(
                exc.reason, "provider_failed" if retry else "provider_repeated", fields=fields
            )
        return UpstreamFailed(exc.reason, _REFUSED.get(provider, "provider_failed"), fields=fields)


def _with_mx_timing(step: dict[str, Any], domain: str) -> dict[str, Any]:
    """The plan says when the MX is written: with the account step, once the mailbox
    exists; a replace says which addresses stop receiving mail until created here."""
    if step["purpose"] != "mx" or step["action"] == "present":
        return step
    step["when"] = "after_account"
    if step["action"] == "conflict":
        step["replace_effect"] = {
            "receiving": ["the admin address created in the next step"]
            + [f"{a}@{domain}" for a in ALIASES],
            "stops_receiving": f"every other address at {domain} until it is created here",
        }
    return step


def _transient(exc: ProviderError) -> bool:
    """A failure a later try may get past: the provider was slow, unreachable or busy."""
    return exc.kind in _TRANSIENT


async def _free_reference(tx: Transaction, session_id: str) -> str:
    """The session's support reference: the first derivation no other session has."""
    attempt = 0
    while True:
        reference = support_reference(session_id, attempt)
        if await tx.fetch_one("reference_taken", {"reference": reference}) is None:
            return reference
        attempt += 1


def _refuse_contact_at(contact: str | None, domain: Domain) -> None:
    """The contact must reach the customer now: not at the domain being onboarded, whose
    mail is not set up yet."""
    if contact is None:
        return
    at = contact.rsplit("@", 1)[1].lower()
    if at == domain.name or at.endswith("." + domain.name):
        raise BadRequest(
            f"contact must be an address that works today, not one at {domain.name}, "
            "whose mail is being set up",
            "contact_at_domain",
        )


def _refuse_released(session: Any) -> None:
    if session["released_at"] is not None:
        raise OutOfOrder(
            "this onboarding session was started again and holds nothing; use the new one",
            "session_released",
        )


def _refuse_moved_on(session: Any, domain: Domain) -> None:
    """In the transaction that records a step: the session as stored now may still take
    it (not started again, not complete, the same domain), else 409 and nothing is
    recorded or emitted."""
    if session is None:
        raise OutOfOrder("this onboarding session no longer exists; start again", "out_of_order")
    _refuse_released(session)
    _refuse_finished(session)
    if session["domain"] != domain.name:
        raise OutOfOrder(
            f"domain {domain.name} is no longer this session's ({session['domain']}); "
            "validate it first",
            "out_of_order",
        )


def _refuse_finished(session: Any, domain: Domain | None = None) -> None:
    if session is not None and session["step"] in ONBOARDED:
        if domain is not None and domain.name == session["domain"]:
            raise OutOfOrder(
                f"{domain.name} is already onboarded by this session: its mailbox exists",
                "domain_onboarded",
            )
        raise OutOfOrder(
            "this onboarding session is already complete; start a new session", "session_done"
        )


def _refuse_other_domain(session: Any, domain: Domain) -> None:
    """Once DNS was published for a domain, the session keeps it: records left in another
    zone would be tracked nowhere. A different domain is a new session."""
    if (
        session is not None
        and session["step"] in _DNS_TOUCHED
        and session["domain"] is not None
        and session["domain"] != domain.name
    ):
        raise OutOfOrder(
            f"DNS records were already published for {session['domain']} in this session; "
            "start a new session for another domain",
            "domain_fixed",
        )
