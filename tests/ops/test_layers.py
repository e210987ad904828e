"""Ops' layers (README "Layout", docs/ops-architecture.md): routes/ parse, call a domain
module's read function or write unit, and respond; the domain packages (ingest/, funnel/,
tickets/, desk/, kept/, store/) run the named queries (store/sql.py, from sql/ops/queries)
through the database (store/db.py). A route module imports no other route module (only
the route helpers params.py and openapi.py) and no database driver, and holds no SQL; no
domain module imports a route module or the app; the database layer imports no domain
module; domain values carry no HTTP envelope fields; Ops has no aiosqlite."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.ops.conftest import NOW, Ops
from tests.support.funnel_oracle import compute
from vm122_ops.funnel.rollups import Window, build_funnel
from vm122_ops.ingest import session_fold as sessions
from vm122_ops.tickets import ticket as tickets

PACKAGE = Path(__file__).resolve().parents[2] / "vm122_ops"
# What the route modules share: request parsing and the OpenAPI document.
ROUTE_HELPERS = {"__init__.py", "params.py", "openapi.py"}
ROUTES = sorted(p for p in (PACKAGE / "routes").glob("*.py") if p.name not in ROUTE_HELPERS)
DOMAIN = ("ingest", "funnel", "tickets", "desk", "kept", "store")
# The bottom layer: the database and the named queries; they know no domain module.
DATABASE = (PACKAGE / "store" / "db.py", PACKAGE / "store" / "sql.py")
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


def upward_imports(path: Path, forbidden: tuple[str, ...], *, typing: bool = True) -> list[str]:
    """The modules ``path`` imports that are or lie below one of ``forbidden``
    (``typing=False``: imports for type checking only, under ``if TYPE_CHECKING:``, are
    left out)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not typing:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
                node.body = []
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(
        name
        for name in found
        if any(name == prefix or name.startswith(f"{prefix}.") for prefix in forbidden)
    )


def test_the_layers_import_downward_only() -> None:
    """app.py lists the route modules' endpoints; what else they hold (a read helper the
    stream also needs, say) belongs to a domain module instead. No domain module reaches
    up to the routes or the app; the database layer reaches up to nothing."""
    routes = {f"vm122_ops.routes.{p.stem}" for p in ROUTES}
    users = {
        path.name: sorted(
            name for name in imported_modules(path) if name.rsplit(".", 1)[0] in routes
        )
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "routes"
    }
    assert {name: found for name, found in users.items() if found} == {}
    domain = [path for package in DOMAIN for path in sorted((PACKAGE / package).glob("*.py"))]
    assert {path.parent.name for path in domain} == set(DOMAIN) and len(domain) >= 30
    up = ("vm122_ops.routes", "vm122_ops.app", "vm122_ops.__main__")
    reaching_up = {
        str(path.relative_to(PACKAGE)): found
        for path in domain
        if (found := upward_imports(path, up))
    }
    assert reaching_up == {}
    # The database layer names the write units' result types for type checking only.
    above_the_database = (
        *(f"vm122_ops.{package}" for package in DOMAIN if package != "store"),
        "vm122_ops.store.stored_events",
        "vm122_ops.store.retention",
        "vm122_ops.store.recovery",
        "vm122_ops.app_state",
        "vm122_ops.settings",
        "vm122_ops.metrics",
        *up,
    )
    assert {
        path.name: upward_imports(path, above_the_database, typing=False) for path in DATABASE
    } == {"db.py": [], "sql.py": []}


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
    assert upward_imports(bad, ("vm122_ops.routes",)) == [
        "vm122_ops.routes",
        "vm122_ops.routes.onboard",
        "vm122_ops.routes.onboard.window_hours",
        "vm122_ops.routes.webhooks",
    ]
    assert upward_imports(bad, ("vm122_ops.route",)) == []  # a whole name, not a prefix
    typed = tmp_path / "typed.py"
    typed.write_text(
        "from typing import TYPE_CHECKING\nimport vm122_ops.funnel\n"
        "if TYPE_CHECKING:\n    from vm122_ops.tickets.work import TicketChange\n"
    )
    assert upward_imports(typed, ("vm122_ops.tickets", "vm122_ops.funnel"), typing=False) == [
        "vm122_ops.funnel"
    ]
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
