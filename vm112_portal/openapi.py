"""GET /openapi.json: the Portal's wizard API described by hand (OpenAPI 3.0), open to all.

It says what docs/portal.md says; each answer's schema is built from the constants the
wizard answers with. tests/test_openapi.py holds the route table to the paths here and
tests/reliability runs schemathesis against it, the examples below being sessions the
test has brought to each step. The sandbox providers under /sandbox stand in for
Cloudflare and Carbonio and are described by those vendors' own documents, not here.
"""

from __future__ import annotations

from typing import Any, get_args

from servicekit.contract import (
    LANGUAGES,
    MAIL_ITEMS,
    MAIL_STATUSES,
    REFERENCE_SCHEMA,
    SESSION_ID_SCHEMA,
)
from servicekit.openapi import (
    COUNT,
    ENVELOPE_SCHEMAS,
    NO_QUERY,
    document_endpoint,
    enum,
    json_response,
    nullable,
    obj,
    ok_answer,
)
from vm112_portal.providers.dns_plan import Action
from vm112_portal.settings import Providers
from vm112_portal.wizard import REPLACEABLE

_SESSION_ID = {"type": "string", "pattern": SESSION_ID_SCHEMA}
_DOMAIN = {"type": "string", "minLength": 1, "maxLength": 300}
_PURPOSE = enum(sorted(REPLACEABLE))
_RECORD = {
    "type": {"type": "string"},
    "name": {"type": "string"},
    "content": {"type": "string"},
}
_PRIORITY = {"priority": {"type": "integer", "minimum": 0}}
# A DNS record as the wizard shows it: type, name, content, and MX's priority.
_BRIEF = obj(_RECORD, optional=_PRIORITY)
_BRIEFS = {"type": "array", "items": _BRIEF}
# DKIM is made by an operator with Carbonio's own tool (docs/portal.md, "DKIM").
_DKIM = obj(
    {"status": enum(["pending"]), "operations": {"type": "array", "items": {"type": "string"}}}
)
# The domain as checked: ASCII (IDNA) and Unicode forms, registrable part, public suffix.
_DOMAIN_FORMS = {
    # The session's support reference (null for a session older than references); the
    # session id is never answered: the page must not see it.
    "reference": nullable({"type": "string", "pattern": REFERENCE_SCHEMA}),
    "domain": {"type": "string"},
    "domain_unicode": {"type": "string"},
}
# The records a customer without a Cloudflare zone publishes at their DNS host.
_WHEN = {"when": enum(["after_account"])}  # the MX: written once the mailbox exists
_MANUAL_RECORDS = {
    "type": "array",
    "items": obj({"purpose": _PURPOSE, **_RECORD}, optional={**_PRIORITY, **_WHEN}),
}
# An applied record, with what it replaced, merged into or kept.
_APPLIED = {
    "type": "array",
    "items": obj(
        _RECORD,
        optional={
            **_PRIORITY,
            "previous": {"type": "string"},
            "reason": {"type": "string"},
            "existing": _BRIEFS,
            "removed": _BRIEFS,
        },
        # The wizard's record details grow (docs/portal.md): the fields named here are
        # checked, others let through.
        closed=False,
    ),
}
# A record the DNS step held for the account step (the MX), and what it will do.
_HELD = {
    "type": "array",
    "items": obj(
        {**_RECORD, "purpose": _PURPOSE, "action": enum(["create", "merge", "replace", "keep"])},
        optional={**_PRIORITY, "existing": _BRIEFS},
        closed=False,
    ),
}

# The mail check's answer (vm112_portal/mail_check.py): each item's name, status and code,
# with what it found or what to publish (and who: the customer or the team).
_MAIL_CHECK = {
    "domain": {"type": "string"},
    "mode": enum(["cloudflare", "manual"]),
    "ready": {"type": "boolean"},
    "items": {
        "type": "array",
        "items": obj(
            {"name": enum(MAIL_ITEMS), "status": enum(MAIL_STATUSES), "code": {"type": "string"}},
            optional={"todo": enum(["customer", "team"]), "record": _BRIEF},
            closed=False,
        ),
    },
    "checked_at": {"type": "string", "format": "date-time"},
    "next_check_at": nullable({"type": "string", "format": "date-time"}),
}

