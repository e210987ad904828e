"""GET /openapi.json: the Ops API described by hand (OpenAPI 3.0), open to all.

Written out here rather than generated, so it says what the contract says
(docs/webhook-funnel-events.md, docs/desk.md); each answer's schema is built from the
constants the code answers with (stages, event types, states, statuses), and each
operation's query parameters are its route's own ``Query`` (servicekit/openapi.py).
tests/test_openapi.py holds the route table to the paths here; tests/reliability runs
schemathesis against it with real bodies. It holds no data and no secret.
"""

from __future__ import annotations

from typing import Any, get_args

from servicekit.contract import (
    BREAKDOWNS,
    DNS_MODES,
    EVENT_TYPES,
    LANGUAGES,
    MAIL_ITEMS,
    MAIL_STATUSES,
    PREVIOUS_PROVIDERS,
    REFERENCE_SCHEMA,
    RELEASE_SCHEMA,
    SESSION_ID_SCHEMA,
    STAGES,
)
from servicekit.openapi import (
    COUNT,
    ENVELOPE_SCHEMAS,
    NO_QUERY,
    TIME,
    Query,
    document_endpoint,
    enum,
    json_response,
    map_of,
    nullable,
    obj,
    ok_answer,
)
from vm122_ops.desk.banner_conditions import Kind
from vm122_ops.funnel.breakdowns import GROUP_KINDS
from vm122_ops.funnel.cohort import COHORT_STATES
from vm122_ops.funnel.session_states import STATES
from vm122_ops.funnel.trend import PERIODS
from vm122_ops.ingest.session_fold import SHOWN_STATUSES
from vm122_ops.routes import breakdowns, desk, onboard, search, stream
from vm122_ops.tickets.search import MATCHED
from vm122_ops.tickets.ticket import (
    ACTIVITY_KINDS,
    ACTOR_KINDS,
    FAILURE_KINDS,
    NOTE_KINDS,
    QUEUES,
    STATUSES,
    TICKET_KINDS,
    TICKET_QUEUES,
)
from vm122_ops.tickets.work import MAX_NOTE, MAX_TAGS


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _computed_at(until: str) -> dict[str, Any]:
    """``generated_at`` of a kept answer, served unchanged until new data or ``until``."""
    return {
        **TIME,
        "description": "when this answer was computed; a kept answer is served unchanged "
        f"until new data or {until}",
    }


# A kept answer's moment: the window ends there (``since`` is it minus the window's hours).
_COMPUTED_AT = _computed_at("the next moment a session changes state")
# The trend and its split: the same periods and open flags until one of these.
_TREND_COMPUTED_AT = _computed_at(
    "the next moment its periods move (an hour, or a day for daily periods) or one closes"
)
_FAILURES_COMPUTED_AT = _computed_at("the window's start passing the next hour")


def _error(description: str) -> dict[str, Any]:
    return json_response(_ref("Error"), description)


def _answer(name: str, description: str) -> dict[str, Any]:
    return json_response(_ref(name), description)


def _path(name: str, schema: dict[str, Any], example: str | None = None) -> dict[str, Any]:
    parameter = {"name": name, "in": "path", "required": True, "schema": schema}
    if example is not None:
        parameter["example"] = example
    return parameter


# Request examples: tests/reliability/test_schemathesis.py stores this session's failure
# (its ticket is the second one) and changes the ticket once before the run, so each
# example is answered with a real body.
EXAMPLES: dict[str, Any] = {
    "session_id": "wizard-42",
    "ticket_id": "2",
    "patch": {"version": 2, "status": "resolved"},
    "note": {"text": "Called the customer: the DNS host is fixed."},
    "bulk": {"tickets": [{"id": 1, "version": 2}], "status": "pending"},
}


def _header(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "schema": schema}


def _get(
    summary: str,
    query: Query,
    responses: dict[str, Any],
    *,
    parameters: tuple[dict[str, Any], ...] = (),
    **extra: Any,
) -> dict[str, Any]:
    """One GET operation: its path parameters, then ``query``'s (the route's own)."""
    return {
        "get": {
            "summary": summary,
            "parameters": [*parameters, *query.parameters()],
            "responses": responses,
            **extra,
        }
    }


