"""A breakdown count's sessions: GET /api/v1/onboard/funnel/sessions and its CSV with
``by=`` and ``value=`` (a named group) or ``group=other|unknown`` (docs/desk.md,
"Breakdowns"). An oracle over random sessions with random properties in random arrival
orders: for every dimension, every group (every value, named or summed in other, the
other values of several tops, unknown) and each count the card shows (started, completed,
failed, refused), the list's total is the breakdown's count and its rows, page after page
and in the CSV, are exactly the group's sessions of that count, each in its own state;
the total row's lists are the funnel's. Bad combinations are 400s with a reason."""

from __future__ import annotations

import csv
import io
import random
from typing import Any

import pytest

from servicekit.contract import BREAKDOWNS, DNS_MODES, LANGUAGES, PREVIOUS_PROVIDERS
from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from tests.ops.test_breakdowns import (  # the random sessions and the split's oracle
    RELEASES,
    Session,
    _events,
    _random_sessions,
    oracle_split,
)
from vm122_ops.funnel import cohort
from vm122_ops.funnel.breakdowns import GroupFilter
from vm122_ops.funnel.session_states import StateRule

BREAKDOWN = "/api/v1/onboard/breakdown"
SESSIONS = "/api/v1/onboard/funnel/sessions"
SESSIONS_CSV = "/api/v1/onboard/funnel/sessions.csv"
STATES = ("started", "completed", "failed", "refused")  # the card's counts
# Every value a group can have, and one the sessions never have (an empty list).
VALUES = {
    "dns_mode": DNS_MODES,
    "previous_provider": PREVIOUS_PROVIDERS,
    "language": LANGUAGES,
    "release": (*RELEASES, "9.9.9"),
}


