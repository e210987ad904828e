"""docs/portal.md names every route, environment variable and event type of the portal."""

from __future__ import annotations

import re
from pathlib import Path

from starlette.routing import Mount, Route

from tests.portal.conftest import make_settings
from vm112_portal.app import create_app
from vm112_portal.outbox.ops_webhook import EVENT_TYPES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "portal.md").read_text(encoding="utf-8")
SOURCE = Path(__file__).resolve().parents[2] / "vm112_portal" / "settings.py"


def test_every_route_is_documented(tmp_path: Path) -> None:
    app = create_app(make_settings(tmp_path))
    paths = [route.path for route in app.routes if isinstance(route, Route | Mount)]
    assert len(paths) >= 7
    for path in paths:
        assert f"`{path}" in DOC or f" {path}" in DOC, path


def test_every_environment_variable_is_documented() -> None:
    names = set(re.findall(r'"((?:PORTAL|OPS|CLOUDFLARE|CARBONIO)_[A-Z_]+)"', SOURCE.read_text()))
    assert len(names) >= 20
    for name in sorted(names):
        assert f"`{name}`" in DOC, name


def test_every_event_type_is_documented() -> None:
    for event_type in EVENT_TYPES:
        assert f"`{event_type}`" in DOC, event_type
