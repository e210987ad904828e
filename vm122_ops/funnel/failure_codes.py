"""Failure codes: how an onboarding.failed's machine-readable ``code`` is labelled, and
which codes a request may name.

The code is the event's ``code`` (``carbonio:account.DOMAIN_EXISTS``, ``cloudflare:81054``,
``portal:timeout``...; text or an integer), without control characters, stripped, at most
64 characters; ``unspecified`` when absent, of another type or empty. The failures rollup
(vm122_ops/funnel/failures.py) counts by it and the session row keeps its last failure's
(vm122_ops/ingest/session_fold.py); migration 0010 backfills the same rule in SQL.
"""

from __future__ import annotations

import re

from vm122_ops.errors import BadRequest

UNSPECIFIED = "unspecified"
MAX_CODE = 64
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def failure_code(data: dict[str, object]) -> str:
    """The event's machine-readable code as stored and labelled; ``unspecified`` if none."""
    code = data.get("code")
    if isinstance(code, bool) or not isinstance(code, str | int):
        return UNSPECIFIED
    text = _CONTROL.sub("", str(code)).strip()[:MAX_CODE]
    return text or UNSPECIFIED


def requested_code(raw: str) -> str:
    """?code=: a code as the failures API gives them (its label is itself), else a 400."""
    if raw and failure_code({"code": raw}) == raw:
        return raw
    raise BadRequest(
        f"code must be a failure code as /api/v1/onboard/failures gives them: 1-{MAX_CODE} "
        f"characters, no control characters or surrounding spaces, or {UNSPECIFIED}"
    )
