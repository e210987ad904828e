"""Signed webhook deliveries for Ops, built before the clock starts.

Signed with Ops' own ``vm122_ops.ingest.signatures.sign`` (Standard Webhooks), so a benchmark
sends exactly what the Portal's dispatcher sends.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from bench.seed import FLOW
from bench.services import Credentials
from vm122_ops.ingest.signatures import sign

INGEST_PATH = "/api/v1/webhooks/onboard"


@dataclass(frozen=True, slots=True)
class Delivery:
    webhook_id: str
    session_id: str
    headers: dict[str, str]
    body: bytes


def delivery(
    creds: Credentials, webhook_id: str, event_type: str, session_id: str, domain: str
) -> Delivery:
    now = datetime.now(UTC)
    body = orjson.dumps(
        {
            "type": event_type,
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "data": {"session_id": session_id, "domain": domain, "source": "bench"},
        }
    )
    stamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(creds.key, webhook_id, stamp, body),
    }
    return Delivery(webhook_id, session_id, headers, body)


def wizard_runs(creds: Credentials, prefix: str, count: int) -> list[Delivery]:
    """``count`` deliveries: whole wizard runs (six events per session), in order."""
    out = []
    for number in range(count):
        session = f"{prefix}-{number // len(FLOW)}"
        event_type = FLOW[number % len(FLOW)]
        out.append(
            delivery(creds, f"{prefix}-evt-{number}", event_type, session, f"{session}.example.pt")
        )
    return out
