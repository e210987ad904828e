"""Local stand-ins for Cloudflare and Carbonio, speaking their wire formats over HTTP.

Mounted in the portal at /sandbox, so the real clients (``cloudflare.AsyncCloudflare`` and
``CarbonioClient``) call them exactly as they would call the providers. Rules (docs/portal.md):

- Cloudflare: a zone exists for every registrable domain (public suffix plus one label) whose
  first label does not start with ``nocf``. Creating a record identical to an existing one
  (type, name, content, priority) answers 400 with error 81058; a second CNAME on a name
  answers 400 with error 81057.
- Carbonio: AuthRequest accepts the configured admin credentials only. CreateAccountRequest
  on a domain whose first label starts with ``fail`` answers a ``service.FAILURE`` fault.
  CreateDomainRequest on a known domain answers ``account.DOMAIN_EXISTS``.
- Optional latency per provider (milliseconds), for benchmarks.

State is in memory: it lasts as long as the process.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from vm112_portal.domains import PSL

TOKEN_LIFETIME = 12 * 3600.0
RECORD_TYPES = {"A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV", "CAA"}


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _cf(result: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"success": True, "errors": [], "messages": [], "result": result, **extra}, status
    )


def _cf_error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "success": False,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": None,
        },
        status,
    )


def _soap(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"Header": {"context": {"_jsns": "urn:zimbra"}}, "Body": body, "_jsns": "urn:zimbraSoap"},
        status,
    )


def soap_fault(code: str, reason: str) -> JSONResponse:
    """A Zimbra SOAP 1.2 fault in JSON form, as Carbonio sends it (HTTP 500)."""
    sender = code.startswith(("account.", "service.AUTH", "service.INVALID"))
    return _soap(
        {
            "Fault": {
                "Code": {"Value": "soap:Sender" if sender else "soap:Receiver"},
                "Reason": {"Text": reason},
                "Detail": {
                    "Error": {
                        "Code": code,
                        "Trace": f"qtp-sandbox:{uuid.uuid4().hex[:12]}",
                        "_jsns": "urn:zimbra",
                    }
                },
            }
        },
        500,
    )


def _text(value: object) -> str:
    """Zimbra JSON text: "x", {"_content": "x"} or [{"_content": "x"}]."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("_content")
    return value if isinstance(value, str) else ""


