"""Validation of a webhook body into an Event.

The types and stages themselves are the shared contract (servicekit/contract.py), re-exported
here for Ops' own modules. See docs/webhook-funnel-events.md; tests/ops/test_docs.py keeps
the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

from servicekit.contract import COMPLETED_STAGE as COMPLETED_STAGE
from servicekit.contract import (
    DNS_MODES,
    LANGUAGES,
    MAIL_ITEMS,
    MAIL_STATUSES,
    PREVIOUS_PROVIDERS,
    REFUSAL_CODE,
    RELEASE,
)
from servicekit.contract import EVENT_TYPES as EVENT_TYPES
from servicekit.contract import FAILED as FAILED
from servicekit.contract import MAIL_CHECKED as MAIL_CHECKED
from servicekit.contract import REJECTED_DOMAIN as REJECTED_DOMAIN
from servicekit.contract import SESSION_ID as SESSION_ID
from servicekit.contract import STAGE_OF_TYPE as STAGE_OF_TYPE
from servicekit.contract import STAGE_TYPES as STAGE_TYPES
from servicekit.contract import STAGES as STAGES
from servicekit.contract import UNSPECIFIED_REFUSAL as UNSPECIFIED_REFUSAL
from servicekit.contract import WEBHOOK_ID as WEBHOOK_ID
from vm122_ops.errors import BadRequest, Unprocessable

_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})\Z", re.ASCII
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Bidi controls (marks, embeddings, overrides, isolates) and zero-width characters: they
# make a domain display as another ("\u202emoc.knab-emca" shows as "acme-bank.com").
# Unicode's Bidi_Control property plus the zero-width format characters (UAX #9, UAX #31).
SPOOFING = re.compile("[\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def _validate_mail_check(data: dict[str, Any]) -> None:
    """mail.checked's own fields (docs/webhook-funnel-events.md): ``ready`` a boolean,
    ``items`` a list of objects each naming a known item and status, each item once, and
    ``ready`` true exactly when every item is ``ok``. Raises Unprocessable."""
    ready = data.get("ready")
    if not isinstance(ready, bool):
        raise Unprocessable("mail.checked: data.ready is required and must be true or false")
    items = data.get("items")
    if not isinstance(items, list) or not items:
        raise Unprocessable("mail.checked: data.items must be a non-empty list of items")
    seen: set[str] = set()
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        status = item.get("status") if isinstance(item, dict) else None
        if name not in MAIL_ITEMS or status not in MAIL_STATUSES:
            raise Unprocessable(
                "mail.checked: each item needs a name (one of "
                f"{', '.join(MAIL_ITEMS)}) and a status (one of {', '.join(MAIL_STATUSES)})"
            )
        if name in seen:
            raise Unprocessable(f"mail.checked: item {name} is listed twice")
        seen.add(name)
    every_ok = all(item["status"] == "ok" for item in items)
    if ready != every_ok:
        raise Unprocessable(
            "mail.checked: data.ready must be true exactly when every item's status is ok"
        )
    changed_from = data.get("changed_from")
    if changed_from is not None and not isinstance(changed_from, dict):
        raise Unprocessable("mail.checked: data.changed_from must be an object or null")


STARTED = STAGE_TYPES[0]


def _validate_refusal(data: dict[str, Any]) -> None:
    """onboarding.started's ``refusal`` when present (docs/webhook-funnel-events.md,
    "Refused attempts"): an object whose ``code`` is 1-64 of A-Z a-z 0-9 _ . : - and whose
    ``status``, when given, is a whole number 400-499. Raises Unprocessable."""
    if "refusal" not in data:
        return
    refusal = data["refusal"]
    if not isinstance(refusal, dict):
        raise Unprocessable(
            'onboarding.started: data.refusal must be an object such as {"code": '
            '"mailbox_provider", "status": 422}'
        )
    code = refusal.get("code")
    if not isinstance(code, str) or not REFUSAL_CODE.match(code):
        raise Unprocessable(
            "onboarding.started: data.refusal.code is required: 1-64 characters of "
            "A-Z a-z 0-9 _ . : - (the wizard's error code)"
        )
    status = refusal.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 499
    ):
        raise Unprocessable(
            "onboarding.started: data.refusal.status, when given, must be the whole number "
            "of the 4xx status the wizard answered"
        )


# The breakdown fields each event type carries (docs/webhook-funnel-events.md,
# "Breakdowns"): data field -> its allowed values, or the pattern a release matches.
_BREAKDOWN_FIELDS: dict[str, dict[str, tuple[str, ...] | re.Pattern[str]]] = {
    STARTED: {"language": LANGUAGES, "release": RELEASE},
    STAGE_TYPES[2]: {"mode": DNS_MODES, "previous_provider": PREVIOUS_PROVIDERS},
}


def _validate_breakdowns(event_type: str, data: dict[str, Any]) -> None:
    """The breakdown fields of onboarding.started and dns.applied, when present and not
    null: one of their allowed values (a release: 1-32 characters, a digit first, then
    digits, letters, ``.``, ``+``, ``-``). Raises Unprocessable."""
    for name, allowed in _BREAKDOWN_FIELDS.get(event_type, {}).items():
        value = data.get(name)
        if value is None:
            continue
        if isinstance(allowed, tuple):
            if value not in allowed:
                raise Unprocessable(
                    f"{event_type}: data.{name} must be one of {', '.join(allowed)}"
                )
        elif not isinstance(value, str) or not allowed.match(value):
            raise Unprocessable(
                f"{event_type}: data.{name} must be a release such as 1.4.0: 1-32 "
                "characters, a digit first, then digits, letters, '.', '+' or '-'"
            )


@dataclass(frozen=True, slots=True)
class Event:
    event_id: str
    event_type: str
    session_id: str
    domain: str
    occurred_at: int  # ms since the epoch, UTC
    data: dict[str, Any]
    payload: str  # the body as received (valid UTF-8 JSON)

    @property
    def stage(self) -> int | None:
        return STAGE_OF_TYPE.get(self.event_type)

    @property
    def refusal_code(self) -> str | None:
        """The refusal an onboarding.started carries (validated), ``unspecified`` for an
        older Portal's refused domain without one; None for any other event."""
        if self.event_type != STARTED:
            return None
        refusal = self.data.get("refusal")
        if isinstance(refusal, dict):
            return str(refusal["code"])
        return UNSPECIFIED_REFUSAL if self.domain == REJECTED_DOMAIN else None


