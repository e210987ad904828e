"""Mail DNS records in Cloudflare, through the official SDK (``cloudflare.AsyncCloudflare``).

The zone is looked up by name: the domain itself, then its registrable domain, nothing
between, so a name of many labels costs two lookups, not one per label. ``read`` lists the
zone's records on every name the mail setup touches (paged with ``result_info``,
``name.exact`` filter); vm112_portal/providers/dns_plan.py turns them into a plan; ``apply`` carries
the plan out: create, PATCH an SPF merge, and for each conflict the customer chose to
replace, PATCH or DELETE the records in the way (an MX is created before the other
provider's are deleted, so mail always has a destination; a CNAME after the records
holding its name are gone, as Cloudflare refuses it beside them, 81053). Everything else
is kept. Each write is idempotent with respect to the plan: a run after a failure reads
the zone again, so it finishes the job and never doubles a record; a create answered
81057/81058 ("already exists") counts as present.

What the live path adds:

- Only zones with ``status: active`` and ``type: full`` are written (Cloudflare API "List
  Zones": status initializing/pending/active/moved, type full/partial/secondary; docs
  "Zone status"): nobody queries a pending, moved or initializing zone's records, and a
  partial (CNAME setup) or secondary zone's DNS is served elsewhere. Any other zone raises
  ``ZoneNotUsable``: manual mode, with the reason.
- A replace (records deleted and ours created) is one ``POST dns_records/batch`` call:
  deletes, patches, puts, posts in one database transaction (API reference "Batch DNS
  Records"; cloudflare-python ``client.dns.records.batch``), so a failure leaves the zone
  as it was, never half replaced.
- Every record is written with ``proxied: false`` (mail names must resolve to the host).
- Rate limits: Cloudflare allows 1,200 requests per 5 minutes per user and, past it,
  answers 429 to everything for up to 5 minutes with ``retry-after`` and ``Ratelimit:
  "default";r=0;t=N`` (docs fundamentals/api/reference/limits). The SDK's own retry
  honours ``retry-after`` only up to 60 s (cloudflare-python _base_client.py
  ``_calculate_retry_timeout``: ``0 < retry_after <= 60``) and otherwise waits at most 8 s
  (``MAX_RETRY_DELAY``), so its retry lands inside the block: the app gives the SDK
  ``max_retries=0`` and this client raises ``CloudflareBusy`` with the wait, calls
  nothing more until then, and the wizard answers 503 with Retry-After without failing
  the session. The Portal's own budget (``CallBudget``, ``PORTAL_CLOUDFLARE_CALLS_PER_5MIN``,
  900 by default: 75% of the token's 1,200) leaves the rest to the dashboard and other
  users of the token.
- SPF planning counts the merged record's lookups through its includes
  (vm112_portal/spf.py) with the Portal's resolver; one cache per plan.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

import cloudflare
import httpx
from cloudflare import AsyncCloudflare

from vm112_portal import spf, txt_strings
from vm112_portal.domains import Domain
from vm112_portal.errors import CloudflareFailed
from vm112_portal.metrics import PortalMetrics
from vm112_portal.providers.carbonio import tls_failure
from vm112_portal.providers.dns_plan import (
    MailRecord,
    Step,
    ZoneRecord,
    names_to_read,
    plan,
    spf_to_merge,
)
from vm112_portal.resolvers import DnsFailure, NoDns, TxtLookup, txt_texts

ALREADY_EXISTS = (81057, 81058)
BLOCK_SECONDS = 300  # "all API calls for the next five minutes will be blocked" (docs)
WINDOW = 300.0  # Cloudflare counts 1,200 requests per 5 minutes per user
DEFAULT_BUDGET = 900  # the Portal's share: 75% of 1,200, the rest for other users


class ZoneNotUsable(Exception):
    """The domain's zone exists but is not written: not active, or not a full setup."""

    def __init__(self, name: str, status: str, kind: str) -> None:
        self.name, self.status, self.kind = name, status, kind
        if status != "active":
            self.code = "zone_not_active"
            message = (
                f"the Cloudflare zone {name} is {status}, not active: Cloudflare does not "
                "answer for it yet (or any more), so records written there would not be "
                "seen; add the records at the DNS host that answers for the domain"
            )
        else:
            self.code = "zone_not_full"
            message = (
                f"the Cloudflare zone {name} is a {kind} setup: its DNS is served by "
                "another provider, so records written in Cloudflare would not be seen; "
                "add the records at that provider"
            )
        super().__init__(message)
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "type": self.kind,
            "zone": self.name,
        }


