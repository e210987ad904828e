"""GET /api/v1/onboard/failures and the failure_rollup behind it (vm122_ops/funnel/failures.py)."""

from __future__ import annotations

import json
import random

import pytest

from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from vm122_ops.funnel.failures import UNSPECIFIED, failure_code
from vm122_ops.ingest.events import STAGE_TYPES, STAGES

FAILURES = "/api/v1/onboard/failures"
HOSTILE = "<img src=x onerror=alert(1)> quota \u202e exceeded"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(
            {"code": "carbonio:account.DOMAIN_EXISTS"}, "carbonio:account.DOMAIN_EXISTS", id="text"
        ),
        pytest.param({"code": 81054}, "81054", id="number"),
        pytest.param({"code": "  "}, UNSPECIFIED, id="blank"),
        pytest.param({"code": True}, UNSPECIFIED, id="boolean"),
        pytest.param({"code": {"a": 1}}, UNSPECIFIED, id="object"),
        pytest.param({}, UNSPECIFIED, id="absent"),
        pytest.param({"code": "x\x00y" + "z" * 80}, "xy" + "z" * 62, id="control-and-long"),
    ],
)
def test_failure_code(data: dict[str, object], code: str) -> None:
    assert failure_code(data) == code


async def test_failures_by_step_and_code(ops: Ops) -> None:
    # Two account-creation failures with one code, the newer one's reason is the example.
    await ops.send("onboarding.started", "a", NOW - 900)
    await ops.send(
        "onboarding.failed",
        "a",
        NOW - 800,
        stage="account_created",
        code="carbonio:account.DOMAIN_EXISTS",
        reason="older reason",
    )
    await ops.send(
        "onboarding.failed",
        "b",
        NOW - 300,
        stage="account_created",
        code="carbonio:account.DOMAIN_EXISTS",
        reason=HOSTILE,
    )
    # A DNS failure with a numeric code, and one with no code nor stage after dns_applied.
    await ops.send("onboarding.failed", "c", NOW - 600, stage="dns_applied", code=81054)
    for index, event_type in enumerate(STAGE_TYPES[:3]):
        await ops.send(event_type, "d", NOW - 700 + index)
    await ops.send("onboarding.failed", "d", NOW - 500, reason="timed out")
    # Outside a 2 h window (09:00 is before the 10:00 start).
    await ops.send("onboarding.failed", "e", NOW - 3 * HOUR, stage="dns_applied", code="old")

    document = await ops.get("/api/v1/onboard/failures", hours=2)
    assert document["since"] == "2026-11-29T10:00:00.000Z"
    assert document["total"] == 4
    assert list(document["stages"]) == list(STAGES)
    assert document["stages"]["account_created"] == [
        {
            "code": "carbonio:account.DOMAIN_EXISTS",
            "count": 2,
            "last_seen": "2026-11-29T11:55:00.000Z",
            "example_reason": HOSTILE,
        },
        {
            "code": UNSPECIFIED,
            "count": 1,
            "last_seen": "2026-11-29T11:51:40.000Z",
            "example_reason": "timed out",
        },
    ]
    assert document["stages"]["dns_applied"] == [
        {
            "code": "81054",
            "count": 1,
            "last_seen": "2026-11-29T11:50:00.000Z",
            "example_reason": "carbonio fault",
        }
    ]
    assert document["stages"]["started"] == []
    wider = await ops.get("/api/v1/onboard/failures", hours=5)
    assert wider["total"] == 5
    assert [c["code"] for c in wider["stages"]["dns_applied"]] == ["81054", "old"]


@pytest.mark.parametrize("hours", ["0", "721", "1.5", "-1", "x", "٣"])
async def test_bad_hours_is_400_with_a_reason(ops: Ops, hours: str) -> None:
    response = await ops.client.get(
        "/api/v1/onboard/failures", params={"hours": hours}, headers=AUTH
    )
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error": "hours must be a whole number from 1 to 720",
        "status": 400,
    }


async def test_failures_equal_a_direct_count_in_any_arrival_order(ops: Ops) -> None:
    rng = random.Random(11)
    sent = []
    for index in range(60):
        at = NOW - rng.uniform(0, 30 * HOUR)
        stage = rng.choice(STAGES[1:5])
        code = rng.choice(["carbonio:a", "cloudflare:81054", None])
        data = {"stage": stage} | ({} if code is None else {"code": code})
        sent.append((f"s{index}", at, stage, code or UNSPECIFIED, data))
    rng.shuffle(sent)
    for session, at, _, _, data in sent:
        assert (await ops.send("onboarding.failed", session, at, **data)).status_code == 202
    for hours in (1, 7, 48):
        start = (NOW - hours * HOUR) // HOUR * HOUR
        expected: dict[str, dict[str, int]] = {stage: {} for stage in STAGES}
        for _, at, stage, code, _ in sent:
            if at >= start:
                expected[stage][code] = expected[stage].get(code, 0) + 1
        document = await ops.get("/api/v1/onboard/failures", hours=hours)
        got = {s: {c["code"]: c["count"] for c in codes} for s, codes in document["stages"].items()}
        assert got == expected, hours


async def test_the_answer_is_kept_as_bytes_until_a_commit_or_the_next_hour(ops: Ops) -> None:
    """Two requests at different milliseconds of one hour and one database stamp get the
    same bytes from one computation, ``generated_at`` the first one's millisecond; a new
    failure, then the window's start passing an hour, each give a new answer."""
    memo = ops.app.state.ops.memo  # type: ignore[union-attr]
    ops.clock.now = NOW + 10 * 60 + 0.25  # 12:10:00.250; a 2 h window starts at 10:00
    await ops.send("onboarding.failed", "a", NOW - 90 * 60, stage="dns_applied", code="x")

    async def body() -> bytes:
        response = await ops.client.get(FAILURES, params={"hours": 2}, headers=AUTH)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        return response.content

    first = await body()
    before = memo.computed["failures"]
    ops.clock.now += 29 * 60 + 0.5  # 12:39:00.750: the same hour, the same database
    assert await body() == first
    assert memo.computed["failures"] == before
    document = json.loads(first)
    assert (document["generated_at"], document["since"]) == (
        "2026-11-29T12:10:00.250Z",
        "2026-11-29T10:00:00.000Z",
    )
    assert (document["window_hours"], document["total"]) == (2, 1)

    await ops.send("onboarding.failed", "b", NOW + 60, stage="dns_applied", code="x")
    committed = json.loads(await body())
    assert memo.computed["failures"] == before + 1
    assert committed["generated_at"] == "2026-11-29T12:39:00.750Z"
    assert committed["total"] == 2
    assert committed["stages"]["dns_applied"] == [
        {
            "code": "x",
            "count": 2,
            "last_seen": "2026-11-29T12:01:00.000Z",
            "example_reason": "carbonio fault",
        }
    ]

    ops.clock.now = NOW + HOUR + 0.001  # 13:00:00.001: the window starts at 11:00
    later = json.loads(await body())
    assert memo.computed["failures"] == before + 2
    assert (later["generated_at"], later["since"]) == (
        "2026-11-29T13:00:00.001Z",
        "2026-11-29T11:00:00.000Z",
    )
    assert later["total"] == 1  # a's failure at 10:30 left the window
    assert later["stages"]["dns_applied"][0]["count"] == 1
