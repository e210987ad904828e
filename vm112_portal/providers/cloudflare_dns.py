"""Mail DNS records in Cloudflare, through the official SDK (``cloudflare.AsyncCloudflare``).

The zone is looked up by name: the domain itself, then its registrable domain, nothing
between, so a name of 125 labels costs two lookups, not 124 (issue 17). ``read`` lists the
zone's records on every name the mail setup touches (paged with ``result_info``,
``name.exact`` filter); vm112_portal/providers/dns_plan.py turns them into a plan; ``apply`` carries
the plan out: create, PATCH an SPF merge, and for each conflict the customer chose to
replace, PATCH or DELETE the records in the way (an MX is created before the other
provider's are deleted, so mail always has a destination; a CNAME after the records
holding its name are gone, as Cloudflare refuses it beside them, 81053). Everything else
is kept. Each write is idempotent with respect to the plan: a run after a failure reads
the zone again, so it finishes the job and never doubles a record; a create answered
81057/81058 ("already exists") counts as present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cloudflare
from cloudflare import AsyncCloudflare

from vm112_portal import txt_strings
from vm112_portal.domains import Domain
from vm112_portal.errors import CloudflareFailed
from vm112_portal.metrics import PortalMetrics
from vm112_portal.providers.dns_plan import MailRecord, Step, ZoneRecord, names_to_read, plan

ALREADY_EXISTS = (81057, 81058)
PER_PAGE = 100  # Cloudflare's default page size for DNS records
MAX_PAGES = 50  # of one name's records: 5000 records on a name is not a mail zone


@dataclass
class DnsOutcome:
    """What apply did, by record (names and types, for dns.applied and the Desk)."""

    zone_id: str
    zone_name: str
    created: list[dict[str, Any]] = field(default_factory=list)
    present: list[dict[str, Any]] = field(default_factory=list)
    merged: list[dict[str, Any]] = field(default_factory=list)
    replaced: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.merged or self.replaced)


def _error_codes(exc: cloudflare.APIStatusError) -> list[tuple[int | None, str]]:
    body = exc.body
    errors = body.get("errors") if isinstance(body, dict) else None
    found: list[tuple[int | None, str]] = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict):
            code = error.get("code")
            found.append((code if isinstance(code, int) else None, str(error.get("message", ""))))
    return found


def _failure(exc: cloudflare.APIError, action: str) -> CloudflareFailed:
    if isinstance(exc, cloudflare.APITimeoutError):
        return CloudflareFailed(f"Cloudflare did not answer in time while {action}", kind="timeout")
    if isinstance(exc, cloudflare.APIConnectionError):
        return CloudflareFailed(
            f"Cloudflare could not be reached while {action}", kind="unreachable"
        )
    if isinstance(exc, cloudflare.APIStatusError):
        codes = _error_codes(exc)
        code, message = codes[0] if codes else (None, "")
        detail = f"{code}: {message}" if code is not None else f"HTTP {exc.status_code}"
        return CloudflareFailed(
            f"Cloudflare refused {action} ({detail[:200]})", code, kind=f"http_{exc.status_code}"
        )
    return CloudflareFailed(f"Cloudflare answered something unusable while {action}")


class CloudflareDns:
    def __init__(
        self,
        client: AsyncCloudflare,
        metrics: PortalMetrics | None = None,
        *,
        per_page: int = PER_PAGE,
    ) -> None:
        self._client = client
        self._metrics = metrics or PortalMetrics()  # a private registry when not given
        self._per_page = per_page

    async def find_zone(self, domain: Domain) -> tuple[str, str] | None:
        """(zone id, zone name) of the closest zone holding the domain, or None."""
        names = (
            [domain.name]
            if domain.name == domain.registrable
            else [
                domain.name,
                domain.registrable,
            ]
        )
        for name in names:
            try:
                with self._metrics.provider_call("cloudflare"):
                    page = await self._client.zones.list(name=name, per_page=5)
            except cloudflare.APIError as exc:
                raise _failure(exc, f"looking up the zone {name}") from None
            for zone in page.result:
                if zone.name == name:
                    return zone.id, zone.name
        return None

    async def read(self, zone_id: str, domain: str) -> list[ZoneRecord]:
        """The zone's records on every name the mail setup touches, all pages."""
        found: list[ZoneRecord] = []
        for name in names_to_read(domain):
            page_number = 1
            while True:
                try:
                    with self._metrics.provider_call("cloudflare"):
                        page = await self._client.dns.records.list(
                            zone_id=zone_id,
                            name={"exact": name},
                            page=page_number,
                            per_page=self._per_page,
                        )
                except cloudflare.APIError as exc:
                    raise _failure(exc, f"reading the records of {name}") from None
                found.extend(_zone_record(r) for r in page.result)
                info = page.result_info
                total_pages = getattr(info, "total_pages", None) if info else None
                if not page.result or (isinstance(total_pages, int) and page_number >= total_pages):
                    break
                page_number += 1
        # name.exact is case-insensitive; keep exactly the names asked for
        wanted = set(names_to_read(domain))
        return [r for r in found if r.name in wanted]

    async def plan(
        self, domain: Domain, mail_host: str
    ) -> tuple[tuple[str, str] | None, list[Step]]:
        """The zone (None: the domain has none here) and the plan from its records now."""
        zone = await self.find_zone(domain)
        if zone is None:
            return None, []
        return zone, plan(domain.name, mail_host, await self.read(zone[0], domain.name))

    async def apply(
        self, zone: tuple[str, str], steps: list[Step], replace: frozenset[str]
    ) -> DnsOutcome:
        """Carry the plan out; conflicts are replaced only for purposes in ``replace``."""
        zone_id = zone[0]
        outcome = DnsOutcome(zone_id=zone_id, zone_name=zone[1])
        for step in steps:
            record = step.record.brief()
            if step.action == "present":
                outcome.present.append(record)
            elif step.action == "create":
                await self._create(zone_id, step.record)
                outcome.created.append(record)
            elif step.action == "merge":
                (old,) = step.existing
                await self._patch(zone_id, old, step.record.content)
                outcome.merged.append({**record, "previous": old.content})
            elif step.purpose not in replace:
                outcome.kept.append(
                    {
                        **record,
                        "reason": step.reason,
                        "existing": [r.brief() for r in step.existing],
                    }
                )
            else:
                await self._replace(zone_id, step)
                outcome.replaced.append(
                    {**record, "reason": step.reason, "removed": [r.brief() for r in step.existing]}
                )
        return outcome

    async def _replace(self, zone_id: str, step: Step) -> None:
        if step.record.type == "CNAME":
            for old in step.existing:  # Cloudflare refuses the CNAME beside them (81053)
                await self._delete(zone_id, old)
            await self._create(zone_id, step.record)
        elif step.record.type == "MX":
            await self._create(zone_id, step.record)  # ours first: mail always has a home
            for old in step.existing:
                await self._delete(zone_id, old)
        else:  # TXT (SPF, DMARC): overwrite the first, remove the rest: one record remains
            first, *rest = step.existing
            await self._patch(zone_id, first, step.record.content)
            for old in rest:
                await self._delete(zone_id, old)

    async def _create(self, zone_id: str, record: MailRecord) -> None:
        action = f"creating the {record.purpose} record"
        try:
            with self._metrics.provider_call("cloudflare", handled=_already_exists):
                if record.type == "MX" and record.priority is not None:
                    await self._client.dns.records.create(
                        zone_id=zone_id,
                        type="MX",
                        name=record.name,
                        content=record.content,
                        priority=record.priority,
                        ttl=1,
                    )
                elif record.type == "CNAME":
                    await self._client.dns.records.create(
                        zone_id=zone_id,
                        type="CNAME",
                        name=record.name,
                        content=record.content,
                        ttl=1,
                    )
                else:
                    await self._client.dns.records.create(
                        zone_id=zone_id, type="TXT", name=record.name, content=record.content, ttl=1
                    )
        except cloudflare.APIStatusError as exc:
            if _existing_codes(exc):
                return  # created by an earlier attempt whose answer was lost
            raise _failure(exc, action) from None
        except cloudflare.APIError as exc:
            raise _failure(exc, action) from None

    async def _patch(self, zone_id: str, old: ZoneRecord, content: str) -> None:
        try:
            with self._metrics.provider_call("cloudflare"):
                await self._client.dns.records.edit(
                    old.id, zone_id=zone_id, type="TXT", name=old.name, content=content, ttl=1
                )
        except cloudflare.APIError as exc:
            raise _failure(exc, f"updating the {old.type} record {old.name}") from None

    async def _delete(self, zone_id: str, old: ZoneRecord) -> None:
        try:
            with self._metrics.provider_call("cloudflare", handled=_gone):
                await self._client.dns.records.delete(old.id, zone_id=zone_id)
        except cloudflare.NotFoundError:
            return  # deleted by an earlier attempt
        except cloudflare.APIError as exc:
            raise _failure(exc, f"removing the {old.type} record {old.name}") from None

    # -- one TXT record at a name (DKIM publication, DMARC raised) ------------------------

    async def txt_at(self, zone_id: str, name: str) -> list[ZoneRecord]:
        """The TXT records at ``name`` (one page of 100: a name holds a few)."""
        try:
            with self._metrics.provider_call("cloudflare"):
                page = await self._client.dns.records.list(
                    zone_id=zone_id, name={"exact": name}, type="TXT", per_page=100
                )
        except cloudflare.APIError as exc:
            raise _failure(exc, f"reading the TXT records of {name}") from None
        return [r for r in map(_zone_record, page.result) if r.name == name and r.type == "TXT"]

    async def put_txt(self, zone_id: str, name: str, content: str, old: ZoneRecord | None) -> str:
        """Write the TXT record at ``name``: a new one, or ``old`` overwritten; what was
        done (``created``, ``updated``, ``present``)."""
        if old is not None and txt_strings.joined(old.content) == content:
            return "present"
        written = txt_strings.render(content)  # strings of at most 255 bytes (RFC 1035)
        if old is not None:
            await self._patch(zone_id, old, written)
            return "updated"
        await self._create(zone_id, MailRecord("dkim", "TXT", name, written))
        return "created"


def _zone_record(record: Any) -> ZoneRecord:
    priority = getattr(record, "priority", None)
    return ZoneRecord(
        id=str(record.id),
        type=str(record.type),
        name=str(record.name).lower().rstrip("."),
        content=str(getattr(record, "content", "") or ""),
        priority=int(priority) if isinstance(priority, int | float) else None,
    )


def _gone(exc: Exception) -> bool:
    return isinstance(exc, cloudflare.NotFoundError)


def _existing_codes(exc: cloudflare.APIStatusError) -> list[int]:
    """The "already exists" codes (81057, 81058) among a refusal's errors."""
    return [code for code, _ in _error_codes(exc) if code is not None and code in ALREADY_EXISTS]


def _already_exists(exc: Exception) -> bool:
    """A record already present is an answer the wizard counts as done, not an error."""
    return isinstance(exc, cloudflare.APIStatusError) and bool(_existing_codes(exc))