SCHEMAS: dict[str, Any] = {
    **ENVELOPE_SCHEMAS,
    "MailCheck": ok_answer(_MAIL_CHECK),
    "Restarted": ok_answer({"released": {"type": "boolean"}}),
    "Support": ok_answer(
        {
            "contact": obj(
                {"email": nullable({"type": "string"}), "phone": nullable({"type": "string"})}
            )
        }
    ),
    "Health": obj(
        {
            "ok": {"type": "boolean"},
            "database": enum(["ok", "unreachable"]),
            "providers": enum(get_args(Providers)),
            # Null when the database does not answer.
            "outbox": nullable(
                obj(
                    {
                        "pending": COUNT,
                        "dead": COUNT,
                        "delivered": COUNT,
                        "oldest_pending_age_s": nullable({"type": "number"}),
                        "last_error": nullable(
                            obj(
                                {
                                    "event_type": {"type": "string"},
                                    "status": nullable({"type": "integer"}),
                                    "error": nullable({"type": "string"}),
                                }
                            )
                        ),
                    }
                )
            ),
        }
    ),
    "ValidatedDomain": ok_answer(
        {
            **_DOMAIN_FORMS,
            "registrable_domain": {"type": "string"},
            "public_suffix": {"type": "string"},
        },
        optional={
            # With PORTAL_DOMAIN_PROOF on: proven (by what), or the TXT record to publish.
            "proof": obj(
                {"verified": {"type": "boolean"}},
                optional={
                    "by": {"type": "string"},
                    "record": obj({key: {"type": "string"} for key in _RECORD}),
                    "next": {"type": "string"},
                    # DNS could not be asked: why (validate again later).
                    "dns_error": obj({"code": {"type": "string"}, "message": {"type": "string"}}),
                },
            )
        },
    ),
    "DnsPlan": ok_answer(
        {
            **_DOMAIN_FORMS,
            "mode": enum(["cloudflare", "manual"]),
            "zone": nullable({"type": "string"}),
            "dkim": _DKIM,
        },
        optional={
            "records": _MANUAL_RECORDS,
            "plan": {
                "type": "array",
                "items": obj(
                    {
                        "purpose": _PURPOSE,
                        "action": enum(get_args(Action)),
                        **_RECORD,
                        "existing": _BRIEFS,
                    },
                    optional={
                        **_PRIORITY,
                        **_WHEN,
                        "reason": {"type": "string"},
                        # A replaced MX: which addresses receive mail, which stop.
                        "replace_effect": {"type": "object"},
                    },
                    closed=False,
                ),
            },
        },
    ),
    "DnsApplied": ok_answer(
        {
            **_DOMAIN_FORMS,
            "provider": enum(["cloudflare", "customer"]),
            "mode": enum(["cloudflare", "manual"]),
            "dkim": _DKIM,
            "zone_found": {"type": "boolean"},
        },
        optional={
            "records": _MANUAL_RECORDS,
            # Why a zone found could not be used (then the records are the customer's).
            "manual_reason": obj(
                {key: {"type": "string"} for key in ("code", "message", "status", "type", "zone")},
            ),
            "zone": {"type": "string"},
            **{name: _APPLIED for name in ("created", "merged", "replaced", "kept", "present")},
            "held": _HELD,
        },
    ),
    "AccountCreated": ok_answer(
        {
            **_DOMAIN_FORMS,
            "account": {"type": "string"},
            "account_unicode": {"type": "string"},
            "domain_created": {"type": "boolean"},
            # postmaster@ and dmarc@ (but the admin's own address).
            "aliases": {"type": "array", "items": {"type": "string"}},
            # The MX the DNS step held, written now; null when none was held.
            "mx": nullable(
                obj(
                    {"action": enum(["created", "replaced", "present", "kept", "manual"])},
                    optional={**_RECORD, **_PRIORITY},
                    closed=False,
                )
            ),
            "dkim": _DKIM,
            "plan": {"type": "string"},
            "mailbox_quota_mb": {"type": "integer", "minimum": 0},
        },
        # The first mail check (null when it could not run; absent with
        # PORTAL_MAIL_CHECK=off).
        optional={"mail": nullable(obj(_MAIL_CHECK))},
    ),
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return json_response(schema, description)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    "400": _json(_ERROR, "malformed or invalid input, with the reason"),
    "403": _json(
        _ERROR,
        "the request holds no secret of the session (not_your_session), or control of the "
        "domain is not proven yet (PORTAL_DOMAIN_PROOF)",
    ),
    "409": _json(
        _ERROR,
        "a step out of order, the session is complete, or another session onboarded or "
        "holds the domain",
    ),
    "413": _json(_ERROR, "body over 16 KiB"),
    "415": _json(_ERROR, "not application/json"),
    "422": _json(
        _ERROR,
        "the provider refused the input, a mailbox provider's domain, or bidi or "
        "zero-width characters in a domain",
    ),
    "429": {
        **_json(_ERROR, "over a wizard rate limit (docs/portal.md, Rate limits)"),
        "headers": {
            "Retry-After": {
                "description": "seconds until a request is let through",
                "schema": {"type": "integer"},
            }
        },
    },
    "503": _json(_ERROR, "the portal's database cannot be written; try again"),
}


def _step(
    summary: str,
    body: dict[str, Any],
    answer: str,
    example: dict[str, Any],
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "parameters": NO_QUERY.parameters(),
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": body, "example": example}},
            },
            "responses": {"200": _json(_ref(answer), "done"), **_ERRORS, **extra},
        }
    }


# One session per step, each on its own domain (a domain belongs to one session):
# tests/reliability/test_schemathesis.py brings each to the step before its example's.
EXAMPLES: dict[str, dict[str, Any]] = {
    "validate": {"session_id": "example-validate", "domain": "example.com"},
    "plan": {"session_id": "example-plan", "domain": "example.net"},
    "apply": {"session_id": "example-apply", "domain": "nocf-example.org", "replace": []},
    "account": {
        "session_id": "example-account",
        "domain": "example.pt",
        "admin_local_part": "admin",
        "display_name": "Ana Admin",
        "password": "correct-horse-battery",
    },
    "mail": {"session_id": "example-mail", "domain": "example.de"},
}


