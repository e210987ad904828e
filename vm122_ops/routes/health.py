"""GET /healthz: open, says whether the database answers.

With ``Ops-Webhook-Ids-Since`` (RFC 3339) once Ops has forgotten webhook-ids
(OPS_WEBHOOK_ID_DAYS): events delivered before that time could be stored anew by a
replay, so ``python -m vm112_portal outbox replay`` refuses an older ``--since`` unless
``--force``. The header is absent while Ops remembers every id it stored."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from servicekit.envelope import error, ok
from servicekit.openapi import NO_QUERY
from vm122_ops.app_state import app_state


@NO_QUERY
async def healthz(request: Request) -> Response:
    state = app_state(request)
    if not await state.db.ping():
        return error(503, "the database is unreachable")
    response = ok(database="ok")
    since = state.memory["since"]
    if since is not None:
        moment = datetime.fromtimestamp(since / 1000, UTC)
        response.headers[WEBHOOK_IDS_SINCE] = moment.isoformat(timespec="milliseconds")
    return response


WEBHOOK_IDS_SINCE = "Ops-Webhook-Ids-Since"
