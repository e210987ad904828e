"""The Desk's pages, login and logout.

Each page is assembled once, when this module is imported at start-up, from shared parts
and its own (no build step): frontend/layout.html is the document and its head
(stylesheet, the one entry module) with ``{{title}}`` and ``{{body}}``;
frontend/pages/<page>.html starts with its ``<title>`` line. A Desk page then holds only
its ``<main>``, which frontend/body.html puts under the shared skip link, header and
banner, its own navigation link marked as the current one; the login page holds its whole
``<body>``. A part more than one page holds (``INCLUDED``) stands in its own file. The
pages carry no data: their ES modules fetch the JSON API and the stream. The OperatorAuth
middleware sends a visitor without a session to /login first.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from servicekit.addresses import address_key
from servicekit.body import media_type, read_body
from servicekit.envelope import error
from servicekit.openapi import NO_QUERY
from servicekit.resources import folder
from vm122_ops.app_state import app_state
from vm122_ops.desk import accounts
from vm122_ops.desk.accounts import MAX_PASSWORD, HashingBusy
from vm122_ops.desk.auth import same_origin
from vm122_ops.desk.auth_events import auth_event
from vm122_ops.desk.browser_sessions import cookie_name
from vm122_ops.errors import BadRequest

FRONTEND = folder("vm122_ops", "frontend", "frontend")
MAX_FORM = 8192
_NO_STORE = {"Cache-Control": "no-store"}


# The Desk's pages (frontend/pages/<page>.html, in frontend/body.html) and the
# navigation link each marks as the current page; login has a body of its own.
DESK_PAGES: dict[str, str | None] = {
    "index": "/",
    "tickets": "/tickets",
    "ticket": None,
    "session": None,
    "search": None,
    "cohort": None,
}
PAGES = (*DESK_PAGES, "login")
# Parts more than one page holds: ``{{name}}`` on a line of its own takes
# frontend/<name>.html, each line indented as the placeholder is.
INCLUDED = ("status-options",)
_TITLE = re.compile(r"\A<title>([^<>{}]+)</title>\n")


def include(text: str, name: str, part: str) -> str:
    """``text`` with each line ``{{name}}`` replaced by ``part``, indented as it was."""
    lines = part.splitlines()
    return re.sub(
        rf"^( *){{{{{name}}}}}$",
        lambda found: "\n".join(found.group(1) + line for line in lines),
        text,
        flags=re.M,
    )


def assemble(frontend: Path, page: str) -> str:
    """The whole HTML of ``page``: its part in the layout, in the Desk's body if it is a
    Desk page."""
    layout = (frontend / "layout.html").read_text(encoding="utf-8")
    part = (frontend / "pages" / f"{page}.html").read_text(encoding="utf-8")
    title = _TITLE.match(part)
    if title is None:
        raise ValueError(f"frontend/pages/{page}.html does not start with its <title>")
    body = part[title.end() :].rstrip("\n")
    if page in DESK_PAGES:
        desk = (frontend / "body.html").read_text(encoding="utf-8").rstrip("\n")
        current = DESK_PAGES[page]
        if current is not None:
            link = f'<a href="{current}"'
            if desk.count(link) != 1:
                raise ValueError(f"frontend/body.html has no one navigation link to {current}")
            desk = desk.replace(link, f'{link} aria-current="page"')
        body = desk.replace("{{main}}", body)
    for name in INCLUDED:
        body = include(body, name, (frontend / f"{name}.html").read_text(encoding="utf-8"))
    html = layout.replace("{{title}}", title.group(1)).replace("{{body}}", body)
    if "{{" in html:
        raise ValueError(f"frontend/pages/{page}.html leaves a placeholder unfilled")
    return html


ASSEMBLED = {page: assemble(FRONTEND, page).encode("utf-8") for page in PAGES}


def _page(page: str) -> Response:
    return Response(ASSEMBLED[page], media_type="text/html", headers=_NO_STORE)


async def dashboard(request: Request) -> Response:
    return _page("index")


async def tickets(request: Request) -> Response:
    return _page("tickets")


async def ticket(request: Request) -> Response:
    return _page("ticket")


async def session(request: Request) -> Response:
    return _page("session")


async def search(request: Request) -> Response:
    return _page("search")


async def funnel_sessions(request: Request) -> Response:
    return _page("cohort")


async def login_page(request: Request) -> Response:
    return _page("login")


def safe_next(value: str | None) -> str:
    """Only a path on this site, with its query: never another host (//evil, /\\evil,
    https://...). Browsers read a backslash in a path as a slash and drop tabs and line
    breaks (WHATWG URL), so a path holding either, or any control character, is refused."""
    if not value or not value.startswith("/"):
        return "/"
    path = value.partition("?")[0].partition("#")[0]
    if path.startswith("//") or "\\" in path or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "/"
    return value


async def _form(request: Request) -> dict[str, str]:
    if media_type(request) != "application/x-www-form-urlencoded":
        raise BadRequest("the login form must be application/x-www-form-urlencoded")
    body = await read_body(request, MAX_FORM)
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=8, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the login form is not valid") from None
    return {name: values[0] for name, values in fields.items() if values}


@NO_QUERY
async def login(request: Request) -> Response:
    """POST /login: name and password; a Desk session cookie on success."""
    if not same_origin(request, lenient=True):
        return error(403, "login from another site is refused")
    state = app_state(request)
    form = await _form(request)
    target = safe_next(form.get("next"))
    name = form.get("name", "").strip().lower()[:64]
    password = form.get("password", "")
    host = request.client.host if request.client else "unknown"
    back = f"/login?next={quote(target, safe='/')}&error="
    # Charged before the check: concurrent attempts cannot all pass the budget before
    # any of them is counted (vm122_ops/desk/login_throttle.py).
    wait = state.throttle.charge(host, name)
    if wait:
        auth_event(state.metrics, "login_throttled", host, name)
        return RedirectResponse(back + "throttled", 303, headers={"Retry-After": str(wait)})
    row = await state.db.read(accounts.get_by_name, name)
    disabled = row is not None and row["disabled_at"] is not None
    usable = row is not None and not disabled and len(password) <= MAX_PASSWORD
    stored = row["password_hash"] if usable and row is not None else None
    try:
        right = await state.passwords.verify_async(
            stored, password[:MAX_PASSWORD], address_key(host)
        )
    except HashingBusy:
        state.throttle.refund(host, name)
        auth_event(state.metrics, "login_busy", host, name)
        return error(
            429,
            "too many logins are being checked right now; try again in a second",
            {"Retry-After": "1"},
        )
    if not right or row is None:
        # A disabled account's right password is refused like a wrong one (the same
        # answer: nothing tells which); the log says which it was.
        auth_event(state.metrics, "login_disabled" if disabled else "login_failed", host, name)
        return RedirectResponse(back + "invalid", 303)
    state.throttle.succeeded(host, name)
    auth_event(state.metrics, "login_ok", host, name)
    account_id = int(row["id"])
    if state.passwords.needs_rehash(row["password_hash"]):
        # New recommended parameters: store a fresh hash now that we hold the password.
        fresh = await state.passwords.hash_async(password, address_key(host))
        now = state.now_ms()
        await state.db.write(
            lambda conn: accounts.set_password(conn, account_id, fresh, now_ms=now, reset=False)
        )
    response = RedirectResponse(target, 303)
    response.set_cookie(
        cookie_name(request.url.scheme),
        await state.sessions.open(account_id),
        max_age=state.sessions.lifetime,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@NO_QUERY
async def logout(request: Request) -> Response:
    """POST /logout: ends the session in the database and closes its streams at once."""
    if not same_origin(request, lenient=True):
        return error(403, "logout from another site is refused")
    state = app_state(request)
    name = cookie_name(request.url.scheme)
    user = await state.sessions.lookup(request.cookies.get(name))
    if user is not None:
        await state.sessions.end(user.session_id)
        state.broker.end_desk_session(user.session_id)
        host = request.client.host if request.client else None
        auth_event(state.metrics, "logout", host, user.name)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(
        name,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
