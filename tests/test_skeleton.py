"""Both services are built the same way on servicekit (docs/shared.md): every route
named, the shared security headers and error envelope, a typed AppState."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from servicekit.envelope import JSONResponse
from servicekit.errors import RequestError, StorageUnavailable
from servicekit.headers import SecurityHeaders
from tests.ops.conftest import make_settings as ops_settings
from tests.portal.conftest import make_settings as portal_settings
from vm112_portal.app import create_app as create_portal
from vm112_portal.state import AppState as PortalState
from vm122_ops.app import create_app as create_ops
from vm122_ops.app_state import AppState as OpsState

ROOT = Path(__file__).resolve().parent.parent


def apps(tmp_path: Path) -> dict[str, Starlette]:
    return {
        "ops": create_ops(ops_settings(tmp_path / "ops")),
        "portal": create_portal(portal_settings(tmp_path / "portal")),
    }


def route_calls(package: str) -> Iterator[tuple[str, ast.Call]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name in ("Route", "Mount"):
                    yield f"{path.relative_to(ROOT)}:{node.lineno}", node


@pytest.mark.parametrize("package", ["vm122_ops", "vm112_portal"])
def test_every_route_is_named(package: str) -> None:
    """Named where it is declared (Starlette would otherwise take the function's name,
    so an app cannot tell): ``url_path_for`` and the logs can rely on the names."""
    calls = list(route_calls(package))
    assert len(calls) >= 8
    unnamed = [where for where, call in calls if not any(k.arg == "name" for k in call.keywords)]
    assert unnamed == []


@pytest.mark.parametrize("service", ["ops", "portal"])
def test_the_shared_headers_and_envelope(tmp_path: Path, service: str) -> None:
    app = apps(tmp_path)[service]
    classes: list[object] = [middleware.cls for middleware in app.user_middleware]
    assert SecurityHeaders in classes
    assert {RequestError, StorageUnavailable, Exception} <= set(app.exception_handlers)


async def test_typed_state(tmp_path: Path) -> None:
    ops, portal = apps(tmp_path).values()
    async with LifespanManager(ops), LifespanManager(portal):
        assert isinstance(ops.state.ops, OpsState)
        assert isinstance(portal.state.portal, PortalState)
        assert JSONResponse.media_type == "application/json"
