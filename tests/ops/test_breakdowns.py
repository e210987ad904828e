"""The funnel and the trend split by a session property (vm122_ops/funnel/breakdowns.py,
breakdown_trend.py; GET /api/v1/onboard/breakdown and /breakdown/trend): exact figures,
an oracle over random sessions with random properties in random arrival orders (each
split sums to the whole funnel and trend), top N and other, unknown for older events,
bad parameters (400) and bad event fields (422, nothing stored)."""

from __future__ import annotations

import random
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
import pytest

from servicekit.contract import BREAKDOWNS, STAGE_TYPES, STAGES
from servicekit.sqlfiles import apply_migrations
from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from tests.support import peek
from vm122_ops.ingest.events import format_ms
from vm122_ops.store import retention
from vm122_ops.store.db import SQL_DIR

BREAKDOWN = "/api/v1/onboard/breakdown"
SPLIT_TREND = "/api/v1/onboard/breakdown/trend"
TREND = "/api/v1/onboard/trend"
H = 3_600_000
RELEASES = ("1.0.0", "1.1.0", "1.2.0", "1.2.1", "2.0.0rc1", "2.0.0", "2.0.1+g1a2b3c")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures(sessions: list[Session]) -> dict[str, Any]:
    """The funnel figures of ``sessions`` as the API gives them (the oracle's own sums):
    conversion is of the sessions started and not refused."""
    reached = [sum(1 for s in sessions if s.furthest >= i) for i in range(len(STAGES))]
    refused = sum(1 for s in sessions if s.status == "refused")
    started = reached[0] - refused
    conversion = {}
    for index, name in enumerate(STAGES):
        here = reached[index] if index else started
        previous = reached[index - 1] if index > 1 else started
        conversion[name] = {
            "of_started": _ratio(here, started),
            "of_previous": _ratio(here, previous),
        }
    return {
        "cohort": len(sessions),
        "stages": dict(zip(STAGES, reached, strict=True)),
        "completed": reached[-1],
        "failed": sum(1 for s in sessions if s.status == "failed"),
        "refused": refused,
        "conversion": conversion,
    }


@dataclass
class Session:
    sid: str
    first: float  # seconds
    furthest: int  # -1: no stage
    status: str
    props: dict[str, str | None] = field(default_factory=dict)

    def value(self, dimension: str) -> str | None:
        return self.props.get(dimension)


def oracle_split(sessions: list[Session], dimension: str, top: int) -> list[dict[str, Any]]:
    """The groups the API must give: top values by started (ties by value), other, unknown."""
    by_value: dict[str, list[Session]] = {}
    unknown = []
    for session in sessions:
        value = session.value(dimension)
        if value is None:
            unknown.append(session)
        else:
            by_value.setdefault(value, []).append(session)
    ranked = sorted(
        by_value.items(), key=lambda item: (-sum(s.furthest >= 0 for s in item[1]), item[0])
    )
    groups = [
        {"value": value, "kind": "value", "values": 1, **figures(members)}
        for value, members in ranked[:top]
    ]
    rest = [s for _, members in ranked[top:] for s in members]
    groups.append({"value": None, "kind": "other", "values": len(ranked[top:]), **figures(rest)})
    groups.append({"value": None, "kind": "unknown", "values": 0, **figures(unknown)})
    return groups


