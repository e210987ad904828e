"""GET /metrics (vm112_portal/metrics.py): parsed with prometheus-client's own parser, its
counters move with real wizard traffic, and it is closed to strangers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from cloudflare import AsyncCloudflare
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests.portal.conftest import (
    FakeOps,
    Portal,
    cloudflare_refuses_writes,
    make_settings,
    running_portal,
)
from tests.support.poll import wait_until
from vm112_portal.domains import normalise
from vm112_portal.errors import CloudflareFailed
from vm112_portal.metrics import DISABLED, PortalMetrics
from vm112_portal.providers.cloudflare_dns import CloudflareDns
from vm112_portal.providers.sandbox import Sandbox

TOKEN = "portal-metrics-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def scrape(portal: Portal) -> Samples:
    response = await portal.client.get("/metrics", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def attempts(samples: Samples) -> dict[str, float]:
    return {
        outcome: samples[("portal_outbox_attempts_total", (("outcome", outcome),))]
        for outcome in ("delivered", "retry", "dead")
    }


def provider(samples: Samples, name: str, which: str) -> float:
    return samples[(name, (("provider", which),))]


async def settled(portal: Portal, expected: dict[str, float]) -> Samples:
    """Scrape until the attempts reach ``expected``: the counter moves just after the
    commit that /healthz sees, so a scrape can fall between the two."""
    latest: Samples = {}

    async def reached() -> bool:
        nonlocal latest
        latest = await scrape(portal)
        return attempts(latest) == expected

    await wait_until(reached)
    return latest


async def test_counters_move_with_wizard_traffic(tmp_path: Path) -> None:
    ops = FakeOps()
    # The counts below are exact: a delivery must never time out and be retried because
    # the machine is busy (0.5 s, the suite's default, was reached under load ~10).
    settings = make_settings(tmp_path, metrics_token=TOKEN, ops_timeout=10.0)
    async with running_portal(settings, ops) as portal:
        before = await scrape(portal)
        assert attempts(before) == {"delivered": 0, "retry": 0, "dead": 0}
        assert before[("portal_outbox_pending", ())] == 0

        # A whole onboarding; Ops answers 202 to its six events.
        assert [r.status_code for r in await portal.wizard("m1", "metrics.pt")] == [200] * 3
        happy = await settled(portal, {"delivered": 6, "retry": 0, "dead": 0})
        # One zone lookup, three names read, three records created (DKIM is pending);
        # AuthRequest, GetCos, CreateDomain, CreateAccount, two AddAccountAlias; then the
        # held MX: the zone, the domain's name read, the MX (issue 23).
        assert provider(happy, "portal_provider_call_seconds_count", "cloudflare") == 7 + 3
        assert provider(happy, "portal_provider_call_seconds_count", "carbonio") == 6
        assert provider(happy, "portal_provider_errors_total", "cloudflare") == 0
        assert provider(happy, "portal_provider_errors_total", "carbonio") == 0
        route = (("route", "/api/v1/onboarding/validate-domain"), ("status", "200"))
        assert happy[("portal_http_requests_total", route)] == 1
        assert happy[("portal_outbox_delivered", ())] == 6

        # onboarding.started meets a 500 (retried), then a 400 (dead letter);
        # domain.validated goes through.
        ops.responses = [500, 400]
        assert (await portal.validate("m2", "other.pt")).status_code == 200
        failing = await settled(portal, {"delivered": 7, "retry": 1, "dead": 1})
        assert failing[("portal_outbox_dead", ())] == 1
        assert failing[("portal_outbox_pending", ())] == 0
        assert failing[("portal_outbox_oldest_pending_age_seconds", ())] == 0

        # Apply runs once per session (issue 17): the second call answers the stored
        # result and calls nobody. A Carbonio service.FAILURE fault is an error.
        await portal.dns("m2", "other.pt")
        await portal.dns("m2", "other.pt")
        await portal.account("m2", "other.pt")
        await portal.wizard("m3", "fail-shop.pt")
        errors = await scrape(portal)
        assert provider(errors, "portal_provider_errors_total", "cloudflare") == 0
        assert provider(errors, "portal_provider_errors_total", "carbonio") == 1
        # 7 per DNS step (the zone, three names read, three records created) and 3 per
        # account step (the held MX); the failing account step writes no MX (issue 23)
        assert provider(errors, "portal_provider_call_seconds_count", "cloudflare") == 10 + 10 + 7
        # /metrics counts itself once per scrape.
        scrapes = ("portal_http_requests_total", (("route", "/metrics"), ("status", "200")))
        assert (await scrape(portal))[scrapes] == errors[scrapes] + 1


async def test_pending_events_show_their_age(tmp_path: Path) -> None:
    # Ops asks to come back in an hour: the event stays pending.
    ops = FakeOps(responses=[httpx.Response(503, headers={"retry-after": "3600"})])
    async with running_portal(make_settings(tmp_path, metrics_token=TOKEN), ops) as portal:
        await portal.validate("p1", "pending.pt")

        async def retried() -> bool:
            return attempts(await scrape(portal))["retry"] == 1

        await wait_until(retried)
        samples = await scrape(portal)
        assert samples[("portal_outbox_pending", ())] == 2
        assert 0 < samples[("portal_outbox_oldest_pending_age_seconds", ())] < 60


async def test_disabled_without_a_token(portal: Portal) -> None:
    response = await portal.client.get("/metrics", headers=AUTH)
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error": DISABLED, "status": 404}
    assert "PORTAL_METRICS_TOKEN" in DISABLED


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="none"),
        pytest.param({"Authorization": "Bearer wrong-token-0123456789abc"}, id="wrong"),
        pytest.param({"Authorization": f"Basic {TOKEN}"}, id="basic"),
        pytest.param({"Authorization": f"Bearer {TOKEN}x"}, id="longer"),
    ],
)
async def test_refused_without_the_right_token(tmp_path: Path, headers: dict[str, str]) -> None:
    async with running_portal(make_settings(tmp_path, metrics_token=TOKEN)) as portal:
        response = await portal.client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.json()["status"] == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


BASE = "http://sandbox.test/cloudflare/client/v4"


def _cloudflare(transport: httpx.AsyncBaseTransport, metrics: PortalMetrics) -> CloudflareDns:
    http = httpx.AsyncClient(transport=transport)
    client = AsyncCloudflare(
        api_token="sandbox-token", base_url=BASE, http_client=http, max_retries=0
    )
    return CloudflareDns(client, metrics)


async def test_cloudflare_refusal_counts_as_an_error() -> None:
    metrics = PortalMetrics()
    dns = _cloudflare(httpx.MockTransport(cloudflare_refuses_writes), metrics)
    zone, steps = await dns.plan(normalise("example.pt"), "mail.example.net")
    assert zone is not None
    with pytest.raises(CloudflareFailed):
        await dns.apply(zone, steps, frozenset())
    samples = parse(_exposition(metrics))
    assert provider(samples, "portal_provider_errors_total", "cloudflare") == 1
    # the zone, three names read, the refused write
    assert provider(samples, "portal_provider_call_seconds_count", "cloudflare") == 5


async def test_records_already_present_are_not_errors() -> None:
    sandbox = Sandbox(admin_user="a@x.example", admin_password="x")
    metrics = PortalMetrics()
    dns = _cloudflare(httpx.ASGITransport(app=sandbox.app()), metrics)
    domain = normalise("example.pt")
    zone, steps = await dns.plan(domain, "mail.example.net")
    assert zone is not None
    await dns.apply(zone, steps, frozenset())
    # A lost answer: the plan says create, but the record is there (81058 counts as done).
    again = await dns.apply(zone, steps, frozenset())
    assert len(again.created) == 4
    samples = parse(_exposition(metrics))
    assert provider(samples, "portal_provider_errors_total", "cloudflare") == 0
    # 1 zone lookup + 3 reads + 4 creates, then 4 creates answered "already exists"
    assert provider(samples, "portal_provider_call_seconds_count", "cloudflare") == 12


def _exposition(metrics: PortalMetrics) -> str:
    return generate_latest(metrics.registry).decode()


async def test_requests_are_labelled_by_route_template(tmp_path: Path) -> None:
    async with running_portal(make_settings(tmp_path, metrics_token=TOKEN)) as portal:
        await portal.client.get("/no/such/page")
        await portal.client.get("/static/missing.js")
        await portal.client.get("/sandbox/cloudflare/client/v4/zones/abc/dns_records")
        samples = await scrape(portal)
    requests = {
        dict(labels)["route"]: value
        for (name, labels), value in samples.items()
        if name == "portal_http_requests_total"
    }
    assert requests == {
        "unmatched": 1,
        "/static": 1,
        "/sandbox/cloudflare/client/v4/zones/{zone_id}/dns_records": 1,
    }
