"""What both OpenAPI documents share: the envelope's schemas, and the endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

ENVELOPE_SCHEMAS: dict[str, Any] = {
    "Ok": {
        "type": "object",
        "required": ["ok"],
        "properties": {"ok": {"type": "boolean", "enum": [True]}},
    },
    "Error": {
        "type": "object",
        "required": ["ok", "error", "status"],
        "properties": {
            "ok": {"type": "boolean", "enum": [False]},
            "error": {"type": "string"},
            "status": {"type": "integer"},
        },
    },
}


def document_endpoint(document: dict[str, Any]) -> Callable[[Request], Awaitable[Response]]:
    """GET /openapi.json: ``document`` serialised once."""
    body = orjson.dumps(document)

    async def endpoint(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return endpoint