async def listed(ops: Ops, limit: int, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    """Every item of a drill-down, page after page (each page's total the same)."""
    totals, items = set(), []
    cursor: str | None = None
    while True:
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        page = await ops.get(SESSIONS, **query)
        totals.add(page["total"])
        items.extend(page["items"])
        cursor = page["next"]
        if cursor is None:
            break
    assert len(totals) == 1, totals
    return totals.pop(), items


def members(cohort: list[Session], by: str, top: int) -> list[list[Session]]:
    """The sessions of each group of ``oracle_split(cohort, by, top)``, in its order."""
    by_value: dict[str, list[Session]] = {}
    for session in cohort:
        value = session.value(by)
        if value is not None:
            by_value.setdefault(value, []).append(session)
    ranked = sorted(
        by_value.items(), key=lambda item: (-sum(s.furthest >= 0 for s in item[1]), item[0])
    )
    named = [sessions for _, sessions in ranked[:top]]
    other = [s for _, sessions in ranked[top:] for s in sessions]
    return [*named, other, [s for s in cohort if s.value(by) is None]]


def group_query(group: dict[str, Any], top: int) -> dict[str, Any]:
    """The drill-down's parameters for a group as the breakdown answer names it."""
    if group["kind"] == "value":
        return {"value": group["value"]}
    if group["kind"] == "other":
        return {"group": "other", "top": top}
    return {"group": "unknown"}


def count_of(figures: dict[str, Any], state: str) -> int:
    """A group's (or the whole's) count of ``state`` in the breakdown's answer."""
    return int(figures["stages"]["started"] if state == "started" else figures[state])


def in_list(session: Session, state: str) -> bool:
    """Whether ``session`` is in the list of ``state``: started, every session that
    reached the started stage (in whatever state), else its status."""
    return session.furthest >= 0 if state == "started" else session.status == state


def states_right(items: list[dict[str, Any]], sessions: list[Session], state: str) -> bool:
    """Each item's state: the list's, or for started the session's own (its status when
    it ended or was refused; one of moving, stuck, abandoned while active)."""
    status = {s.sid: s.status for s in sessions}
    for item in items:
        own = status[item["session_id"]]
        expected = {own} if own != "active" else {"moving", "stuck", "abandoned"}
        if item["state"] not in (expected if state == "started" else {state}):
            return False
    return True


def newest_first(items: list[dict[str, Any]]) -> bool:
    keys = [(item["last_event_at"], item["session_id"]) for item in items]
    return keys == sorted(keys, reverse=True)


@pytest.mark.parametrize("seed", [7])
async def test_each_breakdown_count_lists_exactly_its_sessions_oracle(ops: Ops, seed: int) -> None:
    rng = random.Random(seed)
    ops.clock.now = NOW + 17 * 60 + 9
    now = ops.clock.now
    sessions = _random_sessions(rng, now, 120)
    sends = [(s.sid, e) for s in sessions for e in _events(rng, s, now)]
    rng.shuffle(sends)
    for sid, (event_type, at, data) in sends:
        assert (await ops.send(event_type, sid, at, **data)).status_code == 202
    checked = 0
    for hours in (5, 72):
        since = now - hours * HOUR
        cohort = [s for s in sessions if round(s.first * 1000) >= round(since * 1000)]
        window = {"hours": hours}
        # The total row: the funnel's own lists.
        split = await ops.get(BREAKDOWN, hours=hours, by="language")
        for state in STATES:
            total, items = await listed(ops, 200, state=state, **window)
            want = sorted(s.sid for s in cohort if in_list(s, state))
            assert total == count_of(split["total"], state) == len(want)
            assert sorted(item["session_id"] for item in items) == want
            assert states_right(items, sessions, state) and newest_first(items)
        # The started list's active sessions are in the state their own lists say.
        own: dict[str, str] = {}
        for state in ("moving", "stuck", "abandoned"):
            for item in (await listed(ops, 200, state=state, **window))[1]:
                own[item["session_id"]] = state
        for item in (await listed(ops, 200, state="started", **window))[1]:
            assert own.get(item["session_id"], item["state"]) == item["state"]
        assert set(own.values()) == {"moving", "stuck", "abandoned"} or hours == 5
        for by in BREAKDOWNS:
            # Every value by name, in the top or not: its own sessions.
            for value in VALUES[by]:
                group = [s for s in cohort if s.value(by) == value]
                for state in STATES:
                    query = {"by": by, "value": value, "state": state, **window}
                    total, items = await listed(ops, 200, **query)
                    want = sorted(s.sid for s in group if in_list(s, state))
                    assert (total, sorted(i["session_id"] for i in items)) == (len(want), want)
                    assert states_right(items, sessions, state)
                    checked += len(want)
            # Each group of each top, as the breakdown answer names it: the card's count.
            for top in (1, 2, 5):
                found = await ops.get(BREAKDOWN, by=by, top=top, **window)
                assert found["groups"] == oracle_split(cohort, by, top)
                for group, sessions_of in zip(
                    found["groups"], members(cohort, by, top), strict=True
                ):
                    for state in STATES:
                        query = {"by": by, "state": state, **group_query(group, top), **window}
                        total, items = await listed(ops, 200, **query)
                        want = sorted(s.sid for s in sessions_of if in_list(s, state))
                        ids = sorted(item["session_id"] for item in items)
                        assert total == count_of(group, state) == len(want), (by, top, state)
                        assert ids == want, (hours, by, top, group["kind"], state)
                        assert newest_first(items)
    assert checked > 100  # the values' lists were not all empty


async def test_pages_and_csv_of_a_group(ops: Ops) -> None:
    """A group's list in pages of 2 (the cursor keeps the filter) and as CSV: the same
    sessions, newest activity first."""
    ops.clock.now = NOW
    for index in range(5):
        sid = f"g{index}"
        await ops.send("onboarding.started", sid, NOW - 3000 + index, language="pt")
        await ops.send("onboarding.failed", sid, NOW - 2000 + 10 * index, stage="started")
    await ops.send("onboarding.started", "e1", NOW - 2900, language="en")
    await ops.send("onboarding.failed", "e1", NOW - 1000, stage="started")
    await ops.send("onboarding.started", "u1", NOW - 2800)
    await ops.send("onboarding.failed", "u1", NOW - 900, stage="started")
    await ops.send("onboarding.failed", "n1", NOW - 800)  # no stage reached: not started
    query: dict[str, Any] = {"hours": 1, "by": "language", "state": "failed"}
    total, items = await listed(ops, 2, value="pt", **query)
    assert total == 5
    assert [item["session_id"] for item in items] == ["g4", "g3", "g2", "g1", "g0"]
    assert [item["failed_step"] for item in items] == ["started"] * 5
    response = await ops.client.get(SESSIONS_CSV, params={**query, "value": "pt"}, headers=AUTH)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["session_id"] for row in rows] == ["g4", "g3", "g2", "g1", "g0"]
    # pt is the top 1: the other values are en's session; unknown the one without.
    named: dict[str, Any]
    for named, ids in ({"group": "other", "top": 1}, ["e1"]), ({"group": "unknown"}, ["n1", "u1"]):
        total, items = await listed(ops, 50, **named, **query)
        assert (total, [item["session_id"] for item in items]) == (len(ids), ids)
    # Started: every session of the group that reached the started stage, in its state.
    started = {**query, "state": "started"}
    total, items = await listed(ops, 50, group="unknown", **started)
    assert (total, [(i["session_id"], i["state"]) for i in items]) == (1, [("u1", "failed")])
    every = await listed(ops, 50, hours=1, state="started")
    assert (every[0], len(every[1])) == (7, 7)
    # With the top 2, en is named: other is empty.
    assert await listed(ops, 50, group="other", top=2, **query) == (0, [])
    # The page read whole in one snapshot (the kept answer's fallback) is the same.
    now_ms = round(NOW * 1000)
    span = cohort.CohortWindow(since_ms=now_ms - 3_600_000, now_ms=now_ms)
    for group, ids in (
        (GroupFilter("language", "value", "pt"), ["g4", "g3", "g2", "g1", "g0"]),
        (GroupFilter("language", "other", top=1), ["e1"]),
        (GroupFilter("language", "unknown"), ["n1", "u1"]),
    ):
        filters = cohort.CohortFilter(state="failed", group=group)
        whole = await ops.db.read(cohort.page, span, StateRule(), filters, 3)
        assert whole.total == len(ids)
        assert [item.session_id for item in whole.items] == ids[:3]
        assert (whole.next is None) == (len(ids) <= 3)
    response = await ops.client.get(
        SESSIONS_CSV, params={**query, "group": "unknown"}, headers=AUTH
    )
    got = [row["session_id"] for row in csv.DictReader(io.StringIO(response.text))]
    assert got == ["n1", "u1"]


