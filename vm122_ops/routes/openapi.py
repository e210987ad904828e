"""GET /openapi.json: the Ops API described by hand (OpenAPI 3.0), open to all.

Written out here rather than generated, so it says what the contract says
(docs/webhook-funnel-events.md, docs/desk.md); tests/reliability runs schemathesis
against it. It holds no data and no secret.
"""

from __future__ import annotations

from typing import Any

from servicekit.contract import EVENT_TYPES, MAIL_ITEMS, MAIL_STATUSES, SESSION_ID_SCHEMA, STAGES
from servicekit.openapi import ENVELOPE_SCHEMAS, document_endpoint
from vm122_ops.funnel.cohort import COHORT_STATES
from vm122_ops.funnel.failure_codes import MAX_CODE
from vm122_ops.tickets.ticket import QUEUES, STATUSES
from vm122_ops.tickets.work import MAX_NOTE, MAX_TAGS


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Ok"}}},
    }


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _header(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "schema": schema}


_UNAUTHORIZED = _error("no valid operator token or Desk session")
# The drill-down's failure code (vm122_ops/funnel/failure_codes.py): only with state=failed; no
# control
# character, no surrounding space.
_CODE_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"
_CODE = _query(
    "code",
    {"type": "string", "minLength": 1, "maxLength": MAX_CODE, "pattern": _CODE_PATTERN},
    "with state=failed: the sessions whose last failure had this code, as "
    "/api/v1/onboard/failures gives codes (`unspecified`: failures without one)",
)
_PAGE = {
    "200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}},
    "303": {"description": "not logged in: to /login?next=..."},
}
_SESSION_ID = {"type": "string", "pattern": SESSION_ID_SCHEMA}
_TICKET_ID = {"type": "string", "pattern": "^[0-9]{1,18}$"}
_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "enum": list(STATUSES)},
        "assignee": {"type": "string", "nullable": True},
        "tags": {
            "type": "array",
            "maxItems": MAX_TAGS,
            "items": {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"},
        },
    },
}
_NOTE = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE}},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "vm122 Ops",
        "version": "1",
        "description": "Signed onboarding webhooks in; funnel, timelines, tickets and the "
        "Desk out. See docs/webhook-funnel-events.md and docs/desk.md.",
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "desk": {"type": "apiKey", "in": "cookie", "name": "ops_desk"},
        },
        "schemas": {
            **ENVELOPE_SCHEMAS,
            "Event": {
                "type": "object",
                "required": ["type", "timestamp", "data"],
                "properties": {
                    "type": {
                        "type": "string",
                        "enum": list(EVENT_TYPES),
                    },
                    "timestamp": {"type": "string", "format": "date-time"},
                    "data": {
                        "type": "object",
                        "required": ["session_id", "domain"],
                        "properties": {
                            "session_id": _SESSION_ID,
                            "domain": {"type": "string", "maxLength": 253},
                            # Who to contact, from the account step on (issue 12).
                            "contact": {"type": "string", "maxLength": 254},
                            # mail.checked only (required there): the domain's mail.
                            "ready": {"type": "boolean"},
                            "items": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/MailItem"},
                            },
                            "changed_from": {"type": "object", "nullable": True},
                        },
                    },
                },
            },
            "MailItem": {
                "type": "object",
                "required": ["name", "status"],
                "properties": {
                    "name": {"type": "string", "enum": list(MAIL_ITEMS)},
                    "status": {"type": "string", "enum": list(MAIL_STATUSES)},
                    "code": {"type": "string"},
                },
            },
        },
    },
    "security": [{"bearer": []}, {"desk": []}],
    "paths": {
        "/healthz": {
            "get": {
                "summary": "whether the database answers",
                "security": [],
                "responses": {"200": _ok("the database answers"), "503": _error("it does not")},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "this document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "OpenAPI 3.0",
                        "content": {"application/json": {"schema": {}}},
                    }
                },
            }
        },
        "/api/v1/webhooks/onboard": {
            "post": {
                "summary": "ingest one signed onboarding event (Standard Webhooks)",
                "security": [],
                "parameters": [
                    _header("webhook-id", {"type": "string", "minLength": 1, "maxLength": 255}),
                    _header("webhook-timestamp", {"type": "string", "pattern": "^[0-9]{1,12}$"}),
                    _header("webhook-signature", {"type": "string"}),
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Event"}}
                    },
                },
                "responses": {
                    "202": _ok("stored and durable"),
                    "200": _ok("this webhook-id is already stored"),
                    "400": _error("not JSON or not UTF-8"),
                    "401": _error("signature missing, malformed, wrong or outside the tolerance"),
                    "413": _error("body over 64 KiB"),
                    "415": _error("not application/json"),
                    "422": _error("breaks the event contract"),
                    "503": _error("the store cannot be written; retry"),
                },
            }
        },
        "/api/v1/onboard/funnel": {
            "get": {
                "summary": "the onboarding funnel of the last N hours",
                "parameters": [
                    _query(
                        "hours",
                        {"type": "integer", "minimum": 1, "maximum": 720},
                        "window in hours (default OPS_WINDOW_HOURS)",
                    )
                ],
                "responses": {
                    "200": _ok("the funnel"),
                    "400": _error("bad hours"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/paces": {
            "get": {
                "summary": "each step's usual pace (p90, 7 days) and when a session is stuck",
                "responses": {
                    "200": _ok(
                        "steps: [{stage, to, p90_seconds (null: none in 7 days), "
                        "stuck_after_seconds}], abandon_after_seconds"
                    ),
                    "400": _error("any query parameter"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/trend": {
            "get": {
                "summary": "conversion over time: per hour (up to 72 h) or day (above)",
                "parameters": [
                    _query(
                        "hours",
                        {"type": "integer", "minimum": 1, "maximum": 2160},
                        "range in hours (default OPS_WINDOW_HOURS)",
                    )
                ],
                "responses": {
                    "200": _ok("{period, periods: [{start, entered, completed, failed, ...}]}"),
                    "400": _error("bad hours or unknown parameter"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/funnel/sessions.csv": {
            "get": {
                "summary": "the drill-down list as CSV (same filters, every page)",
                "parameters": [
                    _query("hours", {"type": "integer", "minimum": 1, "maximum": 720}, "window"),
                    {
                        "name": "state",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "enum": list(COHORT_STATES)},
                    },
                    _query("stage", {"type": "string", "enum": list(STAGES)}, "a funnel stage"),
                    _CODE,
                ],
                "responses": {
                    "200": {"description": "text/csv; charset=utf-8"},
                    "400": _error("bad hours, stage, state, code or unknown parameter"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/trend.csv": {
            "get": {
                "summary": "the conversion trend's table as CSV",
                "parameters": [
                    _query("hours", {"type": "integer", "minimum": 1, "maximum": 2160}, "range")
                ],
                "responses": {
                    "200": {"description": "text/csv; charset=utf-8"},
                    "400": _error("bad hours or unknown parameter"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/funnel/sessions": {
            "get": {
                "summary": "the funnel cohort's sessions that stopped at a stage in a state",
                "parameters": [
                    _query(
                        "hours",
                        {"type": "integer", "minimum": 1, "maximum": 720},
                        "window in hours (default OPS_WINDOW_HOURS)",
                    ),
                    {
                        "name": "state",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "enum": list(COHORT_STATES)},
                        "description": "moving, stuck, abandoned, failed or completed",
                    },
                    _query("stage", {"type": "string", "enum": list(STAGES)}, "a funnel stage"),
                    _CODE,
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size"),
                    _query("cursor", {"type": "string"}, "the previous page's next"),
                ],
                "responses": {
                    "200": _ok("{items, next, total}: newest activity first; items carry contact"),
                    "400": _error(
                        "bad hours, stage, state, code, limit, cursor or unknown parameter"
                    ),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/failures": {
            "get": {
                "summary": "failures of the last N hours by the step that failed and code",
                "parameters": [
                    _query(
                        "hours",
                        {"type": "integer", "minimum": 1, "maximum": 720},
                        "window in hours (default OPS_WINDOW_HOURS)",
                    )
                ],
                "responses": {
                    "200": _ok("failures per step: code, count, last_seen, example_reason"),
                    "400": _error("bad hours"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/mail": {
            "get": {
                "summary": "the window's completed sessions by mail readiness, and those not ready",
                "parameters": [
                    _query(
                        "hours",
                        {"type": "integer", "minimum": 1, "maximum": 720},
                        "window in hours (default OPS_WINDOW_HOURS)",
                    )
                ],
                "responses": {
                    "200": _ok(
                        "completed, mail_ready, mail_not_ready, unchecked, and the sessions "
                        "not ready: missing items, not_ready_since, waiting_seconds"
                    ),
                    "400": _error("bad hours"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/onboard/sessions/{session_id}/timeline": {
            "get": {
                "summary": "one session's events in event-time order",
                "parameters": [
                    {"name": "session_id", "in": "path", "required": True, "schema": _SESSION_ID}
                ],
                "responses": {
                    "200": _ok("{session_id, domain, status, stage, contact, events}"),
                    "400": _error("bad session id"),
                    "401": _UNAUTHORIZED,
                    "404": _error("unknown session"),
                },
            }
        },
        "/api/v1/desk/alerts": {
            "get": {
                "summary": "what is wrong now: the Desk banner's conditions and their sessions",
                "responses": {
                    "200": _ok("the conditions that hold (none: an empty list)"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/desk/tickets": {
            "get": {
                "summary": "tickets, newest updated first, paginated, with counts per queue",
                "parameters": [
                    _query(
                        "queue",
                        {"type": "string", "enum": list(QUEUES)},
                        "needs_action, handover or all (the default; docs/desk.md, Queues)",
                    ),
                    _query("status", {"type": "string", "enum": list(STATUSES)}, "filter"),
                    _query("tag", {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}, "filter"),
                    _query("session_id", _SESSION_ID, "filter"),
                    _query(
                        "assignee",
                        {"type": "string", "pattern": "^(me|none|[a-z0-9][a-z0-9._-]{0,63})$"},
                        "me (a session's own account), none (unassigned) or an account name",
                    ),
                    _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "page size"),
                    _query("cursor", {"type": "string"}, "the previous page's next"),
                ],
                "responses": {
                    "200": _ok("a page of tickets"),
                    "400": _error("bad filter"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/desk/tickets.csv": {
            "get": {
                "summary": "the ticket list as CSV (same filters, every page)",
                "parameters": [
                    _query("status", {"type": "string", "enum": list(STATUSES)}, "filter"),
                    _query("tag", {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}, "filter"),
                    _query("session_id", _SESSION_ID, "filter"),
                    _query(
                        "assignee",
                        {"type": "string", "pattern": "^(me|none|[a-z0-9][a-z0-9._-]{0,63})$"},
                        "me (a session's own account), none (unassigned) or an account name",
                    ),
                ],
                "responses": {
                    "200": {"description": "text/csv; charset=utf-8"},
                    "400": _error("bad filter or unknown parameter (limit, cursor included)"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/desk/tickets/bulk": {
            "post": {
                "summary": "one status and/or assignee for several tickets, each at its version",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["tickets"],
                                "additionalProperties": False,
                                "properties": {
                                    "tickets": {
                                        "type": "array",
                                        "minItems": 1,
                                        "maxItems": 200,
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "version"],
                                            "properties": {
                                                "id": {"type": "integer", "minimum": 1},
                                                "version": {"type": "integer", "minimum": 1},
                                            },
                                        },
                                    },
                                    "status": {"type": "string", "enum": list(STATUSES)},
                                    "assignee": {"type": "string", "nullable": True},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _ok(
                        "results: per ticket its outcome (changed, unchanged, conflict, "
                        "refused with a reason, not_found)"
                    ),
                    "400": _error("bad body"),
                    "401": _UNAUTHORIZED,
                    "403": _error("a change from another site, with the session cookie"),
                    "415": _error("not JSON"),
                    "422": _error("an unknown status"),
                },
            }
        },
        "/api/v1/desk/sessions/{session_id}/take": {
            "post": {
                "summary": "take a session: its ticket as a follow-up assigned to you",
                "parameters": [
                    {"name": "session_id", "in": "path", "required": True, "schema": _SESSION_ID}
                ],
                "responses": {
                    "200": _ok("the ticket and the new timeline entries"),
                    "400": _error("bad session id, or the API token (no person to assign)"),
                    "401": _UNAUTHORIZED,
                    "403": _error("a change from another site, with the session cookie"),
                    "404": _error("unknown session"),
                },
            }
        },
        "/api/v1/desk/tickets/{ticket_id}": {
            "get": {
                "summary": "one ticket with its timeline",
                "parameters": [
                    {"name": "ticket_id", "in": "path", "required": True, "schema": _TICKET_ID}
                ],
                "responses": {
                    "200": _ok("the ticket; ETag is its version"),
                    "400": _error("bad id"),
                    "401": _UNAUTHORIZED,
                    "404": _error("unknown ticket"),
                },
            },
            "patch": {
                "summary": "change status, assignee, tags at the version seen (docs/desk.md)",
                "parameters": [
                    {"name": "ticket_id", "in": "path", "required": True, "schema": _TICKET_ID},
                    {
                        "name": "If-Match",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": 'the ticket\'s ETag, like "3" (or the version field)',
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _PATCH}},
                },
                "responses": {
                    "200": _ok("the ticket and the new timeline entries"),
                    "400": _error("bad id, body or If-Match"),
                    "401": _UNAUTHORIZED,
                    "403": _error("a change from another site, with the session cookie"),
                    "404": _error("unknown ticket"),
                    "409": _error("stale version: the body holds the current ticket"),
                    "413": _error("body too large"),
                    "415": _error("not JSON"),
                    "422": _error("a transition off the path, an unknown assignee, bad tags"),
                    "428": _error("no version given"),
                },
            },
        },
        "/api/v1/desk/tickets/{ticket_id}/notes": {
            "post": {
                "summary": "add an internal note (plain text, line breaks kept, 1-4000)",
                "parameters": [
                    {"name": "ticket_id", "in": "path", "required": True, "schema": _TICKET_ID}
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _NOTE}},
                },
                "responses": {
                    "201": _ok("the ticket and the note's timeline entry"),
                    "400": _error("bad id or body"),
                    "401": _UNAUTHORIZED,
                    "403": _error("a note from another site, with the session cookie"),
                    "404": _error("unknown ticket"),
                    "413": _error("body too large"),
                    "415": _error("not JSON"),
                    "422": _error("empty, too long, or control characters"),
                },
            }
        },
        "/api/v1/desk/agents": {
            "get": {
                "summary": "the enabled accounts a ticket can be assigned to, and who asks",
                "responses": {"200": _ok("agents and me"), "401": _UNAUTHORIZED},
            }
        },
        "/api/v1/stream": {
            "get": {
                "summary": "the Desk's Server-Sent Events (endless)",
                "parameters": [
                    _query(
                        "last_event_id",
                        {"type": "string", "pattern": "^[0-9]{1,18}$"},
                        "resume after this id",
                    ),
                    _query("session_id", _SESSION_ID, "only this session"),
                    _query("ticket_id", _TICKET_ID, "only this ticket's session"),
                    _query(
                        "hours", {"type": "integer", "minimum": 1, "maximum": 720}, "funnel window"
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "the stream",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    "400": _error("bad parameter"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/": {"get": {"summary": "the Desk dashboard", "responses": _PAGE}},
        "/tickets": {"get": {"summary": "the tickets list page", "responses": _PAGE}},
        "/tickets/{ticket_id}": {
            "get": {
                "summary": "one ticket's page",
                "parameters": [
                    {
                        "name": "ticket_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": _PAGE,
            }
        },
        "/sessions/{session_id}": {
            "get": {
                "summary": "one session's page",
                "parameters": [
                    {
                        "name": "session_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": _PAGE,
            }
        },
        "/search": {"get": {"summary": "the Desk's search results page", "responses": _PAGE}},
        "/api/v1/desk/search": {
            "get": {
                "summary": "sessions by domain prefix (Unicode or ASCII form), id or ticket",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 253},
                        "description": "a domain or its start, a session id, a ticket number",
                    }
                ],
                "responses": {
                    "200": _ok("{q, items}: at most 20 sessions, exact matches first"),
                    "400": _error("missing, too long or invisible characters in q"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/api/v1/desk/search.csv": {
            "get": {
                "summary": "the search results as CSV",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 253},
                        "description": "a domain or its start, a session id, a ticket number",
                    }
                ],
                "responses": {
                    "200": {"description": "text/csv; charset=utf-8"},
                    "400": _error("missing, too long or invisible characters in q"),
                    "401": _UNAUTHORIZED,
                },
            }
        },
        "/funnel/sessions": {
            "get": {
                "summary": "a funnel count's sessions (the drill-down page)",
                "responses": _PAGE,
            }
        },
        "/login": {
            "get": {
                "summary": "the login form",
                "security": [],
                "responses": {
                    "200": {
                        "description": "the form",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            },
            "post": {
                "summary": "log in with an account's name and password (form post)",
                "security": [],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "password": {"type": "string"},
                                    "next": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "303": {"description": "to next, or back to /login?error=..."},
                    "400": _error("not a form"),
                    "403": _error("posted from another site"),
                    "413": _error("form too large"),
                },
            },
        },
        "/logout": {
            "post": {
                "summary": "end the Desk session (server-side) and close its streams",
                "security": [],
                "responses": {
                    "303": {"description": "to /login"},
                    "403": _error("posted from another site"),
                },
            }
        },
    },
}
_THROTTLED = _error("too many failed authentications from this address (Retry-After)")
for _operations in DOCUMENT["paths"].values():
    for _operation in _operations.values():
        if "401" in _operation["responses"]:
            _operation["responses"]["429"] = _THROTTLED
endpoint = document_endpoint(DOCUMENT)
