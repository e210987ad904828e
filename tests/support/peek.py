"""Read-only looks into a service's SQLite file from the test's side: a separate
connection opened with mode=ro, so a test can never change what it inspects."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

Params = Mapping[str, Any] | tuple[Any, ...]


@contextmanager
def reading(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to ``db_path``, closed afterwards."""
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        yield conn


def rows(db_path: Path, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
    with reading(db_path) as conn:
        return [tuple(row) for row in conn.execute(sql, params)]


def records(db_path: Path, sql: str, params: Params = ()) -> list[dict[str, Any]]:
    """Rows as dicts keyed by column name."""
    with reading(db_path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(sql, params)]


def value(db_path: Path, sql: str, params: Params = ()) -> Any:
    """The first column of the first row (None when there is no row)."""
    with reading(db_path) as conn:
        row = conn.execute(sql, params).fetchone()
    return None if row is None else row[0]


def counts(db_path: Path, tables: Iterable[str] | None = None) -> dict[str, int]:
    """Rows per table: of ``tables``, or of every table in the file."""
    with reading(db_path) as conn:
        names = (
            list(tables)
            if tables is not None
            else [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        )
        return {
            name: int(conn.execute(f'select count(*) from "{name}"').fetchone()[0])  # noqa: S608
            for name in names
        }


def rows_if_ready(db_path: Path, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
    """``rows``, or [] while the file or its schema does not exist yet (a service starting)."""
    if not db_path.exists():
        return []
    try:
        return rows(db_path, sql, params)
    except sqlite3.OperationalError:
        return []


# Reads that more than one suite makes.


def outbox(portal_db: Path) -> list[dict[str, Any]]:
    """Every row of the Portal's outbox, oldest first."""
    return records(portal_db, "select * from outbox order by id")


def stored_event_ids(ops_db: Path) -> list[str]:
    """The webhook-ids Ops stored, in arrival order; [] while Ops has not made its schema."""
    return [
        str(r[0]) for r in rows_if_ready(ops_db, "select event_id from webhook_events order by id")
    ]


def stored_events(ops_db: Path) -> list[tuple[str, str, str]]:
    """(event_id, session_id, event_type) of every event Ops stored, in arrival order."""
    query = "select event_id, session_id, event_type from webhook_events order by id"
    return [(str(a), str(b), str(c)) for a, b, c in rows(ops_db, query)]