class CloudflareBusy(CloudflareFailed):
    """Cloudflare's rate limit (its 429, or the Portal's own budget): wait ``retry_after``
    seconds. Not a failure of the onboarding: the step can simply be asked again."""

    def __init__(self, reason: str, retry_after: int) -> None:
        super().__init__(reason, 971, kind="rate_limited")
        self.retry_after = retry_after


def retry_after_of(headers: httpx.Headers, now: float | None = None) -> int:
    """Seconds to wait after a 429: ``retry-after`` (seconds or an HTTP date), else the
    ``Ratelimit`` header's ``t``, else Cloudflare's documented 5-minute block."""
    raw = headers.get("retry-after", "").strip()
    if raw:
        try:
            return max(1, math.ceil(float(raw)))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(raw) if raw else None
            if parsed is not None:
                return max(1, math.ceil(parsed.timestamp() - (now or time.time())))
    found = re.search(r"(?:^|[;,\s])t=(\d+)", headers.get("ratelimit", ""))
    if found:
        return max(1, int(found.group(1)))
    return BLOCK_SECONDS


@dataclass
class CallBudget:
    """At most ``calls`` Cloudflare requests in any ``WINDOW`` seconds (a sliding log)."""

    calls: int = DEFAULT_BUDGET
    window: float = WINDOW
    _sent: list[float] = field(default_factory=list)

    def take(self, now: float) -> float:
        """Take one call; 0 when taken, else seconds until one is free."""
        cutoff = now - self.window
        while self._sent and self._sent[0] <= cutoff:
            self._sent.pop(0)
        if len(self._sent) >= self.calls:
            return self._sent[0] + self.window - now
        self._sent.append(now)
        return 0.0


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
    held: list[dict[str, Any]] = field(default_factory=list)  # written by a later step

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
        tls = tls_failure(exc)
        if tls is not None:
            return CloudflareFailed(
                f"Cloudflare's TLS certificate was refused while {action} ({tls}): set "
                "CLOUDFLARE_CA_FILE to the CA that signed it",
                kind="tls",
            )
        return CloudflareFailed(
            f"Cloudflare could not be reached while {action}", kind="unreachable"
        )
    if isinstance(exc, cloudflare.RateLimitError):
        wait = retry_after_of(exc.response.headers)
        return CloudflareBusy(
            f"Cloudflare's API rate limit was reached while {action}; it accepts calls "
            f"again in {wait} s",
            wait,
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
        txt: TxtLookup | None = None,
        budget: CallBudget | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics or PortalMetrics()  # a private registry when not given
        self._per_page = per_page
        self._txt = txt or NoDns()
        self._budget = budget or CallBudget()
        self._blocked_until = 0.0  # monotonic: Cloudflare's 429 said to wait until then

    def _guard(self, action: str) -> None:
        """Before each call: refuse at once while Cloudflare's block lasts or the
        Portal's own budget is spent (a call then would only prolong the block)."""
        now = time.monotonic()
        if now < self._blocked_until:
            wait = math.ceil(self._blocked_until - now)
            raise CloudflareBusy(
                f"Cloudflare's API rate limit was reached; {action} waits {wait} s", wait
            )
        wait_budget = self._budget.take(now)
        if wait_budget > 0:
            raise CloudflareBusy(
                f"the Portal's Cloudflare budget ({self._budget.calls} calls per "
                f"{self._budget.window:g} s) is spent; {action} waits",
                max(1, math.ceil(wait_budget)),
            )

    def _failed(self, exc: cloudflare.APIError, action: str) -> CloudflareFailed:
        failure = _failure(exc, action)
        if isinstance(failure, CloudflareBusy):
            self._blocked_until = time.monotonic() + failure.retry_after
        return failure

    async def find_zone(self, domain: Domain) -> tuple[str, str] | None:
        """(zone id, zone name) of the closest zone holding the domain, or None; raises
        ZoneNotUsable for a zone that is not active or not a full setup."""
        names = (
            [domain.name]
            if domain.name == domain.registrable
            else [
                domain.name,
                domain.registrable,
            ]
        )
        for name in names:
            action = f"looking up the zone {name}"
            self._guard(action)
            try:
                with self._metrics.provider_call("cloudflare"):
                    page = await self._client.zones.list(name=name, per_page=5)
            except cloudflare.APIError as exc:
                raise self._failed(exc, action) from None
            for zone in page.result:
                if zone.name == name:
                    status = str(getattr(zone, "status", None) or "active")
                    kind = str(getattr(zone, "type", None) or "full")
                    if status != "active" or kind != "full":
                        raise ZoneNotUsable(zone.name, status, kind)
                    return zone.id, zone.name
        return None

    async def read(
        self, zone_id: str, domain: str, names: list[str] | None = None
    ) -> list[ZoneRecord]:
        """The zone's records on every name the mail setup touches (or on ``names``),
        all pages."""
        found: list[ZoneRecord] = []
        for name in names if names is not None else names_to_read(domain):
            page_number = 1
            while True:
                self._guard(f"reading the records of {name}")
                try:
                    with self._metrics.provider_call("cloudflare"):
                        page = await self._client.dns.records.list(
                            zone_id=zone_id,
                            name={"exact": name},
                            page=page_number,
                            per_page=self._per_page,
                        )
                except cloudflare.APIError as exc:
                    raise self._failed(exc, f"reading the records of {name}") from None
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
        self, domain: Domain, mail_host: str, *, mx_only: bool = False
    ) -> tuple[tuple[str, str] | None, list[Step]]:
        """The zone (None: the domain has none here) and the plan from its records now;
        ``mx_only`` reads just the domain's own name (the account step's held MX)."""
        zone = await self.find_zone(domain)
        if zone is None:
            return None, []
        names = [domain.name] if mx_only else None
        records = await self.read(zone[0], domain.name, names)
        if mx_only:
            return zone, [s for s in plan(domain.name, mail_host, records) if s.purpose == "mx"]
        merged = spf_to_merge(domain.name, mail_host, records)
        counted = None
        if merged is not None:
            cache: dict[str, list[str] | DnsFailure] = {}  # one per plan

            async def fetch(name: str) -> list[str]:
                return await txt_texts(self._txt, name)

            counted = await spf.count(merged, fetch, cache)
        return zone, plan(domain.name, mail_host, records, counted)

    async def apply(
        self,
        zone: tuple[str, str],
        steps: list[Step],
        replace: frozenset[str],
        *,
        only: frozenset[str] | None = None,
        hold: frozenset[str] = frozenset(),
    ) -> DnsOutcome:
        """Carry the plan out; conflicts are replaced only for purposes in ``replace``.
        Purposes in ``hold`` are not written (listed in ``outcome.held`` when they would
        be: a create, or a replace chosen; a conflict kept is listed in ``kept`` as any
        other); with ``only``, just those purposes are considered."""
        zone_id = zone[0]
        outcome = DnsOutcome(zone_id=zone_id, zone_name=zone[1])
        for step in steps:
            if only is not None and step.purpose not in only:
                continue
            writes = step.action == "create" or (
                step.action == "conflict" and step.purpose in replace
            )
            if step.purpose in hold and writes:  # a kept conflict is listed as kept
                outcome.held.append(
                    {
                        **step.record.brief(),
                        "purpose": step.purpose,
                        "action": "create" if step.action == "create" else "replace",
                        "existing": [r.brief() for r in step.existing],
                    }
                )
                continue
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
        """The records in the way deleted and ours written, in one batch (one
        transaction: Cloudflare runs its deletes, then patches, then posts, so the CNAME
        never meets the records it must not sit beside, 81053, and the zone is never left
        half replaced). TXT: the first record patched, the others deleted."""
        if step.record.type == "TXT":
            first, *rest = step.existing
            patches = [
                {
                    "id": first.id,
                    "type": "TXT",
                    "name": first.name,
                    "content": txt_strings.render(step.record.content),
                    "ttl": 1,
                    "proxied": False,
                }
            ]
            await self._batch(zone_id, step, deletes=rest, patches=patches, posts=[])
        else:
            post = _record_body(step.record)
            await self._batch(zone_id, step, deletes=list(step.existing), patches=[], posts=[post])

    async def _batch(
        self,
        zone_id: str,
        step: Step,
        *,
        deletes: list[ZoneRecord],
        patches: list[dict[str, Any]],
        posts: list[dict[str, Any]],
    ) -> None:
        action = f"replacing the {step.purpose} records"
        self._guard(action)
        try:
            with self._metrics.provider_call("cloudflare"):
                await self._client.dns.records.batch(
                    zone_id=zone_id,
                    deletes=[{"id": r.id} for r in deletes],
                    patches=patches,  # type: ignore[arg-type]
                    posts=posts,  # type: ignore[arg-type]
                )
        except cloudflare.APIError as exc:
            raise self._failed(exc, action) from None

    async def _create(self, zone_id: str, record: MailRecord) -> None:
        action = f"creating the {record.purpose} record"
        self._guard(action)
        try:
            with self._metrics.provider_call("cloudflare", handled=_already_exists):
                await self._client.dns.records.create(zone_id=zone_id, **_record_body(record))
        except cloudflare.APIStatusError as exc:
            if _existing_codes(exc):
                return  # created by an earlier attempt whose answer was lost
            raise self._failed(exc, action) from None
        except cloudflare.APIError as exc:
            raise self._failed(exc, action) from None

    async def _patch(self, zone_id: str, old: ZoneRecord, content: str) -> None:
        action = f"updating the {old.type} record {old.name}"
        self._guard(action)
        try:
            with self._metrics.provider_call("cloudflare"):
                await self._client.dns.records.edit(
                    old.id,
                    zone_id=zone_id,
                    type="TXT",
                    name=old.name,
                    content=txt_strings.render(content),
                    ttl=1,
                    proxied=False,
                )
        except cloudflare.APIError as exc:
            raise self._failed(exc, action) from None

    async def _delete(self, zone_id: str, old: ZoneRecord) -> None:
        self._guard(f"removing the {old.type} record {old.name}")
        try:
            with self._metrics.provider_call("cloudflare", handled=_gone):
                await self._client.dns.records.delete(old.id, zone_id=zone_id)
        except cloudflare.NotFoundError:
            return  # deleted by an earlier attempt
        except cloudflare.APIError as exc:
            raise self._failed(exc, f"removing the {old.type} record {old.name}") from None

    async def txt_at(self, zone_id: str, name: str) -> list[ZoneRecord]:
        """The TXT records at ``name`` (one page of 100: a name holds a few)."""
        action = f"reading the TXT records of {name}"
        self._guard(action)
        try:
            with self._metrics.provider_call("cloudflare"):
                page = await self._client.dns.records.list(
                    zone_id=zone_id, name={"exact": name}, type="TXT", per_page=100
                )
        except cloudflare.APIError as exc:
            raise self._failed(exc, action) from None
        return [r for r in map(_zone_record, page.result) if r.name == name and r.type == "TXT"]

    async def put_txt(self, zone_id: str, name: str, content: str, old: ZoneRecord | None) -> str:
        """Write the TXT record at ``name``: a new one, or ``old`` overwritten; what was
        done (``created``, ``updated``, ``present``). ``content`` is the text; it is sent
        as character-strings of at most 255 bytes (RFC 1035) by ``_patch``/``_create``."""
        if old is not None and txt_strings.joined(old.content) == content:
            return "present"
        if old is not None:
            await self._patch(zone_id, old, content)
            return "updated"
        await self._create(zone_id, MailRecord("dkim", "TXT", name, content))
        return "created"


def _record_body(record: MailRecord) -> dict[str, Any]:
    """The create body of one of our records: ``ttl`` automatic, ``proxied`` false (a mail
    name must resolve to the host itself, never to Cloudflare's proxy)."""
    body: dict[str, Any] = {
        "type": record.type,
        "name": record.name,
        "content": txt_strings.render(record.content) if record.type == "TXT" else record.content,
        "ttl": 1,
        "proxied": False,
    }
    if record.type == "MX" and record.priority is not None:
        body["priority"] = record.priority
    return body

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
