"""Operator access: every /api/v1/onboard, /api/v1/desk and /api/v1/stream request needs
``Authorization: Bearer <OPS_API_TOKEN>`` (compared in constant time) or a valid Desk
session cookie (vm122_ops/login.py); else 401. The Desk pages need the same, and send a
browser without either to /login."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from servicekit.bearer import bearer_matches
from servicekit.envelope import error
from vm122_ops.login import COOKIE_NAME, DeskSessions

PROTECTED_PREFIXES = ("/api/v1/onboard", "/api/v1/desk", "/api/v1/stream", "/metrics")
PAGE_PREFIXES = ("/tickets/", "/sessions/")
PAGES = ("/", "/tickets")


def is_page(path: str) -> bool:
    return path in PAGES or path.startswith(PAGE_PREFIXES)


class OperatorAuth:
    """ASGI middleware: guards the operator paths, so no route can forget to."""

    def __init__(self, app: ASGIApp, token: str, sessions: DeskSessions | None = None) -> None:
        self.app = app
        self.token = token
        self.sessions = sessions

    def allowed(self, scope: Scope) -> bool:
        connection = HTTPConnection(scope)
        if bearer_matches(connection.headers.get("authorization", ""), self.token):
            return True
        cookie = connection.cookies.get(COOKIE_NAME)
        if not cookie or self.sessions is None:
            return False
        return self.sessions.valid(cookie)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.startswith(PROTECTED_PREFIXES) and not self.allowed(scope):
                response = error(
                    401,
                    "operator authentication required: send Authorization: Bearer <token> "
                    "or log in at /login",
                    headers={"WWW-Authenticate": 'Bearer realm="ops"'},
                )
                await response(scope, receive, send)
                return
            if is_page(path) and not self.allowed(scope):
                target = "/login?next=" + quote(path, safe="/")
                await RedirectResponse(target, status_code=303)(scope, receive, send)
                return
        await self.app(scope, receive, send)
