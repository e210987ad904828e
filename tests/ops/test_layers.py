"""Ops' layers (README "Layout"): routes parse, call a noun's read function or write unit,
and respond. A route module imports no other route module and no database driver, and
holds no SQL; domain values carry no HTTP envelope fields; Ops has no aiosqlite."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.ops.conftest import NOW, Ops
from vm122_ops import sessions, tickets
from vm122_ops.funnel import Window, build_funnel, compute

PACKAGE = Path(__file__).resolve().parents[2] / "vm122_ops"
ROUTES = sorted(p for p in (PACKAGE / "routes").glob("*.py") if p.name != "__init__.py")
DRIVERS = {"sqlite3", "aiosqlite"}
# A statement as SQL text: a keyword, then what it acts on, across lines.
SQL = re.compile(
    r"\b(select\s+(distinct\s+)?[\w.*,\s()]+?\s+from\s+\w+"
    r"|insert\s+(or\s+\w+\s+)?into\s+\w+|update\s+\w+\s+set|delete\s+from\s+\w+"
    r"|create\s+(table|index|view)|pragma\s+\w+)\b",
    re.IGNORECASE,
)
ENVELOPE = {"ok", "error"}


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, ``from a import b`` counted as a and a.b."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


# What running SQL looks like: a cursor's methods, or reaching for the named queries.
DATABASE_ATTRIBUTES = {
    "execute",
    "executemany",
    "executescript",
    "execute_fetchall",
    "fetchall",
    "fetchone",
    "fetch_all",
    "fetch_one",
    "queries",
}


def database_calls(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{node.attr} (line {node.lineno})"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr in DATABASE_ATTRIBUTES
    ]


def string_literals(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_the_route_modules_are_found() -> None:
    assert {p.stem for p in ROUTES} >= {"desk", "health", "onboard", "pages", "stream"}


@pytest.mark.parametrize("path", ROUTES, ids=lambda p: p.name)
def test_a_route_module_imports_no_other_route_module_and_no_driver(path: Path) -> None:
    imports = imported_modules(path)
    routes = {f"vm122_ops.routes.{p.stem}" for p in ROUTES}
    assert imports & routes == set(), f"{path.name} imports another route module"
    assert {name.split(".")[0] for name in imports} & DRIVERS == set(), path.name


def test_nothing_outside_the_routes_takes_a_name_from_a_route_module() -> None:
    """app.py lists the route modules' endpoints; what else they hold (a read helper the
    stream also needs, say) belongs to a noun module instead."""
    routes = {f"vm122_ops.routes.{p.stem}" for p in ROUTES}
    users = {
        path.name: sorted(
            name for name in imported_modules(path) if name.rsplit(".", 1)[0] in routes
        )
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "routes"
    }
    assert {name: found for name, found in users.items() if found} == {}


@pytest.mark.parametrize("path", ROUTES, ids=lambda p: p.name)
def test_a_route_module_holds_no_sql(path: Path) -> None:
    sql = [text for text in string_literals(path) if SQL.search(text)]
    assert sql == [], f"{path.name} holds SQL text"
    # Nor runs the named queries itself: it calls a read function through db.read.
    assert database_calls(path) == [], f"{path.name} runs SQL"


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import aiosqlite\nfrom vm122_ops.routes.onboard import window_hours\n"
        "from vm122_ops.routes import webhooks\n"
        "Q = '''select id\n  from tickets where id = :id'''\n"
        "U = 'update tickets set status = 1'\n"
        "async def f(db):\n    async with db.read() as conn:\n"
        "        return await conn.execute(db.queries['get_ticket'])\n"
    )
    imports = imported_modules(bad)
    assert {"aiosqlite", "vm122_ops.routes.onboard", "vm122_ops.routes.webhooks"} <= imports
    assert [bool(SQL.search(text)) for text in string_literals(bad)] == [True, True, False]
    assert database_calls(bad) == ["execute (line 9)", "queries (line 9)"]
    assert not SQL.search("select a window: 1-720 hours, from the funnel's settings")
    assert SQL.search("SELECT count(*) AS n FROM webhook_events")


def test_ops_has_no_aiosqlite() -> None:
    users = [p.name for p in PACKAGE.rglob("*.py") if "aiosqlite" in imported_modules(p)]
    assert users == []
    # Nor does anything it imports load it (servicekit.sqlfiles names it for the Portal's
    # types only).
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, vm122_ops.__main__; print('aiosqlite' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "False"


def test_domain_values_carry_no_http_envelope() -> None:
    funnel = build_funnel(Window(hours=2, now_ms=int(NOW * 1000)), Counter(), {}, [])
    document = funnel.document()
    assert ENVELOPE & document.keys() == set()
    assert document["cohort"] == 0
    assert document["window_hours"] == 2


async def test_read_functions_return_domain_values_the_api_wraps(ops: Ops) -> None:
    await ops.send("onboarding.started", "s", NOW - 30)
    await ops.send("account.created", "s", NOW - 10)
    window = Window(hours=48, now_ms=int(NOW * 1000))
    funnel = await ops.db.read(compute, window)
    timeline = await ops.db.read(sessions.timeline, "s")
    ticket = await ops.db.read(tickets.get, 1)
    page = await ops.db.read(tickets.page, tickets.TicketFilter(), 10)
    assert timeline is not None and ticket is not None
    for document in (funnel.document(), timeline.document(), ticket.document()):
        assert ENVELOPE & document.keys() == set()
    # The API answer is the domain value's document inside the envelope, nothing more.
    assert await ops.funnel() == {"ok": True, **funnel.document()}
    assert await ops.get("/api/v1/onboard/sessions/s/timeline") == {
        "ok": True,
        **timeline.document(),
    }
    assert await ops.get("/api/v1/desk/tickets/1") == {"ok": True, **ticket.document()}
    assert [t.id for t in page.tickets] == [1] and page.next is None
    assert [e.event_type for e in timeline.events] == ["onboarding.started", "account.created"]
    assert await ops.db.read(sessions.timeline, "nobody") is None
    assert await ops.db.read(tickets.get, 2) is None
