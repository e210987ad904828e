"""The one JSON envelope of every answer: {"ok": true, ...} or {"ok": false, "error", "status"}."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(http_status: int = 200, /, **fields: Any) -> JSONResponse:
    return JSONResponse({"ok": True, **fields}, status_code=http_status)


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        {"ok": False, "error": message, "status": status}, status_code=status, headers=headers
    )
