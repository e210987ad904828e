"""Comparing a kept answer with a fresh one: a kept answer is the answer at the
millisecond it was computed (its ``generated_at``), served until the next boundary, so it
equals a fresh computation at that millisecond and, but for its window's bounds, a fresh
computation at the request's."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def moment_of(document: dict[str, Any]) -> int:
    """An answer's ``generated_at`` in Unix milliseconds."""
    return round(datetime.fromisoformat(document["generated_at"]).timestamp() * 1000)


def bounds_off(document: dict[str, Any]) -> dict[str, Any]:
    """A copy without the window's bounds (``generated_at``, ``since``, the previous
    window's ``since`` and ``until``): what stays the same between two boundaries."""
    copy = dict(document)
    copy.pop("generated_at", None)
    copy.pop("since", None)
    if isinstance(copy.get("previous"), dict):
        copy["previous"] = {
            k: v for k, v in copy["previous"].items() if k not in ("since", "until")
        }
    return copy