async def test_exact_split_by_language(ops: Ops) -> None:
    ops.clock.now = NOW + 30 * 60  # 12:30
    start = "onboarding.started"
    await ops.send(start, "a", NOW - 2 * HOUR, language="pt", release="1.4.0")
    await ops.send("domain.validated", "a", NOW - 2 * HOUR + 5)
    await ops.send("onboarding.completed", "a", NOW - HOUR)
    await ops.send(start, "b", NOW - 2 * HOUR + 60, language="pt", release="1.4.0")
    await ops.send("onboarding.failed", "b", NOW - 2 * HOUR + 90, stage="domain_validated")
    await ops.send(start, "c", NOW - HOUR, language="en", release="1.3.2")
    await ops.send(start, "d", NOW - HOUR + 1)  # an older Portal: no language, no release
    await ops.send("domain.validated", "e", NOW - 60, language="pt")  # not carried: unknown
    found = await ops.get(BREAKDOWN, hours=3, by="language")
    stages = dict.fromkeys(STAGES, 0)
    assert {k: found[k] for k in ("by", "window_hours", "since", "generated_at", "top")} == {
        "by": "language",
        "window_hours": 3,
        "since": "2026-11-29T09:30:00.000Z",
        "generated_at": "2026-11-29T12:30:00.000Z",
        "top": 5,
    }
    pt = {
        "value": "pt",
        "kind": "value",
        "values": 1,
        "cohort": 2,
        "stages": {**dict.fromkeys(STAGES, 1), "started": 2},  # a completed, b failed
        "completed": 1,
        "failed": 1,
        "refused": 0,
    }
    en = {
        "value": "en",
        "kind": "value",
        "values": 1,
        "cohort": 1,
        "stages": {**stages, "started": 1},
        "completed": 0,
        "failed": 0,
        "refused": 0,
    }
    other = {
        "value": None,
        "kind": "other",
        "values": 0,
        "cohort": 0,
        "stages": stages,
        "completed": 0,
        "failed": 0,
        "refused": 0,
    }
    unknown = {
        "value": None,
        "kind": "unknown",
        "values": 0,
        "cohort": 2,
        "stages": {**stages, "started": 2, "domain_validated": 1},  # a stage counts the ones before
        "completed": 0,
        "failed": 0,
        "refused": 0,
    }
    got = [{k: v for k, v in g.items() if k != "conversion"} for g in found["groups"]]
    assert got == [pt, en, other, unknown]
    assert found["groups"][0]["conversion"]["completed"] == {"of_started": 0.5, "of_previous": 1.0}
    funnel = await ops.funnel(hours=3)
    total = found["total"]
    assert (total["cohort"], total["stages"], total["failed"]) == (
        funnel["cohort"],
        funnel["stages"],
        funnel["failed"],
    )
    assert total["cohort"] == 5 and total["conversion"] == funnel["conversion"]
    # Top 1: en joins other; release: the session without one is unknown.
    found = await ops.get(BREAKDOWN, hours=3, by="language", top=1)
    assert [(g["value"], g["kind"], g["values"], g["cohort"]) for g in found["groups"]] == [
        ("pt", "value", 1, 2),
        (None, "other", 1, 1),
        (None, "unknown", 0, 2),
    ]
    found = await ops.get(BREAKDOWN, hours=3, by="release")
    assert [(g["value"], g["cohort"]) for g in found["groups"]] == [
        ("1.4.0", 2),
        ("1.3.2", 1),
        (None, 0),
        (None, 2),
    ]


async def test_dns_values_from_the_newest_dns_applied(ops: Ops) -> None:
    """Of two dns.applied the newer one (event time) gives the values, in either order."""
    ops.clock.now = NOW
    for sid, order in (("x", (0, 1)), ("y", (1, 0))):
        await ops.send("onboarding.started", sid, NOW - 600)
        sends = [
            ("dns.applied", dict(mode="manual", previous_provider="google"), NOW - 500),
            ("dns.applied", dict(mode="cloudflare", previous_provider="microsoft365"), NOW - 400),
        ]
        for index in order:
            event_type, data, at = sends[index]
            assert (await ops.send(event_type, sid, at, **data)).status_code == 202
    for by, value in (("dns_mode", "cloudflare"), ("previous_provider", "microsoft365")):
        found = await ops.get(BREAKDOWN, hours=1, by=by)
        assert [(g["value"], g["cohort"]) for g in found["groups"]] == [
            (value, 2),
            (None, 0),
            (None, 0),
        ]


def _random_sessions(rng: random.Random, now: float, count: int) -> list[Session]:
    """Sessions with random stages, outcomes and values; some never sent onboarding.started
    (an older or broken sender) or never reached dns.applied: those values unknown."""
    sessions = []
    for index in range(count):
        first = now - 60 - rng.choice([rng.uniform(0, 6 * HOUR), rng.uniform(0, 80 * HOUR)])
        furthest = rng.choice([0, 1, 1, 2, 3, 4, 5, 5, 5])
        failed = 0 < furthest < 5 and rng.random() < 0.3
        props: dict[str, str | None] = {
            "dns_mode": rng.choice(["cloudflare", "manual", None]),
            "previous_provider": rng.choice(["microsoft365", "google", "other", "none", None]),
            "language": rng.choice(["pt", "en", None]),
            "release": rng.choice([*RELEASES, None]),
            "started": "yes" if rng.random() < 0.85 else None,
        }
        if furthest == 0:  # only its start: refused (the Portal said why) or still there
            props["started"] = "yes"
            props["refusal"] = rng.choice(["mailbox_provider", "domain_taken", None])
        if props["started"] is None:
            props["language"] = props["release"] = None
        if furthest < 2:
            props["dns_mode"] = props["previous_provider"] = None
        status = "failed" if failed else ("completed" if furthest == 5 else "active")
        if props.get("refusal"):
            status = "refused"
        sessions.append(Session(f"r{index}", first, furthest, status, props))
    return sessions


