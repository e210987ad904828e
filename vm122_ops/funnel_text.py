"""A kept funnel's JSON answer rendered once, with holes for what moves every millisecond.

Between two *boundaries* a kept funnel (vm122_ops/funnel_basis.py) is the same document
at every request but for five kinds of figures that are a plain function of the
request's millisecond ``now``:

- ``generated_at`` (now), ``since`` (now - hours), and the previous window's ``since``
  (now - 2 x hours) and ``until`` (now - hours);
- each active session's ``idle_seconds`` (now - its last event, never below 0).

Everything else depends on ``now`` only through boundaries that ``FunnelBasis`` knows in
advance (an active session turning stuck or abandoned, the window's start passing a
session's first event or an hour): its states, the ``stopped`` counts, the cohort and
the previous window's counts. ``FunnelText`` keeps the answer's bytes with those five
kinds of figures cut out, valid from the millisecond it was rendered at until the first
boundary after it, and a request only formats its own figures into the holes: about 55
small numbers and strings instead of classifying 50 sessions, counting the states and
encoding ~14 KiB of JSON. tests/ops/test_funnel_text.py checks the bytes against a fresh
``funnel.compute`` at random moments just before, at and after each kind of boundary.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from servicekit.envelope import ok_body
from vm122_ops.events import format_ms
from vm122_ops.funnel import HOUR_MS, Funnel

# A hole's placeholder: random per process, so no text from an event can spell it.
_TOKEN = "hole" + secrets.token_hex(16)
_HOLE = re.compile(rf'"{_TOKEN}:([0-9]+)"'.encode())
_TIME = 0  # the hole is a time: now + offset, as a JSON string
_IDLE = 1  # the hole is an idle time in seconds: now - the last event, as a JSON number


@dataclass(frozen=True, slots=True)
class FunnelText:
    """An answer's bytes between its holes, each hole's kind and argument, and the
    milliseconds [valid_from, valid_until) in which every other byte stays the same."""

    chunks: tuple[bytes, ...]  # one more than the holes
    holes: tuple[tuple[int, int], ...]  # (_TIME, offset from now) or (_IDLE, last event)
    valid_from: int
    valid_until: int

    def covers(self, now_ms: int) -> bool:
        return self.valid_from <= now_ms < self.valid_until

    def render(self, now_ms: int) -> bytes:
        """The answer at ``now_ms`` (one of the milliseconds this text covers)."""
        chunks = self.chunks
        parts = [chunks[0]]
        append = parts.append
        index = 1
        for kind, value in self.holes:
            if kind == _TIME:
                append(b'"%s"' % format_ms(now_ms + value).encode())
            else:
                append(seconds_text(now_ms - value if now_ms > value else 0))
            append(chunks[index])
            index += 1
        return b"".join(parts)


def seconds_text(ms: int) -> bytes:
    """``ms`` (>= 0) in seconds as orjson writes ``round(ms / 1000, 3)``: the shortest
    decimal, at least one digit after the point (``ActiveSession.document``)."""
    whole, part = divmod(ms, 1000)
    if part == 0:
        return b"%d.0" % whole
    if part % 100 == 0:
        return b"%d.%d" % (whole, part // 100)
    if part % 10 == 0:
        return b"%d.%02d" % (whole, part // 10)
    return b"%d.%03d" % (whole, part)


def funnel_text(funnel: Funnel, valid_until: int) -> FunnelText:
    """``funnel``'s answer (the ``ok`` envelope around ``Funnel.document``) with its
    millisecond's figures cut out, valid from its own millisecond until ``valid_until``
    (the caller's next boundary)."""
    now = funnel.window.now_ms
    span = funnel.window.hours * HOUR_MS
    holes: list[tuple[int, int]] = []

    def hole(kind: int, value: int) -> str:
        holes.append((kind, value))
        return f"{_TOKEN}:{len(holes) - 1}"

    document: dict[str, Any] = funnel.document()
    document["since"] = hole(_TIME, -span)
    document["generated_at"] = hole(_TIME, 0)
    for item, session in zip(document["active_sessions"], funnel.active_sessions, strict=True):
        item["idle_seconds"] = hole(_IDLE, session.last_event_at)
    previous = document["previous"]
    if previous is not None:
        previous["since"] = hole(_TIME, -2 * span)
        previous["until"] = hole(_TIME, -span)
    pieces = _HOLE.split(ok_body(**document))
    chunks = tuple(pieces[0::2])
    order = [int(index) for index in pieces[1::2]]
    # Every hole once, in the order the JSON writes them (a guard: the token is random).
    if sorted(order) != list(range(len(holes))):
        raise AssertionError("a funnel hole was not rendered exactly once")
    return FunnelText(
        chunks=chunks,
        holes=tuple(holes[index] for index in order),
        valid_from=now,
        valid_until=valid_until,
    )
