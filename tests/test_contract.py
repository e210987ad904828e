"""Every copy of the event contract agrees with servicekit/contract.py.

The lists that cannot import it are read where they take effect: the CHECK constraints
of a freshly migrated database of each service (from sqlite_master, so a later migration
that rebuilds a table is what counts), both OpenAPI documents, the Desk's
frontend/js/viewData.js and the benchmark's naive SQL. Change one list alone and this fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from servicekit.contract import (
    BREAKDOWNS,
    DNS_MODES,
    EVENT_TYPES,
    FAILED,
    LANGUAGES,
    MAIL_CHECKED,
    PREVIOUS_PROVIDERS,
    RELEASE,
    STAGE_OF_TYPE,
    STAGE_TYPES,
    STAGES,
)
from servicekit.sqlfiles import apply_migrations
from vm112_portal import openapi as portal_openapi
from vm112_portal.outbox import ops_webhook
from vm122_ops.ingest import events as ops_events
from vm122_ops.routes import openapi as ops_openapi

ROOT = Path(__file__).resolve().parent.parent
_QUOTED = re.compile(r"'([^']*)'")


async def table_sql(service: str, table: str) -> str:
    """The CREATE TABLE statement of ``table`` in a fresh database of ``service``."""
    async with aiosqlite.connect(":memory:") as conn:
        await apply_migrations(conn, ROOT / "sql" / service / "schema")
        async with conn.execute(
            "select sql from sqlite_master where type = 'table' and name = ?", (table,)
        ) as cursor:
            row = await cursor.fetchone()
    assert row is not None, f"{service} has no table {table}"
    return str(row[0])


def check_list(sql: str, column: str) -> tuple[str, ...]:
    """The quoted values of ``check (<column> in (...))`` in a CREATE TABLE statement."""
    match = re.search(rf"check\s*\(\s*{column}\s+in\s*\(([^)]*)\)", sql, re.IGNORECASE)
    assert match is not None, f"no CHECK ({column} IN (...)) in {sql[:80]!r}"
    return tuple(_QUOTED.findall(match.group(1)))


def js_list(text: str, name: str) -> tuple[str, ...]:
    """The strings of ``export const <name> = [...]`` in a JS module."""
    match = re.search(rf"export const {name} = \[([^\]]*)\]", text)
    assert match is not None, f"no export const {name} = [...]"
    return tuple(re.findall(r'"([^"]*)"', match.group(1)))


def lists_in(document: Any) -> Iterator[list[Any]]:
    """Every JSON array anywhere in an OpenAPI document."""
    if isinstance(document, dict):
        for value in document.values():
            yield from lists_in(value)
    elif isinstance(document, list):
        yield document
        for value in document:
            yield from lists_in(value)


def test_the_contract_itself_is_consistent() -> None:
    assert len(STAGES) == len(STAGE_TYPES) == len(set(STAGES)) == 6
    assert (*STAGE_TYPES, FAILED, MAIL_CHECKED) == EVENT_TYPES
    assert MAIL_CHECKED not in STAGE_OF_TYPE
    assert [STAGE_OF_TYPE[t] for t in STAGE_TYPES] == list(range(len(STAGES)))


def test_both_services_use_the_contract_itself() -> None:
    assert ops_events.EVENT_TYPES is EVENT_TYPES
    assert ops_events.STAGES is STAGES
    assert ops_events.STAGE_OF_TYPE is STAGE_OF_TYPE
    assert ops_webhook.EVENT_TYPES is EVENT_TYPES


@pytest.mark.parametrize(
    ("service", "table"),
    [
        pytest.param("ops", "webhook_events", id="ops-webhook_events"),
        pytest.param("portal", "outbox", id="portal-outbox"),
    ],
)
async def test_schema_check_lists_the_event_types(service: str, table: str) -> None:
    assert check_list(await table_sql(service, table), "event_type") == EVENT_TYPES


async def test_ops_schema_bounds_the_stage_numbers() -> None:
    sql = await table_sql("ops", "onboard_sessions")
    match = re.search(r"check\s*\(\s*furthest_stage\s+between\s+(\d+)\s+and\s+(\d+)\s*\)", sql)
    assert match is not None
    assert (int(match.group(1)), int(match.group(2))) == (0, len(STAGES) - 1)


async def test_ops_schema_checks_the_breakdown_values() -> None:
    """The session columns' and the rollup's CHECK lists are the contract's (migration 0017)."""
    sessions = await table_sql("ops", "onboard_sessions")
    assert check_list(sessions, "dns_mode") == DNS_MODES
    assert check_list(sessions, "previous_provider") == PREVIOUS_PROVIDERS
    assert check_list(sessions, "language") == LANGUAGES
    assert check_list(await table_sql("ops", "breakdown_rollup"), "dimension") == BREAKDOWNS
    # A release is never a word the answers use for a group, nor too long for its column.
    assert not any(RELEASE.match(word) for word in ("unknown", "other", "", "1" * 33))
    assert re.search(r"check\s*\(\s*length\(release\)\s+between\s+1\s+and\s+32\)", sessions)


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(ops_openapi.DOCUMENT, id="ops"),
        pytest.param(portal_openapi.DOCUMENT, id="portal"),
    ],
)
def test_openapi_lists_of_types_or_stages_are_the_contract(document: dict[str, Any]) -> None:
    """Any array in the document naming an event type, or mostly stages, is the whole list.

    A list of other words that happens to hold one stage's name (the drill-down's session
    states include ``completed``) is not a stage list; the funnel's per-furthest-stage keys
    are the stages after ``none`` (failed before reaching one)."""
    for values in lists_in(document):
        names = {value for value in values if isinstance(value, str)}
        if names & set(EVENT_TYPES):
            assert tuple(values) == EVENT_TYPES
        if len(names & set(STAGES)) * 2 > len(names):
            assert tuple(values) in (STAGES, ("none", *STAGES))


def test_ops_openapi_enumerates_the_event_types() -> None:
    event = ops_openapi.DOCUMENT["components"]["schemas"]["Event"]
    assert tuple(event["properties"]["type"]["enum"]) == EVENT_TYPES


def test_the_desk_lists_the_contract() -> None:
    text = (ROOT / "frontend" / "js" / "viewData.js").read_text(encoding="utf-8")
    assert js_list(text, "STAGES") == STAGES
    assert js_list(text, "EVENT_TYPES") == EVENT_TYPES


def test_the_benchmark_baselines_map_types_to_stages_as_the_contract() -> None:
    """bench/sql/baselines.sql computes the funnel the naive ways, each with its own
    ``case event_type when '...' then N`` (plain SQL, measured against Ops)."""
    text = (ROOT / "bench" / "sql" / "baselines.sql").read_text(encoding="utf-8")
    blocks = re.findall(r"case event_type(.*?)end", text, re.DOTALL)
    assert len(blocks) == 2
    for block in blocks:
        pairs = re.findall(r"when '([^']*)' then (\d+)", block)
        assert {t: int(n) for t, n in pairs} == STAGE_OF_TYPE
        assert [t for t, _ in pairs] == list(STAGE_TYPES)


def test_the_desk_names_every_stage_in_each_language() -> None:
    text = (ROOT / "frontend" / "js" / "i18n.js").read_text(encoding="utf-8")
    for stage in STAGES:
        assert text.count(f'"stage.{stage}"') >= 2, stage
