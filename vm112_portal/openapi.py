"""GET /openapi.json: the Portal's wizard API described by hand (OpenAPI 3.0), open to all.

It says what docs/portal.md says; tests/reliability runs schemathesis against it. The
sandbox providers under /sandbox stand in for Cloudflare and Carbonio and are described by
those vendors' own documents, not here.
"""

from __future__ import annotations

from typing import Any

from servicekit.contract import SESSION_ID_SCHEMA
from servicekit.openapi import ENVELOPE_SCHEMAS, document_endpoint

_SESSION_ID = {"type": "string", "pattern": SESSION_ID_SCHEMA}
_DOMAIN = {"type": "string", "minLength": 1, "maxLength": 300}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = {"$ref": "#/components/schemas/Error"}
_OK = {"$ref": "#/components/schemas/Ok"}
_ERRORS = {
    "400": _json(_ERROR, "malformed or invalid input, with the reason"),
    "403": _json(_ERROR, "control of the domain not proven yet (PORTAL_DOMAIN_PROOF)"),
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


def _step(summary: str, body: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {"200": _json(_OK, "done"), **_ERRORS, **extra},
        }
    }


_SESSION_AND_DOMAIN = {
    "type": "object",
    "required": ["session_id", "domain"],
    "properties": {"session_id": _SESSION_ID, "domain": _DOMAIN},
}
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
        "schemas": {**ENVELOPE_SCHEMAS},
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
                "responses": {
                    "200": _json(_OK, "healthy"),
                    "503": _json({}, "the database does not answer"),
                },
            }
        },
        "/openapi.json": {
            "get": {"summary": "this document", "responses": {"200": _json({}, "OpenAPI 3.0")}}
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics, for operators (Bearer PORTAL_METRICS_TOKEN)",
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
            "normalise and check a domain; starts the session",
            _SESSION_AND_DOMAIN,
            {"504": _PROVIDER_ERRORS["504"]},
        ),
        "/api/v1/onboarding/dns/cloudflare/plan": _step(
            "read the zone and say what publishing the mail records would do (no writes)",
            _SESSION_AND_DOMAIN,
            {"502": _PROVIDER_ERRORS["502"]},
        ),
        "/api/v1/onboarding/dns/cloudflare/apply": _step(
            "publish the mail DNS records in Cloudflare as planned; replace the conflicts named",
            {
                "type": "object",
                "required": ["session_id", "domain"],
                "properties": {
                    "session_id": _SESSION_ID,
                    "domain": _DOMAIN,
                    "replace": {
                        "type": "array",
                        "items": {
                            "type": "string",
                            "enum": ["mx", "spf", "dmarc", "autodiscover"],
                        },
                        "uniqueItems": True,
                    },
                },
            },
            {"502": _PROVIDER_ERRORS["502"]},
        ),
        "/api/v1/onboarding/account/create": _step(
            "create the Carbonio domain and admin account, then the infra record",
            {
                "type": "object",
                "required": [
                    "session_id",
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
            _PROVIDER_ERRORS,
        ),
        "/api/v1/onboarding/mail/check": _step(
            "check again: the session's domain's mail records in DNS now (ready, items)",
            _SESSION_AND_DOMAIN,
            {},
        ),
    },
}
endpoint = document_endpoint(DOCUMENT)
