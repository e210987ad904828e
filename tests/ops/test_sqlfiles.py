"""The SQL files: every named query is valid against a fresh schema; migrations are
tracked and a newer schema is refused."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from sqlfiles import SchemaTooNewError, apply_migrations, load_queries, migration_files
from sqlfiles.queries import parse_queries
from vm122_ops.db import SQL_DIR


async def test_every_query_explains_against_a_fresh_schema(tmp_path: Path) -> None:
    queries = load_queries(SQL_DIR / "queries")
    assert len(queries) >= 20
    async with aiosqlite.connect(tmp_path / "x.db") as conn:
        version = await apply_migrations(conn, SQL_DIR / "schema")
        assert version == len(migration_files(SQL_DIR / "schema"))
        for name, sql in queries.items():
            params = {p: None for p in re.findall(r":([a-z_]+)", sql)}
            await conn.execute(f"EXPLAIN {sql}", params)
            assert "?" not in sql, f"{name} uses positional parameters"


async def test_migrations_are_applied_once_and_newer_schemas_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    async with aiosqlite.connect(path) as conn:
        first = await apply_migrations(conn, SQL_DIR / "schema")
        again = await apply_migrations(conn, SQL_DIR / "schema")
        assert first == again
        await conn.execute(f"PRAGMA user_version = {first + 1}")
        with pytest.raises(SchemaTooNewError, match="newer release"):
            await apply_migrations(conn, SQL_DIR / "schema")


async def test_a_failing_migration_leaves_nothing_behind(tmp_path: Path) -> None:
    schema = tmp_path / "schema"
    schema.mkdir()
    (schema / "0001_ok.sql").write_text("create table a (x integer);")
    (schema / "0002_broken.sql").write_text("create table b (x integer); create nonsense;")
    async with aiosqlite.connect(tmp_path / "x.db") as conn:
        with pytest.raises(sqlite3.OperationalError):
            await apply_migrations(conn, schema)
        async with conn.execute("PRAGMA user_version") as cursor:
            assert (await cursor.fetchone()) == (1,)
        async with conn.execute("select name from sqlite_master where name = 'b'") as cursor:
            assert await cursor.fetchall() == []


def test_query_labels_are_parsed_and_duplicates_refused() -> None:
    text = (
        "-- name: one^\n-- what it is for\nselect 1;\n\n"
        "-- name: two<!\ninsert into t values (:x);\n"
    )
    assert parse_queries(text, "t.sql") == {"one": "select 1", "two": "insert into t values (:x)"}
    with pytest.raises(ValueError, match="defined twice"):
        parse_queries("-- name: a\nselect 1;\n-- name: a\nselect 2;\n", "t.sql")
