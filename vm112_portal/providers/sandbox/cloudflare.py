"""A Cloudflare API v4 (zones and DNS records) stand-in, each rule from a named source.

Sources:
- Envelope ``{"success", "errors": [{"code", "message"}], "messages", "result",
  "result_info"}``: Cloudflare API v4 documentation, and the models of the official SDK
  (cloudflare-python: types/dns/record_response.py, pagination.py).
- Lists page with ``page``/``per_page`` and answer ``result_info {page, per_page, count,
  total_count, total_pages}``; the SDK's V4PagePaginationArray asks for the next page until
  one comes back empty (cloudflare-python pagination.py). DNS records: per_page 5 to
  5,000,000, default 100 (API reference "List DNS Records"); ``name.exact`` and ``type``
  filter (SDK types/dns/record_list_params.py, serialised with dots).
- Several records of one type on one name are allowed except CNAME: a CNAME on a name held
  by an A, AAAA or CNAME record is refused with 81053 "An A, AAAA, or CNAME record with that
  host already exists." (seen in cloudflare/terraform-provider-cloudflare#1247), and an A
  or AAAA on a name holding a CNAME with 81054 "A CNAME record with that host already
  exists." (favonia/cloudflare-ddns#990); Cloudflare docs "Records with the same name"
  (dns/manage-dns-records/troubleshooting/records-with-same-name).
- An identical record (type, name, content, priority) is refused with 81058 "An identical
  record already exists." (jeessy2/ddns-go#1378, certbot/certbot#10725, which also treats
  81057 "The record already exists." as already present, NewFuture/DDNS#21).
- PATCH and DELETE ``zones/{zone_id}/dns_records/{id}`` (API reference "Update DNS Record",
  "Delete DNS Record"; DELETE answers ``result: {"id"}``); an unknown id answers 404 with
  81044 "Record does not exist." (timothymiller/cloudflare-ddns reports it).

- ``POST zones/{zone_id}/dns_records/batch`` with ``deletes``, ``patches``, ``puts``,
  ``posts``: executed in that order in one database transaction, all or nothing (API
  reference "Batch DNS Records", cloudflare-python resources/dns/records.py ``batch``);
  the answer is ``result: {deletes, patches, puts, posts}`` with the records
  (types/dns/record_batch_response.py).
- ``proxied`` as given by the client, false when not given for a record that cannot be
  proxied (only A, AAAA and CNAME can: docs "Proxy status").
- Rate limit: 1,200 requests per 5 minutes per user; past it "all API calls for the next
  five minutes will be blocked, receiving a HTTP 429 response" (docs
  fundamentals/api/reference/limits) with ``retry-after`` (seconds, rounded up) and
  ``Ratelimit: "default";r=0;t=N`` (same page, "Rate limiting headers"; changelog
  2025-09-03); the body's error is 971 "Please wait and consider throttling your request
  speed" (cloudflare/workers-sdk#10025; lablabs/cloudflare-exporter#74 quotes the
  "More than 1200 requests per 300 seconds reached" text). ``rate_limit_for(seconds)`` is
  the test hook that starts such a block (the sandbox counts nothing itself).

Sandbox rules (not Cloudflare's; docs/portal.md): which zones exist and what they already
hold (vm112_portal/providers/sandbox/zones.py), and ``fail_writes`` (a test hook: the next writes on
a listed name answer HTTP 500 with code 10001, as an unexpected server error).
"""

from __future__ import annotations

import math
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse

from vm112_portal.providers.sandbox.zones import (
    SANDBOX_MAIL_HOST,
    seed_records,
    zone_document,
    zone_name_for,
)

RECORD_TYPES = {"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"}
ADDRESS_TYPES = {"A", "AAAA", "CNAME"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ok(result: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"success": True, "errors": [], "messages": [], "result": result, **extra}, status
    )


def cf_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        },
        status,
    )


def _page(request: Request, default: int, low: int, high: int) -> tuple[int, int] | None:
    try:
        page = int(request.query_params.get("page", "1"))
        per_page = int(float(request.query_params.get("per_page", str(default))))
    except ValueError:
        return None
    if page < 1 or not low <= per_page <= high:
        return None
    return page, per_page


def _paged(items: list[dict[str, Any]], page: int, per_page: int) -> JSONResponse:
    total = len(items)
    chunk = items[(page - 1) * per_page : page * per_page]
    info = {
        "page": page,
        "per_page": per_page,
        "count": len(chunk),
        "total_count": total,
        "total_pages": math.ceil(total / per_page) if total else 0,
    }
    return _ok(chunk, result_info=info)


