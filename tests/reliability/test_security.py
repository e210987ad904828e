"""Security across the services: every operator route refuses a stranger (401, or a
redirect to the login page for a Desk page), derived from the route table so no new route
slips through; and no secret (webhook secret, operator token, Carbonio password, a
customer's password) in either service's logs, errors or responses, in a real run of
both processes with rejections, retries and failures on purpose."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from tests.support.apps import ops_process, ops_settings, portal_process
from tests.support.credentials import SECRET, TOKEN
from tests.support.peek import outbox as outbox_rows
from tests.support.poll import wait_until
from tests.support.runner import free_port, in_process
from vm122_ops.app import create_app, routes
from vm122_ops.desk.browser_sessions import COOKIE_NAME
from vm122_ops.settings import parse_webhook_secrets

OPEN = {"/healthz", "/openapi.json", "/login", "/logout", "/api/v1/webhooks/onboard"}
SAMPLE = {"{ticket_id}": "1", "{session_id}": "s1"}
STRANGERS = {
    "nothing": {},
    "wrong-bearer": {"authorization": "Bearer not-the-token-0123456789"},
    "token-as-basic": {"authorization": f"Basic {TOKEN}"},
    "forged-cookie": {"cookie": f"{COOKIE_NAME}=v1.99999999999.nonce.c2lnbmF0dXJl"},
    "well-formed-unknown-cookie": {"cookie": f"{COOKIE_NAME}={'A' * 43}"},
}


def guarded() -> list[tuple[str, str]]:
    found = []
    for route in routes():
        assert isinstance(route, Route)
        if route.path in OPEN:
            continue
        path = route.path
        for name, value in SAMPLE.items():
            path = path.replace(name, value)
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, path))
    return found


@pytest.fixture
async def ops(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ops_settings(tmp_path / "ops.db"))
    async with in_process(app, base_url="http://ops.test") as (_, client):
        yield client


def test_the_route_table_is_covered() -> None:
    paths = {path for _, path in guarded()}
    assert {
        "/",
        "/tickets",
        "/tickets/1",
        "/sessions/s1",
        "/funnel/sessions",
        "/search",
        "/api/v1/desk/search",
        "/api/v1/stream",
        "/metrics",
        "/api/v1/desk/tickets",
        "/api/v1/desk/tickets/1",
        "/api/v1/desk/agents",
        "/api/v1/desk/alerts",
        "/api/v1/desk/tickets/1/notes",
        "/api/v1/onboard/funnel",
        "/api/v1/onboard/failures",
        "/api/v1/onboard/funnel/sessions",
        "/api/v1/onboard/trend",
        "/api/v1/onboard/trend.csv",
        "/api/v1/onboard/funnel/sessions.csv",
        "/api/v1/desk/tickets.csv",
        "/api/v1/desk/search.csv",
        "/api/v1/onboard/sessions/s1/timeline",
        "/api/v1/onboard/paces",
        "/api/v1/onboard/mail",
        "/api/v1/onboard/breakdown",
        "/api/v1/onboard/breakdown/trend",
        "/api/v1/desk/tickets/bulk",
        "/api/v1/desk/sessions/s1/take",
    } == paths


@pytest.mark.parametrize("stranger", list(STRANGERS))
@pytest.mark.parametrize(("method", "path"), guarded())
async def test_every_operator_route_refuses_a_stranger(
    ops: httpx.AsyncClient, method: str, path: str, stranger: str
) -> None:
    response = await ops.request(method, path, headers=STRANGERS[stranger])
    if path.startswith(("/api/", "/metrics")):
        assert response.status_code == 401
        assert response.json() == {"ok": False, "status": 401, "error": response.json()["error"]}
        assert response.headers["www-authenticate"].startswith("Bearer")
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert "content-security-policy" in response.headers
    assert TOKEN not in response.text


async def test_logout_without_a_session_opens_nothing(ops: httpx.AsyncClient) -> None:
    response = await ops.post("/logout")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert (await ops.get("/api/v1/desk/tickets")).status_code == 401


CARBONIO_PASSWORD = "Carbonio-admin-pw-7f3e9a"
CUSTOMER_PASSWORD = "Customer-pw-51c0d2e8"
OTHER_SECRET = "whsec_" + base64.b64encode(b"another-shared-secret-32-bytes!!").decode()


async def test_no_secret_in_logs_errors_or_responses(tmp_path: Path) -> None:
    ops_port, portal_port = free_port(), free_port()
    ops = ops_process(tmp_path / "ops.db", ops_port, tmp_path / "ops.log")
    portal = portal_process(
        tmp_path / "portal.db",
        portal_port,
        ops_port,
        tmp_path / "portal.log",
        CARBONIO_ADMIN_PASSWORD=CARBONIO_PASSWORD,
    )
    wrong_port = free_port()
    wrong = portal_process(
        tmp_path / "wrong.db",
        wrong_port,
        ops_port,
        tmp_path / "wrong.log",
        OPS_WEBHOOK_SECRET=OTHER_SECRET,
    )
    answers: list[str] = []
    try:
        ops.start()
        portal.start()
        wrong.start()
        base = f"http://127.0.0.1:{portal_port}"
        await ops.wait_ready(f"http://127.0.0.1:{ops_port}")
        await portal.wait_ready(base)
        await wrong.wait_ready(f"http://127.0.0.1:{wrong_port}")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{wrong_port}") as client:
            answers.append(
                (
                    await client.post(
                        "/api/v1/onboarding/validate-domain",
                        json={"session_id": "wrong-1", "domain": "outra.pt"},
                    )
                ).text
            )
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            for session, domain, password in (
                ("ok-1", "loja.pt", CUSTOMER_PASSWORD),
                ("fail-1", "fail-loja.pt", CUSTOMER_PASSWORD),  # a Carbonio fault: 502
                ("short-1", "curta.pt", "short"),  # refused before Carbonio
                ("bad-1", "no such domain", CUSTOMER_PASSWORD),
            ):
                body = {"session_id": session, "domain": domain}
                for step in ("validate-domain", "dns/cloudflare/apply"):
                    answers.append(
                        (await client.post(f"/api/v1/onboarding/{step}", json=body)).text
                    )
                response = await client.post(
                    "/api/v1/onboarding/account/create",
                    json={
                        **body,
                        "admin_local_part": "admin",
                        "display_name": "Ana",
                        "password": password,
                    },
                )
                answers.append(response.text)
            answers.append((await client.get("/healthz")).text)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ops_port}") as client:
            for headers in ({}, {"authorization": "Bearer wrong-token-0123456789"}):
                answers.append((await client.get("/api/v1/desk/tickets", headers=headers)).text)
            answers.append((await client.post("/login", data={"token": "x" * 20})).text)
        # The portal with the wrong secret is refused (401) and logs it; the good one drains.
        await wait_until(
            lambda: (
                bool(outbox_rows(tmp_path / "wrong.db"))
                and outbox_rows(tmp_path / "wrong.db")[0]["attempts"] >= 2
            ),
            timeout=30,
            what="refused deliveries",
        )
        await wait_until(
            lambda: all(r["state"] == "delivered" for r in outbox_rows(tmp_path / "portal.db")),
            timeout=30,
            what="the good portal drained",
        )
        rows = outbox_rows(tmp_path / "wrong.db")
    finally:
        for process in (portal, wrong, ops):
            process.stop()
    texts = {
        name: path.read_text(errors="replace")
        for name, path in (
            ("ops", tmp_path / "ops.log"),
            ("portal", tmp_path / "portal.log"),
            ("wrong", tmp_path / "wrong.log"),
        )
    }
    texts["answers"] = "\n".join(answers)
    texts["outbox"] = "\n".join(str(r) for r in rows + outbox_rows(tmp_path / "portal.db"))
    secrets = {
        "webhook secret": SECRET,
        "its key": SECRET.removeprefix("whsec_"),
        "other secret": OTHER_SECRET,
        "its key too": OTHER_SECRET.removeprefix("whsec_"),
        "operator token": TOKEN,
        "Carbonio password": CARBONIO_PASSWORD,
        "customer password": CUSTOMER_PASSWORD,
    }
    for where, text in texts.items():
        for what, secret in secrets.items():
            assert secret not in text, f"{what} in {where}"
    # The logs did capture the events the secrets were near: rejections, faults, retries.
    assert "401" in texts["wrong"] and "clocks agree" in texts["wrong"]
    assert '"service":"portal"' in texts["portal"] and "session fail-1 failed" in texts["portal"]
    assert '"status":401' in texts["ops"]
    assert rows and rows[0]["last_status"] == 401
    assert parse_webhook_secrets(OTHER_SECRET) != parse_webhook_secrets(SECRET)