def _events(
    rng: random.Random, session: Session, now: float
) -> list[tuple[str, float, dict[str, Any]]]:
    """The session's events at distinct times before ``now``: its stages in order, then a
    failure when failed; a few sessions send an older dns.applied with other values too
    (the newer one counts)."""
    events: list[tuple[str, float, dict[str, Any]]] = []
    at = session.first
    props = session.props
    stages = range(0 if props["started"] else 1, session.furthest + 1)
    gaps = [rng.uniform(2, 900) for _ in range(len(stages) + 2)]
    scale = min(1.0, (now - 10 - at) / sum(gaps))  # every event at least 10 s before now
    for stage, gap in zip(stages, gaps, strict=False):
        data: dict[str, Any] = {}
        if stage == 0:
            data = {key: props[key] for key in ("language", "release") if props[key]}
            if props.get("refusal"):
                data["refusal"] = {"code": props["refusal"], "status": 409}
        if stage == 2:
            if props["dns_mode"]:
                data["mode"] = props["dns_mode"]
            if props["previous_provider"]:
                data["previous_provider"] = props["previous_provider"]
            if rng.random() < 0.2:
                events.append(("dns.applied", at, {"mode": "manual", "previous_provider": "none"}))
                at += gaps[-1] * scale
        events.append((STAGE_TYPES[stage], at, data))
        at += gap * scale
    if session.status == "failed":
        events.append(("onboarding.failed", at, {}))
    return events


@pytest.mark.parametrize("seed", [3, 11])
async def test_every_split_sums_to_the_funnel_oracle(ops: Ops, seed: int) -> None:
    rng = random.Random(seed)
    ops.clock.now = NOW + 23 * 60 + 17
    now = ops.clock.now
    sessions = _random_sessions(rng, now, 150)
    sends = [(s.sid, e) for s in sessions for e in _events(rng, s, now)]
    rng.shuffle(sends)
    for sid, (event_type, at, data) in sends:
        assert (await ops.send(event_type, sid, at, **data)).status_code == 202
    for hours in (1, 5, 48, 72):
        since = now - hours * HOUR
        cohort = [s for s in sessions if round(s.first * 1000) >= round(since * 1000)]
        funnel = await ops.funnel(hours=hours)
        for by in BREAKDOWNS:
            for top in (1, 2, 5):
                found = await ops.get(BREAKDOWN, hours=hours, by=by, top=top)
                assert found["groups"] == oracle_split(cohort, by, top), (hours, by, top)
                assert found["total"] == figures(cohort)
                assert found["total"]["cohort"] == funnel["cohort"]
                assert found["total"]["stages"] == funnel["stages"]
                assert found["total"]["failed"] == funnel["failed"]
                assert found["total"]["refused"] == funnel["refused"]
                assert found["total"]["conversion"] == funnel["conversion"]
                summed = Counter[str]()
                for group in found["groups"]:
                    summed.update(group["stages"])
                    summed["cohort"] += group["cohort"]
                    summed["failed"] += group["failed"]
                    summed["refused"] += group["refused"]
                whole = {"cohort": funnel["cohort"], "failed": funnel["failed"]}
                whole["refused"] = funnel["refused"]
                assert summed == Counter({**funnel["stages"], **whole})


