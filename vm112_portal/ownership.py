"""Who may onboard a domain: one customer per domain, and (live) proof of control.

Without them a second session could onboard a domain someone else had onboarded and
create an admin account under its own password. The rules, checked before any provider
call:

- Domains we never host are refused (422): a public suffix (``domains.normalise``) and
  the well-known mailbox providers of ``mailbox_providers.txt`` (their registrable domain).
- One session per domain. A domain is taken when another session onboarded it (its
  infrastructure record, or an account step reached) or any domain it is under (a name
  under an onboarded domain is that customer's: its records would go into the owner's
  zone), or holds it in progress: validated,
  active within ``domain_hold_seconds`` and, when proof is required, proven. The check of
  validate-domain runs inside the transaction that records the domain, so two sessions
  cannot both claim it; the DNS and account steps check again.
- Ownership lasts: onboarding records the domain's owner in ``domain_owners`` (with the
  infrastructure record), which retention never prunes (one row of ~60 bytes per
  onboarded domain), so a domain stays its customer's after its session and infra row
  are gone.
- Carbonio's DOMAIN_EXISTS counts as this session's domain only when this session's own
  CreateDomainRequest created it earlier (``carbonio_domain_created_at``).
- With proof required (``PORTAL_DOMAIN_PROOF``, on by default in live mode) the DNS and
  account steps answer 403 until the session has proven control: a TXT record
  ``_vm112-verify.<domain>`` holding ``vm112-verify=<token>`` (a random token per session
  and domain), read through PORTAL_DNS_RESOLVERS (vm112_portal/resolvers.py) when
  validate-domain is called again (never when the token is issued), or
  an operator's grant for a zone already in our Cloudflare account
  (``python -m vm112_portal domain grant SESSION DOMAIN``).
- The admin account is an ordinary account; ``zimbraIsDelegatedAdminAccount=TRUE`` only
  with ``PORTAL_DELEGATED_ADMIN=on``.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any, Protocol

import orjson

from vm112_portal.db import Database, Transaction
from vm112_portal.domains import Domain
from vm112_portal.errors import DomainTaken, Forbidden, Unprocessable
from vm112_portal.resolvers import DnsFailure, TxtLookup, txt_texts

PROOF_LABEL = "_vm112-verify"
_PUBLISH = "publish this TXT record in the domain's DNS, then validate again"
_RETRY = "DNS could not be asked just now; validate again in a few minutes"
TOKEN_PREFIX = "vm112-verify="  # noqa: S105 (the record's prefix, not a secret)
_PROVIDERS_FILE = Path(__file__).resolve().parent / "mailbox_providers.txt"
# Steps after which a session has onboarded its domain for good.
ONBOARDED = ("account_created", "completed")


def _load_providers(path: Path) -> frozenset[str]:
    lines = (line.split("#", 1)[0].strip().lower() for line in path.read_text().splitlines())
    return frozenset(line for line in lines if line)


MAILBOX_PROVIDERS = _load_providers(_PROVIDERS_FILE)


def refuse_unhostable(domain: Domain) -> None:
    """422 for a well-known mailbox provider's domain or any name under it."""
    if domain.registrable in MAILBOX_PROVIDERS:
        raise Unprocessable(
            f"{domain.registrable} belongs to a public mailbox provider, not to a customer; "
            "onboard a domain you own",
            "mailbox_provider",
        )


def proof_record(domain: str, token: str) -> dict[str, str]:
    return {"type": "TXT", "name": f"{PROOF_LABEL}.{domain}", "content": TOKEN_PREFIX + token}


def parents(domain: str) -> list[str]:
    """The name and every name it is under, longest first (``mail.acme.pt``,
    ``acme.pt``, ``pt``): an owner of any of them owns the name."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


class TxtResolver(Protocol):
    async def txt(self, name: str) -> list[str]:
        """The TXT texts at ``name``; empty when there are none; raises
        vm112_portal.resolvers.DnsFailure when DNS fails (SERVFAIL, timeout)."""


class DnsTxt:
    """The proof's TXT lookups through the Portal's one resolver factory
    (vm112_portal/resolvers.py: ``PORTAL_DNS_RESOLVERS`` when set, like every other
    lookup of the Portal); a record's character-strings are joined (RFC 7208 §3.3)."""

    def __init__(self, lookup: TxtLookup) -> None:
        self._lookup = lookup

    async def txt(self, name: str) -> list[str]:
        return await txt_texts(self._lookup, name)


class NoTxt:
    """No resolver: nothing is ever found (sandbox without proof)."""

    async def txt(self, name: str) -> list[str]:
        return []


