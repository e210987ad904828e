"""docs/desk.md names every stream event, every Desk page and the stream's defaults."""

from __future__ import annotations

import re
from pathlib import Path

from vm122_ops.desk.broker import StreamConfig
from vm122_ops.routes.stream import EVENT_NAMES

DOC = Path(__file__).resolve().parents[2] / "docs" / "desk.md"
LIVE_JS = Path(__file__).resolve().parents[2] / "frontend" / "js" / "live.js"


def test_every_stream_event_is_documented_and_handled_by_the_client() -> None:
    text = DOC.read_text(encoding="utf-8")
    client = LIVE_JS.read_text(encoding="utf-8")
    for name in EVENT_NAMES:
        assert f"`{name}`" in text, name
        assert f'"{name}"' in client, name


def test_pages_and_defaults_are_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for path in (
        "`/`",
        "`/tickets`",
        "`/tickets/{id}`",
        "`/sessions/{session_id}`",
        "`/login`",
        "`/logout`",
        "`GET /api/v1/stream`",
    ):
        assert path in text, path
    config = StreamConfig()
    assert f"retry: {config.retry_ms}" in text
    assert f"every {int(config.heartbeat_seconds)} s" in text
    assert f"({config.queue_size} events)" in text
    assert re.search(rf"more than {config.max_replay} events", text)


def test_the_desk_knows_the_same_transitions_as_ops() -> None:
    from vm122_ops.tickets.work import TRANSITIONS

    source = (LIVE_JS.parent / "views" / "ticket.js").read_text(encoding="utf-8")
    for status, targets in TRANSITIONS.items():
        listed = ", ".join(f'"{t}"' for t in targets)
        assert f"{status}: [{listed}]" in source, status
