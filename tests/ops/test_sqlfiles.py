"""The SQL files: every named query is valid against a fresh schema; migrations are
tracked and a newer schema is refused."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from servicekit.sqlfiles import SchemaTooNewError, apply_migrations, load_queries, migration_files
from servicekit.sqlfiles.queries import parse_queries
from vm122_ops.store.db import SQL_DIR


async def test_every_query_explains_against_a_fresh_schema(tmp_path: Path) -> None:
    queries = load_queries(SQL_DIR / "queries")
    assert len(queries) >= 20
    async with aiosqlite.connect(tmp_path / "x.db") as conn:
        version = await apply_migrations(conn, SQL_DIR / "schema")
        assert version == len(migration_files(SQL_DIR / "schema"))
        for name, sql in queries.items():
            params = {p: None for p in re.findall(r":([a-z_][a-z0-9_]*)", sql)}
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


async def test_step_bucket_backfill_matches_the_python_formula(tmp_path: Path) -> None:
    """0003 backfills each session's step buckets in SQL; they equal durations.bucket_of."""
    import shutil

    from vm122_ops.funnel.durations import bucket_of

    schema = tmp_path / "schema"
    schema.mkdir()
    files = sorted((SQL_DIR / "schema").glob("*.sql"))
    for path in files[:2]:
        shutil.copy(path, schema)
    gaps = [0, 1, 50, 99, 100, 101, 137, 5_000, 59_770, 3_600_000, 86_400_000, 123_456_789]
    async with aiosqlite.connect(tmp_path / "x.db") as conn:
        await apply_migrations(conn, schema)
        for index, gap in enumerate(gaps):
            await conn.execute(
                "insert into onboard_sessions (session_id, domain, first_event_at,"
                " last_event_at, last_event_type, last_event_row, furthest_stage, status,"
                " event_count, started_at, domain_validated_at, dns_applied_at)"
                " values (:s, 'd', 0, 0, 't', 1, 2, 'active', 3, 1000, :v, null)",
                {"s": f"s{index}", "v": 1000 + gap},
            )
        await conn.commit()
        shutil.copy(files[2], schema)
        await apply_migrations(conn, schema)
        async with conn.execute(
            "select step0_bucket, step1_bucket from onboard_sessions order by domain_validated_at"
        ) as cursor:
            rows = list(await cursor.fetchall())
    assert [row[0] for row in rows] == [bucket_of(gap) for gap in gaps]
    assert {row[1] for row in rows} == {None}