@dataclass
class FakeCloudflare:
    token: str = "sandbox-token"  # noqa: S105 (the sandbox's documented default)
    mail_host: str = SANDBOX_MAIL_HOST  # what ``ours…`` zones already point at
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # zone -> records
    # A test hook: record name -> how many of its next writes fail (HTTP 500).
    fail_writes: dict[str, int] = field(default_factory=dict)
    writes: int = 0  # successful POST/PATCH/DELETE, for tests
    # Bodies of the record writes (POST, PATCH, and each record of a batch), for tests.
    write_bodies: list[dict[str, Any]] = field(default_factory=list)
    # Every request as "METHOD path", in order (tests compare it with Carbonio's calls).
    calls: list[str] = field(default_factory=list)
    blocked_until: float = 0.0  # monotonic: until then every request answers 429

    def rate_limit_for(self, seconds: float) -> None:
        """Answer 429 to every request for ``seconds`` (a test hook)."""
        self.blocked_until = time.monotonic() + seconds

    def gate(self, request: Request) -> JSONResponse | None:
        """Record the call; the 429 of a blocked token (with its headers) or None."""
        self.calls.append(f"cloudflare {request.method} {request.url.path}")
        left = self.blocked_until - time.monotonic()
        if left <= 0:
            return None
        wait = math.ceil(left)
        response = cf_error(429, 971, "Please wait and consider throttling your request speed")
        response.headers["retry-after"] = str(wait)
        response.headers["ratelimit"] = f'"default";r=0;t={wait}'
        response.headers["ratelimit-policy"] = '"default";q=1200;w=300'
        return response

    def _authorised(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and value == self.token

    def zone_records(self, zone: str) -> list[dict[str, Any]]:
        """The zone's records, seeded on first use from its first label's rule."""
        if zone not in self.records:
            seeded = seed_records(zone, self.mail_host)
            self.records[zone] = [self._record(zone, r) for r in seeded]
        return self.records[zone]

    def _zone_by_id(self, zone_id: str) -> str | None:
        for name in list(self.records):
            if zone_document(name)["id"] == zone_id:
                return name
        return None

    def _record(self, zone: str, body: dict[str, Any]) -> dict[str, Any]:
        record = {
            "id": uuid.uuid4().hex,
            "zone_id": zone_document(zone)["id"],
            "zone_name": zone,
            "name": body["name"],
            "type": body["type"],
            "content": body["content"],
            "proxiable": body["type"] in ADDRESS_TYPES,
            "proxied": bool(body.get("proxied", False)),
            "ttl": body.get("ttl", 1),
            "comment": None,
            "tags": [],
            "settings": {},
            "meta": {},
            "created_on": _now(),
            "modified_on": _now(),
        }
        if body.get("priority") is not None:
            record["priority"] = body["priority"]
        return record

    async def list_zones(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return cf_error(403, 10000, "Authentication error")
        paging = _page(request, 20, 5, 50)  # zones: per_page 5-50, default 20
        if paging is None:
            return cf_error(400, 1001, "Invalid request: page or per_page")
        name = request.query_params.get("name", "").lower().rstrip(".")
        if not name:  # every zone the token sees: here, those used so far
            return _paged([zone_document(z) for z in sorted(self.records)], *paging)
        zone = zone_name_for(name)
        zones = [zone_document(zone)] if zone is not None and zone == name else []
        for found in zones:
            self.zone_records(found["name"])  # the zone is known from now on
        return _paged(zones, *paging)

    async def verify_token(self, request: Request) -> JSONResponse:
        # API reference "Verify Token": GET /user/tokens/verify.
        if not self._authorised(request):
            return cf_error(401, 1000, "Invalid API Token")
        return _ok({"id": "0" * 32, "status": "active"})

    async def dns_records(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return cf_error(403, 10000, "Authentication error")
        zone = self._zone_by_id(request.path_params["zone_id"])
        if zone is None:
            return cf_error(
                404,
                7003,
                "Could not route to /zones/..., perhaps your object identifier is invalid?",
            )
        if request.method == "GET":
            paging = _page(request, 100, 5, 5_000_000)
            if paging is None:
                return cf_error(400, 1001, "Invalid request: page or per_page")
            found = self.zone_records(zone)
            exact = request.query_params.get("name.exact") or request.query_params.get("name")
            if exact:
                found = [r for r in found if r["name"] == exact.lower().rstrip(".")]
            kind = request.query_params.get("type")
            if kind:
                found = [r for r in found if r["type"] == kind]
            return _paged(found, *paging)
        body = await _json_object(request)
        if body is None:
            return cf_error(400, 9207, "Request body is invalid.")
        self.write_bodies.append(body)
        return self._create(zone, body)

    async def batch(self, request: Request) -> JSONResponse:
        """POST zones/{id}/dns_records/batch: deletes, patches, puts, posts, in that order,
        all or nothing (one transaction)."""
        if not self._authorised(request):
            return cf_error(403, 10000, "Authentication error")
        zone = self._zone_by_id(request.path_params["zone_id"])
        body = await _json_object(request)
        if zone is None or body is None:
            return cf_error(400, 9207, "Request body is invalid.")
        records = self.zone_records(zone)
        saved = [dict(r) for r in records]
        writes = self.writes
        result: dict[str, list[dict[str, Any]]] = {
            "deletes": [],
            "patches": [],
            "puts": [],
            "posts": [],
        }

        def undo(answer: JSONResponse) -> JSONResponse:
            records[:] = saved  # one transaction: nothing of a failed batch stays
            self.writes = writes
            return answer

        for item in body.get("deletes") or []:
            found = next((r for r in records if r["id"] == item.get("id")), None)
            if found is None:
                return undo(cf_error(404, 81044, "Record does not exist."))
            records.remove(found)
            self.writes += 1
            result["deletes"].append(found)
        for item in body.get("patches") or []:
            found = next((r for r in records if r["id"] == item.get("id")), None)
            if found is None:
                return undo(cf_error(404, 81044, "Record does not exist."))
            self.write_bodies.append(item)
            found["content"] = item.get("content", found["content"])
            if "proxied" in item:
                found["proxied"] = bool(item["proxied"])
            found["modified_on"] = _now()
            self.writes += 1
            result["patches"].append(found)
        for item in body.get("posts") or []:
            self.write_bodies.append(item)
            answer = self._create(zone, item)
            document = orjson.loads(answer.body)
            if not document["success"]:
                return undo(answer)
            result["posts"].append(document["result"])
        return _ok(result)

    async def dns_record(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return cf_error(403, 10000, "Authentication error")
        zone = self._zone_by_id(request.path_params["zone_id"])
        records = self.zone_records(zone) if zone else []
        record = next((r for r in records if r["id"] == request.path_params["record_id"]), None)
        if record is None:
            return cf_error(404, 81044, "Record does not exist.")
        if self._inject(record["name"]):
            return cf_error(500, 10001, "sandbox: injected failure")
        if request.method == "DELETE":
            records.remove(record)
            self.writes += 1
            return _ok({"id": record["id"]})
        body = await _json_object(request)
        if body is None:
            return cf_error(400, 9207, "Request body is invalid.")
        self.write_bodies.append(body)
        content = body.get("content", record["content"])
        if not isinstance(content, str) or not content:
            return cf_error(400, 1004, "DNS Validation Error: content")
        record["content"] = content
        record["modified_on"] = _now()
        self.writes += 1
        return _ok(record)

    def _inject(self, name: str) -> bool:
        left = self.fail_writes.get(name, 0)
        if left > 0:
            self.fail_writes[name] = left - 1
            return True
        return False

    def _create(self, zone: str, body: dict[str, Any]) -> JSONResponse:
        name = str(body.get("name", "")).lower().rstrip(".")
        if name != zone and not name.endswith("." + zone):
            return cf_error(400, 1004, "DNS Validation Error: name is not in the zone")
        kind, content = body.get("type"), body.get("content")
        if kind not in RECORD_TYPES or not isinstance(content, str) or not content:
            return cf_error(400, 1004, "DNS Validation Error: type and content are required")
        priority = body.get("priority")
        if kind == "MX" and not isinstance(priority, int | float):
            return cf_error(400, 1004, "DNS Validation Error: MX records need a priority")
        if self._inject(name):
            return cf_error(500, 10001, "sandbox: injected failure")
        existing = self.zone_records(zone)
        same_name = [r for r in existing if r["name"] == name]
        for other in same_name:
            if (
                other["type"] == kind
                and other["content"] == content
                and other.get("priority") == (priority if kind == "MX" else None)
            ):
                return cf_error(400, 81058, "An identical record already exists.")
        if kind == "CNAME" and any(r["type"] in ADDRESS_TYPES for r in same_name):
            return cf_error(
                400, 81053, "An A, AAAA, or CNAME record with that host already exists."
            )
        if kind in ("A", "AAAA") and any(r["type"] == "CNAME" for r in same_name):
            return cf_error(400, 81054, "A CNAME record with that host already exists.")
        record = self._record(
            zone, {**body, "name": name, "priority": priority if kind == "MX" else None}
        )
        existing.append(record)
        self.calls.append(f"cloudflare wrote {kind} {name} {content}")
        self.writes += 1
        return _ok(record)


async def _json_object(request: Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
