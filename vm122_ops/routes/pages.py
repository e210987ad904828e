"""The Desk's pages (static HTML from frontend/), login and logout.

The pages carry no data: their ES modules fetch the JSON API and the stream. The
OperatorAuth middleware sends a visitor without a session to /login first.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from servicekit.body import media_type, read_body
from servicekit.envelope import error
from vm122_ops.errors import BadRequest
from vm122_ops.login import COOKIE_NAME
from vm122_ops.state import app_state

FRONTEND = Path(__file__).resolve().parent.parent.parent / "frontend"
MAX_FORM = 4096
_NO_STORE = {"Cache-Control": "no-store"}


def _page(name: str) -> Response:
    return FileResponse(FRONTEND / name, media_type="text/html", headers=_NO_STORE)


async def dashboard(request: Request) -> Response:
    return _page("index.html")


async def tickets(request: Request) -> Response:
    return _page("tickets.html")


async def ticket(request: Request) -> Response:
    return _page("ticket.html")


async def session(request: Request) -> Response:
    return _page("session.html")


async def login_page(request: Request) -> Response:
    return _page("login.html")


def safe_next(value: str | None) -> str:
    """Only a path on this site: never another host (//evil, /\\evil, https://...)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def _same_origin(request: Request) -> bool:
    """A cross-site form must not log the browser in or out (login CSRF).

    Browsers say where a request comes from in Sec-Fetch-Site; older ones in Origin.
    A client that sends neither is not a browser, and cannot carry a victim's cookie.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"


async def _form(request: Request) -> dict[str, str]:
    if media_type(request) != "application/x-www-form-urlencoded":
        raise BadRequest("the login form must be application/x-www-form-urlencoded")
    body = await read_body(request, MAX_FORM)
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=8, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the login form is not valid") from None
    return {name: values[0] for name, values in fields.items() if values}


async def login(request: Request) -> Response:
    if not _same_origin(request):
        return error(403, "login from another site is refused")
    state = app_state(request)
    form = await _form(request)
    target = safe_next(form.get("next"))
    client = request.client.host if request.client else "unknown"
    back = f"/login?next={quote(target, safe='/')}&error="
    wait = state.limiter.retry_after(client)
    if wait:
        return RedirectResponse(back + "throttled", 303, headers={"Retry-After": str(wait)})
    if not state.sessions.token_matches(form.get("token", "").strip()):
        state.limiter.failed(client)
        return RedirectResponse(back + "invalid", 303)
    state.limiter.succeeded(client)
    response = RedirectResponse(target, 303)
    response.set_cookie(
        COOKIE_NAME,
        state.sessions.issue(),
        max_age=state.sessions.lifetime,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    if not _same_origin(request):
        return error(403, "logout from another site is refused")
    state = app_state(request)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        state.sessions.revoke(cookie)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