@dataclass
class Sandbox:
    admin_user: str
    admin_password: str = field(repr=False)
    cloudflare_latency: float = 0.0  # seconds
    carbonio_latency: float = 0.0
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    domains: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)

    def zone_for(self, name: str) -> dict[str, Any] | None:
        name = name.lower().rstrip(".")
        if PSL.privatesuffix(name) != name or name.split(".")[0].startswith("nocf"):
            return None
        zone_id = hashlib.sha256(f"zone:{name}".encode()).hexdigest()[:32]
        return {
            "id": zone_id,
            "name": name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
            "original_name_servers": None,
            "original_registrar": None,
            "original_dnshost": None,
            "created_on": "2026-01-01T00:00:00.000000Z",
            "modified_on": "2026-01-01T00:00:00.000000Z",
            "activated_on": "2026-01-01T00:00:00.000000Z",
            "account": {"id": "0" * 32, "name": "Sandbox account"},
            "meta": {"phishing_detected": False, "cdn_only": False, "dns_only": False},
            "owner": {"id": None, "name": None, "type": "user"},
            "permissions": [],
            "plan": {"id": "0" * 32, "name": "Free Website", "is_subscribed": False},
        }

    def expire_tokens(self) -> None:
        """Make every Carbonio auth token stale (the next call faults AUTH_EXPIRED)."""
        for token in self.tokens:
            self.tokens[token] = 0.0

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(
                    "/cloudflare/client/v4/zones",
                    self.list_zones,
                    methods=["GET"],
                    name="cloudflare_zones",
                ),
                Route(
                    "/cloudflare/client/v4/zones/{zone_id}/dns_records",
                    self.dns_records,
                    methods=["GET", "POST"],
                    name="cloudflare_dns_records",
                ),
                Route(
                    "/carbonio/service/admin/soap",
                    self.soap,
                    methods=["POST"],
                    name="carbonio_soap",
                ),
            ]
        )

    # -- Cloudflare -------------------------------------------------------------------

    async def list_zones(self, request: Request) -> JSONResponse:
        await asyncio.sleep(self.cloudflare_latency)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _cf_error(401, 10000, "Authentication error")
        name = request.query_params.get("name", "")
        zone = self.zone_for(name) if name else None
        zones = [zone] if zone else []
        info = {"page": 1, "per_page": 20, "count": len(zones), "total_count": len(zones)}
        return _cf(zones, result_info={**info, "total_pages": 1})

    async def dns_records(self, request: Request) -> JSONResponse:
        await asyncio.sleep(self.cloudflare_latency)
        if not request.headers.get("authorization", "").startswith("Bearer "):
            return _cf_error(401, 10000, "Authentication error")
        zone_id = request.path_params["zone_id"]
        zone_name = next(
            (name for name, _ in self.records.items() if self._zone_id(name) == zone_id), None
        )
        if request.method == "GET":
            return _cf(self.records.get(zone_name, []) if zone_name else [])
        try:
            body = await request.json()
        except ValueError:
            return _cf_error(400, 9207, "Request body is invalid.")
        if not isinstance(body, dict):
            return _cf_error(400, 9207, "Request body is invalid.")
        name = str(body.get("name", "")).lower().rstrip(".")
        zone = self._zone_of(name)
        if zone is None or zone["id"] != zone_id:
            return _cf_error(400, 1004, "DNS Validation Error: name is not in the zone")
        kind, content = body.get("type"), body.get("content")
        if kind not in RECORD_TYPES or not isinstance(content, str) or not content:
            return _cf_error(400, 1004, "DNS Validation Error: type and content are required")
        if kind == "MX" and not isinstance(body.get("priority"), int | float):
            return _cf_error(400, 1004, "DNS Validation Error: MX records need a priority")
        existing = self.records.setdefault(zone["name"], [])
        for other in existing:
            same_name = other["type"] == kind and other["name"] == name
            if (
                same_name
                and other["content"] == content
                and other.get("priority") == body.get("priority")
            ):
                return _cf_error(400, 81058, "An identical record already exists.")
            if same_name and kind == "CNAME":
                return _cf_error(400, 81057, "The record already exists.")
        record = {
            "id": uuid.uuid4().hex,
            "zone_id": zone_id,
            "zone_name": zone["name"],
            "name": name,
            "type": kind,
            "content": content,
            "proxiable": kind == "CNAME",
            "proxied": False,
            "ttl": body.get("ttl", 1),
            "comment": None,
            "tags": [],
            "settings": {},
            "meta": {},
            "created_on": _now(),
            "modified_on": _now(),
        }
        if "priority" in body:
            record["priority"] = body["priority"]
        existing.append(record)
        return _cf(record)

    def _zone_id(self, name: str) -> str:
        zone = self.zone_for(name)
        return zone["id"] if zone else ""

    def _zone_of(self, name: str) -> dict[str, Any] | None:
        labels = name.split(".")
        for start in range(len(labels) - 1):
            zone = self.zone_for(".".join(labels[start:]))
            if zone is not None:
                return zone
        return None

    # -- Carbonio ---------------------------------------------------------------------

    async def soap(self, request: Request) -> JSONResponse:
        await asyncio.sleep(self.carbonio_latency)
        try:
            envelope = await request.json()
        except ValueError:
            return soap_fault("service.PARSE_ERROR", "parse error: the request is not JSON")
        body = envelope.get("Body") if isinstance(envelope, dict) else None
        if not isinstance(body, dict) or len(body) != 1:
            return soap_fault("service.INVALID_REQUEST", "invalid request: one Body element")
        ((name, payload),) = body.items()
        if not isinstance(payload, dict):
            return soap_fault("service.INVALID_REQUEST", f"invalid request: {name}")
        if name == "AuthRequest":
            return self._auth(payload)
        header = envelope.get("Header")
        context = header.get("context") if isinstance(header, dict) else None
        token = _text(context.get("authToken")) if isinstance(context, dict) else ""
        if not token:
            return soap_fault("service.AUTH_REQUIRED", "no valid authtoken present")
        if self.tokens.get(token, 0.0) < time.monotonic():
            return soap_fault("service.AUTH_EXPIRED", "auth credentials have expired")
        if name == "CreateDomainRequest":
            return self._create_domain(payload)
        if name == "CreateAccountRequest":
            return self._create_account(payload)
        return soap_fault("service.UNKNOWN_DOCUMENT", f"unknown document: {name}")

    def _auth(self, payload: dict[str, Any]) -> JSONResponse:
        user, password = _text(payload.get("name")), _text(payload.get("password"))
        if not (
            secrets.compare_digest(user.encode(), self.admin_user.encode())
            and secrets.compare_digest(password.encode(), self.admin_password.encode())
        ):
            return soap_fault("account.AUTH_FAILED", "authentication failed for " + user[:64])
        token = "0_sbx_" + secrets.token_hex(20)
        self.tokens[token] = time.monotonic() + TOKEN_LIFETIME
        return _soap(
            {
                "AuthResponse": {
                    "authToken": [{"_content": token}],
                    "lifetime": int(TOKEN_LIFETIME * 1000),
                    "_jsns": "urn:zimbraAdmin",
                }
            }
        )

    def _create_domain(self, payload: dict[str, Any]) -> JSONResponse:
        name = _text(payload.get("name")).lower()
        if not name or "." not in name:
            return soap_fault("service.INVALID_REQUEST", "invalid request: domain name")
        if name in self.domains:
            return soap_fault("account.DOMAIN_EXISTS", f"domain already exists: {name}")
        domain_id = str(uuid.uuid4())
        self.domains[name] = domain_id
        return _soap(
            {
                "CreateDomainResponse": {
                    "domain": [{"name": name, "id": domain_id, "a": []}],
                    "_jsns": "urn:zimbraAdmin",
                }
            }
        )

    def _create_account(self, payload: dict[str, Any]) -> JSONResponse:
        address = _text(payload.get("name")).lower()
        local, _, domain = address.partition("@")
        if not local or not domain:
            return soap_fault("service.INVALID_REQUEST", "invalid request: account name")
        if domain not in self.domains:
            return soap_fault("account.NO_SUCH_DOMAIN", f"no such domain: {domain}")
        if domain.split(".")[0].startswith("fail"):
            return soap_fault(
                "service.FAILURE",
                "system failure: sandbox rule: accounts cannot be created on fail* domains",
            )
        if address in self.accounts:
            return soap_fault("account.ACCOUNT_EXISTS", f"email address already exists: {address}")
        if len(_text(payload.get("password"))) < 6:
            return soap_fault("account.INVALID_PASSWORD", "invalid password: too short")
        attrs = [
            a for a in payload.get("a", []) if isinstance(a, dict) and a.get("n") != "userPassword"
        ]
        account = {"name": address, "id": str(uuid.uuid4()), "a": attrs}
        self.accounts[address] = account
        return _soap({"CreateAccountResponse": {"account": [account], "_jsns": "urn:zimbraAdmin"}})
