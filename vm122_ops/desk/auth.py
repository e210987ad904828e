"""Who is asking: every /api/v1/onboard, /api/v1/desk, /api/v1/stream and /metrics request,
and every Desk page, needs either ``Authorization: Bearer <OPS_API_TOKEN>`` (a program) or
a live Desk session cookie (a person, vm122_ops/desk/browser_sessions.py); else 401, and pages
send the browser to /login.

- Bearer failures share the login form's failure budget (vm122_ops/desk/login_throttle.py): a
  throttled address gets 429 with Retry-After.
- A state-changing request (not GET/HEAD) made with the session cookie must come from
  the Desk's own origin (Sec-Fetch-Site: same-origin, or from a browser without it an
  Origin equal to this site); else 403. Bearer clients carry no ambient credential and
  are not checked.
- Every answer on these paths carries ``Cache-Control: no-store``: the browser keeps no
  copy of authenticated data after logout.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.bearer import token_matches
from servicekit.envelope import error
from vm122_ops.desk.auth_events import auth_event
from vm122_ops.desk.browser_sessions import DeskUser, cookie_name
from vm122_ops.desk.login_throttle import TOKEN_ACCOUNT

if TYPE_CHECKING:
    from vm122_ops.app_state import AppState

PROTECTED_PREFIXES = ("/api/v1/onboard", "/api/v1/desk", "/api/v1/stream", "/metrics")
PAGE_PREFIXES = ("/tickets/", "/sessions/", "/funnel/")
PAGES = ("/", "/tickets", "/search")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
NO_STORE = "no-store"


@dataclass(frozen=True, slots=True)
class Principal:
    """A program (the API token) or a person (a Desk session)."""

    user: DeskUser | None = None

    @property
    def is_program(self) -> bool:
        return self.user is None

    @property
    def label(self) -> str:
        return "api" if self.user is None else self.user.name


def principal(request: Request) -> Principal:
    """The caller of a request that passed OperatorAuth."""
    found = request.scope.get("state", {}).get("principal")
    assert isinstance(found, Principal), "route outside OperatorAuth"
    return found


def bearer_matches(authorization: str, tokens: tuple[str, ...]) -> bool:
    """Whether the header carries one of the tokens (each compared in constant time)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    matches = [token_matches(value.strip(), token) for token in tokens]  # each compared
    return any(matches)


def is_page(path: str) -> bool:
    return path in PAGES or path.startswith(PAGE_PREFIXES)


def same_origin(connection: HTTPConnection, *, lenient: bool) -> bool:
    """Whether a browser request comes from this site.

    Browsers say where a request comes from in Sec-Fetch-Site; older ones in Origin. With
    ``lenient`` a request with neither passes (not a browser: it carries no victim's
    cookie); otherwise it is refused.
    """
    site = connection.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin" or (lenient and site == "none")
    origin = connection.headers.get("origin")
    if origin is None:
        return lenient
    return origin == f"{connection.url.scheme}://{connection.headers.get('host', '')}"


class OperatorAuth:
    """ASGI middleware: guards the operator paths, so no route can forget to."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        guarded = scope["type"] == "http" and (path.startswith(PROTECTED_PREFIXES) or is_page(path))
        if not guarded:
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Cache-Control"] = NO_STORE
            await send(message)

        state: AppState = scope["app"].state.ops
        connection = HTTPConnection(scope)
        page = is_page(path)
        authorization = connection.headers.get("authorization")
        found: Principal | None = None
        if authorization is not None and not page:
            host = connection.client.host if connection.client else None
            wait = state.throttle.retry_after(host or "unknown", TOKEN_ACCOUNT)
            if wait:
                auth_event(state.metrics, "bearer_throttled", host, path=path)
                response = error(
                    429,
                    "too many failed attempts from this address; try again later",
                    {"Retry-After": str(wait)},
                )
                await response(scope, receive, send_no_store)
                return
            if bearer_matches(authorization, state.settings.api_tokens):
                state.throttle.succeeded(host or "unknown", TOKEN_ACCOUNT)
                found = Principal()
            else:
                state.throttle.failed(host or "unknown", TOKEN_ACCOUNT)
                auth_event(state.metrics, "bearer_failed", host, path=path)
        else:
            cookie = connection.cookies.get(cookie_name(connection.url.scheme))
            user = await state.sessions.lookup(cookie)
            if user is not None:
                found = Principal(user=user)
        if found is None:
            if page:
                # Back to the same URL after login, query included (safe_next checks it).
                query = scope.get("query_string", b"").decode("latin-1")
                target = "/login?next=" + quote(f"{path}?{query}" if query else path, safe="/")
                await RedirectResponse(target, status_code=303)(scope, receive, send_no_store)
                return
            response = error(
                401,
                "authentication required: programs send Authorization: Bearer <token>, "
                "people log in at /login",
                headers={"WWW-Authenticate": 'Bearer realm="ops"'},
            )
            await response(scope, receive, send_no_store)
            return
        if (
            found.user is not None
            and scope["method"] not in SAFE_METHODS
            and not same_origin(connection, lenient=False)
        ):
            response = error(403, "a change from another site is refused")
            await response(scope, receive, send_no_store)
            return
        scope.setdefault("state", {})["principal"] = found
        await self.app(scope, receive, send_no_store)


def monotonic_deadline(user: DeskUser | None, now_ms: int) -> float | None:
    """When (time.monotonic()) a stream of this session must end; None for programs."""
    if user is None:
        return None
    return time.monotonic() + max(0, user.expires_at_ms - now_ms) / 1000