# session_id: an API client's name for its session (the page sends none); every step
# needs the session's wizard secret (cookie vm112_wizard or X-Wizard-Secret), else 403.
_SESSION_AND_DOMAIN = {
    "type": "object",
    "required": ["domain"],
    "properties": {"session_id": _SESSION_ID, "domain": _DOMAIN},
}
_NOT_YOURS = {"403": _json(_ERROR, "the request holds no secret of this session")}
_PROVIDER_ERRORS = {
    "502": _json(_ERROR, "a provider failed"),
    "504": _json(_ERROR, "a provider or DNS did not answer in time"),
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "vm112 Portal",
        "version": "1",
        "description": "The onboarding wizard's JSON API. See docs/portal.md.",
    },
    "components": {
        "schemas": SCHEMAS,
    },
    "paths": {
        "/": {
            "get": {
                "summary": "the wizard page",
                "responses": {
                    "200": {"description": "HTML", "content": {"text/html": {"schema": {}}}}
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "database, providers and outbox status",
                "parameters": NO_QUERY.parameters(),
                "responses": {
                    "200": _json(_ref("Health"), "healthy"),
                    "503": _json(_ref("Health"), "the database does not answer"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "this document",
                "parameters": NO_QUERY.parameters(),
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.0")},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics, for operators (Bearer PORTAL_METRICS_TOKEN)",
                "parameters": NO_QUERY.parameters(),
                "responses": {
                    "200": {
                        "description": "text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "401": _json(_ERROR, "missing or wrong bearer token"),
                    "404": _json(_ERROR, "metrics disabled: PORTAL_METRICS_TOKEN is unset"),
                },
            }
        },
        "/api/v1/onboarding/validate-domain": _step(
            "normalise and check a domain; starts the session (sets its secret cookie)",
            {
                "type": "object",
                "required": ["domain"],
                "properties": {
                    "session_id": _SESSION_ID,
                    "domain": _DOMAIN,
                    "contact": {"type": "string", "format": "email", "maxLength": 254},
                    # The page's language (else Accept-Language): the breakdowns' value.
                    "language": enum(LANGUAGES),
                },
            },
            "ValidatedDomain",
            EXAMPLES["validate"],
            {"504": _PROVIDER_ERRORS["504"], **_NOT_YOURS},
        ),
        "/api/v1/onboarding/dns/cloudflare/plan": _step(
            "read the zone and say what publishing the mail records would do (no writes)",
            _SESSION_AND_DOMAIN,
            "DnsPlan",
            EXAMPLES["plan"],
            {"502": _PROVIDER_ERRORS["502"], **_NOT_YOURS},
        ),
        "/api/v1/onboarding/dns/cloudflare/apply": _step(
            "publish the mail DNS records in Cloudflare as planned; replace the conflicts named",
            {
                "type": "object",
                "required": ["domain"],
                "properties": {
                    "session_id": _SESSION_ID,
                    "domain": _DOMAIN,
                    "replace": {
                        "type": "array",
                        "items": _PURPOSE,
                        "uniqueItems": True,
                    },
                },
            },
            "DnsApplied",
            EXAMPLES["apply"],
            {"502": _PROVIDER_ERRORS["502"], **_NOT_YOURS},
        ),
        "/api/v1/onboarding/account/create": _step(
            "create the Carbonio domain and admin account, then the infra record",
            {
                "type": "object",
                "required": [
                    "domain",
                    "admin_local_part",
                    "display_name",
                    "password",
                ],
                "properties": {
                    "session_id": _SESSION_ID,
                    "domain": _DOMAIN,
                    "admin_local_part": {"type": "string", "minLength": 1, "maxLength": 64},
                    "display_name": {"type": "string", "minLength": 1, "maxLength": 128},
                    "password": {
                        "type": "string",
                        "minLength": 8,
                        "maxLength": 256,
                        "format": "password",
                    },
                },
            },
            "AccountCreated",
            EXAMPLES["account"],
            {**_PROVIDER_ERRORS, **_NOT_YOURS},
        ),
        "/api/v1/onboarding/mail/check": _step(
            "check again: the session's domain's mail records in DNS now (ready, items)",
            _SESSION_AND_DOMAIN,
            "MailCheck",
            EXAMPLES["mail"],
            {},
        ),
        "/api/v1/onboarding/restart": _step(
            '"Start again": the session releases its domain (409 session_done once its '
            "account exists: nothing is released); the secret cookie is cleared",
            {"type": "object", "properties": {"session_id": _SESSION_ID}},
            "Restarted",
            {"session_id": "example-restart"},
            _NOT_YOURS,
        ),
        "/api/v1/onboarding/support": {
            "get": {
                "summary": "who customers contact: {contact: {email, phone}}",
                "parameters": NO_QUERY.parameters(),
                "responses": {"200": _json(_ref("Support"), "the contact")},
            }
        },
    },
}
endpoint = document_endpoint(DOCUMENT)
