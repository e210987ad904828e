"""Operator access: every /api/v1/onboard, /api/v1/desk and /api/v1/stream request needs
``Authorization: Bearer <OPS_API_TOKEN>``, compared in constant time."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from vm122_ops.responses import error

PROTECTED_PREFIXES = ("/api/v1/onboard", "/api/v1/desk", "/api/v1/stream")


def bearer_matches(authorization: str, token: str) -> bool:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


class OperatorAuth:
    """ASGI middleware: guards the operator paths, so no route can forget to."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIXES):
            authorization = ""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
                    break
            if not bearer_matches(authorization, self.token):
                response = error(
                    401,
                    "operator authentication required: send Authorization: Bearer <token>",
                    headers={"WWW-Authenticate": 'Bearer realm="ops"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
