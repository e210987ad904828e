"""The onboarding wizard's three steps, their order, and the events each one emits.

Provider calls happen outside any transaction; the state change and the events it emits
then commit together (``emit_event`` in the same ``db.transaction()``). Nothing here talks
to Ops. Passwords reach Carbonio and nothing else.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from vm112_portal.carbonio import CarbonioClient, CreatedAccount
from vm112_portal.cloudflare_dns import CloudflareDns, mail_records
from vm112_portal.db import Database, Transaction
from vm112_portal.domains import REJECTED, Domain, DomainChecker, normalise, printable
from vm112_portal.errors import (
    BadRequest,
    CarbonioFault,
    CloudflareFailed,
    DomainTaken,
    OutOfOrder,
    ProviderError,
    RequestError,
    Unprocessable,
    UpstreamFailed,
)
from vm112_portal.ops_webhook import Emit, emit_event, started_webhook_id
from vm112_portal.ownership import Ownership, refuse_unhostable
from vm112_portal.settings import Settings

log = logging.getLogger("vm112_portal.wizard")

# Carbonio fault codes that describe the caller's input rather than a server failure.
_INPUT_FAULTS = {
    "account.INVALID_PASSWORD": Unprocessable,
    "account.INVALID_ATTR_VALUE": Unprocessable,
    "account.INVALID_ATTR_NAME": Unprocessable,
    "service.INVALID_REQUEST": Unprocessable,
    "account.ACCOUNT_EXISTS": OutOfOrder,
}


@dataclass(frozen=True)
class AccountRequest:
    session_id: str
    domain: str
    admin_local_part: str
    display_name: str
    password: str  # never stored, logged or emitted

    def __repr__(self) -> str:  # keep the password out of any traceback or log line
        return f"AccountRequest(session_id={self.session_id!r}, domain={self.domain!r}, ...)"


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
    ) -> None:
        self._db = db
        self._ownership = ownership
        self._settings = settings
        self._checker = checker
        self._dns = dns
        self._carbonio = carbonio
        # Queues an event with the state change, in the same transaction.
        self._emit = emit

    # -- step 1 -----------------------------------------------------------------------

    async def validate_domain(self, session_id: str, raw_domain: str) -> dict[str, Any]:
        """Check a domain; emits onboarding.started (once per session) whatever the result."""
        if not printable(raw_domain):
            raise BadRequest("domain is required")
        session = await self._db.fetch_one("get_session", {"session_id": session_id})
        _refuse_finished(session)
        error: RequestError | None = None
        domain: Domain | None = None
        try:
            domain = normalise(raw_domain)
            refuse_unhostable(domain)
            await self._checker.check(domain)
        except RequestError as exc:
            error, domain = exc, None
        now = time.time()
        async with self._db.transaction() as tx:
            session = await tx.fetch_one("get_session", {"session_id": session_id})
            _refuse_finished(session)
            if domain is not None:
                try:  # in the transaction that records it: two sessions cannot both claim it
                    await self._ownership.check_free(tx, session_id, domain.name, now)
                except DomainTaken as exc:
                    error, domain = exc, None
            if await tx.fetch_one("insert_session", {"session_id": session_id, "now": now}):
                await self._emit(
                    tx,
                    "onboarding.started",
                    # Never the raw text of a rejected domain (issue 17).
                    {"session_id": session_id, "domain": domain.name if domain else REJECTED},
                    webhook_id=started_webhook_id(session_id),
                )
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
        result: dict[str, Any] = {
            "session_id": session_id,
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

    async def apply_dns(self, session_id: str, raw_domain: str) -> dict[str, Any]:
        """Create the missing mail records; emits dns.applied when any was created.

        Runs once per session: a later call answers the stored result (issue 17: repeated
        applies multiplied the Cloudflare calls)."""
        domain = await self._session_domain(
            session_id, raw_domain, allowed=("domain_validated", "dns_done", "failed")
        )
        await self._ownership.require(session_id, domain.name)
        stored = await self._ownership.dns_result(session_id)
        if stored is not None:
            return stored
        records = mail_records(
            domain.name,
            self._settings.mail_host,
            self._settings.dkim_selector,
            self._settings.dkim_public_key,
        )
        try:
            outcome = await self._dns.apply(domain, records)
        except CloudflareFailed as exc:
            await self._fail(session_id, domain.name, "dns_applied", exc.reason, exc.code)
            raise UpstreamFailed(exc.reason) from None
        result = {
            "session_id": session_id,
            "domain": domain.name,
            "zone": outcome.zone_name,
            "zone_found": outcome.zone_id is not None,
            "applied": outcome.applied,
            "skipped": outcome.skipped,
        }
        async with self._db.transaction() as tx:
            await tx.execute(
                "set_session_step",
                {"session_id": session_id, "step": "dns_done", "now": time.time()},
            )
            await self._ownership.store_dns_result(tx, session_id, result)
            if outcome.applied:
                await self._emit(
                    tx,
                    "dns.applied",
                    {
                        "session_id": session_id,
                        "domain": domain.name,
                        "provider": "cloudflare",
                        "zone_id": outcome.zone_id,
                        "zone": outcome.zone_name,
                        "records": outcome.applied,
                        "skipped": len(outcome.skipped),
                    },
                )
        return result

    # -- step 3 -----------------------------------------------------------------------

    async def create_account(self, request: AccountRequest) -> dict[str, Any]:
        """Carbonio domain and admin account, then the infra record; emits three events."""
        session_id = request.session_id
        domain = await self._session_domain(
            session_id, request.domain, allowed=("dns_done", "failed")
        )
        await self._ownership.require(session_id, domain.name)
        address = f"{request.admin_local_part}@{domain.name}"
        try:
            created_domain = await self._carbonio.create_domain(domain.name)
            if not await self._ownership.carbonio_domain_is_ours(
                session_id, created_domain.existed
            ):
                reason = (
                    f"{domain.name} already exists on the mail server and was not created by "
                    "this onboarding; contact support if the domain is yours"
                )
                await self._fail(
                    session_id, domain.name, "account_created", reason, "account.DOMAIN_EXISTS"
                )
                raise DomainTaken(reason)
            account = await self._carbonio.create_account(
                address,
                request.password,
                {
                    "displayName": request.display_name,
                    **self._ownership.admin_attributes(),
                    "zimbraMailQuota": str(self._settings.mailbox_quota_mb * 1024 * 1024),
                },
            )
        except CarbonioFault as fault:
            await self._fail(session_id, domain.name, "account_created", fault.reason, fault.code)
            raise _INPUT_FAULTS.get(fault.code, UpstreamFailed)(fault.reason) from None
        except ProviderError as exc:
            await self._fail(session_id, domain.name, "account_created", exc.reason, None)
            raise UpstreamFailed(exc.reason) from None
        async with self._db.transaction() as tx:
            await self._step(tx, session_id, "account_created")
            await self._emit(
                tx,
                "account.created",
                {
                    "session_id": session_id,
                    "domain": domain.name,
                    "account": account.name,
                    "account_id": account.id,
                    "display_name": request.display_name,
                    "domain_created": not created_domain.existed,
                },
            )
        infra = await self._provision(session_id, domain, account)
        return {
            "session_id": session_id,
            "domain": domain.name,
            "account": account.name,
            "domain_created": not created_domain.existed,
            **infra,
        }

    async def _provision(
        self, session_id: str, domain: Domain, account: CreatedAccount
    ) -> dict[str, Any]:
        """The infrastructure record (portal inventory), then onboarding.completed."""
        async with self._db.transaction() as tx:
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
            infra = {"plan": row["plan"], "mailbox_quota_mb": row["mailbox_quota_mb"]}
            await self._emit(
                tx, "infra.synced", {"session_id": session_id, "domain": domain.name, **infra}
            )
            await self._step(tx, session_id, "completed")
            await self._emit(
                tx,
                "onboarding.completed",
                {"session_id": session_id, "domain": domain.name, "account": account.name},
            )
        return infra

    # -- helpers ----------------------------------------------------------------------

    async def _session_domain(
        self, session_id: str, raw_domain: str, *, allowed: tuple[str, ...]
    ) -> Domain:
        """The session's validated domain, checking the step order and the domain given."""
        session = await self._db.fetch_one("get_session", {"session_id": session_id})
        if session is None or session["domain"] is None:
            raise OutOfOrder("validate the domain first: this session has no validated domain")
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
        self, session_id: str, domain: str, stage: str, reason: str, code: object
    ) -> None:
        log.warning("session %s failed at %s: %s", session_id, stage, reason)
        data: dict[str, Any] = {
            "session_id": session_id,
            "domain": domain,
            "stage": stage,
            "reason": reason,
        }
        if code is not None:
            data["code"] = code
        async with self._db.transaction() as tx:
            await tx.execute(
                "set_session_failed", {"session_id": session_id, "stage": stage, "now": time.time()}
            )
            await self._emit(tx, "onboarding.failed", data)


def _refuse_finished(session: Any) -> None:
    if session is not None and session["step"] in ("account_created", "completed"):
        raise OutOfOrder("this onboarding session is already complete; start a new session")
