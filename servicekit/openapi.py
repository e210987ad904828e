"""What both OpenAPI documents share: the envelope's schemas, the helpers that write an
operation, each route's one declaration of its query parameters, and the endpoint.

A route's ``Query`` is the only list of the query parameters it takes: its handler is
wrapped by it (``@QUERY``), which refuses any other parameter with a 400 before the
handler runs, and the document lists ``QUERY.parameters()`` for its operation;
tests/test_openapi.py holds each route of the app to its operation in the document.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from servicekit.errors import BadRequest

Endpoint = Callable[[Request], Awaitable[Response]]

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
            # A stable name of the refusal, when the service gives one (RequestError.code).
            "code": {"type": "string"},
        },
    },
}

# JSON Schema pieces the answers of both services use.
TIME = {"type": "string", "format": "date-time"}
COUNT = {"type": "integer", "minimum": 0}


def nullable(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` or null (OpenAPI 3.0 spells it ``nullable``)."""
    return {**schema, "nullable": True}


def enum(values: Any, *, null: bool = False) -> dict[str, Any]:
    """A string among ``values`` (the code's own tuple or Literal's arguments)."""
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    return nullable(schema) if null else schema


def obj(
    properties: Mapping[str, Any],
    *,
    optional: Mapping[str, Any] | None = None,
    closed: bool = True,
) -> dict[str, Any]:
    """An object whose ``properties`` are always present and ``optional`` ones may be;
    ``closed``: no other field (an answer's new field must be documented here)."""
    schema: dict[str, Any] = {
        "type": "object",
        "required": list(properties),
        "properties": {**properties, **(optional or {})},
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def map_of(keys: Any, value: Mapping[str, Any]) -> dict[str, Any]:
    """An object with exactly the keys ``keys`` (e.g. the funnel's stages), each ``value``."""
    return obj({key: value for key in keys})


def ok_answer(properties: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A success answer: the envelope's ``ok: true`` and ``properties`` (see ``obj``)."""
    return obj({"ok": {"type": "boolean", "enum": [True]}, **properties}, **kwargs)


def json_response(schema: Mapping[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@dataclass(frozen=True, slots=True)
class Param:
    """One query parameter: its name, JSON Schema and meaning."""

    name: str
    schema: Mapping[str, Any]
    description: str
    required: bool = False

    def document(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "in": "query",
            "required": self.required,
            "schema": dict(self.schema),
            "description": self.description,
        }


class Query:
    """The query parameters one route takes, declared once.

    Used as a decorator on the route's handler: a request with any other parameter is
    refused with 400 ("unknown query parameter: ...") before the handler runs (a typo
    such as ``?domain=`` must not silently widen an answer), and the document lists
    ``parameters()``; the handler reads only these names.
    """

    def __init__(self, *params: Param) -> None:
        names = [param.name for param in params]
        if len(set(names)) != len(names):
            raise ValueError(f"a query parameter declared twice: {names}")
        self.params = params
        self.names = frozenset(names)

    def __add__(self, other: Query) -> Query:
        return Query(*self.params, *other.params)

    def without(self, *names: str) -> Query:
        return Query(*(param for param in self.params if param.name not in names))

    def parameters(self) -> list[dict[str, Any]]:
        """The document's ``parameters`` entries."""
        return [param.document() for param in self.params]

    def refuse_others(self, request: Request) -> None:
        unknown = sorted(set(request.query_params) - self.names)
        if unknown:
            raise BadRequest(f"unknown query parameter: {', '.join(unknown)}")

    def __call__(self, endpoint: Endpoint) -> Endpoint:
        @functools.wraps(endpoint)
        async def checked(request: Request) -> Response:
            self.refuse_others(request)
            return await endpoint(request)

        checked.query = self  # type: ignore[attr-defined]
        return checked


NO_QUERY = Query()


def declared_query(endpoint: object) -> Query | None:
    """The Query a handler was wrapped with, or None."""
    query = getattr(endpoint, "query", None)
    return query if isinstance(query, Query) else None


def document_endpoint(document: dict[str, Any]) -> Endpoint:
    """GET /openapi.json: ``document`` serialised once."""
    body = orjson.dumps(document)

    @NO_QUERY
    async def endpoint(request: Request) -> Response:
        return Response(body, media_type="application/json")

    return endpoint