@pytest.mark.parametrize("seed", [5])
async def test_the_trend_split_sums_to_the_trend_oracle(ops: Ops, seed: int) -> None:
    rng = random.Random(seed)
    ops.clock.now = NOW + 41 * 60
    now = ops.clock.now
    now_ms = round(now * 1000)
    sessions = _random_sessions(rng, now, 120)
    sends = [(s.sid, e) for s in sessions for e in _events(rng, s, now)]
    rng.shuffle(sends)
    for sid, (event_type, at, data) in sends:
        assert (await ops.send(event_type, sid, at, **data)).status_code == 202
    for hours, top in ((6, 2), (72, 5), (100, 3)):
        size = 1 if hours <= 72 else 24
        count = hours if size == 1 else -(-hours // 24)
        first_hour = (now_ms // H // size - count + 1) * size
        whole = await ops.get(TREND, hours=hours)
        for by in BREAKDOWNS:
            found = await ops.get(SPLIT_TREND, hours=hours, by=by, top=top)
            assert (found["by"], found["window_hours"], found["top"]) == (by, hours, top)
            assert found["period"] == whole["period"]
            in_range = [s for s in sessions if s.first * 1000 >= first_hour * H]
            by_value: dict[str, list[Session]] = {}
            for s in in_range:
                value = s.value(by)
                if value is not None:
                    by_value.setdefault(value, []).append(s)
            ranked = sorted(by_value.items(), key=lambda item: (-len(item[1]), item[0]))
            want_groups: list[tuple[str | None, str, int, list[Session]]] = [
                (v, "value", 1, members) for v, members in ranked[:top]
            ]
            rest = [s for _, members in ranked[top:] for s in members]
            want_groups.append((None, "other", len(ranked[top:]), rest))
            unknown = [s for s in in_range if s.value(by) is None]
            want_groups.append((None, "unknown", 0, unknown))
            assert len(found["groups"]) == len(want_groups)
            for group, (value, kind, values, members) in zip(
                found["groups"], want_groups, strict=True
            ):
                assert (group["value"], group["kind"], group["values"]) == (value, kind, values)
                assert group["entered"] == len(members)
                assert group["completed"] == sum(s.status == "completed" for s in members)
                assert group["failed"] == sum(s.status == "failed" for s in members)
                assert group["refused"] == sum(s.status == "refused" for s in members)
                for index, period in enumerate(group["periods"]):
                    start = (first_hour + index * size) * H
                    inside = [s for s in members if start <= s.first * 1000 < start + size * H]
                    done = sum(s.status == "completed" for s in inside)
                    refused = sum(s.status == "refused" for s in inside)
                    attempts = len(inside) - refused
                    assert period == {
                        "start": format_ms(start),
                        "entered": len(inside),
                        "completed": done,
                        "failed": sum(s.status == "failed" for s in inside),
                        "refused": refused,
                        "conversion": round(done / attempts, 4) if attempts else None,
                        "open": whole["periods"][index]["open"],
                    }
            for index, period in enumerate(whole["periods"]):
                for key in ("entered", "completed", "failed", "refused"):
                    assert sum(g["periods"][index][key] for g in found["groups"]) == period[key]


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        (BREAKDOWN, {}, "by is required: one of dns_mode, previous_provider, language, release"),
        (BREAKDOWN, {"by": "country"}, "by is required: one of"),
        (BREAKDOWN, {"by": "language", "top": "0"}, "top must be a whole number from 1 to 20"),
        (BREAKDOWN, {"by": "language", "top": "21"}, "top must be"),
        (BREAKDOWN, {"by": "language", "top": "2.5"}, "top must be"),
        (BREAKDOWN, {"by": "language", "hours": "721"}, "hours must be"),
        (BREAKDOWN, {"by": "language", "value": "pt"}, "unknown query parameter: value"),
        (SPLIT_TREND, {}, "by is required"),
        (SPLIT_TREND, {"by": "release", "hours": "2161"}, "hours must be"),
        (SPLIT_TREND, {"by": "release", "top": "-1"}, "top must be"),
        (SPLIT_TREND, {"by": "release", "period": "day"}, "unknown query parameter: period"),
    ],
)
async def test_bad_parameters_are_a_400(
    ops: Ops, path: str, params: dict[str, str], reason: str
) -> None:
    response = await ops.client.get(path, params=params, headers=AUTH)
    body = response.json()
    assert (response.status_code, body["ok"], body["status"]) == (400, False, 400)
    assert reason in body["error"]


@pytest.mark.parametrize("path", [BREAKDOWN, SPLIT_TREND])
async def test_operators_only(ops: Ops, path: str) -> None:
    response = await ops.client.get(path, params={"by": "language"})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("event_type", "data", "reason"),
    [
        ("onboarding.started", {"language": "fr"}, "data.language must be one of pt, en"),
        ("onboarding.started", {"language": 1}, "data.language must be one of pt, en"),
        ("onboarding.started", {"release": "unknown"}, "data.release must be a release"),
        ("onboarding.started", {"release": "1" * 33}, "data.release must be a release"),
        ("onboarding.started", {"release": "1.0 beta"}, "data.release must be a release"),
        ("onboarding.started", {"release": 2}, "data.release must be a release"),
        ("onboarding.started", {"release": "1.0\n"}, "data.release must be a release"),
        ("dns.applied", {"mode": "auto"}, "data.mode must be one of cloudflare, manual"),
        (
            "dns.applied",
            {"mode": "manual", "previous_provider": "Microsoft 365"},
            "data.previous_provider must be one of microsoft365, google, other, none",
        ),
    ],
)
async def test_bad_event_fields_are_a_422_and_nothing_is_stored(
    ops: Ops, event_type: str, data: dict[str, Any], reason: str
) -> None:
    response = await ops.send(event_type, "bad", NOW - 60, **data)
    body = response.json()
    assert (response.status_code, body["ok"], body["status"]) == (422, False, 422)
    assert body["error"] == f"{event_type}: {reason}" or reason in body["error"]
    assert await ops.count() == 0
    assert await ops.count("onboard_sessions") == 0
    assert await ops.count("breakdown_rollup") == 0