_UNAUTHORIZED = _error("no valid operator token or Desk session")
_PAGE = {
    "200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}},
    "303": {"description": "not logged in: to /login?next=..."},
}
_CSV = {
    "description": "CSV (RFC 4180), UTF-8, a header row first",
    "content": {"text/csv": {"schema": {"type": "string"}}},
    "headers": {
        "Content-Disposition": {
            "description": 'a download: attachment; filename="....csv"',
            "required": True,
            "schema": {"type": "string", "pattern": '^attachment; filename="[a-z-]+\\.csv"$'},
        }
    },
}
_ETAG = {
    "ETag": {
        "description": 'the ticket\'s version, quoted: "3"',
        "required": True,
        "schema": {"type": "string", "pattern": '^"[0-9]+"$'},
    }
}
_SESSION_ID = {"type": "string", "pattern": SESSION_ID_SCHEMA}
_TICKET_ID = {"type": "string", "pattern": "^[0-9]{1,18}$"}
_ID = {"type": "integer", "minimum": 1}
_STAGE = enum(STAGES)
_STAGE_OR_NONE = enum(("none", *STAGES))  # "none": failed before reaching a stage
_RATIO = nullable({"type": "number", "minimum": 0})
_SECONDS = {"type": "number", "minimum": 0}
_TAG = {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}
_PATCH = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": {"type": "integer", "minimum": 1},
        "status": enum(STATUSES),
        "assignee": {"type": "string", "nullable": True},
        "tags": {"type": "array", "maxItems": MAX_TAGS, "items": _TAG},
    },
}
_NOTE = {
    "type": "object",
    "required": ["text"],
    "additionalProperties": False,
    "properties": {"text": {"type": "string", "minLength": 1, "maxLength": MAX_NOTE}},
}
# An event's data as stored (the contract's fields and any the sender added); a ticket's
# copy of a large one is {"_truncated": true, "_bytes": N, "preview": "..."}.
_DATA = {"type": "object"}
_CONVERSION = obj({"of_started": _RATIO, "of_previous": _RATIO})
_FIGURES = {
    "cohort": COUNT,
    "stages": map_of(STAGES, COUNT),
    "failed": COUNT,
    # Cohort sessions whose attempts were all refused (in stages.started, not in the
    # conversion's denominator): docs/webhook-funnel-events.md, "Refused attempts".
    "refused": COUNT,
}
# A breakdown group's (and its total's) funnel figures (vm122_ops/funnel/breakdowns.py).
_SPLIT_FIGURES = {
    **_FIGURES,
    "completed": COUNT,
    "conversion": map_of(STAGES, _CONVERSION),
}
# Which group of a split: a value (its name), the other values summed, or unknown (null).
_GROUP = {
    "value": nullable({"type": "string", "minLength": 1, "maxLength": 32}),
    "kind": enum(GROUP_KINDS),
    "values": COUNT,
}
_PERIOD = obj(
    {
        "start": TIME,
        "entered": COUNT,
        "completed": COUNT,
        "failed": COUNT,
        # Refused attempts among those entered: not in the conversion's denominator.
        "refused": COUNT,
        "conversion": _RATIO,
        "open": {"type": "boolean"},
    }
)

# A session's support reference (servicekit.contract.REFERENCE), null when it has none.
_REFERENCE = nullable({"type": "string", "pattern": REFERENCE_SCHEMA})

# The fields of a ticket in every view (vm122_ops/tickets.py, TicketSummary.document).
_TICKET_SUMMARY = {
    "id": _ID,
    "session_id": _SESSION_ID,
    "domain": {"type": "string"},
    "status": enum(STATUSES),
    # `refused`: active in the store, its attempts all refused.
    "session_status": enum(SHOWN_STATUSES),
    "stage": enum(STAGES, null=True),
    "tags": {"type": "array", "items": _TAG},
    "assignee": nullable({"type": "string"}),
    "version": _ID,
    "subject": {"type": "string"},
    "created_at": TIME,
    "updated_at": TIME,
    "kind": enum(TICKET_KINDS),
    "queue": enum(TICKET_QUEUES),
    "contact": nullable({"type": "string"}),
    "failure_code": nullable({"type": "string"}),
    "failure_kind": enum(FAILURE_KINDS, null=True),
}

