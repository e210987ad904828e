"""GET /metrics parses with prometheus-client's own parser and moves with real traffic."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import AUTH, NOW, Ops


async def scrape(ops: Ops) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await ops.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def test_counters_move_with_traffic(ops: Ops) -> None:
    before = await scrape(ops)
    assert before[("ops_sse_subscribers", ())] == 0
    await ops.send("onboarding.started", "m", NOW - 10, webhook_id="m1")
    await ops.send("onboarding.started", "m", NOW - 10, webhook_id="m1")
    await ops.send("domain.validated", "m", NOW - 5)
    body = b'{"type": "nope"}'
    await ops.post_raw(body, ops.headers("m9", body))
    await ops.post_raw(body, {**ops.headers("m9", body), "webhook-signature": "v1,AAAA"})
    await ops.funnel()
    after = await scrape(ops)
    assert after[("ops_events_accepted_total", (("type", "onboarding.started"),))] == 1
    assert after[("ops_events_accepted_total", (("type", "domain.validated"),))] == 1
    assert after[("ops_events_duplicate_total", ())] == 1
    assert after[("ops_webhook_rejections_total", (("reason", "contract"),))] == 1
    assert after[("ops_webhook_rejections_total", (("reason", "signature"),))] == 1
    assert after[("ops_ingest_seconds_count", ())] == 3
    assert after[("ops_funnel_query_seconds_count", ())] == 1
    route = "/api/v1/webhooks/onboard"
    assert after[("ops_http_requests_total", (("route", route), ("status", "202")))] == 2
    assert after[("ops_http_requests_total", (("route", route), ("status", "401")))] == 1


async def test_metrics_need_the_token(ops: Ops) -> None:
    response = await ops.client.get("/metrics")
    assert response.status_code == 401


async def test_request_id_is_echoed_or_made(ops: Ops) -> None:
    given = await ops.client.get("/healthz", headers={"X-Request-ID": "wizard-42"})
    assert given.headers["x-request-id"] == "wizard-42"
    made = await ops.client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert len(made.headers["x-request-id"]) == 32
