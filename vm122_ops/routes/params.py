"""What the routes take from a request's query and path, each parsed or refused with a
400 (never a 5xx). Shared by the route modules, which never import each other; the
bounded body reader is servicekit.body.

The ``Param`` declarations below are the query parameters several routes share; each
route's ``Query`` (in its route module) names the ones it takes, refuses any other, and is
what GET /openapi.json lists for it (servicekit/openapi.py)."""

from __future__ import annotations

from starlette.requests import Request

from servicekit.contract import SESSION_ID_SCHEMA
from servicekit.openapi import Param
from vm122_ops.errors import BadRequest
from vm122_ops.ingest.events import SESSION_ID

MAX_WINDOW_HOURS = 720
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_MAX_DIGITS = 18  # any bound a route takes fits; every longer number is out of range

HOURS = Param(
    "hours",
    {"type": "integer", "minimum": 1, "maximum": MAX_WINDOW_HOURS},
    "window in hours (default OPS_WINDOW_HOURS)",
)
LIMIT = Param(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
    f"page size (default {DEFAULT_LIMIT})",
)
CURSOR = Param("cursor", {"type": "string"}, "the previous page's next")
SESSION_ID_PATTERN = {"type": "string", "pattern": SESSION_ID_SCHEMA}


def whole_number(raw: str, high: int) -> int | None:
    """``raw`` as a whole number from 1 to ``high``; None when it is anything else. The
    digits are counted first: past 4,300 digits int() raises ValueError (CPython's limit
    on converting a string), which would be a 500 instead of the caller's 400."""
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_DIGITS:
        return None
    value = int(raw)
    return value if 1 <= value <= high else None


def limit(request: Request) -> int:
    """?limit=: a page's size, 1-200 (default 50)."""
    value = whole_number(request.query_params.get("limit", str(DEFAULT_LIMIT)), MAX_LIMIT)
    if value is None:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return value


def window_hours(request: Request, default: int) -> int:
    """?hours=: the funnel window, 1-720 hours; ``default`` when absent."""
    raw = request.query_params.get("hours")
    if raw is None:
        return default
    value = whole_number(raw, MAX_WINDOW_HOURS)
    if value is None:
        raise BadRequest(f"hours must be a whole number from 1 to {MAX_WINDOW_HOURS}")
    return value


def session_id(raw: str) -> str:
    """A session id (a path or query parameter)."""
    if not SESSION_ID.match(raw):
        raise BadRequest("session_id must be 1-128 characters of A-Z a-z 0-9 _ -")
    return raw


def optional_session_id(raw: str | None) -> str | None:
    """An optional ?session_id= filter; None when absent or empty."""
    return session_id(raw) if raw else None
