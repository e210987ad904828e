"""Browser login, page guards and security headers (login.py, routes/pages.py, auth.py,
headers.py), in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.apps import ops_settings
from tests.support.credentials import TOKEN
from tests.support.runner import in_process
from vm122_ops.app import create_app
from vm122_ops.headers import CONTENT_SECURITY_POLICY
from vm122_ops.login import COOKIE_NAME, DeskSessions, LoginLimiter
from vm122_ops.routes.pages import safe_next

ORIGIN = "http://desk.test"


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ops_settings(tmp_path / "ops.db"))
    async with in_process(app, base_url=ORIGIN) as (_, http):
        yield http


async def login(client: httpx.AsyncClient, token: str = TOKEN, nxt: str = "/") -> httpx.Response:
    return await client.post(
        "/login", data={"token": token, "next": nxt}, headers={"origin": ORIGIN}
    )


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/", id="dashboard"),
        pytest.param("/tickets", id="tickets"),
        pytest.param("/tickets/7", id="ticket"),
        pytest.param("/sessions/abc", id="session"),
    ],
)
async def test_pages_send_a_stranger_to_login(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


async def test_login_sets_a_strict_httponly_cookie_that_opens_pages_and_api(
    client: httpx.AsyncClient,
) -> None:
    response = await login(client, nxt="/tickets/3")
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets/3"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=v1.")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert attribute.lower() in cookie.lower(), attribute
    assert "secure" not in cookie.lower()  # plain http here
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert b"data-dashboard" in page.content
    api = await client.get("/api/v1/desk/tickets")
    assert api.status_code == 200
    assert api.json() == {"ok": True, "tickets": [], "next": None}


async def test_cookie_is_secure_over_https(tmp_path: Path) -> None:
    app = create_app(ops_settings(tmp_path / "ops.db"))
    async with in_process(app, base_url="https://desk.test") as (_, http):
        response = await http.post(
            "/login", data={"token": TOKEN}, headers={"origin": "https://desk.test"}
        )
    assert "secure" in response.headers["set-cookie"].lower()


async def test_wrong_token_goes_back_with_an_error(client: httpx.AsyncClient) -> None:
    response = await login(client, token="not-the-token-at-all")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/&error=invalid"
    assert "set-cookie" not in response.headers
    assert (await client.get("/api/v1/desk/tickets")).status_code == 401


async def test_logins_are_rate_limited_per_client(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (
            (await login(client, token="wrong-token-xxxxxxxx"))
            .headers["location"]
            .endswith("error=invalid")
        )
    blocked = await login(client)  # even the right token waits now
    assert blocked.headers["location"].endswith("error=throttled")
    assert int(blocked.headers["retry-after"]) >= 1
    assert "set-cookie" not in blocked.headers


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"origin": "https://evil.example"}, id="origin"),
        pytest.param({"sec-fetch-site": "cross-site", "origin": ORIGIN}, id="sec-fetch-site"),
        pytest.param({"origin": "null"}, id="opaque-origin"),
    ],
)
async def test_login_from_another_site_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.post("/login", data={"token": TOKEN}, headers=headers)
    assert response.status_code == 403
    assert response.json()["ok"] is False
    assert "set-cookie" not in response.headers


async def test_logout_revokes_the_cookie(client: httpx.AsyncClient) -> None:
    await login(client)
    cookie = client.cookies[COOKIE_NAME]
    response = await client.post("/logout", headers={"origin": ORIGIN})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"]
    # Even a copy of the old cookie no longer works.
    client.cookies.set(COOKIE_NAME, cookie)
    assert (await client.get("/api/v1/desk/tickets")).status_code == 401


async def test_a_forged_or_expired_cookie_is_refused(client: httpx.AsyncClient) -> None:
    sessions = DeskSessions(TOKEN, clock=lambda: 1000.0, lifetime=10)
    expired = sessions.issue()
    other = DeskSessions("another-token-0123456789").issue()
    for value in (expired, other, "v1.99999999999.x.y", "garbage"):
        client.cookies.set(COOKIE_NAME, value)
        assert (await client.get("/api/v1/desk/tickets")).status_code == 401, value


async def test_the_bearer_token_still_works_for_pages_and_api(client: httpx.AsyncClient) -> None:
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/tickets", headers=auth)).status_code == 200
    assert (await client.get("/api/v1/onboard/funnel", headers=auth)).status_code == 200


async def test_strict_csp_and_static_modules(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert b"<script>" not in page.content  # only <script type="module" src=...>
    module = await client.get("/js/main.js")
    assert module.status_code == 200
    assert module.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert (await client.get("/css/desk.css")).status_code == 200
    api = await client.get("/api/v1/desk/tickets")
    assert api.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("/tickets/1", "/tickets/1", id="local"),
        pytest.param("//evil.example/x", "/", id="scheme-relative"),
        pytest.param("/\\evil.example", "/", id="backslash"),
        pytest.param("https://evil.example", "/", id="absolute"),
        pytest.param(None, "/", id="missing"),
    ],
)
def test_safe_next_only_allows_local_paths(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_limiter_forgets_after_its_period() -> None:
    now = [0.0]
    limiter = LoginLimiter(attempts=2, period=60, clock=lambda: now[0])
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.retry_after("a") == 61
    assert limiter.retry_after("b") == 0
    now[0] = 61.0
    assert limiter.retry_after("a") == 0


def test_an_empty_token_never_matches() -> None:
    assert not DeskSessions("").token_matches("")
    assert not DeskSessions(TOKEN).token_matches("")


def test_sessions_repr_holds_no_secret() -> None:
    assert TOKEN not in repr(DeskSessions(TOKEN))
