"""A small async client for the Carbonio (Zimbra-family) admin SOAP API, in its JSON form.

Requests are ``{"Header": {"context": {...}}, "Body": {"<Name>Request": {...}}}`` posted to
the admin URL (``https://host:7071/service/admin/soap``). Faults arrive as HTTP 500 with
``Body.Fault.Detail.Error.Code`` (e.g. ``account.DOMAIN_EXISTS``) and ``Fault.Reason.Text``.
On ``service.AUTH_EXPIRED`` the client authenticates again, once, and repeats the request.
Passwords go only into the request body; they are never logged or kept in exceptions.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from vm112_portal.errors import CarbonioFault, ProviderError
from vm112_portal.metrics import PortalMetrics

log = logging.getLogger("vm112_portal.carbonio")

ADMIN_NS = "urn:zimbraAdmin"
AUTH_EXPIRED = "service.AUTH_EXPIRED"
AUTH_REQUIRED = "service.AUTH_REQUIRED"
DOMAIN_EXISTS = "account.DOMAIN_EXISTS"
# Faults this client answers itself (counted done, or authenticate again): not errors.
HANDLED_FAULTS = (DOMAIN_EXISTS, AUTH_EXPIRED, AUTH_REQUIRED)


@dataclass(frozen=True)
class CreatedDomain:
    name: str
    id: str | None
    existed: bool


@dataclass(frozen=True)
class CreatedAccount:
    name: str
    id: str


class CarbonioClient:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        url: str,
        user: str,
        password: str,
        timeout: float = 10.0,
        metrics: PortalMetrics | None = None,
    ) -> None:
        self._client = client
        self._metrics = metrics or PortalMetrics()  # a private registry when not given
        self._url = url
        self._user = user
        self._password = password
        self._timeout = timeout
        self._token: str | None = None
        self._auth_lock = asyncio.Lock()

    async def authenticate(self) -> str:
        """AuthRequest with the admin credentials; keeps and returns the auth token."""
        body = await self._post(
            "AuthRequest", {"name": self._user, "password": self._password}, token=None
        )
        token = _content(body.get("authToken"))
        if not token:
            raise ProviderError("Carbonio AuthResponse carried no authToken")
        self._token = token
        return token

    async def create_domain(self, name: str) -> CreatedDomain:
        """CreateDomainRequest; a domain that already exists counts as done."""
        try:
            body = await self.call("CreateDomainRequest", {"name": name})
        except CarbonioFault as fault:
            if fault.code == DOMAIN_EXISTS:
                return CreatedDomain(name=name, id=None, existed=True)
            raise
        domain = _first(body.get("domain"))
        return CreatedDomain(
            name=str(domain.get("name") or name), id=_str_or_none(domain.get("id")), existed=False
        )

    async def create_account(
        self, address: str, password: str, attrs: dict[str, str]
    ) -> CreatedAccount:
        """CreateAccountRequest with attributes (``a``: [{"n": name, "_content": value}])."""
        request = {
            "name": address,
            "password": password,
            "a": [{"n": key, "_content": value} for key, value in attrs.items()],
        }
        body = await self.call("CreateAccountRequest", request)
        account = _first(body.get("account"))
        account_id = account.get("id")
        if not isinstance(account_id, str) or not account_id:
            raise ProviderError("Carbonio CreateAccountResponse carried no account id")
        return CreatedAccount(name=str(account.get("name") or address), id=account_id)

    async def call(self, request: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An authenticated request; re-authenticates once on service.AUTH_EXPIRED."""
        token = self._token or await self._fresh_token(None)
        try:
            return await self._post(request, payload, token=token)
        except CarbonioFault as fault:
            if fault.code not in (AUTH_EXPIRED, AUTH_REQUIRED):
                raise
            log.info("Carbonio auth token expired; authenticating again")
            token = await self._fresh_token(token)
            return await self._post(request, payload, token=token)

    async def _fresh_token(self, stale: str | None) -> str:
        async with self._auth_lock:
            if self._token is not None and self._token != stale:
                return self._token  # another request already re-authenticated
            return await self.authenticate()

    async def _post(
        self, request: str, payload: dict[str, Any], *, token: str | None
    ) -> dict[str, Any]:
        with self._metrics.provider_call("carbonio", handled=_handled):
            return await self._exchange(request, payload, token=token)

    async def _exchange(
        self, request: str, payload: dict[str, Any], *, token: str | None
    ) -> dict[str, Any]:
        """One SOAP request and its answer (a fault raised as CarbonioFault)."""
        context: dict[str, Any] = {"_jsns": "urn:zimbra", "format": {"type": "js"}}
        if token is not None:
            context["authToken"] = {"_content": token}
        envelope = {
            "Header": {"context": context},
            "Body": {request: {"_jsns": ADMIN_NS, **payload}},
        }
        try:
            response = await self._client.post(self._url, json=envelope, timeout=self._timeout)
        except httpx.TimeoutException:
            raise ProviderError(
                f"the Carbonio admin API did not answer {request} within {self._timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise ProviderError(
                f"the Carbonio admin API could not be reached ({type(exc).__name__})"
            ) from None
        document = _json(response, request)
        body = document.get("Body")
        if not isinstance(body, dict):
            raise ProviderError(f"Carbonio answered {request} without a SOAP Body")
        fault = body.get("Fault")
        if isinstance(fault, dict):
            raise parse_fault(fault)
        if response.status_code != 200:
            raise ProviderError(f"Carbonio answered {request} with HTTP {response.status_code}")
        name = request.removesuffix("Request") + "Response"
        result = body.get(name)
        if not isinstance(result, dict):
            raise ProviderError(f"Carbonio answered {request} without {name}")
        return result


def _handled(exc: Exception) -> bool:
    return isinstance(exc, CarbonioFault) and exc.code in HANDLED_FAULTS


def parse_fault(fault: dict[str, Any]) -> CarbonioFault:
    """Fault.Detail.Error.Code and Fault.Reason.Text of a SOAP fault."""
    detail = fault.get("Detail")
    error = detail.get("Error") if isinstance(detail, dict) else None
    code = error.get("Code") if isinstance(error, dict) else None
    reason = fault.get("Reason")
    text = reason.get("Text") if isinstance(reason, dict) else None
    code_text = code if isinstance(code, str) and code else "service.UNKNOWN"
    reason_text = text if isinstance(text, str) and text else code_text
    return CarbonioFault(code_text, f"Carbonio fault {code_text}: {reason_text[:300]}")


def _json(response: httpx.Response, request: str) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        raise ProviderError(
            f"Carbonio answered {request} with HTTP {response.status_code} and no JSON"
        ) from None
    if not isinstance(document, dict):
        raise ProviderError(f"Carbonio answered {request} with a non-object JSON document")
    return document


def _content(value: object) -> str | None:
    """Zimbra JSON text: "x", {"_content": "x"} or [{"_content": "x"}]."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("_content")
    return value if isinstance(value, str) and value else None


def _first(value: object) -> dict[str, Any]:
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    if isinstance(value, dict):
        return value
    return {}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
