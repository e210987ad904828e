"""The maps of the code are true: docs/ops-architecture.md's newcomer's map answers each
question with one path that exists, and every path, module and name the architecture
page, docs/shared.md and README's layout point at exists."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = (ROOT / "docs" / "ops-architecture.md").read_text(encoding="utf-8")
SHARED = (ROOT / "docs" / "shared.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
# A path in the tree, as the documents write it (a glob allowed, NNNN for a number).
PATH = re.compile(
    r"(?<![\w/.-])((?:vm122_ops|vm112_portal|servicekit|sql|frontend|tests|deploy|bench"
    r"|scripts|docs)/[\w./*-]*[\w*])"
)
# A dotted module path (and maybe a name in it): vm122_ops.store.sql.QUERIES.
DOTTED = re.compile(r"`((?:vm122_ops|vm112_portal|servicekit)(?:\.\w+)+)`")
# "`name`, `other` in `path.py`": names a module defines.
NAMES_IN = re.compile(r"((?:`\w+`(?:, )?)+) in `([\w/]+\.py)`")
# What the brief asks a newcomer's map to answer, at least.
REQUIRED = (
    "How is a webhook stored?",
    "How is the funnel cached?",
    "How is a ticket assigned",
    "How does the Desk get live updates?",
    "How is a login checked?",
    "Where is SQL?",
    "How is the database migrated?",
    "How is the database backed up",
)


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def map_rows() -> list[list[str]]:
    rows = []
    for line in section(ARCHITECTURE, "## A newcomer's map").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 3 and cells[0].endswith("?"):
            rows.append(cells)
    return rows


def exists(path: str) -> bool:
    pattern = path.rstrip("/").replace("NNNN", "[0-9][0-9][0-9][0-9]")
    return any(ROOT.glob(pattern)) if "*" in pattern or "[" in pattern else (ROOT / path).exists()


def defines(path: Path, name: str) -> bool:
    """Whether the module at ``path`` defines ``name`` (a function, class, method or an
    assigned name, at any depth)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        value: object = module
        for name in parts[cut:]:
            if not hasattr(value, name):
                return False
            value = getattr(value, name)
        return True
    return False


def test_the_map_answers_each_question_with_one_path_that_exists() -> None:
    rows = map_rows()
    assert len(rows) >= 20
    questions = [question for question, _, _ in rows]
    for required in REQUIRED:
        assert any(q.startswith(required) for q in questions), required
    assert len(set(questions)) == len(questions)
    for question, where, _ in rows:
        found = re.fullmatch(r"`([^`]+)`", where)
        assert found is not None, f"{question}: one path, in backticks: {where}"
        assert exists(found.group(1)), f"{question}: {found.group(1)} does not exist"


def test_the_names_beside_each_answer_are_in_the_files_it_names() -> None:
    missing = []
    for question, where, what in map_rows():
        files = [ROOT / p for p in PATH.findall(where + " " + what) if p.endswith(".py")]
        for name in re.findall(r"`([A-Za-z_][\w.]*)`", what):
            leaf = name.rsplit(".", 1)[-1]
            if "/" in name or not files or (leaf.isupper() and "_" not in leaf):
                continue
            if not any(path.exists() and defines(path, leaf) for path in files):
                missing.append(f"{question} {name}")
    assert missing == []


def test_every_path_module_and_name_the_pages_point_at_exists() -> None:
    pages = {
        "docs/ops-architecture.md": ARCHITECTURE,
        "docs/shared.md": SHARED,
        "README.md": README,
    }
    missing = []
    for page, text in pages.items():
        missing += [f"{page}: {path}" for path in PATH.findall(text) if not exists(path)]
        missing += [f"{page}: {name}" for name in DOTTED.findall(text) if not resolves(name)]
        for names, path in NAMES_IN.findall(text):
            for name in re.findall(r"`(\w+)`", names):
                if not (ROOT / path).exists() or not defines(ROOT / path, name):
                    missing.append(f"{page}: {name} in {path}")
    assert missing == []


def test_the_readme_layout_names_files_and_folders_that_exist() -> None:
    """Under each top-level folder of README's layout, every ``name.py``, ``name.sh`` or
    ``name/`` its lines mention is somewhere in that folder."""
    layout = section(README, "## Layout").split("```")[1]
    missing = []
    folder: Path | None = None
    for line in layout.splitlines():
        if line and not line[0].isspace():
            folder = ROOT / line.split()[0]
            assert folder.exists(), line.split()[0]
        if folder is None or folder.name in {"tests", "docs", "scripts"}:
            continue
        for name in re.findall(r"(?<![\w/.-])([a-z_][\w-]*(?:\.py|\.sh|/))(?=[\s,;:)]|$)", line):
            if name == line.split()[0]:
                continue
            bare = name.rstrip("/")
            if not any(folder.rglob(bare)):
                missing.append(f"{folder.name}: {name}")
    assert missing == []


def test_the_checks_catch_what_they_look_for() -> None:
    assert exists("vm122_ops/store/db.py") and exists("sql/ops/schema/NNNN_*.sql")
    assert not exists("vm122_ops/funnel.py") and not exists("sql/ops/schema/NNNN_none*.sql")
    assert resolves("vm122_ops.store.sql.QUERIES") and resolves("servicekit.envelope.ok")
    assert not resolves("vm122_ops.funnel.read_funnel_everywhere")
    assert not resolves("vm122_ops.sessions.timeline")
    assert defines(ROOT / "vm122_ops/tickets/work.py", "apply_patch")
    assert defines(ROOT / "vm122_ops/desk/accounts.py", "verify_async")  # a method
    assert not defines(ROOT / "vm122_ops/tickets/work.py", "open_or_extend")
    assert PATH.findall("see `vm122_ops/kept/answers.py`, sql/ops/queries.") == [
        "vm122_ops/kept/answers.py",
        "sql/ops/queries",
    ]
