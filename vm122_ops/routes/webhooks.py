"""POST /api/v1/webhooks/onboard: signed event ingest."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response

from servicekit.body import media_type, read_body
from servicekit.envelope import ok
from servicekit.openapi import NO_QUERY
from vm122_ops.app_state import app_state
from vm122_ops.errors import OpsError, UnsupportedMediaType
from vm122_ops.ingest import signatures
from vm122_ops.ingest.events import parse_event
from vm122_ops.ingest.storing import IngestResult, store_event

MAX_BODY = 64 * 1024


@NO_QUERY
async def ingest_onboard(request: Request) -> Response:
    state = app_state(request)
    metrics = state.metrics
    started = time.perf_counter()
    try:
        result = await _ingest(request)
    except OpsError as exc:
        metrics.reject(exc)
        raise
    metrics.ingest_seconds.observe(time.perf_counter() - started)
    if result.duplicate:
        metrics.duplicates.inc()
        return ok(200, duplicate=True, id=result.id, event_id=result.event.event_id)
    metrics.accepted(result.event.event_type)
    return ok(202, id=result.id, event_id=result.event.event_id)


async def _ingest(request: Request) -> IngestResult:
    state = app_state(request)
    if media_type(request) != "application/json":
        raise UnsupportedMediaType("content-type must be application/json")
    body = await read_body(request, MAX_BODY)
    webhook_id = signatures.verify(
        state.settings.webhook_secrets, request.headers, body, state.clock()
    )
    received_at = state.now_ms()
    event = parse_event(webhook_id, body, now_ms=received_at)
    return await state.db.ingest(store_event, event, received_at)