# A ticket with its timeline (GET /api/v1/desk/tickets/{id}, a stale change's 409).
_TICKET = {
    **_TICKET_SUMMARY,
    # Its session's support reference (what the customer reads out), null without one.
    "reference": _REFERENCE,
    "timeline": {"type": "array", "items": _ref("TicketEntry")},
}

# The answers' schemas, by name (components.schemas).
SCHEMAS: dict[str, Any] = {
    **ENVELOPE_SCHEMAS,
    "Event": {
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": enum(EVENT_TYPES),
            "timestamp": TIME,
            "data": {
                "type": "object",
                "required": ["session_id", "domain"],
                "properties": {
                    "session_id": _SESSION_ID,
                    "domain": {"type": "string", "maxLength": 253},
                    # Who to contact, from the account step on.
                    "contact": {"type": "string", "maxLength": 254},
                    # Breakdowns: onboarding.started's language and release, dns.applied's
                    # mode and previous_provider (422 when another value).
                    "language": enum(LANGUAGES, null=True),
                    "release": nullable({"type": "string", "pattern": RELEASE_SCHEMA}),
                    "mode": enum(DNS_MODES, null=True),
                    "previous_provider": enum(PREVIOUS_PROVIDERS, null=True),
                    # mail.checked only (required there): the domain's mail.
                    "ready": {"type": "boolean"},
                    "items": {"type": "array", "items": _ref("MailItem")},
                    "changed_from": {"type": "object", "nullable": True},
                },
            },
        },
    },
    "MailItem": obj(
        {"name": enum(MAIL_ITEMS), "status": enum(MAIL_STATUSES)},
        optional={"code": {"type": "string"}},
        closed=False,
    ),
    "MailReadiness": ok_answer(
        {
            "hours": _ID,
            "completed": COUNT,
            "mail_ready": COUNT,
            "mail_not_ready": COUNT,
            "unchecked": COUNT,
            "listed": COUNT,
            "sessions": {
                "type": "array",
                "items": obj(
                    {
                        "session_id": _SESSION_ID,
                        "domain": {"type": "string"},
                        "ticket_id": nullable(_ID),
                        "completed_at": nullable(TIME),
                        "checked_at": TIME,
                        "not_ready_since": TIME,
                        "waiting_seconds": COUNT,
                        "checks": _ID,
                        # The items not ok, as the newest check gave them.
                        "missing": {"type": "array", "items": _ref("MailItem")},
                    }
                ),
            },
        }
    ),
    "Health": ok_answer({"database": enum(["ok"])}),
    "Ingested": ok_answer(
        {"id": _ID, "event_id": {"type": "string"}},
        optional={"duplicate": {"type": "boolean", "enum": [True]}},
    ),
    "ActiveSession": obj(
        {
            "session_id": _SESSION_ID,
            "domain": {"type": "string"},
            "stage": enum(STAGES, null=True),
            "last_event_type": enum(EVENT_TYPES),
            "last_event_at": TIME,
            "started_at": TIME,
            "state": enum(STATES),
            "contact": nullable({"type": "string"}),
        }
    ),
    "Funnel": ok_answer(
        {
            "window_hours": _ID,
            "since": TIME,
            "generated_at": _COMPUTED_AT,
            "last_event_id": COUNT,
            **_FIGURES,
            # Refused sessions by their refusal's code, most first.
            "refused_by_code": {"type": "object", "additionalProperties": COUNT},
            "failed_by_step": map_of(STAGES, COUNT),
            "failed_by_furthest_stage": map_of(("none", *STAGES), COUNT),
            "conversion": map_of(STAGES, _CONVERSION),
            # Only the steps some session made in the window.
            "time_to_convert": obj(
                {},
                optional={
                    stage: obj(
                        {
                            "to": _STAGE,
                            "sessions": COUNT,
                            "median_seconds": nullable(_SECONDS),
                            "p90_seconds": nullable(_SECONDS),
                        }
                    )
                    for stage in STAGES[:-1]
                },
            ),
            "active_sessions": {"type": "array", "items": _ref("ActiveSession")},
            "stopped": map_of(("none", *STAGES), map_of(COHORT_STATES, COUNT)),
            "previous": nullable(
                obj(
                    {
                        "since": TIME,
                        "until": TIME,
                        **_FIGURES,
                        "conversion": map_of(STAGES, _CONVERSION),
                    }
                )
            ),
        }
    ),
    "Paces": ok_answer(
        {
            "steps": {
                "type": "array",
                "items": obj(
                    {
                        "stage": _STAGE,
                        "to": _STAGE,
                        # Null: no session made the step in 7 days.
                        "p90_seconds": nullable(_SECONDS),
                        "stuck_after_seconds": _SECONDS,
                    }
                ),
            },
            "abandon_after_seconds": _SECONDS,
        }
    ),
    "Trend": ok_answer(
        {
            "window_hours": _ID,
            "period": enum(PERIODS),
            "generated_at": _TREND_COMPUTED_AT,
            "periods": {"type": "array", "items": _PERIOD},
        }
    ),
    "Breakdown": ok_answer(
        {
            "by": enum(BREAKDOWNS),
            "window_hours": _ID,
            "since": TIME,
            "generated_at": _COMPUTED_AT,
            "top": _ID,
            "total": obj(_SPLIT_FIGURES),
            # The top values by started sessions, then other, then unknown.
            "groups": {"type": "array", "items": obj({**_GROUP, **_SPLIT_FIGURES})},
        }
    ),
    "BreakdownTrend": ok_answer(
        {
            "by": enum(BREAKDOWNS),
            "window_hours": _ID,
            "period": enum(PERIODS),
            "generated_at": _TREND_COMPUTED_AT,
            "top": _ID,
            # The top values by sessions entered, then other, then unknown.
            "groups": {
                "type": "array",
                "items": obj(
                    {
                        **_GROUP,
                        "entered": COUNT,
                        "completed": COUNT,
                        "failed": COUNT,
                        "refused": COUNT,
                        "periods": {"type": "array", "items": _PERIOD},
                    }
                ),
            },
        }
    ),
    "CohortPage": ok_answer(
        {
            "window_hours": _ID,
            "since": TIME,
            "generated_at": _COMPUTED_AT,
            "last_event_id": COUNT,
            "total": COUNT,
            "items": {
                "type": "array",
                "items": obj(
                    {
                        "session_id": _SESSION_ID,
                        "domain": {"type": "string"},
                        "stage": enum(STAGES, null=True),
                        "state": enum(COHORT_STATES),
                        "failed_step": enum(STAGES, null=True),
                        "last_event_type": enum(EVENT_TYPES),
                        "last_event_at": TIME,
                        "failure_code": nullable({"type": "string"}),
                        "failure_reason": nullable({"type": "string"}),
                        "ticket_id": nullable(_ID),
                        "contact": nullable({"type": "string"}),
                        # A refused session's code (state refused), else null.
                        "refusal_code": nullable({"type": "string"}),
                    }
                ),
            },
            "next": nullable({"type": "string"}),
        }
    ),
    "Failures": ok_answer(
        {
            "window_hours": _ID,
            "since": TIME,
            "generated_at": _FAILURES_COMPUTED_AT,
            "total": COUNT,
            "stages": map_of(
                STAGES,
                {
                    "type": "array",
                    "items": obj(
                        {
                            "code": {"type": "string"},
                            "count": _ID,
                            "last_seen": TIME,
                            "example_reason": {"type": "string"},
                        }
                    ),
                },
            ),
        }
    ),
    "Timeline": ok_answer(
        {
            "session_id": _SESSION_ID,
            "domain": {"type": "string"},
            # `refused`: active in the store, but its attempts were all refused.
            "status": enum(SHOWN_STATUSES),
            "stage": enum(STAGES, null=True),
            # While it is refused: the newest refusal's code and time; else null.
            "refusal": nullable(obj({"code": {"type": "string"}, "at": TIME})),
            "contact": nullable({"type": "string"}),
            "ticket_id": nullable(_ID),
            "reference": _REFERENCE,
            "events": {
                "type": "array",
                "items": obj(
                    {
                        "id": _ID,
                        "event_type": enum(EVENT_TYPES),
                        "occurred_at": TIME,
                        "received_at": TIME,
                        "data": _DATA,
                    }
                ),
            },
        }
    ),
    "Alerts": ok_answer(
        {
            "generated_at": TIME,
            "conditions": {
                "type": "array",
                "items": obj(
                    {
                        "kind": enum(get_args(Kind)),
                        # The numbers the banner's sentence quotes (by kind: docs/desk.md).
                        "figures": {"type": "object", "additionalProperties": {}},
                        "sessions": {
                            "type": "array",
                            "items": obj(
                                {
                                    "session_id": _SESSION_ID,
                                    "domain": {"type": "string"},
                                    "stage": enum(STAGES, null=True),
                                    "last_event_at": TIME,
                                }
                            ),
                        },
                    }
                ),
            },
        }
    ),
    "TicketSummary": obj(_TICKET_SUMMARY),
    # A ticket timeline's entry: a copy of an event, an Ops note, or an activity (a
    # change or an agent's note) with the fields of its type.
    "TicketEntry": {
        "oneOf": [
            obj(
                {
                    "kind": enum(["event"]),
                    "id": _ID,
                    "event_type": enum(EVENT_TYPES),
                    "occurred_at": TIME,
                    "received_at": TIME,
                    "data": _DATA,
                }
            ),
            obj(
                {
                    "kind": enum(["note"]),
                    # Which note Ops wrote (the Desk words it in its language), or null.
                    "note_kind": enum(NOTE_KINDS, null=True),
                    "id": _ID,
                    "occurred_at": TIME,
                    "received_at": TIME,
                    # The note as stored, in English.
                    "text": {"type": "string"},
                }
            ),
            _ref("Activity"),
        ]
    },
    "Activity": obj(
        {
            "kind": enum(["activity"]),
            "id": _ID,
            "type": enum(ACTIVITY_KINDS),
            "occurred_at": TIME,
            "actor": obj(
                {"kind": enum(ACTOR_KINDS)}, optional={"name": nullable({"type": "string"})}
            ),
            "version": _ID,
        },
        optional={
            # status and assignee: from and to (and why Ops moved a status); tags: what
            # was added and removed; note: its text.
            "from": nullable({"type": "string"}),
            "to": nullable({"type": "string"}),
            "reason": {"type": "string"},
            "added": {"type": "array", "items": _TAG},
            "removed": {"type": "array", "items": _TAG},
            "text": {"type": "string"},
        },
    ),
    "TicketPage": ok_answer(
        {
            "tickets": {"type": "array", "items": _ref("TicketSummary")},
            "next": nullable({"type": "string"}),
            "counts": map_of(STATUSES, COUNT),
            "queues": map_of(QUEUES, COUNT),
        }
    ),
    "Ticket": ok_answer(_TICKET),
    "TicketChange": ok_answer(
        {
            "ticket": _ref("TicketSummary"),
            "entries": {"type": "array", "items": _ref("Activity")},
        }
    ),
    "BulkResults": ok_answer(
        {
            # Per ticket, in the order asked: what happened to it.
            "results": {
                "type": "array",
                "items": obj(
                    {"id": _ID, "outcome": enum(desk.BULK_OUTCOMES)},
                    optional={"version": _ID, "reason": {"type": "string"}},
                ),
            }
        }
    ),
    # A change at a stale version: the envelope and the ticket as it is now (null: gone).
    "Conflict": obj(
        {
            "ok": {"type": "boolean", "enum": [False]},
            "error": {"type": "string"},
            "status": {"type": "integer", "enum": [409]},
            "ticket": nullable(obj(_TICKET)),
        }
    ),
    "Agents": ok_answer(
        {
            "agents": {
                "type": "array",
                "items": obj({"id": _ID, "name": {"type": "string"}, "admin": {"type": "boolean"}}),
            },
            # The account asking (null: the API token).
            "me": nullable({"type": "string"}),
        }
    ),
    "SearchResults": ok_answer(
        {
            "q": {"type": "string"},
            "items": {
                "type": "array",
                "items": obj(
                    {
                        "session_id": _SESSION_ID,
                        "domain": {"type": "string"},
                        "stage": enum(STAGES, null=True),
                        # `refused`: active in the store, its attempts all refused.
                        "status": enum(SHOWN_STATUSES),
                        "last_event_at": TIME,
                        "ticket_id": nullable(_ID),
                        "matched": enum(MATCHED),
                    }
                ),
            },
        }
    ),
}

