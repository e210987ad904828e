"""Standard Webhooks signature verification (https://www.standardwebhooks.com/).

signature = base64(HMAC-SHA256(key, f"{webhook-id}.{webhook-timestamp}.{body}")), sent as
``v1,<signature>`` in a space-separated list. Written out here rather than calling
``standardwebhooks.Webhook.verify`` so every failure has its own reason, malformed
headers never raise, several secrets can be accepted during a rotation, and the body is
signed as raw bytes. tests/ops/test_signatures.py checks it against the spec's vector and
against the package.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping

from vm122_ops.errors import Unauthorized
from vm122_ops.ingest.events import WEBHOOK_ID

TOLERANCE_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"^\d{1,12}\Z")


def sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def verify(keys: tuple[bytes, ...], headers: Mapping[str, str], body: bytes, now: float) -> str:
    """Check the webhook headers against ``body``; returns the webhook-id or raises."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    signatures = headers.get("webhook-signature", "")
    missing = [
        name
        for name, value in (
            ("webhook-id", webhook_id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signatures),
        )
        if not value
    ]
    if missing:
        raise Unauthorized(f"missing signature header: {', '.join(missing)}")
    if not WEBHOOK_ID.match(webhook_id):
        raise Unauthorized("webhook-id must be 1-255 visible ASCII characters")
    if not _TIMESTAMP.match(timestamp):
        raise Unauthorized("webhook-timestamp must be whole Unix seconds")
    skew = int(timestamp) - now
    if skew < -TOLERANCE_SECONDS:
        raise Unauthorized(
            f"webhook-timestamp is {int(-skew)} s old; the tolerance is {TOLERANCE_SECONDS} s "
            "(check the sender's clock)"
        )
    if skew > TOLERANCE_SECONDS:
        raise Unauthorized(
            f"webhook-timestamp is {int(skew)} s in the future; the tolerance is "
            f"{TOLERANCE_SECONDS} s (check the sender's clock)"
        )
    candidates = []
    for item in signatures.split(" "):
        version, _, encoded = item.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            candidates.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    if not candidates:
        raise Unauthorized("webhook-signature holds no v1,<base64> signature")
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    for key in keys:
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        # Compare against every candidate without stopping early on a match.
        matched = False
        for candidate in candidates:
            matched |= hmac.compare_digest(expected, candidate)
        if matched:
            return webhook_id
    raise Unauthorized("webhook-signature does not match the body and the shared secret")
