"""The one JSON envelope of every answer, and the exception handlers that use it.

``{"ok": true, ...}`` on success; ``{"ok": false, "error": "...", "status": N}`` on
every error, whichever layer raised it: a RequestError of ours, Starlette's own 404/405,
a storage failure (503) or a bug (500, its traceback only in the log). A request whose
client hung up before its body was read is recorded as 499 (below), not as a bug.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ExceptionHandler

from servicekit.errors import RequestError, StorageUnavailable


class JSONResponse(Response):
    """JSON rendered by orjson (UTF-8, no spaces)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# nginx's "client closed request" (NGX_HTTP_CLIENT_CLOSED_REQUEST, src/http/ngx_http_request.h):
# the status logged for a request whose client went away before it was answered. uvicorn's
# receive() answers http.disconnect once the connection is gone, even with the body
# buffered (uvicorn/protocols/http/httptools_impl.py), and Starlette's Request.stream()
# then raises ClientDisconnect: a sender that timed out while its request waited, not a bug.
CLIENT_CLOSED_REQUEST = 499


def ok(http_status: int = 200, /, **fields: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **fields}, status_code=http_status)


def ok_body(**fields: Any) -> bytes:
    """The bytes ``ok(**fields)`` answers with, for an answer rendered ahead of time."""
    return orjson.dumps({"ok": True, **fields})


def rendered(body: bytes, http_status: int = 200) -> Response:
    """An answer whose JSON body is already rendered (``ok_body``): the same status and
    headers as ``ok``."""
    return Response(body, status_code=http_status, media_type=JSONResponse.media_type)


def error(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error": message, "status": status}
    if code is not None:
        body["code"] = code  # a stable name of the refusal (RequestError.code)
    return JSONResponse(body, status_code=status, headers=headers)


def exception_handlers(
    log: logging.Logger,
    *,
    storage_message: str,
    storage_headers: Mapping[str, str] | None = None,
    http_messages: Mapping[int, str] | None = None,
) -> dict[Any, ExceptionHandler]:
    """Starlette's ``exception_handlers``: every error answered with the envelope.

    ``storage_message`` (and ``storage_headers``, e.g. Retry-After) answer a
    StorageUnavailable; ``http_messages`` replace Starlette's own sentence for a status
    (e.g. 404 "no such endpoint"), else its detail is said.
    """
    messages = dict(http_messages or {})

    async def request_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestError)
        return error(exc.status, exc.message, exc.headers, code=exc.code)

    async def storage_unavailable(request: Request, exc: Exception) -> Response:
        log.error("storage unavailable: %s", exc)
        return error(503, storage_message, storage_headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        message = messages.get(exc.status_code, str(exc.detail))
        return error(exc.status_code, message, exc.headers)

    async def client_gone(request: Request, exc: Exception) -> Response:
        # Nobody reads this answer (uvicorn drops what is sent to a closed connection);
        # its status is what the access log records. Nothing was stored: the body was
        # never read, and the sender retries.
        return error(CLIENT_CLOSED_REQUEST, "the client closed the request")

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error(500, "internal error")

    return {
        RequestError: request_error,
        StorageUnavailable: storage_unavailable,
        HTTPException: http_error,
        ClientDisconnect: client_gone,
        Exception: unexpected,
    }
