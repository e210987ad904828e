"""Personal accounts and browser login (accounts.py, desk_sessions.py, throttle.py,
routes/pages.py, auth.py, headers.py), in-process: login, cookies, throttling, logout,
disabling, password resets, malformed cookies, Cache-Control, CSRF, CSP."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from argon2 import PasswordHasher
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette
from starlette.types import ASGIApp

from tests.desk.harness import CHEAP, PASSWORD, TOKEN, login, settings_for, user_command
from vm122_ops.app import create_app
from vm122_ops.desk.accounts import Passwords
from vm122_ops.desk.browser_sessions import COOKIE_NAME
from vm122_ops.desk.login_throttle import AuthThrottle
from vm122_ops.headers import CONTENT_SECURITY_POLICY
from vm122_ops.routes.pages import safe_next

ORIGIN = "http://desk.test"


def make_app(db: Path, hasher: PasswordHasher = CHEAP) -> Starlette:
    return create_app(settings_for(db), passwords=Passwords(hasher))


def browser(app: ASGIApp, host: str = "10.0.0.1", base: str = ORIGIN) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[ASGIApp]:
    await user_command(tmp_path / "ops.db", "add", "ana", "--admin")
    await user_command(tmp_path / "ops.db", "add", "rui")
    application = make_app(tmp_path / "ops.db")
    async with LifespanManager(application) as manager:
        yield manager.app


@pytest.fixture
async def client(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as http:
        yield http


def files_holding(folder: Path, needle: bytes) -> list[str]:
    return [p.name for p in folder.glob("ops.db*") if needle in p.read_bytes()]


def stored(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql).fetchall())


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
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/funnel/sessions?hours=72&stage=dns_applied&state=stuck", id="drill-down"),
        pytest.param("/search?q=m%C3%BCnchen.de", id="search-unicode"),
        pytest.param("/search?q=%2312&x=a%26b", id="search-encoded"),
        pytest.param("/tickets?status=open&tag=ready_for_ops", id="ticket-filters"),
    ],
)
async def test_login_comes_back_to_the_same_url_query_included(
    client: httpx.AsyncClient, url: str
) -> None:
    # A page opened while logged out: the login page is told the path and the query.
    response = await client.get(url)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login?next=")
    nxt = parse_qs(urlsplit(location).query)["next"]
    assert nxt == [url]
    # The login form posts that back; success lands on the very same URL.
    answer = await login(client, "ana", nxt=nxt[0])
    assert answer.status_code == 303
    assert answer.headers["location"] == url
    # A failed attempt keeps it too, for the next try.
    await client.post("/logout", headers={"origin": ORIGIN})
    wrong = await login(client, "ana", "not the password at all", nxt=nxt[0])
    back = urlsplit(wrong.headers["location"])
    assert back.path == "/login"
    assert parse_qs(back.query) == {"next": [url], "error": ["invalid"]}


async def test_login_opens_a_server_side_session_in_a_strict_httponly_cookie(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    response = await login(client, "Ana", nxt="/tickets/3")  # names are case-insensitive
    assert response.status_code == 303
    assert response.headers["location"] == "/tickets/3"
    cookie = response.headers["set-cookie"]
    value = client.cookies[COOKIE_NAME]
    assert len(value) == 43
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/", "Max-Age=43200"):
        assert attribute.lower() in cookie.lower(), attribute
    assert "secure" not in cookie.lower()  # plain http here
    page = await client.get("/")
    assert page.status_code == 200
    assert b"data-dashboard" in page.content
    api = await client.get("/api/v1/desk/tickets")
    assert api.status_code == 200
    assert api.json()["tickets"] == []
    # The database holds the session, by the hash of its secret only.
    rows = stored(
        tmp_path / "ops.db",
        "select s.secret_hash, a.name from desk_sessions s join accounts a on a.id = s.account_id",
    )
    assert len(rows) == 1 and rows[0][1] == "ana"
    digest = rows[0][0]
    assert isinstance(digest, bytes) and len(digest) == 32
    assert value.encode() not in digest


async def test_cookie_is_secure_over_https(app: ASGIApp) -> None:
    async with browser(app, base="https://desk.test") as http:
        response = await login(http, "ana")
    assert "secure" in response.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("name", "password"),
    [
        pytest.param("ana", "not the password at all", id="wrong-password"),
        pytest.param("nobody", PASSWORD, id="unknown-name"),
        pytest.param("ana", TOKEN, id="the-api-token-is-not-a-password"),
        pytest.param("", "", id="empty"),
        pytest.param("ana", "x" * 2000, id="overlong"),
    ],
)
async def test_a_wrong_login_goes_back_with_one_message(
    client: httpx.AsyncClient, name: str, password: str
) -> None:
    response = await login(client, name, password)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/&error=invalid"
    assert "set-cookie" not in response.headers
    assert (await client.get("/api/v1/desk/tickets")).status_code == 401


async def test_the_api_token_logs_no_person_in_but_still_serves_programs(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/login", data={"token": TOKEN, "next": "/"}, headers={"origin": ORIGIN}
    )
    assert response.headers["location"].endswith("error=invalid")
    auth = {"authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/api/v1/onboard/funnel", headers=auth)).status_code == 200
    # A page is for people: the token does not open it.
    assert (await client.get("/tickets", headers=auth)).status_code == 303


async def test_logins_are_throttled_per_address(app: ASGIApp) -> None:
    async with browser(app, "10.0.0.7") as attacker, browser(app, "10.0.0.8") as other:
        for _ in range(10):
            answer = await login(attacker, "rui", "wrong password 123")
            assert answer.headers["location"].endswith("error=invalid")
        blocked = await login(attacker, "ana")  # even the right password waits now
        assert blocked.headers["location"].endswith("error=throttled")
        assert 1 <= int(blocked.headers["retry-after"]) <= 601
        assert "set-cookie" not in blocked.headers
        # Someone else's failures from another address refuse nobody's right password.
        assert (await login(other, "rui")).headers["location"] == "/"


async def test_logins_are_throttled_per_account_with_the_same_message(app: ASGIApp) -> None:
    # Ten addresses each try one wrong password on rui: the account's budget is spent.
    for n in range(10):
        async with browser(app, f"10.1.0.{n}") as guesser:
            answer = await login(guesser, "rui", "wrong password 123")
            assert answer.headers["location"].endswith("error=invalid")
    async with browser(app, "10.1.0.3") as guesser:
        blocked = await login(guesser, "rui")
        assert blocked.headers["location"].endswith("error=throttled")
        # Per account: the same address may still log in to another account.
        assert (await login(guesser, "ana")).headers["location"] == "/"
    async with browser(app, "10.9.9.9") as owner:  # no failures from here: let in
        assert (await login(owner, "rui")).headers["location"] == "/"


async def test_bearer_guessing_shares_the_budget_and_gets_429(app: ASGIApp) -> None:
    # Issue 17 (5): before, 30 wrong guesses in a row all got 401 and none 429.
    wrong = {"authorization": "Bearer not-the-token-0123456789-abcdefghij"}
    right = {"authorization": f"Bearer {TOKEN}"}
    async with browser(app, "2001:db8:1:2::10") as guesser:
        codes = [(await guesser.get("/api/v1/desk/tickets", headers=wrong)).status_code]
        codes += [(await guesser.get("/metrics", headers=wrong)).status_code for _ in range(9)]
        assert codes == [401] * 10
        throttled = await guesser.get("/api/v1/desk/tickets", headers=right)
        assert throttled.status_code == 429
        assert throttled.json()["status"] == 429
        assert int(throttled.headers["retry-after"]) >= 1
        # The login form shares the budget of the address.
        assert (await login(guesser, "ana")).headers["location"].endswith("error=throttled")
    # The same /64 is the same client; another /64 is not.
    async with browser(app, "2001:db8:1:2::99") as neighbour:
        assert (await neighbour.get("/metrics", headers=right)).status_code == 429
    async with browser(app, "2001:db8:1:3::10") as other:
        assert (await other.get("/metrics", headers=right)).status_code == 200


def test_a_full_table_throttles_new_clients_instead_of_forgetting() -> None:
    # Issue 17 (5): before, with the table full a new address made 40 failures unthrottled.
    now = [0.0]
    throttle = AuthThrottle(per_address=5, max_keys=100, clock=lambda: now[0])
    for n in range(100):
        throttle.failed(f"2001:db8:{n:x}::/64", "ana")
    assert throttle.retry_after("2001:db8:ffff::/64", "ana") > 0
    now[0] = 601.0  # the window passed: the table empties and new clients are welcome
    assert throttle.retry_after("2001:db8:ffff::/64", "ana") == 0


def test_the_global_budget_leaves_clean_addresses_one_try() -> None:
    throttle = AuthThrottle(per_address=50, per_account=1000, global_limit=20)
    for n in range(20):
        throttle.failed(f"10.0.0.{n}", f"user{n}")
    assert throttle.retry_after("10.0.0.1", "someone") > 0  # failed before: waits
    assert throttle.retry_after("10.0.9.9", "someone") == 0  # no failure: may try


async def test_logout_ends_the_session_server_side(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await login(client, "ana")
    cookie = client.cookies[COOKIE_NAME]
    response = await client.post("/logout", headers={"origin": ORIGIN})
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert f'{COOKIE_NAME}=""' in response.headers["set-cookie"]
    assert stored(tmp_path / "ops.db", "select end_reason from desk_sessions") == [("logout",)]
    client.cookies.set(COOKIE_NAME, cookie)  # a copy of the old cookie
    assert (await client.get("/api/v1/desk/tickets")).status_code == 401


async def test_a_logged_out_or_disabled_session_stays_refused_after_a_restart(
    tmp_path: Path,
) -> None:
    db = tmp_path / "ops.db"
    await user_command(db, "add", "ana")
    await user_command(db, "add", "rui")
    app = make_app(db)
    async with (
        LifespanManager(app) as manager,
        browser(manager.app) as ana,
        browser(manager.app, "10.0.0.2") as rui,
    ):
        await login(ana, "ana")
        await login(rui, "rui")
        ana_cookie, rui_cookie = ana.cookies[COOKIE_NAME], rui.cookies[COOKIE_NAME]
        await ana.post("/logout", headers={"origin": ORIGIN})
        # Disabled from the CLI (another process in real life): refused at once.
        assert "ended 1 session" in await user_command(db, "disable", "rui")
        rui.cookies.set(COOKIE_NAME, rui_cookie)
        assert (await rui.get("/api/v1/desk/tickets")).status_code == 401
    again = make_app(db)
    async with LifespanManager(again) as manager, browser(manager.app) as http:
        for cookie in (ana_cookie, rui_cookie):
            http.cookies.set(COOKIE_NAME, cookie)
            assert (await http.get("/api/v1/desk/tickets")).status_code == 401
        # A disabled account cannot log in either; enabled again, it can.
        assert (await login(http, "rui")).headers["location"].endswith("error=invalid")
        await user_command(db, "enable", "rui")
        assert (await login(http, "rui")).headers["location"] == "/"


async def test_a_password_reset_ends_the_sessions_and_the_new_one_works(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await login(client, "ana")
    assert (await client.get("/api/v1/desk/tickets")).status_code == 200
    new = "a brand new passphrase"
    await user_command(tmp_path / "ops.db", "reset-password", "ana", password=new)
    assert (await client.get("/api/v1/desk/tickets")).status_code == 401
    assert (await login(client, "ana")).headers["location"].endswith("error=invalid")
    assert (await login(client, "ana", new)).headers["location"] == "/"


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("v1.9999999999.nonce.sig\xe9".encode("latin-1"), id="non-ascii"),
        pytest.param(b"\xff\xfe" * 20, id="binary"),
        pytest.param(b"A" * 4000, id="overlong"),
        pytest.param(b"A" * 42, id="one-short"),
        pytest.param(b"v1.99999999999.x.y", id="old-signed-format"),
        pytest.param(b"A" * 42 + b"=", id="wrong-alphabet"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_a_malformed_cookie_is_simply_no_session(
    client: httpx.AsyncClient, value: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    # Issue 17 (6): before, a non-ASCII byte gave 500 and an error-level traceback.
    header = b"ops_desk=" + value
    api = await client.get("/api/v1/desk/tickets", headers={b"cookie": header})
    assert api.status_code == 401
    assert api.json()["ok"] is False
    page = await client.get("/tickets", headers={b"cookie": header})
    assert page.status_code == 303
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "path", ["/api/v1/onboard/funnel", "/api/v1/desk/tickets", "/metrics", "/api/v1/desk/agents"]
)
async def test_authenticated_answers_are_never_stored_by_the_browser(
    client: httpx.AsyncClient, path: str
) -> None:
    # Issue 17 (7): before, the funnel JSON had no Cache-Control at all.
    await login(client, "ana")
    by_cookie = await client.get(path)
    by_token = await client.get(path, headers={"authorization": f"Bearer {TOKEN}"})
    for response in (by_cookie, by_token):
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store"
    assert (await client.get("/")).headers["cache-control"] == "no-store"


async def test_login_rehashes_a_password_stored_with_older_parameters(tmp_path: Path) -> None:
    db = tmp_path / "ops.db"
    await user_command(db, "add", "ana")  # hashed with CHEAP (t=1)
    before = stored(db, "select password_hash from accounts")[0][0]
    assert str(before).startswith("$argon2id$v=19$m=8,t=1,p=1$")
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    app = make_app(db, stronger)
    async with LifespanManager(app) as manager, browser(manager.app) as http:
        assert (await login(http, "ana")).headers["location"] == "/"
    after = str(stored(db, "select password_hash from accounts")[0][0])
    assert after.startswith("$argon2id$v=19$m=16,t=2,p=1$")
    assert stronger.verify(after, PASSWORD)


def test_production_hashing_is_argon2id_with_the_librarys_recommended_parameters() -> None:
    from argon2 import profiles

    hasher = Passwords().hasher
    wanted = profiles.RFC_9106_LOW_MEMORY
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (
        wanted.time_cost,
        wanted.memory_cost,
        wanted.parallelism,
    )
    assert hasher.type.name == "ID"


async def test_passwords_are_never_in_logs_responses_or_the_database(
    client: httpx.AsyncClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [
        await login(client, "ana", "wrong but secret-ish 42"),
        await login(client, "ana"),
        await client.get("/api/v1/desk/agents"),
    ]
    for response in answers:
        assert PASSWORD not in response.text
        assert PASSWORD not in str(response.headers)
    assert all(PASSWORD not in r.getMessage() for r in caplog.records)
    assert "wrong but secret-ish 42" not in caplog.text
    assert not files_holding(tmp_path, PASSWORD.encode())
    hashes = stored(tmp_path / "ops.db", "select password_hash from accounts")
    assert all(str(h[0]).startswith("$argon2id$") for h in hashes)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"origin": "https://evil.example"}, id="origin"),
        pytest.param({"sec-fetch-site": "cross-site", "origin": ORIGIN}, id="sec-fetch-site"),
        pytest.param({"origin": "null"}, id="opaque-origin"),
    ],
)
async def test_login_and_logout_from_another_site_are_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    form = {"name": "ana", "password": PASSWORD}
    response = await client.post("/login", data=form, headers=headers)
    assert response.status_code == 403
    assert response.json()["ok"] is False
    assert "set-cookie" not in response.headers
    await login(client, "ana")
    assert (await client.post("/logout", headers=headers)).status_code == 403
    assert (await client.get("/api/v1/desk/tickets")).status_code == 200


async def test_strict_csp_and_static_modules(client: httpx.AsyncClient) -> None:
    page = await client.get("/login")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert b"<script>" not in page.content  # only <script type="module" src=...>
    assert b'name="password"' in page.content and b'name="token"' not in page.content
    module = await client.get("/js/main.js")
    assert module.status_code == 200
    assert (await client.get("/css/desk.css")).status_code == 200


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("/tickets/1", "/tickets/1", id="local"),
        pytest.param("//evil.example/x", "/", id="scheme-relative"),
        pytest.param("/\\evil.example", "/", id="backslash"),
        pytest.param("https://evil.example", "/", id="absolute"),
        pytest.param(None, "/", id="missing"),
        pytest.param("/search?q=a%26b&x=1", "/search?q=a%26b&x=1", id="query-kept"),
        pytest.param("//evil.example?next=/", "/", id="scheme-relative-with-query"),
        pytest.param("/\\evil.example/?q=1", "/", id="backslash-with-query"),
        pytest.param("/x\\..\\evil", "/", id="backslash-inside"),
        pytest.param("/\t/evil.example", "/", id="tab-then-slash"),
        pytest.param("/\n/evil.example", "/", id="newline"),
        pytest.param("HTTPS://evil.example/?q=1", "/", id="absolute-upper"),
        pytest.param("javascript:alert(1)", "/", id="javascript"),
        pytest.param("search?q=1", "/", id="not-rooted"),
    ],
)
def test_safe_next_only_allows_local_paths(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