async def test_fields_elsewhere_and_nulls_are_not_judged(ops: Ops) -> None:
    """The fields are judged on the events that carry them; null is unknown."""
    ops.clock.now = NOW
    await ops.send("domain.validated", "z", NOW - 60, language="fr", mode="auto")
    await ops.send("onboarding.started", "z", NOW - 120, language=None, release=None)
    found = await ops.get(BREAKDOWN, hours=1, by="language")
    assert [(g["kind"], g["cohort"]) for g in found["groups"]] == [("other", 0), ("unknown", 1)]


async def test_the_migration_backfills_dns_mode_and_the_rollup(tmp_path: Path) -> None:
    """Sessions stored before the breakdowns' migration: the mode of their newest valid
    dns.applied still retained, every other value unknown, and each dimension's rollup
    cells summing to the funnel rollup's."""
    schema = tmp_path / "schema"
    schema.mkdir()
    files = sorted((SQL_DIR / "schema").glob("*.sql"))
    [ours] = [path for path in files if path.name.endswith("_session_breakdowns.sql")]
    for path in files[: files.index(ours)]:
        shutil.copy(path, schema)
    hour = 480_000
    sessions = [
        # session, furthest stage, status, [(event time, mode)] of its dns.applied
        ("s1", 5, "completed", [(10, "cloudflare")]),
        ("s2", 2, "active", [(30, "cloudflare"), (20, "manual")]),  # the newer counts
        ("s3", 2, "failed", [(10, "auto")]),  # an older Ops stored any mode
        ("s4", 0, "active", []),
        ("s5", 0, "refused", []),  # active in the store, with a refusal code
    ]
    async with aiosqlite.connect(tmp_path / "old.db") as conn:
        await apply_migrations(conn, schema)
        for sid, stage, status, applied in sessions:
            first = hour * H
            await conn.execute(
                "insert into onboard_sessions (session_id, domain, first_event_at,"
                " last_event_at, last_event_type, last_event_row, furthest_stage, status,"
                " event_count, started_at, dns_applied_at, refusal_code) values"
                " (?, 'd.pt', ?, ?, 't', 1, ?, ?, 1, ?, ?, ?)",
                (
                    sid,
                    first,
                    first,
                    stage,
                    "active" if status == "refused" else status,
                    first,
                    first if applied else None,
                    "domain_taken" if status == "refused" else None,
                ),
            )
            await conn.execute(
                "insert into funnel_rollup (hour, stage, status, sessions) values (?, ?, ?, 1)"
                " on conflict do update set sessions = sessions + 1",
                (hour, stage, status),
            )
            for at, mode in applied:
                payload = orjson.dumps({"data": {"session_id": sid, "mode": mode}}).decode()
                await conn.execute(
                    "insert into webhook_events (event_id, session_id, event_type, domain,"
                    " occurred_at, received_at, payload) values (?, ?, 'dns.applied', 'd.pt',"
                    " ?, ?, ?)",
                    (f"{sid}-{at}", sid, hour * H + at, hour * H + at, payload),
                )
        await conn.commit()
        shutil.copy(ours, schema)
        await apply_migrations(conn, schema)
        async with conn.execute(
            "select session_id, dns_mode, previous_provider, language, release, dns_props_at"
            " from onboard_sessions order by session_id"
        ) as cursor:
            rows = [tuple(row) for row in await cursor.fetchall()]
        async with conn.execute(
            "select dimension, value, stage, status, sessions from breakdown_rollup"
            " where sessions != 0 order by 1, 2, 3, 4"
        ) as cursor:
            cells = [tuple(row) for row in await cursor.fetchall()]
    assert rows == [
        ("s1", "cloudflare", None, None, None, hour * H + 10),
        ("s2", "cloudflare", None, None, None, hour * H + 30),
        ("s3", None, None, None, None, None),
        ("s4", None, None, None, None, None),
        ("s5", None, None, None, None, None),
    ]
    whole = [
        (0, "active", 1),
        (0, "refused", 1),
        (2, "active", 1),
        (2, "failed", 1),
        (5, "completed", 1),
    ]
    unknown = [("", *cell) for cell in whole]
    assert cells == [
        ("dns_mode", "", 0, "active", 1),
        ("dns_mode", "", 0, "refused", 1),
        ("dns_mode", "", 2, "failed", 1),
        ("dns_mode", "cloudflare", 2, "active", 1),
        ("dns_mode", "cloudflare", 5, "completed", 1),
        *(("language", *cell) for cell in unknown),
        *(("previous_provider", *cell) for cell in unknown),
        *(("release", *cell) for cell in unknown),
    ]


