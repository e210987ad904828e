"""Issue 26, findings 5 and 7 (Ops), in-process:

- 5: a successful login forgives only that account's failures from that address. Before
  the fix it wiped the address's failures, so an insider sprayed 10 guesses per account
  per 10 minutes by logging into their own account between accounts (here: the 11th and
  later guesses at rui were still checked, "invalid", instead of "throttled").
- 7: every login, logout, failure, throttle, disabled account, Bearer failure and stream
  refusal leaves a line on ``vm122_ops.auth`` with the address, the account and the
  request id (never the password), and counts in ``ops_auth_events_total``; over TLS the
  session cookie is ``__Host-ops_desk`` and a plain ``ops_desk`` one is not read. Before
  the fix there was no such line at all (ops.log had no address or account on any line)
  and the cookie was ``ops_desk`` over TLS too.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from tests.desk.harness import CHEAP, PASSWORD, TOKEN, login, settings_for, user_command
from vm122_ops.app import create_app
from vm122_ops.desk.accounts import Passwords

ORIGIN = "http://desk.test"


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ASGIApp]:
    for name in ("ana", "rui", "eva"):
        await user_command(tmp_path / "ops.db", "add", name)
    await user_command(tmp_path / "ops.db", "disable", "eva")
    application = create_app(settings_for(tmp_path / "ops.db"), passwords=Passwords(CHEAP))
    async with LifespanManager(application) as manager:
        yield manager.app


def browser(app: ASGIApp, host: str = "10.0.0.1", base: str = ORIGIN) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base)


def outcome(response: httpx.Response) -> str:
    location = response.headers.get("location", "")
    return location.rsplit("error=", 1)[1] if "error=" in location else "ok"


async def test_a_login_into_ones_own_account_forgives_no_other_guesses(app: ASGIApp) -> None:
    async with browser(app) as insider:
        seen = []
        for target in ("rui", "leo", "rita"):  # a different account each round
            for n in range(5):
                seen.append(outcome(await login(insider, target, f"guess {n} wrong")))
            seen.append("own:" + outcome(await login(insider, "ana")))
            await insider.post("/logout", headers={"origin": ORIGIN})
    guesses = [s for s in seen if not s.startswith("own:")]
    assert guesses == ["invalid"] * 10 + ["throttled"] * 5, seen
    # The 10 failures throttle the address whatever it sends, its own account included.
    assert [seen[5], seen[11], seen[17]] == ["own:ok", "own:throttled", "own:throttled"]


async def test_every_authentication_event_is_logged_and_counted(
    app: ASGIApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vm122_ops.auth")
    secret = "a-wrong-password-never-logged"
    async with browser(app, "10.0.0.7") as person, browser(app, "10.0.0.8") as program:
        assert outcome(await login(person, "ana")) == "ok"
        await person.post("/logout", headers={"origin": ORIGIN})
        assert outcome(await login(person, "eva")) == "invalid"  # disabled
        for _ in range(9):
            await login(person, "rui", secret)
        assert outcome(await login(person, "rui", secret)) == "throttled"
        wrong = {"authorization": "Bearer not-the-token-0123456789abcdef"}
        for _ in range(10):
            assert (await program.get("/api/v1/desk/tickets", headers=wrong)).status_code == 401
        throttled = await program.get("/api/v1/desk/tickets", headers=wrong)
        assert throttled.status_code == 429
        bad_window = await person.get(
            "/api/v1/stream", params={"hours": "13"}, headers={"authorization": f"Bearer {TOKEN}"}
        )
        assert bad_window.status_code == 429  # the person's address is throttled by now
        metrics = (
            await browser(app, "10.0.0.9").get(
                "/metrics", headers={"authorization": f"Bearer {TOKEN}"}
            )
        ).text
    records = [r for r in caplog.records if r.name == "vm122_ops.auth"]
    events = [r.fields["event"] for r in records]  # type: ignore[attr-defined]
    assert events[:4] == ["login_ok", "logout", "login_disabled", "login_failed"]
    assert events.count("login_failed") == 9 and "login_throttled" in events
    assert events.count("bearer_failed") == 10 and "bearer_throttled" in events
    for record in records:
        fields = record.fields  # type: ignore[attr-defined]
        assert fields["client"] in ("10.0.0.7", "10.0.0.8")
        assert fields["request_id"], fields
        if fields["event"].startswith("login") or fields["event"] == "logout":
            assert fields["account"] in ("ana", "eva", "rui")
        assert secret not in str(fields) and PASSWORD not in str(fields)
    for event, count in (
        ("login_ok", 1),
        ("logout", 1),
        ("login_disabled", 1),
        ("login_failed", 9),
        ("login_throttled", 1),
        ("bearer_failed", 10),
    ):
        assert f'ops_auth_events_total{{event="{event}"}} {count}.0' in metrics, event


async def test_stream_refusals_are_logged(app: ASGIApp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vm122_ops.auth")
    async with browser(app, "10.0.0.20") as program:
        refused = await program.get(
            "/api/v1/stream", params={"hours": "13"}, headers={"authorization": f"Bearer {TOKEN}"}
        )
    assert refused.status_code == 400
    assert "hours" in refused.json()["error"]
    (record,) = [r for r in caplog.records if r.name == "vm122_ops.auth"]
    assert record.fields["event"] == "stream_refused"  # type: ignore[attr-defined]
    assert record.fields["client"] == "10.0.0.20"  # type: ignore[attr-defined]


async def test_over_tls_the_session_cookie_has_the_host_prefix(app: ASGIApp) -> None:
    async with browser(app, base="https://desk.test") as client:
        response = await login(client, "ana")
        assert outcome(response) == "ok"
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-ops_desk=")
        assert "secure" in cookie.lower() and "path=/" in cookie.lower()
        assert "domain=" not in cookie.lower()
        value = client.cookies["__Host-ops_desk"]
        assert (await client.get("/api/v1/desk/tickets")).status_code == 200
    # A cookie planted without the prefix (a sibling subdomain can set one) is not read.
    async with browser(app, base="https://desk.test") as planted:
        planted.cookies.set("ops_desk", value)
        assert (await planted.get("/api/v1/desk/tickets")).status_code == 401
    async with browser(app) as plain:  # plain HTTP (tests, the loopback): the plain name
        assert (await login(plain, "ana")).headers["set-cookie"].startswith("ops_desk=")
