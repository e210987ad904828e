"""The contract document names every event type and every API route."""

from __future__ import annotations

from pathlib import Path

from vm122_ops.app import routes
from vm122_ops.ingest.events import EVENT_TYPES, STAGES

DOCS = Path(__file__).resolve().parents[2] / "docs"
CONTRACT = DOCS / "webhook-funnel-events.md"


def test_every_event_type_and_stage_is_documented() -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    for name in (*EVENT_TYPES, *STAGES):
        assert f"`{name}`" in text or f" {name} " in text, name


def test_every_route_is_documented() -> None:
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.md")))
    for route in routes():
        assert route.path.split("{")[0].rstrip("/") in text, route.path