async def test_answers_are_kept_until_data_or_their_boundary_moves(ops: Ops) -> None:
    """The split's JSON is kept while the database and its window's partial hour are the
    same (the next session leaving the window is its boundary); the trend split's while
    the database and its open periods are; a new event recomputes both."""
    memo = ops.app.state.ops.memo  # type: ignore[union-attr]
    ops.clock.now = NOW + 30 * 60  # 12:30; a 2 h window starts at 10:30
    await ops.send("onboarding.started", "k1", NOW - 90 * 60 + 60, language="pt")  # 10:31
    await ops.send("onboarding.started", "k2", NOW - 60, language="en")  # 11:59
    first = await ops.get(BREAKDOWN, hours=2, by="language")
    trend_first = await ops.get(SPLIT_TREND, hours=6, by="language")
    ops.clock.now += 30  # 12:30:30: k1 is still in the window, the same open periods
    assert await ops.get(BREAKDOWN, hours=2, by="language") == first
    assert await ops.get(SPLIT_TREND, hours=6, by="language") == trend_first
    assert (memo.computed["breakdown"], memo.computed["breakdown trend text"]) == (1, 1)
    ops.clock.now = NOW + 31 * 60 + 1  # 12:31:01: k1's first event left the window
    moved = await ops.get(BREAKDOWN, hours=2, by="language")
    assert [(g["value"], g["cohort"]) for g in moved["groups"][:1]] == [("en", 1)]
    assert moved["generated_at"] == "2026-11-29T12:31:01.000Z"
    await ops.send("onboarding.started", "k3", NOW, language="pt")
    again = await ops.get(SPLIT_TREND, hours=6, by="language")
    assert again["generated_at"] == "2026-11-29T12:31:01.000Z" != trend_first["generated_at"]
    assert [(g["value"], g["entered"]) for g in again["groups"]] == [
        ("pt", 2),
        ("en", 1),
        (None, 0),
        (None, 0),
    ]
    assert memo.computed["breakdown trend text"] == 2


async def test_the_purge_drops_emptied_and_unreachable_cells_only(ops: Ops) -> None:
    """A session moving on leaves its old cells at 0; the hourly purge removes them and
    the cells no window or trend reaches, and every answer stays the same."""
    ops.clock.now = NOW
    old = NOW - 100 * 24 * HOUR  # past the 90-day trend and the widest windows
    await ops.send("onboarding.started", "gone", old, language="en")
    for at, event_type in enumerate(STAGE_TYPES):
        await ops.send(event_type, "done", NOW - HOUR + at, language="pt")
    before = {by: await ops.get(BREAKDOWN, hours=720, by=by) for by in BREAKDOWNS}
    trend_before = await ops.get(SPLIT_TREND, hours=2160, by="language")
    rows = peek.rows(ops.db_path, "select count(*), sum(sessions = 0) from breakdown_rollup")
    assert rows == [(4 * 6 + 4, 4 * 5)]  # "done" passed 6 cells per dimension
    await retention.purge(ops.db, 30, int(NOW * 1000))
    rows = peek.rows(ops.db_path, "select dimension, value, stage, status from breakdown_rollup")
    assert sorted(rows) == [
        ("dns_mode", "", 5, "completed"),
        ("language", "pt", 5, "completed"),
        ("previous_provider", "", 5, "completed"),
        ("release", "", 5, "completed"),
    ]
    ops.clock.now += 1  # a new moment: the answers are computed again
    for by in BREAKDOWNS:
        after = await ops.get(BREAKDOWN, hours=720, by=by)
        assert after["groups"] == before[by]["groups"]
    assert (await ops.get(SPLIT_TREND, hours=2160, by="language"))["groups"] == (
        trend_before["groups"]
    )
