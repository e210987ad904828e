"""Named queries loaded once from ``.sql`` files (aiosql-style labels)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path

# "-- name: insert_event!" — the suffix (! ^ $ *!) documents the shape; the key drops it.
_LABEL = re.compile(r"^--\s*name:\s*([a-z_][a-z0-9_]*)([<!^$*]*)\s*$", re.MULTILINE)


class Queries(Mapping[str, str]):
    """Read-only mapping of query name to SQL text."""

    def __init__(self, queries: dict[str, str]) -> None:
        self._queries = dict(queries)

    def __getitem__(self, name: str) -> str:
        return self._queries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)


def parse_queries(text: str, source: str) -> dict[str, str]:
    """Split one file into {name: sql}; a duplicate name in the file is an error."""
    found: dict[str, str] = {}
    labels = list(_LABEL.finditer(text))
    for i, label in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        body_lines = [
            line
            for line in text[label.end() : end].splitlines()
            if line.strip() and not line.lstrip().startswith("--")
        ]
        sql = "\n".join(body_lines).strip().rstrip(";").strip()
        name = label.group(1)
        if not sql:
            raise ValueError(f"{source}: query {name!r} has no SQL")
        if name in found:
            raise ValueError(f"{source}: query {name!r} is defined twice")
        found[name] = sql
    return found


def load_queries(folder: Path) -> Queries:
    """Load every ``*.sql`` file of ``folder``; names must be unique across files."""
    queries: dict[str, str] = {}
    for path in sorted(folder.glob("*.sql")):
        for name, sql in parse_queries(path.read_text(encoding="utf-8"), path.name).items():
            if name in queries:
                raise ValueError(f"{path.name}: query {name!r} is already defined elsewhere")
            queries[name] = sql
    return Queries(queries)
