"""A small async client for the Carbonio (Zimbra-family) admin SOAP API, in its JSON form.

Requests are ``{"Header": {"context": {...}}, "Body": {"<Name>Request": {...}}}`` posted to
the admin URL (``https://host:7071/service/admin/soap``). Faults arrive with
``Body.Fault.Detail.Error.Code`` (e.g. ``account.DOMAIN_EXISTS``) and ``Fault.Reason.Text``,
as HTTP 422 on Carbonio 24.9 and later and HTTP 500 on Zimbra and older Carbonio
(SoapServlet.sendResponse); the client reads the Body first, so either works.

Token expiry (ZimbraSoapContext.java): a request that carries an expired token, in the
context or in the ZM_ADMIN_AUTH_TOKEN cookie the AuthResponse sets, is answered
service.AUTH_EXPIRED before any handler runs, AuthRequest included. So every request says
``authTokenControl: {voidOnExpired: true}`` (the server then drops an expired token and
goes on), and the app gives this client an httpx client that keeps no cookies
(``cookieless_client``). On AUTH_EXPIRED or AUTH_REQUIRED the client authenticates again,
once, and repeats the request; a failed re-authentication is logged as an error and counted
in portal_provider_errors.

Create calls are idempotent: each object is created with ``zimbraNotes`` naming the
onboarding session that asked for it (soap-admin.txt: CreateDomainRequest's extra attrs);
after a lost answer or ACCOUNT_EXISTS / DOMAIN_EXISTS, GetDomainRequest / GetAccountRequest
says whether the object is this session's (go on) or someone else's (fail with the code).
Names come back from Carbonio in Unicode (getUnicodeName); this client answers ASCII with
the Unicode form beside it.

Retries and attributes (sources: carbonio-mailbox
store/src/main/java/com/zimbra/cs/service/admin/):

- A retried account step finds this session's account (ACCOUNT_EXISTS, then GetAccount
  with our zimbraNotes) and gives it the password and attributes sent now:
  SetPasswordRequest ``{id, newPassword}`` (SetPassword.java) and ModifyAccountRequest
  ``{id, a: [...]}`` (soap/admin/message/ModifyAccountRequest.java).
- ``owned_accounts``: GetAllAccountsRequest ``{domain: {by: name}}`` (GetAllAccounts.java),
  the accounts of a domain with their attributes, to find the ones a session created.
- ``add_alias``: AddAccountAliasRequest ``{id, alias}`` (AddAccountAlias.java); an alias
  already on the same account, or on another entry, faults ACCOUNT_EXISTS
  (LdapProvisioning.addAliasInternal): then GetAccountRequest by the alias says whether
  it is ours (done) or someone else's (the fault stands).
- ``password_limits``: GetCosRequest ``{cos: {by: name}}`` answers the class of service's
  attributes ``a: [{n, _content}]`` (GetCos.java ``encodeCos``); zimbraPasswordMinLength
  and zimbraPasswordMaxLength (defaults 6 and 64 in the attribute definitions), read once.
- A TLS failure (Carbonio's admin port 7071 usually has a self-signed certificate) is
  named as TLS, ``kind="tls"``, pointing at CARBONIO_CA_FILE, not at the network.

Passwords go only into the request body; they are never logged or kept in exceptions.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import logging
import ssl
import urllib.request
from dataclasses import dataclass
from typing import Any

import httpx
import idna

from vm112_portal.errors import CarbonioFault, ProviderError
from vm112_portal.metrics import PortalMetrics

log = logging.getLogger("vm112_portal.carbonio")

ADMIN_NS = "urn:zimbraAdmin"
AUTH_EXPIRED = "service.AUTH_EXPIRED"
AUTH_REQUIRED = "service.AUTH_REQUIRED"
DOMAIN_EXISTS = "account.DOMAIN_EXISTS"
ACCOUNT_EXISTS = "account.ACCOUNT_EXISTS"
NO_SUCH_DOMAIN = "account.NO_SUCH_DOMAIN"
NO_SUCH_ACCOUNT = "account.NO_SUCH_ACCOUNT"
OWNER_ATTR = "zimbraNotes"
# Faults this client answers itself (look the object up, or authenticate again): not errors.
HANDLED_FAULTS = (DOMAIN_EXISTS, ACCOUNT_EXISTS, AUTH_EXPIRED, AUTH_REQUIRED)


class _NoCookies(http.cookiejar.CookiePolicy):
    """Store and send no cookie: Carbonio's admin cookie outlives its token."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: urllib.request.Request) -> bool:
        return False

    def domain_return_ok(self, domain: str, request: urllib.request.Request) -> bool:
        return False

    def path_return_ok(self, path: str, request: urllib.request.Request) -> bool:
        return False