def parse_timestamp(value: object) -> int:
    """RFC 3339 with an explicit offset, to milliseconds since the epoch (UTC)."""
    match = _RFC3339.match(value) if isinstance(value, str) else None
    if match is None:
        raise Unprocessable(
            "timestamp must be an RFC 3339 date-time with an offset, e.g. 2026-11-29T10:00:00Z"
        )
    text = match.string
    # fromisoformat accepts at most 6 fractional digits: cut the rest (by the match's
    # own position: a re.sub here costs the event loop noticeably on every ingest).
    if match.end(1) - match.start(1) > 7:
        text = text[: match.start(1) + 7] + text[match.end(1) :]
    text = text.replace("t", "T").replace("z", "Z").replace(" ", "T")
    try:
        return int(datetime.fromisoformat(text).astimezone(UTC).timestamp() * 1000)
    except (ValueError, OverflowError):  # overflow: year 1 or 9999 with an offset
        raise Unprocessable(f"timestamp {value!r} is not a valid date-time") from None


def format_ms(ms: int) -> str:
    """Milliseconds since the epoch as RFC 3339 UTC with millisecond precision."""
    return f"{_second(ms // 1000)}{ms % 1000:03d}Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    """The whole second's part of ``format_ms``, ending in the dot. strftime was most of
    a funnel answer's rendering (two times per active session, 50 sessions); the seconds
    a process formats repeat (the same sessions each request, events of the same second)."""
    # isoformat, not strftime's %Y: RFC 3339's date-fullyear is four digits (§5.6), and %Y
    # does not pad a year below 1000.
    moment = datetime.fromtimestamp(seconds, tz=UTC).replace(tzinfo=None)
    return f"{moment.isoformat(timespec='seconds')}."


FUTURE_TOLERANCE_MS = 5 * 60 * 1000  # the signature's own clock tolerance
# No onboarding event happened before 2000-01-01T00:00:00Z: an earlier time is a sender's
# clock or a forged body, and would show as a session decades old in every list.
EARLIEST_MS = 946_684_800_000
_VIEW_DEPTH = 8  # levels above data in the deepest answer that shows it, with margin
_SHALLOW_BRACKETS = 200  # below orjson's 254 levels when writing, less _VIEW_DEPTH


def parse_event(event_id: str, body: bytes, *, now_ms: int | None = None) -> Event:
    """Validate a webhook body; raises BadRequest (not JSON) or Unprocessable (contract).

    With ``now_ms``, an event time further in the future than the signature's clock
    tolerance is refused: it would sit in every funnel window until that time came.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not valid UTF-8") from None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise Unprocessable("the body must be a JSON object")
    event_type = document.get("type")
    if not isinstance(event_type, str):
        raise Unprocessable("type is required and must be a string")
    if event_type not in EVENT_TYPES:
        raise Unprocessable(
            f"unknown event type {event_type[:64]!r}; expected one of {', '.join(EVENT_TYPES)}"
        )
    occurred_at = parse_timestamp(document.get("timestamp"))
    if occurred_at < EARLIEST_MS:
        raise Unprocessable(
            f"timestamp {format_ms(occurred_at)} is before 2000-01-01T00:00:00Z; no "
            "onboarding event is that old (check the sender's clock)"
        )
    if now_ms is not None and occurred_at > now_ms + FUTURE_TOLERANCE_MS:
        raise Unprocessable(
            f"timestamp is {(occurred_at - now_ms) // 1000} s in the future; an event's "
            "time cannot be later than now (check the sender's clock)"
        )
    data = document.get("data")
    if not isinstance(data, dict):
        raise Unprocessable("data is required and must be a JSON object")
    session_id = data.get("session_id")
    if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
        raise Unprocessable("data.session_id must be 1-128 characters of A-Z a-z 0-9 _ -")
    domain = data.get("domain")
    if not isinstance(domain, str) or not domain.strip() or len(domain) > 253:
        raise Unprocessable("data.domain is required: a domain name of at most 253 characters")
    if _CONTROL.search(domain):
        raise Unprocessable("data.domain must not contain control characters")
    if SPOOFING.search(domain):
        raise Unprocessable("data.domain must not contain bidi controls or zero-width characters")
    # What timelines, tickets and the stream will do with data must work: orjson reads
    # 1024 levels but writes only 254, and the views put data a few levels down (a
    # ticket's timeline entry is 4 deep in its answer). A body with fewer opening
    # brackets than that cannot nest so deep, and is not encoded once more to check.
    if body.count(b"{") + body.count(b"[") >= _SHALLOW_BRACKETS:
        nested: Any = data
        for _ in range(_VIEW_DEPTH):
            nested = [nested]
        try:
            orjson.dumps(nested)
        except orjson.JSONEncodeError:
            raise Unprocessable("data nests too deeply to be shown; flatten it") from None
    # Every other field of data is optional, onboarding.failed's reason included: an event
    # whose envelope is valid is stored, and the Desk shows what is absent as absent.
    # mail.checked is the exception: Ops derives a state from its ready and items. The
    # breakdown fields are optional too, but when present must hold an allowed value:
    # each session is counted under them.
    if event_type == MAIL_CHECKED:
        _validate_mail_check(data)
    elif event_type == STARTED:
        _validate_refusal(data)
    _validate_breakdowns(event_type, data)
    return Event(
        event_id=event_id,
        event_type=event_type,
        session_id=session_id,
        domain=domain.strip(),
        occurred_at=occurred_at,
        data=data,
        payload=text,
    )