async def test_previous_provider_other_is_a_value_and_a_group(ops: Ops) -> None:
    """previous_provider has a value named ``other``: ``value=other`` is that value's
    sessions, ``group=other`` the values past the top."""
    ops.clock.now = NOW
    for sid, provider in (("a", "google"), ("b", "google"), ("c", "other"), ("d", "none")):
        await ops.send("onboarding.started", sid, NOW - 900)
        await ops.send("domain.validated", sid, NOW - 800)
        await ops.send("dns.applied", sid, NOW - 700, mode="cloudflare", previous_provider=provider)
        await ops.send("onboarding.failed", sid, NOW - 600, stage="account_created")
    query: dict[str, Any] = {"hours": 1, "by": "previous_provider", "state": "failed"}
    found = await ops.get(BREAKDOWN, hours=1, by="previous_provider", top=1)
    assert [(g["value"], g["kind"], g["failed"]) for g in found["groups"]] == [
        ("google", "value", 2),
        (None, "other", 2),
        (None, "unknown", 0),
    ]
    value_other = await listed(ops, 50, value="other", **query)
    assert (value_other[0], [i["session_id"] for i in value_other[1]]) == (1, ["c"])
    group_other = await listed(ops, 50, group="other", top=1, **query)
    assert (group_other[0], sorted(i["session_id"] for i in group_other[1])) == (2, ["c", "d"])


BAD = [
    ({"state": "failed", "group": "unknown"}, "group and value need by="),
    ({"state": "failed", "value": "pt"}, "group and value need by="),
    ({"state": "failed", "top": "2"}, "top needs by="),
    ({"state": "failed", "by": "language"}, "by needs value= (a named group) or group="),
    ({"state": "failed", "by": "country", "value": "pt"}, "by must be one of dns_mode, "),
    ({"state": "failed", "by": "", "value": "pt"}, "by must be one of dns_mode, "),
    (
        {"state": "failed", "by": "language", "value": "pt", "group": "unknown"},
        "value and group name one group each: give one of them",
    ),
    ({"state": "failed", "by": "language", "group": "pt"}, "group must be other or unknown"),
    ({"state": "failed", "by": "language", "value": "fr"}, "value for language must be one of"),
    ({"state": "failed", "by": "language", "value": ""}, "value for language must be one of"),
    ({"state": "failed", "by": "release", "value": "1" * 33}, "value for release must be"),
    ({"state": "failed", "by": "release", "value": "1.0\x01"}, "value for release must be"),
    ({"state": "failed", "by": "release", "value": "1.0\n"}, "value for release must be"),
    ({"state": "failed", "by": "release", "value": " 1.0"}, "value for release must be"),
    ({"state": "failed", "by": "dns_mode", "value": "x" * 5000}, "value for dns_mode must be"),
    ({"state": "failed", "by": "language", "value": "pt", "top": "2"}, "top needs group=other"),
    ({"state": "failed", "by": "language", "group": "other", "top": "0"}, "top must be a whole"),
    ({"state": "failed", "by": "language", "group": "other", "top": "21"}, "top must be a whole"),
    (
        {"state": "moving", "by": "language", "value": "pt"},
        "by lists a breakdown count: state must be started, completed, failed or refused",
    ),
    ({"state": "started", "stage": "started"}, "state=started lists every stage: no stage"),
    ({"state": "bogus"}, "state must be one of moving, stuck, abandoned, failed, completed"),
    (
        {"state": "failed", "by": "language", "value": "pt", "stage": "started"},
        "by lists a breakdown count: no stage or code",
    ),
    (
        {"state": "failed", "by": "language", "value": "pt", "code": "portal:timeout"},
        "by lists a breakdown count: no stage or code",
    ),
]


@pytest.mark.parametrize("path", [SESSIONS, SESSIONS_CSV])
@pytest.mark.parametrize(("params", "reason"), BAD)
async def test_bad_group_parameters_are_a_400(
    ops: Ops, path: str, params: dict[str, str], reason: str
) -> None:
    response = await ops.client.get(path, params=params, headers=AUTH)
    body = response.json()
    assert (response.status_code, body["ok"], body["status"]) == (400, False, 400)
    assert reason in body["error"], body["error"]
