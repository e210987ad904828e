"""A Carbonio admin SOAP (JSON) stand-in, each rule copied from the mailbox server's source.

Sources (zextras/carbonio-mailbox, which is Zimbra's zm-mailbox code):
- store/src/main/java/com/zimbra/soap/SoapServlet.java: ``sendResponse`` answers an envelope
  holding a Fault with HTTP 422 (SC_UNPROCESSABLE_CONTENT) since Carbonio 24.9; Zimbra and
  older Carbonio answer 500 (``fault_status``).
- store/src/main/java/com/zimbra/cs/service/admin/Auth.java: AuthResponse carries authToken
  and lifetime, and ``at.encode(httpResp, true, ...)`` also sets the ZM_ADMIN_AUTH_TOKEN
  cookie (common/.../util/ZimbraCookie.java).
- store/src/main/java/com/zimbra/cs/service/ZimbraAuthProvider.java ``authToken``: the token
  is read from the SOAP context's authToken, else from the ZM_ADMIN_AUTH_TOKEN cookie.
- store/src/main/java/com/zimbra/soap/ZimbraSoapContext.java: a present but expired token
  raises service.AUTH_EXPIRED before any handler runs, for every request, AuthRequest
  included, unless the context holds ``authTokenControl: {voidOnExpired: 1}`` (then the
  token is dropped and the request goes on as unauthenticated).
- store/src/main/java/com/zimbra/cs/account/AccountServiceException.java: the codes and
  texts of ACCOUNT_EXISTS ("email address already exists: X"), DOMAIN_EXISTS ("domain
  already exists: X"), NO_SUCH_DOMAIN, NO_SUCH_ACCOUNT, AUTH_FAILED.
- store/src/main/java/com/zimbra/cs/service/admin/GetDomain.java and ToXML.java: GetDomain
  and GetAccount (``{"domain"|"account": {"by": "name", "_content": X}}``) answer the object
  with ``getUnicodeName()`` and its attributes as ``a: [{"n", "_content"}]``;
  CreateDomain/CreateAccount answer the same shape.
- store/src/main/java/com/zimbra/cs/service/admin/GetVersionInfo.java: ``info`` with
  version, release, buildDate, host, majorversion, minorversion, microversion, platform.
- store/docs/soap-admin.txt: CreateDomainRequest takes extra attrs such as zimbraNotes.

- SetPasswordRequest ``{id, newPassword}`` (admin/SetPassword.java: an unknown
  id faults NO_SUCH_ACCOUNT), ModifyAccountRequest ``{id, a}`` (admin/ModifyAccount.java;
  an empty value removes the attribute, soap/admin/message/ModifyAccountRequest.java),
  AddAccountAliasRequest ``{id, alias}`` (admin/AddAccountAlias.java; an address already
  taken, by an account or an alias, same account included, faults ACCOUNT_EXISTS:
  LdapProvisioning.addAliasInternal; an alias domain that does not exist NO_SUCH_DOMAIN),
  GetAccountRequest by an alias answers its account (Provisioning.get(AccountBy.name)
  resolves aliases), GetCosRequest ``{cos: {by: name}}`` (admin/GetCos.java: attributes
  as ``a``, NO_SUCH_COS for an unknown name) holding zimbraPasswordMinLength 6 and
  zimbraPasswordMaxLength 64 (the defaults of attrs.xml), enforced by CreateAccount and
  SetPassword with account.INVALID_PASSWORD (Provisioning.checkPasswordStrength), and
  GetAllAccountsRequest ``{domain: {by: name}}`` (admin/GetAllAccounts.java).

Sandbox rules that are not Carbonio's (documented in docs/portal.md): CreateAccountRequest on
a domain whose first label starts with ``fail`` answers service.FAILURE.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import idna
from starlette.requests import Request
from starlette.responses import JSONResponse

ADMIN_COOKIE = "ZM_ADMIN_AUTH_TOKEN"
TOKEN_LIFETIME = 12 * 3600.0  # zimbraAdminAuthTokenLifetime's default, 12h


def _digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def _soap(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"Header": {"context": {"_jsns": "urn:zimbra"}}, "Body": body, "_jsns": "urn:zimbraSoap"},
        status,
    )


def soap_fault(code: str, reason: str, status: int = 422) -> JSONResponse:
    """A SOAP 1.2 fault in JSON form (SoapServlet: HTTP 422 on Carbonio >= 24.9)."""
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
        status,
    )


def _text(value: object) -> str:
    """Zimbra JSON text: "x", {"_content": "x"} or [{"_content": "x"}]."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("_content")
    return value if isinstance(value, str) else ""