def cookieless_client(
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 10.0,
    *,
    verify: ssl.SSLContext | bool = True,
) -> httpx.AsyncClient:
    """An httpx client for Carbonio that never keeps or sends cookies; ``verify`` is the
    CA to trust (CARBONIO_CA_FILE: the admin port's self-signed certificate)."""
    jar = http.cookiejar.CookieJar(policy=_NoCookies())
    return httpx.AsyncClient(transport=transport, timeout=timeout, cookies=jar, verify=verify)


def owner_note(session_id: str) -> str:
    """The zimbraNotes value marking an object as created for this onboarding session."""
    return f"vm112 onboarding session {session_id}"


def ascii_domain(name: str) -> str:
    """A domain in ASCII (A-labels), lowercase; unchanged when it is not a valid IDN."""
    try:
        return idna.encode(name.strip().rstrip("."), uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        return name.lower()


def unicode_domain(name: str) -> str:
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name


def ascii_address(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local.lower()}@{ascii_domain(domain)}"


def unicode_address(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}@{unicode_domain(domain)}"


@dataclass(frozen=True)
class CreatedDomain:
    name: str  # ASCII
    unicode: str
    id: str | None
    existed: bool  # created by an earlier attempt of the same session


@dataclass(frozen=True)
class CreatedAccount:
    name: str  # ASCII address
    unicode: str
    id: str
    existed: bool = False


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
        self._password_limits: tuple[int, int] | None = None

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

    async def version(self) -> dict[str, str]:
        """GetVersionInfoRequest: the server's version, release and host (read-only)."""
        body = await self.call("GetVersionInfoRequest", {})
        info = _first(body.get("info"))
        return {k: str(v) for k, v in info.items() if isinstance(v, str | int)}

    async def get_domain(self, name: str) -> dict[str, Any] | None:
        """GetDomainRequest by name; None when there is no such domain."""
        try:
            body = await self.call(
                "GetDomainRequest", {"domain": {"by": "name", "_content": ascii_domain(name)}}
            )
        except CarbonioFault as fault:
            if fault.code == NO_SUCH_DOMAIN:
                return None
            raise
        return _first(body.get("domain"))

    async def get_account(self, address: str) -> dict[str, Any] | None:
        """GetAccountRequest by name; None when there is no such account."""
        try:
            body = await self.call(
                "GetAccountRequest", {"account": {"by": "name", "_content": ascii_address(address)}}
            )
        except CarbonioFault as fault:
            if fault.code == NO_SUCH_ACCOUNT:
                return None
            raise
        return _first(body.get("account"))

    async def password_limits(self, cos: str = "default") -> tuple[int, int]:
        """(min, max) password length of a class of service (GetCosRequest), kept."""
        if self._password_limits is None:
            body = await self.call("GetCosRequest", {"cos": {"by": "name", "_content": cos}})
            found = _first(body.get("cos"))
            low = _int_attr(found, "zimbraPasswordMinLength", 6)
            high = _int_attr(found, "zimbraPasswordMaxLength", 64)
            self._password_limits = (low, high if high > 0 else 64)
        return self._password_limits

    async def owned_accounts(self, domain: str, *, owner: str) -> list[str]:
        """The ASCII addresses of the domain's accounts marked with ``owner``."""
        body = await self.call(
            "GetAllAccountsRequest", {"domain": {"by": "name", "_content": ascii_domain(domain)}}
        )
        accounts = body.get("account")
        note = owner_note(owner)
        return [
            ascii_address(str(a.get("name", "")))
            for a in (accounts if isinstance(accounts, list) else [])
            if isinstance(a, dict) and _attr(a, OWNER_ATTR) == note
        ]

    async def add_alias(self, account_id: str, alias: str) -> None:
        """AddAccountAliasRequest; an alias already on this account counts as done."""
        alias = ascii_address(alias)
        try:
            await self.call("AddAccountAliasRequest", {"id": account_id, "alias": alias})
        except CarbonioFault as fault:
            if fault.code != ACCOUNT_EXISTS:
                raise
            found = await self.get_account(alias)
            if found is None or found.get("id") != account_id:
                raise CarbonioFault(
                    ACCOUNT_EXISTS,
                    f"Carbonio fault {ACCOUNT_EXISTS}: the address {alias} already belongs "
                    "to another account",
                ) from None

    async def create_domain(self, name: str, *, owner: str) -> CreatedDomain:
        """CreateDomainRequest marked with ``owner``; an existing domain of the same owner
        (an earlier attempt whose answer was lost) counts as done, anyone else's fails."""
        name = ascii_domain(name)
        note = owner_note(owner)
        try:
            body = await self.call(
                "CreateDomainRequest", {"name": name, "a": [{"n": OWNER_ATTR, "_content": note}]}
            )
        except CarbonioFault as fault:
            if fault.code != DOMAIN_EXISTS:
                raise
            return self._our_domain(name, await self.get_domain(name), note, fault)
        except ProviderError as lost:
            found = await self.get_domain(name)
            if found is None:
                raise lost from None
            return self._our_domain(name, found, note, None)
        domain = _first(body.get("domain"))
        return CreatedDomain(
            name=name,
            unicode=unicode_domain(name),
            id=_str_or_none(domain.get("id")),
            existed=False,
        )

    def _our_domain(
        self, name: str, found: dict[str, Any] | None, note: str, fault: CarbonioFault | None
    ) -> CreatedDomain:
        if found is None or _attr(found, OWNER_ATTR) != note:
            raise CarbonioFault(
                DOMAIN_EXISTS,
                f"Carbonio fault {DOMAIN_EXISTS}: the domain {name} already exists on the mail "
                "server and was not created by this onboarding session",
            )
        log.info("Carbonio domain %s was created by an earlier attempt; going on", name)
        return CreatedDomain(name, unicode_domain(name), _str_or_none(found.get("id")), True)

    async def create_account(
        self, address: str, password: str, attrs: dict[str, str], *, owner: str
    ) -> CreatedAccount:
        """CreateAccountRequest (``a``: [{"n": name, "_content": value}]) marked with
        ``owner``; an existing account of the same owner counts as done."""
        address = ascii_address(address)
        note = owner_note(owner)
        request = {
            "name": address,
            "password": password,
            "a": [
                *({"n": key, "_content": value} for key, value in attrs.items()),
                {"n": OWNER_ATTR, "_content": note},
            ],
        }
        try:
            body = await self.call("CreateAccountRequest", request)
        except CarbonioFault as fault:
            if fault.code != ACCOUNT_EXISTS:
                raise
            ours = self._our_account(address, await self.get_account(address), note)
            return await self._refresh(ours, password, attrs)
        except ProviderError as lost:
            found = await self.get_account(address)
            if found is None:
                raise lost from None
            return await self._refresh(self._our_account(address, found, note), password, attrs)
        account = _first(body.get("account"))
        account_id = account.get("id")
        if not isinstance(account_id, str) or not account_id:
            raise ProviderError("Carbonio CreateAccountResponse carried no account id")
        return CreatedAccount(address, unicode_address(address), account_id)

    async def _refresh(
        self, account: CreatedAccount, password: str, attrs: dict[str, str]
    ) -> CreatedAccount:
        """This session's account from an earlier attempt gets what was sent now: the
        password (SetPasswordRequest) and the attributes (ModifyAccountRequest)."""
        await self.call("SetPasswordRequest", {"id": account.id, "newPassword": password})
        await self.call(
            "ModifyAccountRequest",
            {"id": account.id, "a": [{"n": k, "_content": v} for k, v in attrs.items()]},
        )
        return account

    def _our_account(self, address: str, found: dict[str, Any] | None, note: str) -> CreatedAccount:
        account_id = _str_or_none(found.get("id")) if found else None
        if found is None or account_id is None or _attr(found, OWNER_ATTR) != note:
            raise CarbonioFault(
                ACCOUNT_EXISTS,
                f"Carbonio fault {ACCOUNT_EXISTS}: the address {address} already exists and "
                "was not created by this onboarding session",
            )
        log.info("Carbonio account %s was created by an earlier attempt; going on", address)
        return CreatedAccount(address, unicode_address(address), account_id, existed=True)

    async def call(self, request: str, payload: dict[str, Any]) -> dict[str, Any]:
        """An authenticated request; re-authenticates once on AUTH_EXPIRED/AUTH_REQUIRED."""
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
            self._token = None
            try:
                return await self.authenticate()
            except ProviderError as exc:
                log.error("Carbonio re-authentication failed: %s", exc.reason)
                raise

    async def _post(
        self, request: str, payload: dict[str, Any], *, token: str | None
    ) -> dict[str, Any]:
        # An AuthRequest's fault is never "handled": a failed login is a provider error.
        handled = _never if request == "AuthRequest" else _handled
        with self._metrics.provider_call("carbonio", handled=handled):
            return await self._exchange(request, payload, token=token)

    async def _exchange(
        self, request: str, payload: dict[str, Any], *, token: str | None
    ) -> dict[str, Any]:
        """One SOAP request and its answer (a fault raised as CarbonioFault)."""
        context: dict[str, Any] = {
            "_jsns": "urn:zimbra",
            "format": {"type": "js"},
            # ZimbraSoapContext: drop an expired token instead of faulting AUTH_EXPIRED.
            "authTokenControl": {"voidOnExpired": True},
        }
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
                f"the Carbonio admin API did not answer {request} within {self._timeout:g}s",
                kind="timeout",
            ) from None
        except httpx.HTTPError as exc:
            tls = tls_failure(exc)
            if tls is not None:
                raise ProviderError(
                    f"the Carbonio admin API's TLS certificate was refused ({tls}): set "
                    "CARBONIO_CA_FILE to the CA that signed it",
                    kind="tls",
                ) from None
            raise ProviderError(
                f"the Carbonio admin API could not be reached ({type(exc).__name__})",
                kind="unreachable",
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


def tls_failure(exc: BaseException) -> str | None:
    """The TLS reason behind a connection error (certificate refused, handshake failed),
    or None when it is not TLS: the error's chain holds an ssl.SSLError."""
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return None
        if isinstance(seen, ssl.SSLError):
            reason = getattr(seen, "verify_message", None) or seen.reason or str(seen)
            return f"TLS: {reason}"
        seen = seen.__cause__ or seen.__context__
    return None


def _never(exc: Exception) -> bool:
    return False


def _attr(element: dict[str, Any], name: str) -> str | None:
    """The value of attribute ``name`` in an element's ``a`` list."""
    attrs = element.get("a")
    for attr in attrs if isinstance(attrs, list) else []:
        if isinstance(attr, dict) and attr.get("n") == name:
            return _content(attr)
    return None


def _int_attr(element: dict[str, Any], name: str, default: int) -> int:
    value = _attr(element, name)
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


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
