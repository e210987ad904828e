"""Signed events as the Portal sends them: the body of the event contract
(docs/webhook-funnel-events.md) and the three Standard Webhooks headers (webhook-id,
webhook-timestamp, webhook-signature, signed with vm122_ops.ingest.signatures.sign, which
tests/ops/test_signatures.py checks against the specification's own example)."""

from __future__ import annotations

import itertools
import os
import time
from datetime import datetime
from typing import Any

import httpx
import orjson

from tests.support.credentials import KEY
from vm122_ops.ingest.signatures import sign

INGEST = "/api/v1/webhooks/onboard"
_ids = itertools.count(1)


def iso(moment: float | datetime) -> str:
    """RFC 3339 UTC with milliseconds, as the Portal writes event timestamps."""
    seconds = moment.timestamp() if isinstance(moment, datetime) else moment
    whole, millis = divmod(round(seconds * 1000), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def new_webhook_id() -> str:
    """A webhook-id no other event of this test run has."""
    return f"msg_{os.getpid()}_{next(_ids)}_{time.monotonic_ns()}"


def event_body(
    event_type: str,
    session_id: str,
    *,
    at: float | datetime | None = None,
    domain: str = "example.com",
    **data: Any,
) -> bytes:
    """One event's JSON body; ``at`` defaults to now."""
    document = {
        "type": event_type,
        "timestamp": iso(time.time() if at is None else at),
        "data": {"session_id": session_id, "domain": domain, **data},
    }
    return orjson.dumps(document)


def signed_headers(
    webhook_id: str,
    body: bytes,
    *,
    timestamp: float | None = None,
    key: bytes = KEY,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The request headers of a signed delivery of ``body``; ``timestamp`` defaults to now."""
    stamp = int(time.time() if timestamp is None else timestamp)
    return {
        "content-type": content_type,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(key, webhook_id, stamp, body),
    }


async def post_event(
    client: httpx.AsyncClient,
    event_type: str,
    session_id: str,
    *,
    webhook_id: str | None = None,
    at: float | datetime | None = None,
    domain: str = "example.com",
    url: str = INGEST,
    **data: Any,
) -> httpx.Response:
    """Sign and POST one event to Ops (``url`` is relative to the client's base URL)."""
    body = event_body(event_type, session_id, at=at, domain=domain, **data)
    headers = signed_headers(webhook_id or new_webhook_id(), body)
    return await client.post(url, content=body, headers=headers)


async def deliver(
    client: httpx.AsyncClient, event_type: str, session_id: str, **kwargs: Any
) -> dict[str, Any]:
    """``post_event``, asserting Ops took it (202, or 200 for a duplicate); its JSON answer."""
    response = await post_event(client, event_type, session_id, **kwargs)
    assert response.status_code in (200, 202), response.text
    answer: dict[str, Any] = response.json()
    return answer