def _ascii_domain(name: str) -> str:
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


def _unicode_domain(name: str) -> str:
    """Provisioning's getUnicodeName(): the IDN domain in Unicode."""
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name


def _ascii_address(address: str) -> str:
    local, _, domain = address.lower().partition("@")
    return f"{local}@{_ascii_domain(domain)}"


def _unicode_address(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local}@{_unicode_domain(domain)}"


def _attrs(payload: dict[str, Any]) -> list[dict[str, str]]:
    found = payload.get("a", [])
    return (
        [
            {"n": str(a["n"]), "_content": _text(a)}
            for a in found
            if isinstance(a, dict) and isinstance(a.get("n"), str)
        ]
        if isinstance(found, list)
        else []
    )


@dataclass
class FakeCarbonio:
    admin_user: str
    admin_password: str = field(repr=False)
    fault_status: int = 422  # 500 models Zimbra or Carbonio before 24.9
    token_lifetime: float = TOKEN_LIFETIME
    domains: dict[str, dict[str, Any]] = field(default_factory=dict)  # ASCII name -> domain
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # ASCII address
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    # Each request's name in order (shared with the Cloudflare stand-in by the Sandbox).
    calls: list[str] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)  # address -> sha256
    cos: dict[str, dict[str, str]] = field(
        default_factory=lambda: {
            "default": {"zimbraPasswordMinLength": "6", "zimbraPasswordMaxLength": "64"}
        }
    )

    def password_is(self, address: str, password: str) -> bool:
        """Whether ``password`` is the account's current one (tests)."""
        return self.passwords.get(_ascii_address(address)) == _digest(password)

    def _password_fault(self, password: str) -> JSONResponse | None:
        limits = self.cos["default"]
        if len(password) < int(limits["zimbraPasswordMinLength"]):
            return self.fault("account.INVALID_PASSWORD", "invalid password: too short")
        if len(password) > int(limits["zimbraPasswordMaxLength"]):
            return self.fault("account.INVALID_PASSWORD", "invalid password: too long")
        return None

    def _account_by_id(self, account_id: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts.values() if a["id"] == account_id), None)

    def expire_tokens(self) -> None:
        """Make every auth token stale (as after zimbraAdminAuthTokenLifetime)."""
        for token in self.tokens:
            self.tokens[token] = 0.0

    def fault(self, code: str, reason: str) -> JSONResponse:
        return soap_fault(code, reason, self.fault_status)

    async def soap(self, request: Request) -> JSONResponse:
        try:
            envelope = await request.json()
        except ValueError:
            return self.fault("service.PARSE_ERROR", "parse error: the request is not JSON")
        body = envelope.get("Body") if isinstance(envelope, dict) else None
        if not isinstance(body, dict) or len(body) != 1:
            return self.fault("service.INVALID_REQUEST", "invalid request: one Body element")
        ((name, payload),) = body.items()
        if not isinstance(payload, dict):
            return self.fault("service.INVALID_REQUEST", f"invalid request: {name}")
        header = envelope.get("Header")
        context = header.get("context") if isinstance(header, dict) else None
        context = context if isinstance(context, dict) else {}
        # ZimbraAuthProvider.authToken: the context's authToken, else the admin cookie.
        token = _text(context.get("authToken")) or request.cookies.get(ADMIN_COOKIE, "")
        if token and token in self.tokens and self.tokens[token] < time.monotonic():
            # ZimbraSoapContext: expired -> AUTH_EXPIRED unless voidOnExpired.
            control = context.get("authTokenControl")
            void = isinstance(control, dict) and control.get("voidOnExpired") in (
                True,
                1,
                "1",
                "true",
            )
            if not void:
                return self.fault("service.AUTH_EXPIRED", "auth credentials have expired")
            token = ""
        if token not in self.tokens:
            token = ""  # an undecodable token is ignored (AuthTokenException -> null)
        self.calls.append(f"carbonio {name}")
        if name == "AuthRequest":
            return self._auth(payload)
        if not token:
            return self.fault("service.AUTH_REQUIRED", "no valid authtoken present")
        handler = {
            "CreateDomainRequest": self._create_domain,
            "CreateAccountRequest": self._create_account,
            "GetDomainRequest": self._get_domain,
            "GetAccountRequest": self._get_account,
            "GetVersionInfoRequest": self._version,
            "SetPasswordRequest": self._set_password,
            "ModifyAccountRequest": self._modify_account,
            "AddAccountAliasRequest": self._add_alias,
            "GetCosRequest": self._get_cos,
            "GetAllAccountsRequest": self._all_accounts,
        }.get(name)
        if handler is None:
            return self.fault("service.UNKNOWN_DOCUMENT", f"unknown document: {name}")
        return handler(payload)

    def _auth(self, payload: dict[str, Any]) -> JSONResponse:
        user, password = _text(payload.get("name")), _text(payload.get("password"))
        if not (
            secrets.compare_digest(user.encode(), self.admin_user.encode())
            and secrets.compare_digest(password.encode(), self.admin_password.encode())
        ):
            return self.fault("account.AUTH_FAILED", "authentication failed for " + user[:64])
        token = "0_sbx_" + secrets.token_hex(20)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        response = _soap(
            {
                "AuthResponse": {
                    "authToken": [{"_content": token}],
                    "lifetime": int(self.token_lifetime * 1000),
                    "_jsns": "urn:zimbraAdmin",
                }
            }
        )
        # admin/Auth.java: the token also goes out as the admin cookie.
        response.set_cookie(ADMIN_COOKIE, token, path="/", httponly=True)
        return response

    def _domain_element(self, domain: dict[str, Any]) -> dict[str, Any]:
        return {"name": _unicode_domain(domain["name"]), "id": domain["id"], "a": domain["a"]}

    def _account_element(self, account: dict[str, Any]) -> dict[str, Any]:
        return {"name": _unicode_address(account["name"]), "id": account["id"], "a": account["a"]}

    def _create_domain(self, payload: dict[str, Any]) -> JSONResponse:
        name = _ascii_domain(_text(payload.get("name")).lower())
        if not name or "." not in name:
            return self.fault("service.INVALID_REQUEST", "invalid request: domain name")
        if name in self.domains:
            return self.fault("account.DOMAIN_EXISTS", f"domain already exists: {name}")
        domain = {"name": name, "id": str(uuid.uuid4()), "a": _attrs(payload)}
        self.domains[name] = domain
        element = self._domain_element(domain)
        return _soap({"CreateDomainResponse": {"domain": [element], "_jsns": "urn:zimbraAdmin"}})

    def _create_account(self, payload: dict[str, Any]) -> JSONResponse:
        address = _ascii_address(_text(payload.get("name")))
        local, _, domain = address.partition("@")
        if not local or not domain:
            return self.fault("service.INVALID_REQUEST", "invalid request: account name")
        if domain not in self.domains:
            return self.fault("account.NO_SUCH_DOMAIN", f"no such domain: {domain}")
        if domain.split(".")[0].startswith("fail"):
            return self.fault(
                "service.FAILURE",
                "system failure: sandbox rule: accounts cannot be created on fail* domains",
            )
        if address in self.accounts or self._alias_owner(address) is not None:
            return self.fault("account.ACCOUNT_EXISTS", f"email address already exists: {address}")
        password = _text(payload.get("password"))
        refused = self._password_fault(password)
        if refused is not None:
            return refused
        attrs = [a for a in _attrs(payload) if a["n"] != "userPassword"]
        account = {"name": address, "id": str(uuid.uuid4()), "a": attrs, "aliases": []}
        self.accounts[address] = account
        self.passwords[address] = _digest(password)
        element = self._account_element(account)
        return _soap({"CreateAccountResponse": {"account": [element], "_jsns": "urn:zimbraAdmin"}})

    def _get_domain(self, payload: dict[str, Any]) -> JSONResponse:
        selector = payload.get("domain")
        by = selector.get("by") if isinstance(selector, dict) else None
        value = _text(selector)
        if by != "name" or not value:
            return self.fault("service.INVALID_REQUEST", "invalid request: domain by name")
        domain = self.domains.get(_ascii_domain(value.lower()))
        if domain is None:
            return self.fault("account.NO_SUCH_DOMAIN", f"no such domain: {value}")
        element = self._domain_element(domain)
        return _soap({"GetDomainResponse": {"domain": [element], "_jsns": "urn:zimbraAdmin"}})

    def _get_account(self, payload: dict[str, Any]) -> JSONResponse:
        selector = payload.get("account")
        by = selector.get("by") if isinstance(selector, dict) else None
        value = _text(selector)
        if by != "name" or not value:
            return self.fault("service.INVALID_REQUEST", "invalid request: account by name")
        account = self.accounts.get(_ascii_address(value)) or self._alias_owner(
            _ascii_address(value)
        )
        if account is None:
            return self.fault("account.NO_SUCH_ACCOUNT", f"no such account: {value}")
        element = self._account_element(account)
        return _soap({"GetAccountResponse": {"account": [element], "_jsns": "urn:zimbraAdmin"}})

    def _alias_owner(self, address: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts.values() if address in a.get("aliases", [])), None)

    def _set_password(self, payload: dict[str, Any]) -> JSONResponse:
        account = self._account_by_id(_text(payload.get("id")))
        if account is None:
            return self.fault("account.NO_SUCH_ACCOUNT", "no such account")
        password = _text(payload.get("newPassword"))
        refused = self._password_fault(password)
        if refused is not None:
            return refused
        self.passwords[account["name"]] = _digest(password)
        return _soap({"SetPasswordResponse": {"_jsns": "urn:zimbraAdmin"}})

    def _modify_account(self, payload: dict[str, Any]) -> JSONResponse:
        account = self._account_by_id(_text(payload.get("id")))
        if account is None:
            return self.fault("account.NO_SUCH_ACCOUNT", "no such account")
        for attr in _attrs(payload):
            account["a"] = [a for a in account["a"] if a["n"] != attr["n"]]
            if attr["_content"]:  # an empty value removes the attribute
                account["a"].append(attr)
        element = self._account_element(account)
        return _soap({"ModifyAccountResponse": {"account": [element], "_jsns": "urn:zimbraAdmin"}})

    def _add_alias(self, payload: dict[str, Any]) -> JSONResponse:
        account = self._account_by_id(_text(payload.get("id")))
        if account is None:
            return self.fault("account.NO_SUCH_ACCOUNT", "no such account")
        alias = _ascii_address(_text(payload.get("alias")))
        local, _, domain = alias.partition("@")
        if not local or domain not in self.domains:
            return self.fault("account.NO_SUCH_DOMAIN", f"no such domain: {domain}")
        if alias in self.accounts or self._alias_owner(alias) is not None:
            return self.fault("account.ACCOUNT_EXISTS", f"email address already exists: {alias}")
        account["aliases"].append(alias)
        return _soap({"AddAccountAliasResponse": {"_jsns": "urn:zimbraAdmin"}})

    def _get_cos(self, payload: dict[str, Any]) -> JSONResponse:
        selector = payload.get("cos")
        name = _text(selector)
        if not isinstance(selector, dict) or selector.get("by") != "name" or name not in self.cos:
            return self.fault("account.NO_SUCH_COS", f"no such cos: {name}")
        attrs = [{"n": k, "_content": v, "c": True} for k, v in self.cos[name].items()]
        element = {"name": name, "id": f"cos-{name}", "a": attrs}
        return _soap({"GetCosResponse": {"cos": [element], "_jsns": "urn:zimbraAdmin"}})

    def _all_accounts(self, payload: dict[str, Any]) -> JSONResponse:
        domain = _ascii_domain(_text(payload.get("domain")).lower())
        if domain not in self.domains:
            return self.fault("account.NO_SUCH_DOMAIN", f"no such domain: {domain}")
        found = [
            self._account_element(a)
            for a in self.accounts.values()
            if a["name"].endswith("@" + domain)
        ]
        return _soap({"GetAllAccountsResponse": {"account": found, "_jsns": "urn:zimbraAdmin"}})

    def _version(self, payload: dict[str, Any]) -> JSONResponse:
        info = {
            "type": "sandbox",
            "version": "25.6.0_ZEXTRAS_sandbox",
            "release": "sandbox",
            "buildDate": "20260101-0000",
            "host": "sandbox",
            "majorversion": "25",
            "minorversion": "6",
            "microversion": "0",
            "platform": "UBUNTU22_64",
        }
        return _soap({"GetVersionInfoResponse": {"info": [info], "_jsns": "urn:zimbraAdmin"}})
