"""Mail DNS records in Cloudflare, through the official SDK (``cloudflare.AsyncCloudflare``).

The zone is looked up by name: the domain itself, then its registrable domain, nothing
between, so a name of 125 labels costs two lookups, not 124 (issue 17). A zone for an
intermediate name (a.b.example.com's b.example.com) is therefore not found. Each missing
record is created; Cloudflare's "already exists" errors (81057 "The record already
exists.", 81058 "An identical record already exists.") count as present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import cloudflare
from cloudflare import AsyncCloudflare

from vm112_portal.domains import Domain
from vm112_portal.errors import CloudflareFailed
from vm112_portal.metrics import PortalMetrics

ALREADY_EXISTS = (81057, 81058)
RecordType = Literal["MX", "TXT", "CNAME"]


@dataclass(frozen=True)
class MailRecord:
    purpose: str  # mx, spf, dmarc, dkim, autodiscover
    type: RecordType
    name: str
    content: str
    priority: int | None = None

    def as_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "purpose": self.purpose,
            "type": self.type,
            "name": self.name,
            "content": self.content,
        }
        if self.priority is not None:
            record["priority"] = self.priority
        return record


@dataclass
class DnsOutcome:
    zone_id: str | None
    zone_name: str | None
    applied: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def mail_records(domain: str, mail_host: str, selector: str, dkim_key: str) -> list[MailRecord]:
    """The records a mail domain on our Carbonio needs, pointing at ``mail_host``."""
    return [
        MailRecord("mx", "MX", domain, mail_host, priority=10),
        MailRecord("spf", "TXT", domain, f"v=spf1 mx a:{mail_host} ~all"),
        MailRecord(
            "dmarc", "TXT", f"_dmarc.{domain}", f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}"
        ),
        MailRecord(
            "dkim", "TXT", f"{selector}._domainkey.{domain}", f"v=DKIM1; k=rsa; p={dkim_key}"
        ),
        MailRecord("autodiscover", "CNAME", f"autodiscover.{domain}", mail_host),
    ]


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
        return CloudflareFailed(f"Cloudflare did not answer in time while {action}")
    if isinstance(exc, cloudflare.APIConnectionError):
        return CloudflareFailed(f"Cloudflare could not be reached while {action}")
    if isinstance(exc, cloudflare.APIStatusError):
        codes = _error_codes(exc)
        code, message = codes[0] if codes else (None, "")
        detail = f"{code}: {message}" if code is not None else f"HTTP {exc.status_code}"
        return CloudflareFailed(f"Cloudflare refused {action} ({detail[:200]})", code)
    return CloudflareFailed(f"Cloudflare answered something unusable while {action}")


class CloudflareDns:
    def __init__(self, client: AsyncCloudflare, metrics: PortalMetrics | None = None) -> None:
        self._client = client
        self._metrics = metrics or PortalMetrics()  # a private registry when not given

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

    async def apply(self, domain: Domain, records: list[MailRecord]) -> DnsOutcome:
        zone = await self.find_zone(domain)
        if zone is None:
            return DnsOutcome(zone_id=None, zone_name=None)
        outcome = DnsOutcome(zone_id=zone[0], zone_name=zone[1])
        for record in records:
            try:
                with self._metrics.provider_call("cloudflare", handled=_already_exists):
                    created = await self._create(zone[0], record)
            except cloudflare.APIStatusError as exc:
                present = _existing_codes(exc)
                if present:
                    outcome.skipped.append(
                        {**record.as_dict(), "reason": "already exists", "code": present[0]}
                    )
                    continue
                raise _failure(exc, f"creating the {record.purpose} record") from None
            except cloudflare.APIError as exc:
                raise _failure(exc, f"creating the {record.purpose} record") from None
            applied = record.as_dict()
            if created is not None and getattr(created, "id", None):
                applied["id"] = created.id
            outcome.applied.append(applied)
        return outcome

    async def _create(self, zone_id: str, record: MailRecord) -> Any:
        if record.type == "MX" and record.priority is not None:
            return await self._client.dns.records.create(
                zone_id=zone_id,
                type="MX",
                name=record.name,
                content=record.content,
                priority=record.priority,
                ttl=1,
            )
        return await self._client.dns.records.create(
            zone_id=zone_id, type=record.type, name=record.name, content=record.content, ttl=1
        )


def _existing_codes(exc: cloudflare.APIStatusError) -> list[int]:
    """The "already exists" codes (81057, 81058) among a refusal's errors."""
    return [code for code, _ in _error_codes(exc) if code is not None and code in ALREADY_EXISTS]


def _already_exists(exc: Exception) -> bool:
    """A record already present is an answer the wizard counts as done, not an error."""
    return isinstance(exc, cloudflare.APIStatusError) and bool(_existing_codes(exc))
