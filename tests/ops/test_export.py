"""CSV downloads (vm122_ops/export.py): the drill-down list and the trend, same filters,
UTF-8, formula cells neutralised, bad input 400."""

from __future__ import annotations

import csv
import io

from tests.ops.conftest import AUTH, HOUR, NOW, Ops


async def test_drill_down_and_trend_as_csv(ops: Ops) -> None:
    await ops.send("onboarding.started", "s1", NOW - 40 * 60, domain="açores.pt")
    await ops.send("onboarding.started", "s2", NOW - 2 * HOUR, domain="b.pt")
    await ops.send(
        "onboarding.failed",
        "s2",
        NOW - HOUR,
        domain="b.pt",
        code="portal:timeout",
        reason='=HYPERLINK("http://evil","x"), "quoted"',
    )
    response = await ops.client.get(
        "/api/v1/onboard/funnel/sessions.csv", params={"hours": 24, "state": "failed"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="funnel-sessions.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8"))))
    assert rows[0][:4] == ["session_id", "domain", "stage", "state"]
    assert len(rows) == 2 and rows[1][:4] == ["s2", "b.pt", "started", "failed"]
    assert rows[1][8] == "portal:timeout"
    assert rows[1][9] == '\'=HYPERLINK("http://evil","x"), "quoted"'  # not a formula
    stuck = await ops.client.get(
        "/api/v1/onboard/funnel/sessions.csv",
        params={"hours": 24, "state": "stuck", "stage": "started"},
        headers=AUTH,
    )
    assert [r[1] for r in csv.reader(io.StringIO(stuck.text))] == ["domain", "açores.pt"]
    trend = await ops.client.get("/api/v1/onboard/trend.csv", params={"hours": 3}, headers=AUTH)
    assert trend.status_code == 200
    assert list(csv.reader(io.StringIO(trend.text))) == [
        ["start", "entered", "completed", "failed", "conversion", "open"],
        ["2026-11-29T10:00:00.000Z", "1", "0", "1", "0.0", "true"],
        ["2026-11-29T11:00:00.000Z", "1", "0", "0", "0.0", "true"],
        ["2026-11-29T12:00:00.000Z", "0", "0", "0", "", "true"],
    ]


async def test_csv_bad_input_is_400(ops: Ops) -> None:
    for path, params in (
        ("/api/v1/onboard/funnel/sessions.csv", {"state": "x"}),
        ("/api/v1/onboard/funnel/sessions.csv", {"state": "stuck", "limit": "5"}),
        ("/api/v1/onboard/trend.csv", {"hours": "0"}),
    ):
        response = await ops.client.get(path, params=params, headers=AUTH)
        assert response.status_code == 400, (path, params)
        assert response.json()["ok"] is False
