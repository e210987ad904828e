"""A kept funnel's JSON answer rendered once, with holes for what moves every millisecond.

Between two *boundaries* a kept funnel (vm122_ops/kept/funnel_basis.py) is the same document
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
from vm122_ops.funnel.cohort import CohortPage
from vm122_ops.funnel.rollups import HOUR_MS, Funnel
from vm122_ops.ingest.events import format_ms

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

    @property
    def size(self) -> int:
        return sum(len(chunk) for chunk in self.chunks)

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


class Holes:
    """The holes of one answer being cut: each call stands in for one figure."""

    def __init__(self) -> None:
        self._holes: list[tuple[int, int]] = []

    def time(self, offset: int) -> str:
        """A time ``offset`` ms from the request's millisecond (``format_ms``)."""
        return self._hole(_TIME, offset)

    def idle(self, last_event_at: int) -> str:
        """The seconds from ``last_event_at`` to the request's millisecond, at least 0."""
        return self._hole(_IDLE, last_event_at)

    def _hole(self, kind: int, value: int) -> str:
        self._holes.append((kind, value))
        return f"{_TOKEN}:{len(self._holes) - 1}"

    def text(self, fields: dict[str, Any], valid_from: int, valid_until: int) -> FunnelText:
        """The ``ok`` answer of ``fields`` (whose moving figures are this object's holes)
        as bytes between the holes."""
        pieces = _HOLE.split(ok_body(**fields))
        order = [int(index) for index in pieces[1::2]]
        # Every hole once, in the order the JSON writes them (a guard: the token is random).
        if sorted(order) != list(range(len(self._holes))):
            raise AssertionError("a hole was not rendered exactly once")
        return FunnelText(
            chunks=tuple(pieces[0::2]),
            holes=tuple(self._holes[index] for index in order),
            valid_from=valid_from,
            valid_until=valid_until,
        )


def funnel_text(funnel: Funnel, valid_until: int) -> FunnelText:
    """``funnel``'s answer (the ``ok`` envelope around ``Funnel.document``) with its
    millisecond's figures cut out, valid from its own millisecond until ``valid_until``
    (the caller's next boundary)."""
    span = funnel.window.hours * HOUR_MS
    holes = Holes()
    document: dict[str, Any] = funnel.document()
    document["since"] = holes.time(-span)
    document["generated_at"] = holes.time(0)
    for item, session in zip(document["active_sessions"], funnel.active_sessions, strict=True):
        item["idle_seconds"] = holes.idle(session.last_event_at)
    previous = document["previous"]
    if previous is not None:
        previous["since"] = holes.time(-2 * span)
        previous["until"] = holes.time(-span)
    return holes.text(document, funnel.window.now_ms, valid_until)


def page_text(page: CohortPage, hours: int, valid_until: int) -> FunnelText:
    """A drill-down page's answer (``CohortPage.document``) cut the same way: its
    ``since``, ``generated_at`` and items' ``idle_seconds`` move every millisecond."""
    holes = Holes()
    document = page.document(hours)
    document["since"] = holes.time(page.window.since_ms - page.window.now_ms)
    document["generated_at"] = holes.time(0)
    for item, session in zip(document["items"], page.items, strict=True):
        item["idle_seconds"] = holes.idle(session.last_event_at)
    return holes.text(document, page.window.now_ms, valid_until)
