"""CarbonioClient (vm112_portal/providers/carbonio.py) against recorded admin SOAP
responses and faults.

Faults are recorded as a current Carbonio sends them: HTTP 422 (SoapServlet.sendResponse,
since 24.9); one test replays the 500 of Zimbra and older Carbonio.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from vm112_portal.errors import CarbonioFault, ProviderError
from vm112_portal.metrics import PortalMetrics
from vm112_portal.providers.carbonio import CarbonioClient
from vm112_portal.providers.sandbox import Sandbox

URL = "https://mail.example.com:7071/service/admin/soap"
SECRET_PW = "admin-pw-never-logged"

# Recorded (trimmed) JSON responses of a Carbonio admin SOAP endpoint.
AUTH_RESPONSE = {
    "Header": {"context": {"_jsns": "urn:zimbra"}},
    "Body": {
        "AuthResponse": {
            "authToken": [{"_content": "0_a1b2c3_token"}],
            "lifetime": 43199998,
            "_jsns": "urn:zimbraAdmin",
        }
    },
    "_jsns": "urn:zimbraSoap",
}
CREATE_DOMAIN_RESPONSE = {
    "Header": {"context": {"_jsns": "urn:zimbra"}},
    "Body": {
        "CreateDomainResponse": {
            "domain": [
                {
                    "name": "example.pt",
                    "id": "3c1a7e3a-59f4-4f3b-9d62-0e8a4a1f2b11",
                    "a": [{"n": "zimbraDomainStatus", "_content": "active"}],
                }
            ],
            "_jsns": "urn:zimbraAdmin",
        }
    },
    "_jsns": "urn:zimbraSoap",
}
CREATE_ACCOUNT_RESPONSE = {
    "Header": {"context": {"_jsns": "urn:zimbra"}},
    "Body": {
        "CreateAccountResponse": {
            "account": [
                {
                    "name": "admin@example.pt",
                    "id": "b7c5d0f2-1111-4c22-8a33-9d4e5f607182",
                    "a": [{"n": "displayName", "_content": "Ana Lopes"}],
                }
            ],
            "_jsns": "urn:zimbraAdmin",
        }
    },
    "_jsns": "urn:zimbraSoap",
}


def fault(code: str, reason: str) -> dict[str, Any]:
    return {
        "Header": {"context": {"_jsns": "urn:zimbra"}},
        "Body": {
            "Fault": {
                "Code": {"Value": "soap:Sender"},
                "Reason": {"Text": reason},
                "Detail": {
                    "Error": {"Code": code, "Trace": "qtp1-23:1700000000000", "_jsns": "urn:zimbra"}
                },
            }
        },
        "_jsns": "urn:zimbraSoap",
    }


class Recorded:
    """Answers each SOAP request from a script keyed by request name; records what was sent."""

    def __init__(self, script: dict[str, list[tuple[int, Any]]]) -> None:
        self.script = script
        self.sent: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        envelope = json.loads(request.content)
        self.sent.append(envelope)
        (name,) = envelope["Body"]
        status, body = self.script[name].pop(0)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    def names(self) -> list[str]:
        return [next(iter(envelope["Body"])) for envelope in self.sent]


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> CarbonioClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return CarbonioClient(http, url=URL, user="admin@example.com", password=SECRET_PW)


async def test_auth_then_domain_then_account() -> None:
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE)],
            "CreateDomainRequest": [(200, CREATE_DOMAIN_RESPONSE)],
            "CreateAccountRequest": [(200, CREATE_ACCOUNT_RESPONSE)],
        }
    )
    client = client_for(recorded)
    domain = await client.create_domain("example.pt", owner="s1")
    account = await client.create_account(
        "admin@example.pt", "pw-12345678", {"displayName": "Ana"}, owner="s1"
    )
    assert (domain.name, domain.id, domain.existed) == (
        "example.pt",
        "3c1a7e3a-59f4-4f3b-9d62-0e8a4a1f2b11",
        False,
    )
    assert (account.name, account.id) == (
        "admin@example.pt",
        "b7c5d0f2-1111-4c22-8a33-9d4e5f607182",
    )
    assert recorded.names() == ["AuthRequest", "CreateDomainRequest", "CreateAccountRequest"]
    auth, create_domain, create_account = recorded.sent
    assert auth["Body"]["AuthRequest"] == {
        "_jsns": "urn:zimbraAdmin",
        "name": "admin@example.com",
        "password": SECRET_PW,
    }
    assert "authToken" not in auth["Header"]["context"]
    assert create_domain["Header"]["context"]["authToken"] == {"_content": "0_a1b2c3_token"}
    assert create_account["Body"]["CreateAccountRequest"]["a"] == [
        {"n": "displayName", "_content": "Ana"},
        {"n": "zimbraNotes", "_content": "vm112 onboarding session s1"},
    ]
    # ZimbraSoapContext: an expired token is dropped instead of faulting AUTH_EXPIRED.
    for envelope in recorded.sent:
        assert envelope["Header"]["context"]["authTokenControl"] == {"voidOnExpired": True}


def get_domain_response(note: str) -> dict[str, Any]:
    response: dict[str, Any] = json.loads(
        json.dumps(CREATE_DOMAIN_RESPONSE).replace("CreateDomain", "GetDomain")
    )
    response["Body"]["GetDomainResponse"]["domain"][0]["a"].append(
        {"n": "zimbraNotes", "_content": note}
    )
    return response


@pytest.mark.parametrize(
    "status", [pytest.param(422, id="carbonio"), pytest.param(500, id="zimbra")]
)
async def test_domain_exists_of_this_session_counts_as_done(status: int) -> None:
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE)],
            "CreateDomainRequest": [
                (status, fault("account.DOMAIN_EXISTS", "domain already exists: example.pt"))
            ],
            "GetDomainRequest": [(200, get_domain_response("vm112 onboarding session s1"))],
        }
    )
    domain = await client_for(recorded).create_domain("example.pt", owner="s1")
    assert (domain.name, domain.id, domain.existed) == (
        "example.pt",
        "3c1a7e3a-59f4-4f3b-9d62-0e8a4a1f2b11",
        True,
    )
    assert recorded.sent[2]["Body"]["GetDomainRequest"]["domain"] == {
        "by": "name",
        "_content": "example.pt",
    }


async def test_auth_expired_reauthenticates_once() -> None:
    second_auth = json.loads(json.dumps(AUTH_RESPONSE))
    second_auth["Body"]["AuthResponse"]["authToken"] = [{"_content": "0_fresh"}]
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE), (200, second_auth)],
            "CreateDomainRequest": [
                (422, fault("service.AUTH_EXPIRED", "auth credentials have expired")),
                (200, CREATE_DOMAIN_RESPONSE),
            ],
        }
    )
    domain = await client_for(recorded).create_domain("example.pt", owner="s1")
    assert domain.existed is False
    assert recorded.names() == [
        "AuthRequest",
        "CreateDomainRequest",
        "AuthRequest",
        "CreateDomainRequest",
    ]
    assert recorded.sent[3]["Header"]["context"]["authToken"] == {"_content": "0_fresh"}


async def test_auth_expired_twice_is_a_fault_not_a_loop() -> None:
    expired = (422, fault("service.AUTH_EXPIRED", "auth credentials have expired"))
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE), (200, AUTH_RESPONSE)],
            "CreateDomainRequest": [expired, expired],
        }
    )
    with pytest.raises(CarbonioFault) as caught:
        await client_for(recorded).create_domain("example.pt", owner="s1")
    assert caught.value.code == "service.AUTH_EXPIRED"
    assert len(recorded.sent) == 4


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param("account.INVALID_PASSWORD", "invalid password: too short", id="password"),
        pytest.param("service.FAILURE", "system failure: ldap down", id="failure"),
    ],
)
async def test_account_faults_carry_code_and_reason(code: str, reason: str) -> None:
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE)],
            "CreateAccountRequest": [(422, fault(code, reason))],
        }
    )
    with pytest.raises(CarbonioFault) as caught:
        await client_for(recorded).create_account("a@example.pt", "pw-12345678", {}, owner="s1")
    assert caught.value.code == code
    assert caught.value.reason == f"Carbonio fault {code}: {reason}"


async def test_auth_failed_keeps_password_out_of_the_error() -> None:
    recorded = Recorded(
        {"AuthRequest": [(422, fault("account.AUTH_FAILED", "authentication failed for admin"))]}
    )
    with pytest.raises(CarbonioFault) as caught:
        await client_for(recorded).authenticate()
    assert caught.value.code == "account.AUTH_FAILED"
    assert SECRET_PW not in str(caught.value) and SECRET_PW not in repr(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        pytest.param(502, "<html>Bad Gateway</html>", "HTTP 502 and no JSON", id="html-502"),
        pytest.param(200, {"Body": {}}, "without AuthResponse", id="no-response-element"),
        pytest.param(200, {"nothing": 1}, "without a SOAP Body", id="no-body"),
        pytest.param(
            200,
            {"Body": {"AuthResponse": {"lifetime": 1}}},
            "carried no authToken",
            id="no-token",
        ),
        pytest.param(
            422, {"Body": {"Fault": {"Reason": {"Text": "?"}}}}, "service.UNKNOWN", id="bare-fault"
        ),
    ],
)
async def test_unusable_answers_are_provider_errors(status: int, body: Any, message: str) -> None:
    client = client_for(Recorded({"AuthRequest": [(status, body)]}))
    with pytest.raises(ProviderError) as caught:
        await client.authenticate()
    assert message in caught.value.reason


@pytest.mark.parametrize(
    ("error", "message"),
    [
        pytest.param(httpx.ReadTimeout("slow"), "did not answer AuthRequest within", id="timeout"),
        pytest.param(httpx.ConnectError("refused"), "could not be reached", id="refused"),
    ],
)
async def test_network_failures(error: Exception, message: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(ProviderError) as caught:
        await client_for(handler).authenticate()
    assert message in caught.value.reason


async def test_against_the_sandbox_over_http_with_expiry() -> None:
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app()), base_url="http://sandbox.test"
    )
    async with http:
        client = CarbonioClient(
            http,
            url="http://sandbox.test/carbonio/service/admin/soap",
            user="admin@example.com",
            password=SECRET_PW,
        )
        first = await client.create_domain("example.pt", owner="s1")
        again = await client.create_domain("example.pt", owner="s1")
        sandbox.expire_tokens()
        account = await client.create_account("admin@example.pt", "pw-12345678", {}, owner="s1")
        with pytest.raises(CarbonioFault) as caught:
            await client.create_account("admin@example.pt", "pw-12345678", {}, owner="s2")
        await client.create_domain("fail-shop.pt", owner="s1")
        with pytest.raises(CarbonioFault) as failing:
            await client.create_account("admin@fail-shop.pt", "pw-12345678", {}, owner="s1")
    assert (first.existed, again.existed) == (False, True)
    assert account.name == "admin@example.pt" and len(account.id) == 36
    assert caught.value.code == "account.ACCOUNT_EXISTS"
    assert failing.value.code == "service.FAILURE"
    assert len(sandbox.tokens) == 2  # one re-authentication after the expiry


async def test_sandbox_refuses_wrong_credentials() -> None:
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app())) as http:
        client = CarbonioClient(
            http, url="http://sandbox.test/carbonio/service/admin/soap", user="x", password="y"
        )
        with pytest.raises(CarbonioFault) as caught:
            await client.create_domain("example.pt", owner="s1")
    assert caught.value.code == "account.AUTH_FAILED"


# -- issue 11: behaviours of the real server, modelled in the sandbox ---------------------

SANDBOX_URL = "http://sandbox.test/carbonio/service/admin/soap"


def sandbox_client(sandbox: Sandbox, **options: Any) -> tuple[httpx.AsyncClient, CarbonioClient]:
    """A cookie-keeping httpx client (like the Portal's shared one) on the sandbox."""
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox.app()), base_url="http://sandbox.test"
    )
    client = CarbonioClient(
        http, url=SANDBOX_URL, user="admin@example.com", password=SECRET_PW, **options
    )
    return http, client