_TICKET_PATH = (_path("ticket_id", _TICKET_ID, EXAMPLES["ticket_id"]),)

PATHS: dict[str, Any] = {
    "/healthz": _get(
        "whether the database answers",
        NO_QUERY,
        {"200": _answer("Health", "the database answers"), "503": _error("it does not")},
        security=[],
    ),
    "/openapi.json": _get(
        "this document",
        NO_QUERY,
        {"200": json_response({"type": "object"}, "OpenAPI 3.0")},
        security=[],
    ),
    "/api/v1/webhooks/onboard": {
        "post": {
            "summary": "ingest one signed onboarding event (Standard Webhooks)",
            "security": [],
            "parameters": [
                _header("webhook-id", {"type": "string", "minLength": 1, "maxLength": 255}),
                _header("webhook-timestamp", {"type": "string", "pattern": "^[0-9]{1,12}$"}),
                _header("webhook-signature", {"type": "string"}),
                *NO_QUERY.parameters(),
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("Event")}},
            },
            "responses": {
                "202": _answer("Ingested", "stored and durable: its row id and webhook-id"),
                "200": _answer("Ingested", "this webhook-id is already stored (duplicate)"),
                "400": _error("not JSON, not UTF-8, or an unknown query parameter"),
                "401": _error("signature missing, malformed, wrong or outside the tolerance"),
                "413": _error("body over 64 KiB"),
                "415": _error("not application/json"),
                "422": _error("breaks the event contract"),
                "503": _error("the store cannot be written; retry"),
            },
        }
    },
    "/api/v1/onboard/funnel": _get(
        "the onboarding funnel of the last N hours",
        onboard.FUNNEL_QUERY,
        {
            "200": _answer("Funnel", "the funnel"),
            "400": _error("bad hours or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/paces": _get(
        "each step's usual pace (p90, 7 days) and when a session is stuck",
        NO_QUERY,
        {
            "200": _answer("Paces", "per step its pace and stuck time; the abandonment time"),
            "400": _error("any query parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/trend": _get(
        "conversion over time: per hour (up to 72 h) or day (above)",
        onboard.TREND_QUERY,
        {
            "200": _answer("Trend", "entered, completed and failed per period"),
            "400": _error("bad hours or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/breakdown": _get(
        "the funnel of the last N hours split by a session property",
        breakdowns.BREAKDOWN_QUERY,
        {
            "200": _answer("Breakdown", "per group (top values, other, unknown) the funnel"),
            "400": _error("by missing or unknown, bad hours or top, or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/breakdown/trend": _get(
        "conversion over time split by a session property",
        breakdowns.BREAKDOWN_TREND_QUERY,
        {
            "200": _answer("BreakdownTrend", "per group (top values, other, unknown) the trend"),
            "400": _error("by missing or unknown, bad hours or top, or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/trend.csv": _get(
        "the conversion trend's table as CSV",
        onboard.TREND_QUERY,
        {
            "200": _CSV,
            "400": _error("bad hours or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/funnel/sessions": _get(
        "the funnel cohort's sessions that stopped at a stage in a state, or a breakdown "
        "group's in a state",
        onboard.COHORT_QUERY,
        {
            "200": _answer("CohortPage", "newest activity first; items carry contact"),
            "400": _error(
                "bad hours, stage, state, code, by, value, group, top, limit, cursor or "
                "unknown parameter"
            ),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/funnel/sessions.csv": _get(
        "the drill-down list as CSV (same filters, every page)",
        onboard.COHORT_CSV_QUERY,
        {
            "200": _CSV,
            "400": _error(
                "bad hours, stage, state, code, by, value, group, top or unknown parameter"
            ),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/failures": _get(
        "failures of the last N hours by the step that failed and code",
        onboard.FAILURES_QUERY,
        {
            "200": _answer("Failures", "per step: code, count, last_seen, example_reason"),
            "400": _error("bad hours or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/mail": _get(
        "the window's completed sessions by mail readiness, and those not ready",
        onboard.MAIL_QUERY,
        {
            "200": _answer("MailReadiness", "the counts and the sessions not ready"),
            "400": _error("bad hours or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/onboard/sessions/{session_id}/timeline": _get(
        "one session's events in event-time order",
        NO_QUERY,
        {
            "200": _answer("Timeline", "the session and its events"),
            "400": _error("bad session id"),
            "401": _UNAUTHORIZED,
            "404": _error("unknown session"),
        },
        parameters=(_path("session_id", _SESSION_ID, EXAMPLES["session_id"]),),
    ),
    "/api/v1/desk/alerts": _get(
        "what is wrong now: the Desk banner's conditions and their sessions",
        NO_QUERY,
        {
            "200": _answer("Alerts", "the conditions that hold (none: an empty list)"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/desk/tickets": _get(
        "tickets, newest updated first, paginated",
        desk.TICKETS_QUERY,
        {
            "200": _answer("TicketPage", "a page of tickets, the next cursor, counts by status"),
            "400": _error("bad filter or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/desk/tickets.csv": _get(
        "the ticket list as CSV (same filters, every page)",
        desk.TICKETS_CSV_QUERY,
        {
            "200": _CSV,
            "400": _error("bad filter or unknown parameter (limit, cursor included)"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/desk/tickets/{ticket_id}": {
        **_get(
            "one ticket with its timeline",
            NO_QUERY,
            {
                "200": {**_answer("Ticket", "the ticket"), "headers": _ETAG},
                "400": _error("bad id"),
                "401": _UNAUTHORIZED,
                "404": _error("unknown ticket"),
            },
            parameters=_TICKET_PATH,
        ),
        "patch": {
            "summary": "change status, assignee, tags at the version seen (docs/desk.md)",
            "parameters": [
                *_TICKET_PATH,
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": 'the ticket\'s ETag, like "3" (or the version field)',
                },
                *NO_QUERY.parameters(),
            ],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _PATCH, "example": EXAMPLES["patch"]}},
            },
            "responses": {
                "200": {
                    **_answer("TicketChange", "the ticket and the new timeline entries"),
                    "headers": _ETAG,
                },
                "400": _error("bad id, body or If-Match"),
                "401": _UNAUTHORIZED,
                "403": _error("a change from another site, with the session cookie"),
                "404": _error("unknown ticket"),
                "409": _answer("Conflict", "stale version: the ticket as it is now"),
                "413": _error("body too large"),
                "415": _error("not JSON"),
                "422": _error("a transition off the path, an unknown assignee, bad tags"),
                "428": _error("no version given"),
            },
        },
    },
    "/api/v1/desk/tickets/bulk": {
        "post": {
            "summary": "one status and/or assignee for several tickets, each at its version",
            "parameters": NO_QUERY.parameters(),
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
                                    "maxItems": desk.MAX_BULK,
                                    "items": {
                                        "type": "object",
                                        "required": ["id", "version"],
                                        "properties": {"id": _ID, "version": _ID},
                                    },
                                },
                                "status": enum(STATUSES),
                                "assignee": {"type": "string", "nullable": True},
                            },
                        },
                        "example": EXAMPLES["bulk"],
                    }
                },
            },
            "responses": {
                "200": _answer("BulkResults", "per ticket its outcome"),
                "400": _error("bad body or unknown parameter"),
                "401": _UNAUTHORIZED,
                "403": _error("a change from another site, with the session cookie"),
                "413": _error("body too large"),
                "415": _error("not JSON"),
                "422": _error("an unknown status"),
            },
        }
    },
    "/api/v1/desk/sessions/{session_id}/take": {
        "post": {
            "summary": "take a session: its ticket as a follow-up assigned to you",
            "parameters": [
                _path("session_id", _SESSION_ID, EXAMPLES["session_id"]),
                *NO_QUERY.parameters(),
            ],
            "responses": {
                "200": {
                    **_answer("TicketChange", "the ticket and the new timeline entries"),
                    "headers": _ETAG,
                },
                "400": _error("bad session id, the API token (no person to assign) or parameter"),
                "401": _UNAUTHORIZED,
                "403": _error("a change from another site, with the session cookie"),
                "404": _error("unknown session"),
            },
        }
    },
    "/api/v1/desk/tickets/{ticket_id}/notes": {
        "post": {
            "summary": "add an internal note (plain text, line breaks kept, 1-4000)",
            "parameters": [*_TICKET_PATH, *NO_QUERY.parameters()],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _NOTE, "example": EXAMPLES["note"]}},
            },
            "responses": {
                "201": {
                    **_answer("TicketChange", "the ticket and the note's timeline entry"),
                    "headers": _ETAG,
                },
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
    "/api/v1/desk/agents": _get(
        "the enabled accounts a ticket can be assigned to, and who asks",
        NO_QUERY,
        {"200": _answer("Agents", "agents and me"), "401": _UNAUTHORIZED},
    ),
    "/api/v1/desk/search": _get(
        "sessions by any part of a domain (Unicode or ASCII form) or contact, support "
        "reference, session id or ticket number",
        search.SEARCH_QUERY,
        {
            "200": _answer("SearchResults", "at most 20 sessions, exact matches first"),
            "400": _error("missing, too long or invisible characters in q, or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/desk/search.csv": _get(
        "the search results as CSV",
        search.SEARCH_QUERY,
        {
            "200": _CSV,
            "400": _error("missing, too long or invisible characters in q, or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/api/v1/stream": _get(
        "the Desk's Server-Sent Events (endless)",
        stream.STREAM_QUERY,
        {
            "200": {
                "description": "the stream",
                "content": {"text/event-stream": {"schema": {"type": "string"}}},
            },
            "400": _error("bad parameter or unknown parameter"),
            "401": _UNAUTHORIZED,
        },
    ),
    "/metrics": _get(
        "Prometheus metrics",
        NO_QUERY,
        {
            "200": {
                "description": "text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            "401": _UNAUTHORIZED,
        },
    ),
    # The Desk's pages: their scripts read the page's own query; the server ignores it.
    "/": {"get": {"summary": "the Desk dashboard", "responses": _PAGE}},
    "/tickets": {"get": {"summary": "the tickets list page", "responses": _PAGE}},
    "/tickets/{ticket_id}": {
        "get": {
            "summary": "one ticket's page",
            "parameters": [_path("ticket_id", {"type": "string"})],
            "responses": _PAGE,
        }
    },
    "/sessions/{session_id}": {
        "get": {
            "summary": "one session's page",
            "parameters": [_path("session_id", {"type": "string"})],
            "responses": _PAGE,
        }
    },
    "/search": {"get": {"summary": "the Desk's search results page", "responses": _PAGE}},
    "/funnel/sessions": {
        "get": {"summary": "a funnel count's sessions (the drill-down page)", "responses": _PAGE}
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
            "parameters": NO_QUERY.parameters(),
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
                "400": _error("not a form, or an unknown query parameter"),
                "403": _error("posted from another site"),
                "413": _error("form too large"),
            },
        },
    },
    "/logout": {
        "post": {
            "summary": "end the Desk session (server-side) and close its streams",
            "security": [],
            "parameters": NO_QUERY.parameters(),
            "responses": {
                "303": {"description": "to /login"},
                "400": _error("an unknown query parameter"),
                "403": _error("posted from another site"),
            },
        }
    },
}
_THROTTLED = {
    **_error("too many failed authentications from this address"),
    "headers": {
        "Retry-After": {
            "description": "seconds until a request is let through",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
for _operations in PATHS.values():
    for _operation in _operations.values():
        if "401" in _operation["responses"]:
            _operation["responses"]["429"] = _THROTTLED

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
        "schemas": SCHEMAS,
    },
    "security": [{"bearer": []}, {"desk": []}],
    "paths": PATHS,
}
endpoint = document_endpoint(DOCUMENT)
