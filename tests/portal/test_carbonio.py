"""CarbonioClient (vm112_portal/carbonio.py) against recorded admin SOAP responses and faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from vm112_portal.carbonio import CarbonioClient
from vm112_portal.errors import CarbonioFault, ProviderError
from vm112_portal.sandbox import Sandbox

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
    domain = await client.create_domain("example.pt")
    account = await client.create_account("admin@example.pt", "pw-12345678", {"displayName": "Ana"})
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
        {"n": "displayName", "_content": "Ana"}
    ]


async def test_domain_exists_counts_as_done() -> None:
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE)],
            "CreateDomainRequest": [
                (500, fault("account.DOMAIN_EXISTS", "domain already exists: example.pt"))
            ],
        }
    )
    domain = await client_for(recorded).create_domain("example.pt")
    assert (domain.name, domain.id, domain.existed) == ("example.pt", None, True)


async def test_auth_expired_reauthenticates_once() -> None:
    second_auth = json.loads(json.dumps(AUTH_RESPONSE))
    second_auth["Body"]["AuthResponse"]["authToken"] = [{"_content": "0_fresh"}]
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE), (200, second_auth)],
            "CreateDomainRequest": [
                (500, fault("service.AUTH_EXPIRED", "auth credentials have expired")),
                (200, CREATE_DOMAIN_RESPONSE),
            ],
        }
    )
    domain = await client_for(recorded).create_domain("example.pt")
    assert domain.existed is False
    assert recorded.names() == [
        "AuthRequest",
        "CreateDomainRequest",
        "AuthRequest",
        "CreateDomainRequest",
    ]
    assert recorded.sent[3]["Header"]["context"]["authToken"] == {"_content": "0_fresh"}


async def test_auth_expired_twice_is_a_fault_not_a_loop() -> None:
    expired = (500, fault("service.AUTH_EXPIRED", "auth credentials have expired"))
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE), (200, AUTH_RESPONSE)],
            "CreateDomainRequest": [expired, expired],
        }
    )
    with pytest.raises(CarbonioFault) as caught:
        await client_for(recorded).create_domain("example.pt")
    assert caught.value.code == "service.AUTH_EXPIRED"
    assert len(recorded.sent) == 4


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        pytest.param("account.ACCOUNT_EXISTS", "email address already exists", id="exists"),
        pytest.param("account.INVALID_PASSWORD", "invalid password: too short", id="password"),
        pytest.param("service.FAILURE", "system failure: ldap down", id="failure"),
    ],
)
async def test_account_faults_carry_code_and_reason(code: str, reason: str) -> None:
    recorded = Recorded(
        {
            "AuthRequest": [(200, AUTH_RESPONSE)],
            "CreateAccountRequest": [(500, fault(code, reason))],
        }
    )
    with pytest.raises(CarbonioFault) as caught:
        await client_for(recorded).create_account("a@example.pt", "pw-12345678", {})
    assert caught.value.code == code
    assert caught.value.reason == f"Carbonio fault {code}: {reason}"


async def test_auth_failed_keeps_password_out_of_the_error() -> None:
    recorded = Recorded(
        {"AuthRequest": [(500, fault("account.AUTH_FAILED", "authentication failed for admin"))]}
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
            500, {"Body": {"Fault": {"Reason": {"Text": "?"}}}}, "service.UNKNOWN", id="bare-fault"
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
        first = await client.create_domain("example.pt")
        again = await client.create_domain("example.pt")
        sandbox.expire_tokens()
        account = await client.create_account("admin@example.pt", "pw-12345678", {})
        with pytest.raises(CarbonioFault) as caught:
            await client.create_account("admin@example.pt", "pw-12345678", {})
        await client.create_domain("fail-shop.pt")
        with pytest.raises(CarbonioFault) as failing:
            await client.create_account("admin@fail-shop.pt", "pw-12345678", {})
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
            await client.create_domain("example.pt")
    assert caught.value.code == "account.AUTH_FAILED"