async def test_faults_are_http_422_as_on_carbonio_24_9_or_500_when_older() -> None:
    # SoapServlet.sendResponse: a fault envelope answers 422 since Carbonio 24.9.
    for status in (422, 500):
        sandbox = Sandbox("admin@example.com", SECRET_PW, fault_status=status)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app())) as http:
            response = await http.post(
                SANDBOX_URL, json={"Body": {"AuthRequest": {"name": "x", "password": "y"}}}
            )
        assert response.status_code == status
        assert response.json()["Body"]["Fault"]["Detail"]["Error"]["Code"] == "account.AUTH_FAILED"


async def test_auth_sets_the_admin_cookie_like_carbonio() -> None:
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW)
    http, client = sandbox_client(sandbox)
    async with http:
        token = await client.authenticate()
        # admin/Auth.java: at.encode(httpResp, true, ...) sets ZM_ADMIN_AUTH_TOKEN.
        assert http.cookies.get("ZM_ADMIN_AUTH_TOKEN") == token


async def test_login_survives_token_expiry_even_with_a_cookie_keeping_client() -> None:
    # Item 1: the expired ZM_ADMIN_AUTH_TOKEN cookie rides along with the re-login
    # AuthRequest; without voidOnExpired the server answers AUTH_EXPIRED to it too.
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW, token_lifetime=60)
    http, client = sandbox_client(sandbox)
    async with http:
        await client.create_domain("example.pt", owner="s1")
        sandbox.expire_tokens()
        account = await client.create_account("admin@example.pt", "pw-12345678", {}, owner="s1")
    assert account.name == "admin@example.pt"
    assert len(sandbox.tokens) == 2


