"""Each service's route table and its GET /openapi.json say the same thing: the same paths
and methods, and for each operation the query parameters its route takes.

A route declares its query parameters once, as the ``Query`` its handler is wrapped with
(servicekit/openapi.py): the wrapper refuses any other parameter with a 400 and the
document lists the declaration. The static checks below compare the route table with the
document; the probes then ask the running app: an undocumented parameter is refused, and
each documented one is read (a value its schema forbids is refused for that reason, not
as unknown). The Desk's HTML pages are matched by path and method only: their scripts
read the page's query in the browser and the server ignores it. Static mounts (/css, /js,
/static) and the Portal's sandbox (/sandbox, the vendors' own APIs) are not described.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from servicekit.openapi import NO_QUERY, Param, Query, declared_query
from tests.support.apps import ops_in_process, ops_settings
from tests.support.credentials import KEY
from tests.support.runner import in_process
from tests.test_contract import check_list, table_sql
from vm112_portal import openapi as portal_openapi
from vm112_portal.app import create_app as create_portal
from vm112_portal.settings import Settings as PortalSettings
from vm122_ops.app import create_app as create_ops
from vm122_ops.ingest.session_fold import SESSION_STATUSES
from vm122_ops.routes import openapi as ops_openapi
from vm122_ops.tickets.ticket import (
    ACTIVITY_KINDS,
    ACTOR_KINDS,
    STATUSES,
    TICKET_KINDS,
    TICKET_QUEUES,
)

METHODS = ("get", "post", "put", "patch", "delete")
UNDOCUMENTED = "zz_undocumented"
# Path parameters' values in probes (any well-formed value: the probes stop at 400s).
PATH_VALUES = {"session_id": "s1", "ticket_id": "1"}


@dataclass(frozen=True)
class Operation:
    path: str
    method: str

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


def route_operations(routes: Iterable[BaseRoute]) -> dict[Operation, Any]:
    """Each (path, method) of the app's routes and its endpoint; mounts are left out."""
    found: dict[Operation, Any] = {}
    for route in routes:
        if isinstance(route, Route):
            for method in sorted((route.methods or set()) - {"HEAD"}):
                found[Operation(route.path, method.lower())] = route.endpoint
    return found