class Ownership:
    def __init__(
        self,
        db: Database,
        *,
        hold_seconds: float,
        proof_required: bool,
        resolver: TxtResolver,
        delegated_admin: bool = False,
    ) -> None:
        self._db = db
        self._hold = hold_seconds
        self.proof_required = proof_required
        self._resolver = resolver
        self._delegated_admin = delegated_admin

    # -- one customer per domain ----------------------------------------------------------

    def _holds(self, row: Any, now: float) -> str | None:
        """Why another session's row takes the domain: "onboarded", "in progress", None."""
        if row["kind"] in ("owner", "infra") or row["step"] in ONBOARDED:
            return "onboarded"
        if self.proof_required and row["proven_by"] is None:
            return None  # an unproven claim holds nothing: anyone may type a domain
        if float(row["updated_at"]) >= now - self._hold:
            return "in progress"
        return None

    async def check_free(
        self, tx: Transaction | Database, session_id: str, domain: str, now: float
    ) -> None:
        """409 when another session onboarded the domain, or a domain it is under (its
        records would go into that customer's zone), or holds it."""
        names = orjson.dumps(parents(domain)).decode()
        rows = await tx.fetch_all(
            "domain_holders", {"session_id": session_id, "domain": domain, "names": names}
        )
        onboarded = sorted(
            (str(row["domain"]) for row in rows if self._holds(row, now) == "onboarded"),
            key=len,
        )
        if onboarded:
            raise DomainTaken(
                f"{onboarded[0]} is already onboarded by another customer"
                + ("" if onboarded[0] == domain else f" and {domain} is under it")
                + ". If the domain is yours, contact support to have it moved to you; "
                "nothing was changed"
            )
        reasons = {self._holds(row, now) for row in rows} - {None}
        if "in progress" in reasons:
            minutes = max(1, round(self._hold / 60))
            raise DomainTaken(
                f"another onboarding of {domain} is in progress. Finish it in the session "
                f"that started it; it is released after {minutes} minute(s) without activity, "
                "or contact support if the domain is yours",
                "domain_in_progress",
            )

    async def record_owner(self, tx: Transaction, session_id: str, domain: str) -> None:
        """The session onboarded the domain: it is its customer's for good (retention
        never prunes domain_owners), and so is every name under it."""
        await tx.execute(
            "record_domain_owner", {"domain": domain, "session_id": session_id, "now": time.time()}
        )

    # -- proof of control -----------------------------------------------------------------

    async def proof(self, session_id: str, domain: str) -> dict[str, Any] | None:
        """After validate-domain: check (or ask for) the session's proof; None when off."""
        if not self.proof_required:
            return None
        row = await self._db.fetch_one("get_ownership", {"session_id": session_id})
        if row is None or row["domain"] != domain:
            return None
        if row["proven_by"] is not None:
            return {"verified": True, "by": row["proven_by"]}
        token = row["proof_token"]
        unproven: dict[str, Any] = {"verified": False, "next": _PUBLISH}
        if token is None:
            # Issued now, looked up only at the next check: a lookup before the customer
            # could publish it would leave "no such record" in the resolvers' caches for
            # the zone's negative TTL (RFC 2308 §5).
            token = secrets.token_urlsafe(24)
            async with self._db.transaction() as tx:
                await tx.execute("set_proof_token", {"session_id": session_id, "token": token})
            return {**unproven, "record": proof_record(domain, token)}
        record = proof_record(domain, token)
        try:
            found = await self._resolver.txt(record["name"])
        except DnsFailure as failure:  # SERVFAIL or timeout: not "not found"
            error = {"code": failure.code, "message": failure.detail}
            return {**unproven, "record": record, "dns_error": error, "next": _RETRY}
        if record["content"] in found:
            await self._prove(session_id, domain, "txt")
            return {"verified": True, "by": "txt"}
        return {**unproven, "record": record}

    async def _prove(self, session_id: str, domain: str, by: str) -> None:
        now = time.time()
        async with self._db.transaction() as tx:
            await self.check_free(tx, session_id, domain, now)
            await tx.execute(
                "set_proven",
                {"session_id": session_id, "domain": domain, "proven_by": by, "now": now},
            )

    async def grant(self, session_id: str, domain: str) -> None:
        """An operator grants the session a zone already in our Cloudflare account."""
        row = await self._db.fetch_one("get_ownership", {"session_id": session_id})
        if row is None or row["domain"] != domain:
            raise Unprocessable(f"session {session_id} has not validated {domain}")
        await self._prove(session_id, domain, "grant")

    async def require(self, session_id: str, domain: str) -> None:
        """Before a provider write: the domain is free and (when required) proven."""
        await self.check_free(self._db, session_id, domain, time.time())
        if not self.proof_required:
            return
        row = await self._db.fetch_one("get_ownership", {"session_id": session_id})
        if row is None or row["proven_by"] is None:
            name = f"{PROOF_LABEL}.{domain}"
            token = row["proof_token"] if row is not None else None
            value = f' "{TOKEN_PREFIX}{token}"' if token else ""
            raise Forbidden(
                f"prove that you control {domain} first: publish the TXT record {name}{value} "
                "(given by validate-domain), then validate the domain again"
            )

    # -- apply once ----------------------------------------------------------------------

    async def dns_result(
        self, session_id: str, tx: Transaction | None = None
    ) -> dict[str, Any] | None:
        """The stored answer of the session's DNS step, if it ran; read in ``tx`` when
        given (the transaction about to record the step)."""
        reader = self._db if tx is None else tx
        row = await reader.fetch_one("get_ownership", {"session_id": session_id})
        if row is None or row["dns_result"] is None:
            return None
        stored: dict[str, Any] = orjson.loads(row["dns_result"])
        return stored

    async def store_dns_result(
        self, tx: Transaction, session_id: str, result: dict[str, Any]
    ) -> None:
        await tx.execute(
            "set_dns_result", {"session_id": session_id, "result": orjson.dumps(result).decode()}
        )

    # -- Carbonio -------------------------------------------------------------------------

    async def carbonio_domain_is_ours(self, session_id: str, existed: bool) -> bool:
        """Record that this session created the Carbonio domain; or, when it existed
        already, whether this session created it earlier (a retry)."""
        if not existed:
            async with self._db.transaction() as tx:
                await tx.execute(
                    "set_carbonio_domain_created", {"session_id": session_id, "now": time.time()}
                )
            return True
        row = await self._db.fetch_one("get_ownership", {"session_id": session_id})
        return row is not None and row["carbonio_domain_created_at"] is not None

    def admin_attributes(self) -> dict[str, str]:
        """Attributes that make the first account an admin: none unless configured."""
        if self._delegated_admin:
            return {"zimbraIsDelegatedAdminAccount": "TRUE"}
        return {}