async def test_failed_reauthentication_is_a_provider_error_in_metrics_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = PortalMetrics()
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW)
    http, client = sandbox_client(sandbox, metrics=metrics)
    async with http:
        await client.create_domain("example.pt", owner="s1")
        sandbox.expire_tokens()
        sandbox.admin_password = "rotated-without-telling-the-portal"
        with pytest.raises(CarbonioFault) as caught:
            await client.create_account("admin@example.pt", "pw-12345678", {}, owner="s1")
    assert caught.value.code == "account.AUTH_FAILED"
    assert metrics.provider_errors.labels(provider="carbonio")._value.get() == 1
    failed = [r for r in caplog.records if "re-authentication failed" in r.getMessage()]
    assert failed and failed[0].levelname == "ERROR"
    assert SECRET_PW not in caplog.text


class LoseAnswers(httpx.AsyncBaseTransport):
    """Runs each request on the sandbox, then loses the answer of the named requests once
    (a timeout after the server did the work)."""

    def __init__(self, sandbox: Sandbox, lose: set[str]) -> None:
        self._inner = httpx.ASGITransport(app=sandbox.app())
        self.lose = lose

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        name = next(iter(json.loads(request.content)["Body"]))
        response = await self._inner.handle_async_request(request)
        if name in self.lose:
            self.lose.discard(name)
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