def document_operations(document: dict[str, Any]) -> dict[Operation, dict[str, Any]]:
    return {
        Operation(path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def is_page(operation: dict[str, Any]) -> bool:
    """An HTML page (its 200 is text/html), whose query its script reads."""
    ok = operation["responses"].get("200", {})
    return "text/html" in ok.get("content", {})


def documented_query(operation: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in operation.get("parameters", []) if p["in"] == "query"]


def route_problems(routes: Iterable[BaseRoute], document: dict[str, Any]) -> list[str]:
    """What differs between the route table and the document's paths and methods."""
    served, described = route_operations(routes), document_operations(document)
    return [
        *(f"{op}: a route the document does not describe" for op in served if op not in described),
        *(f"{op}: in the document but no route serves it" for op in described if op not in served),
    ]


def query_problems(routes: Iterable[BaseRoute], document: dict[str, Any]) -> list[str]:
    """What differs between each route's declared query parameters and its operation's."""
    problems: list[str] = []
    described = document_operations(document)
    for op, endpoint in route_operations(routes).items():
        operation = described.get(op)
        if operation is None:
            continue  # route_problems says it
        query = declared_query(endpoint)
        documented = documented_query(operation)
        if query is None:
            if not is_page(operation):
                problems.append(f"{op}: its handler declares no Query (wrap it: @Query(...))")
            elif documented:
                problems.append(f"{op}: a page documents query parameters its server ignores")
            continue
        taken, listed = set(query.names), {p["name"] for p in documented}
        problems += [
            f"{op}: the route takes ?{name}= but the document does not list it"
            for name in sorted(taken - listed)
        ]
        problems += [
            f"{op}: the document lists ?{name}= but the route refuses it"
            for name in sorted(listed - taken)
        ]
        if taken == listed and documented != query.parameters():
            problems.append(f"{op}: the document's query parameters are not the route's Query")
    return problems


def ops_app(tmp_path: Path) -> Starlette:
    return create_ops(ops_settings(tmp_path / "ops.db"))


def portal_settings(tmp_path: Path) -> PortalSettings:
    return PortalSettings(
        db_path=tmp_path / "portal.db",
        ops_url="http://ops.test",
        webhook_secret=KEY,
        rate_limits=False,
    )


def portal_app(tmp_path: Path) -> Starlette:
    return create_portal(portal_settings(tmp_path))


SERVICES = [
    pytest.param(ops_app, ops_openapi.DOCUMENT, id="ops"),
    pytest.param(portal_app, portal_openapi.DOCUMENT, id="portal"),
]


@pytest.mark.parametrize(("make_app", "document"), SERVICES)
def test_the_route_table_and_the_document_have_the_same_operations(
    tmp_path: Path, make_app: Any, document: dict[str, Any]
) -> None:
    app = make_app(tmp_path)
    assert route_problems(app.routes, document) == []
    assert len(route_operations(app.routes)) == len(document_operations(document)) > 5


@pytest.mark.parametrize(("make_app", "document"), SERVICES)
def test_each_route_takes_the_query_parameters_documented(
    tmp_path: Path, make_app: Any, document: dict[str, Any]
) -> None:
    app = make_app(tmp_path)
    assert query_problems(app.routes, document) == []


# --- the checks fail when one side changes alone ------------------------------------------


async def _new(request: Request) -> Response:
    return Response()


def test_a_route_added_without_its_operation_is_found(tmp_path: Path) -> None:
    routes = [*ops_app(tmp_path).routes, Route("/api/v1/desk/queues", NO_QUERY(_new))]
    assert route_problems(routes, ops_openapi.DOCUMENT) == [
        "GET /api/v1/desk/queues: a route the document does not describe"
    ]


def test_an_operation_without_its_route_is_found(tmp_path: Path) -> None:
    document = copy.deepcopy(portal_openapi.DOCUMENT)
    document["paths"]["/api/v1/onboarding/mail/readiness"] = {
        "get": {"summary": "new", "responses": {}}
    }
    assert route_problems(portal_app(tmp_path).routes, document) == [
        "GET /api/v1/onboarding/mail/readiness: in the document but no route serves it"
    ]


def test_a_parameter_added_on_one_side_only_is_found(tmp_path: Path) -> None:
    app = ops_app(tmp_path)
    extra = Param("domain", {"type": "string"}, "new")
    # The route takes one more than the document lists.
    routes = [
        Route(r.path, Query(extra)(r.endpoint), methods=["GET"])
        if isinstance(r, Route) and r.path == "/api/v1/desk/agents"
        else r
        for r in app.routes
    ]
    assert query_problems(routes, ops_openapi.DOCUMENT) == [
        "GET /api/v1/desk/agents: the route takes ?domain= but the document does not list it"
    ]
    # The document lists one more than the route takes.
    document = copy.deepcopy(ops_openapi.DOCUMENT)
    document["paths"]["/api/v1/onboard/funnel"]["get"]["parameters"].append(extra.document())
    assert query_problems(app.routes, document) == [
        "GET /api/v1/onboard/funnel: the document lists ?domain= but the route refuses it"
    ]
    # A handler with no declaration at all.
    routes = [
        Route(r.path, _new, methods=["GET"])
        if isinstance(r, Route) and r.path == "/api/v1/desk/alerts"
        else r
        for r in app.routes
    ]
    assert query_problems(routes, ops_openapi.DOCUMENT) == [
        "GET /api/v1/desk/alerts: its handler declares no Query (wrap it: @Query(...))"
    ]


# --- the running apps read exactly the documented parameters ------------------------------


def forbidden_value(schema: dict[str, Any]) -> str:
    """A value ``schema`` does not allow (the parser must refuse it)."""
    if schema.get("type") == "integer":
        return "0" if schema.get("minimum", 0) >= 1 else "x"
    if "enum" in schema:
        return "not-one-of-them"
    if "maxLength" in schema:
        return "x" * (int(schema["maxLength"]) + 1)
    return "!\x01"


def allowed_value(schema: dict[str, Any]) -> str:
    return str(schema["enum"][0]) if "enum" in schema else "x"


def probes(document: dict[str, Any]) -> list[tuple[Operation, str, dict[str, str], str]]:
    """(operation, concrete path, query, what is probed) for every non-page operation:
    an undocumented parameter beside the required ones, then each documented one with a
    forbidden value."""
    found = []
    for op, operation in document_operations(document).items():
        if is_page(operation):
            continue
        path = op.path.format(**PATH_VALUES)
        documented = documented_query(operation)
        required = {p["name"]: allowed_value(p["schema"]) for p in documented if p["required"]}
        found.append((op, path, {**required, UNDOCUMENTED: "1"}, UNDOCUMENTED))
        for param in documented:
            query = {**required, param["name"]: forbidden_value(param["schema"])}
            found.append((op, path, query, param["name"]))
    return found


async def _probe(client: Any, document: dict[str, Any]) -> list[str]:
    problems = []
    for op, path, query, probed in probes(document):
        response = await client.request(op.method.upper(), path, params=query, json={})
        error = response.json().get("error", "") if response.status_code == 400 else ""
        refused_as_unknown = error.startswith("unknown query parameter")
        if probed == UNDOCUMENTED and not (refused_as_unknown and UNDOCUMENTED in error):
            problems.append(f"{op}: ?{UNDOCUMENTED}= answered {response.status_code} {error}")
        if probed != UNDOCUMENTED and (response.status_code != 400 or refused_as_unknown):
            problems.append(
                f"{op}: ?{probed}={query[probed]!r} answered {response.status_code} "
                f"{error or '(not refused: the route does not read it)'}"
            )
    return problems


async def test_ops_reads_exactly_the_documented_query_parameters(tmp_path: Path) -> None:
    async with ops_in_process(tmp_path / "ops.db") as ops:
        assert await _probe(ops.client, ops_openapi.DOCUMENT) == []
    assert len(probes(ops_openapi.DOCUMENT)) > 40


async def test_the_portal_reads_exactly_the_documented_query_parameters(
    tmp_path: Path,
) -> None:
    async with in_process(portal_app(tmp_path)) as portal:
        assert await _probe(portal.client, portal_openapi.DOCUMENT) == []


# --- the documents' enums are what the store allows ---------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "values"),
    [
        ("onboard_sessions", "status", SESSION_STATUSES),
        ("tickets", "status", STATUSES),
        ("tickets", "kind", TICKET_KINDS),
        ("tickets", "queue", TICKET_QUEUES),
        ("ticket_activity", "kind", ACTIVITY_KINDS),
        ("ticket_activity", "actor_kind", ACTOR_KINDS),
    ],
)
async def test_an_answers_enum_is_the_stores_check(
    table: str, column: str, values: tuple[str, ...]
) -> None:
    """Answers give these columns as stored: the constants Ops' document enumerates are
    the values the schema's CHECK allows (a migration widening one fails here)."""
    assert set(check_list(await table_sql("ops", table), column)) == set(values)
