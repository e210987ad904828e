"""HTTP handlers: the wizard's JSON API, /healthz, and the error envelope.

Every error answers ``{"ok": false, "error": "...", "status": N}``; bad input is a 4xx with
the reason, never a 5xx.
"""

from __future__ import annotations

import hmac
import logging
import re
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from vm112_portal.domains import printable
from vm112_portal.errors import (
    BadRequest,
    PayloadTooLarge,
    RequestError,
    StorageUnavailable,
    UnsupportedMediaType,
)
from vm112_portal.metrics import DISABLED, PortalMetrics
from vm112_portal.ops_webhook import outbox_status
from vm112_portal.wizard import AccountRequest, Wizard

log = logging.getLogger("vm112_portal.routes")

MAX_BODY = 16 * 1024
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}\Z")
LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def envelope_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": message, "status": status}, status_code=status)


async def request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    return envelope_error(exc.status, exc.message)


async def storage_error(request: Request, exc: Exception) -> Response:
    log.error("storage unavailable: %s", exc)
    return envelope_error(503, "the portal cannot save the wizard state right now; try again")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return envelope_error(exc.status_code, str(exc.detail))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return envelope_error(500, "internal error")


EXCEPTION_HANDLERS = {
    RequestError: request_error,
    StorageUnavailable: storage_error,
    HTTPException: http_error,
    Exception: server_error,
}


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, with size and content-type checks."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise PayloadTooLarge(f"the body is over {MAX_BODY} bytes")
    try:
        document = orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise BadRequest("the body must be a JSON object")
    return document


def session_id_of(document: dict[str, Any]) -> str:
    value = document.get("session_id")
    if not isinstance(value, str) or not SESSION_ID.match(value):
        raise BadRequest("session_id is required: 1-128 characters of A-Z a-z 0-9 _ -")
    return value


def text_field(document: dict[str, Any], name: str, *, max_len: int) -> str:
    value = document.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"{name} is required and must be a non-empty string")
    if len(value) > max_len:
        raise BadRequest(f"{name} is too long (at most {max_len} characters)")
    return value


def account_request(document: dict[str, Any]) -> AccountRequest:
    session_id = session_id_of(document)
    domain = text_field(document, "domain", max_len=300)
    local = text_field(document, "admin_local_part", max_len=64).strip().lower()
    if not LOCAL_PART.match(local) or ".." in local:
        raise BadRequest(
            "admin_local_part must be 1-64 of a-z 0-9 . _ + -, starting and ending with a "
            "letter or digit"
        )
    display = text_field(document, "display_name", max_len=128).strip()
    if _CONTROL.search(display):
        raise BadRequest("display_name must not contain control characters")
    password = document.get("password")
    # The password's value never appears in a message, a log line or an event.
    if not isinstance(password, str) or not 8 <= len(password) <= 256:
        raise BadRequest("password is required: 8 to 256 characters")
    if _CONTROL.search(password):
        raise BadRequest("password must not contain control characters")
    return AccountRequest(session_id, domain, local, printable(display), password)


def wizard_of(request: Request) -> Wizard:
    wizard: Wizard = request.app.state.wizard
    return wizard


async def validate_domain(request: Request) -> Response:
    document = await read_json(request)
    session_id = session_id_of(document)
    domain = text_field(document, "domain", max_len=300)
    result = await wizard_of(request).validate_domain(session_id, domain)
    return JSONResponse({"ok": True, **result})


async def apply_dns(request: Request) -> Response:
    document = await read_json(request)
    session_id = session_id_of(document)
    domain = text_field(document, "domain", max_len=300)
    result = await wizard_of(request).apply_dns(session_id, domain)
    return JSONResponse({"ok": True, **result})


async def create_account(request: Request) -> Response:
    document = await read_json(request)
    result = await wizard_of(request).create_account(account_request(document))
    return JSONResponse({"ok": True, **result})


async def healthz(request: Request) -> Response:
    db = request.app.state.db
    reachable = await db.ping()
    outbox = await outbox_status(db) if reachable else None
    status = 200 if reachable else 503
    return JSONResponse(
        {
            "ok": reachable,
            "database": "ok" if reachable else "unreachable",
            "providers": request.app.state.settings.providers,
            "outbox": outbox,
        },
        status_code=status,
    )


def bearer_matches(authorization: str, token: str) -> bool:
    """``Bearer <token>``, the token compared in constant time."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(value.strip().encode(), token.encode())


async def metrics(request: Request) -> Response:
    """Prometheus metrics for the operators; never open, like the rest of the API is."""
    token: str = request.app.state.settings.metrics_token
    if not token:
        return envelope_error(404, DISABLED)
    if not bearer_matches(request.headers.get("authorization", ""), token):
        response = envelope_error(401, "metrics need Authorization: Bearer <PORTAL_METRICS_TOKEN>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="portal-metrics"'
        return response
    registry: PortalMetrics = request.app.state.metrics
    return await registry.render(request.app.state.db)