async def test_create_after_a_lost_answer_continues_when_it_is_this_sessions() -> None:
    # Item 5: the timeout hid a success; the retry gets ACCOUNT_EXISTS / DOMAIN_EXISTS,
    # looks the object up (GetDomainRequest / GetAccountRequest) and sees it is ours.
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW)
    transport = LoseAnswers(sandbox, {"CreateDomainRequest", "CreateAccountRequest"})
    async with httpx.AsyncClient(transport=transport) as http:
        client = CarbonioClient(http, url=SANDBOX_URL, user="admin@example.com", password=SECRET_PW)
        domain = await client.create_domain("example.pt", owner="session-a")
        account = await client.create_account(
            "admin@example.pt", "pw-12345678", {}, owner="session-a"
        )
        again = await client.create_account(
            "admin@example.pt", "pw-12345678", {}, owner="session-a"
        )
    assert (domain.name, domain.existed) == ("example.pt", True)
    assert account.name == "admin@example.pt" and account.id == again.id
    assert list(sandbox.accounts) == ["admin@example.pt"]


async def test_objects_of_someone_else_fail_clearly() -> None:
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW)
    http, client = sandbox_client(sandbox)
    async with http:
        await client.create_domain("example.pt", owner="session-a")
        await client.create_account("admin@example.pt", "pw-12345678", {}, owner="session-a")
        with pytest.raises(CarbonioFault) as domain_taken:
            await client.create_domain("example.pt", owner="session-b")
        with pytest.raises(CarbonioFault) as account_taken:
            await client.create_account("admin@example.pt", "pw-12345678", {}, owner="session-b")
    assert domain_taken.value.code == "account.DOMAIN_EXISTS"
    assert "not created by this onboarding" in domain_taken.value.reason
    assert account_taken.value.code == "account.ACCOUNT_EXISTS"
    assert "not created by this onboarding" in account_taken.value.reason


async def test_unicode_names_from_carbonio_come_back_in_ascii_with_the_unicode_beside() -> None:
    # Item 7: Carbonio answers getUnicodeName() (admin/ToXML.java, GetDomain.encodeDomain).
    sandbox = Sandbox(admin_user="admin@example.com", admin_password=SECRET_PW)
    http, client = sandbox_client(sandbox)
    async with http:
        domain = await client.create_domain("xn--caf-dma.pt", owner="s1")
        account = await client.create_account("admin@xn--caf-dma.pt", "pw-12345678", {}, owner="s1")
    assert (domain.name, domain.unicode) == ("xn--caf-dma.pt", "café.pt")
    assert (account.name, account.unicode) == ("admin@xn--caf-dma.pt", "admin@café.pt")


async def test_a_short_token_lifetime_expires_and_the_client_logs_in_again() -> None:
    # The real lifetime is 12 h (zimbraAdminAuthTokenLifetime); the stand-in's is short here.
    sandbox = Sandbox("admin@example.com", SECRET_PW, token_lifetime=0.05)
    http, client = sandbox_client(sandbox)
    async with http:
        await client.create_domain("example.pt", owner="s1")
        await asyncio.sleep(0.1)
        account = await client.create_account("admin@example.pt", "pw-12345678", {}, owner="s1")
    assert account.name == "admin@example.pt"
    assert len(sandbox.tokens) == 2  # one login, one after the expiry
