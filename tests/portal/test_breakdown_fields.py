"""What the Portal tells Ops for the breakdowns (docs/webhook-funnel-events.md,
"Breakdowns"): the wizard's language and the Portal's release in onboarding.started, what
the zone's mail pointed to before in dns.applied; and through the real Ops, each session
counted under those values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.portal.conftest import FakeOps, Portal, make_settings, running_portal
from tests.support.apps import ops_in_process
from tests.support.poll import wait_until
from vm112_portal.providers.dns_plan import ZoneRecord, plan, previous_provider
from vm112_portal.release import RELEASE, release_of
from vm112_portal.resolvers import DnsFailure

MAIL = "mail.sandbox.example.net"


def _started(portal: Portal, session_id: str) -> dict[str, Any]:
    [body] = [
        b
        for b in portal.ops.stored.values()
        if b["type"] == "onboarding.started" and b["data"]["session_id"] == session_id
    ]
    data: dict[str, Any] = body["data"]
    return data


@pytest.mark.parametrize(
    ("body", "accept_language", "language"),
    [
        pytest.param({"language": "pt"}, "en-GB,en;q=0.9", "pt", id="the page's own"),
        pytest.param({"language": "en"}, None, "en", id="english page"),
        pytest.param({}, "en-GB,pt;q=0.5", "en", id="header, english first"),
        pytest.param({}, "fr-FR, pt-BR;q=0.8, en;q=0.7", "pt", id="header, pt before en"),
        pytest.param({}, "en;q=0.2, pt-PT;q=0.9", "pt", id="header by q, not order"),
        pytest.param({}, "pt;q=0, en", "en", id="q=0 is not acceptable"),
        pytest.param({}, "fr, de", None, id="neither"),
        pytest.param({}, None, None, id="no header"),
    ],
)
async def test_started_carries_language_and_release(
    portal: Portal, body: dict[str, Any], accept_language: str | None, language: str | None
) -> None:
    headers = {} if accept_language is None else {"accept-language": accept_language}
    response = await portal.client.post(
        "/api/v1/onboarding/validate-domain",
        json={"session_id": "lang-1", "domain": "example.pt", **body},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    await wait_until(portal.drained)
    data = _started(portal, "lang-1")
    assert data.get("language") == language
    assert RELEASE is not None and data["release"] == RELEASE == release_of()


async def test_a_bad_language_is_a_400_and_starts_nothing(portal: Portal) -> None:
    response = await portal.post(
        "validate-domain", {"session_id": "lang-2", "domain": "example.pt", "language": "fr"}
    )
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["code"]) == (
        "language must be one of pt, en",
        "language_invalid",
    )
    assert portal.outbox() == []


async def test_the_release_setting_is_what_started_carries(tmp_path: Path) -> None:
    """PORTAL_RELEASE (Settings.release) names the release in place of the package's."""
    settings = make_settings(tmp_path, release="2.0.1+g1a2b3c")
    async with running_portal(settings) as portal:
        assert (await portal.validate("rel-1", "example.pt")).status_code == 200
        refused = await portal.post(
            "validate-domain", {"session_id": "rel-2", "domain": "gmail.com"}
        )
        assert refused.status_code in (400, 422)
        await wait_until(portal.drained)
        assert _started(portal, "rel-1")["release"] == "2.0.1+g1a2b3c"
        assert _started(portal, "rel-2")["release"] == "2.0.1+g1a2b3c"


def test_a_release_the_contract_refuses_is_not_sent() -> None:
    assert release_of("no-such-package-here") is None


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([], "none", id="no MX"),
        pytest.param([("MX", MAIL)], "none", id="only ours"),
        pytest.param([("MX", "x-pt.mail.protection.outlook.com")], "microsoft365", id="m365"),
        pytest.param([("MX", "ASPMX.L.GOOGLE.COM.")], "google", id="google legacy"),
        pytest.param([("MX", "smtp.google.com")], "google", id="google"),
        pytest.param([("MX", "mx.zoho.eu")], "other", id="zoho"),
        pytest.param([("MX", "mail.x.pt"), ("MX", "smtp.google.com")], "google", id="mixed"),
        pytest.param([("MX", MAIL), ("MX", "mail.x.pt")], "other", id="ours and another"),
    ],
)
def test_previous_provider_from_the_plan(records: list[tuple[str, str]], expected: str) -> None:
    zone = [ZoneRecord(str(i), t, "x.pt", c, 10) for i, (t, c) in enumerate(records)]
    assert previous_provider(plan("x.pt", MAIL, zone), MAIL) == expected


@pytest.mark.parametrize(
    ("domain", "mode", "previous"),
    [
        ("m365-clinica.pt", "cloudflare", "microsoft365"),
        ("gws-loja.pt", "cloudflare", "google"),
        ("cpanel-hotel.pt", "cloudflare", "other"),
        ("plain.pt", "cloudflare", "none"),
        ("nocf-padaria.pt", "manual", "none"),  # the world's DNS: no MX at all
    ],
)
async def test_dns_applied_carries_mode_and_previous_provider(
    portal: Portal, domain: str, mode: str, previous: str | None
) -> None:
    assert (await portal.validate("dns-1", domain)).status_code == 200
    applied = await portal.dns("dns-1", domain)
    assert applied.status_code == 200
    assert "previous_provider" not in applied.json()  # the event's, not the customer's
    await wait_until(portal.drained)
    [body] = [b for b in portal.ops.stored.values() if b["type"] == "dns.applied"]
    assert (body["data"]["mode"], body["data"].get("previous_provider")) == (mode, previous)


async def test_the_real_ops_counts_each_session_under_its_values(tmp_path: Path) -> None:
    async with ops_in_process(tmp_path / "ops.db") as (ops_app, ops):
        settings = make_settings(tmp_path)
        transport = httpx.ASGITransport(app=ops_app)
        async with running_portal(settings, FakeOps(), transport=transport) as portal:
            for session_id, domain in (("b-1", "m365-a.pt"), ("b-2", "gws-b.pt")):
                assert all(r.status_code == 200 for r in await portal.wizard(session_id, domain))
            await portal.client.post(
                "/api/v1/onboarding/validate-domain",
                json={"session_id": "b-3", "domain": "nocf-c.pt", "language": "pt"},
            )
            await wait_until(portal.drained)
        found = (await ops.get("/api/v1/onboard/breakdown?by=previous_provider&hours=1")).json()
        assert [(g["value"], g["cohort"], g["completed"]) for g in found["groups"]] == [
            ("google", 1, 1),
            ("microsoft365", 1, 1),
            (None, 0, 0),
            (None, 1, 0),  # b-3 has not reached the DNS step
        ]
        found = (await ops.get("/api/v1/onboard/breakdown?by=release&hours=1")).json()
        assert [(g["value"], g["cohort"]) for g in found["groups"]] == [
            (RELEASE, 3),
            (None, 0),
            (None, 0),
        ]
        found = (await ops.get("/api/v1/onboard/breakdown?by=language&hours=1")).json()
        assert [(g["value"], g["cohort"]) for g in found["groups"]] == [
            ("pt", 1),
            (None, 0),
            (None, 2),  # API clients that said nothing
        ]


async def test_a_later_refused_start_carries_the_values_too(portal: Portal) -> None:
    """Ops takes the newest start's values: a refused attempt sent again keeps them."""
    for domain in ("gmail.com", "not a domain!"):
        body = {"session_id": "again-1", "domain": domain, "language": "pt"}
        assert (await portal.post("validate-domain", body)).status_code in (400, 422)
    await wait_until(portal.drained)
    starts = [b["data"] for b in portal.ops.stored.values() if b["type"] == "onboarding.started"]
    assert [(d["refusal"]["code"], d["language"], d["release"]) for d in starts] == [
        ("mailbox_provider", "pt", RELEASE),
        ("domain_invalid", "pt", RELEASE),
    ]


def _applied(portal: Portal) -> dict[str, Any]:
    [body] = [b for b in portal.ops.stored.values() if b["type"] == "dns.applied"]
    data: dict[str, Any] = body["data"]
    return data


def _mx(name: str, host: str, priority: int) -> dict[str, Any]:
    return {"type": "MX", "name": name, "content": host, "priority": priority}


@pytest.mark.parametrize(
    ("held", "previous"),
    [
        pytest.param(
            [_mx("nocf-clinica.pt", "nocf-clinica-pt.mail.protection.outlook.com", 0)],
            "microsoft365",
            id="m365",
        ),
        pytest.param([_mx("nocf-clinica.pt", "smtp.google.com", 1)], "google", id="google"),
        pytest.param([_mx("nocf-clinica.pt", "mx.zoho.eu", 10)], "other", id="zoho"),
        pytest.param([_mx("www.nocf-clinica.pt", "smtp.google.com", 1)], "none", id="not apex"),
        pytest.param([], "none", id="no MX"),
    ],
)
async def test_manual_mode_reads_the_mx_the_world_shows(
    portal: Portal, held: list[dict[str, Any]], previous: str
) -> None:
    """No Cloudflare zone: the MX the world's DNS shows at the DNS step (the sandbox's
    table here: the records at the customer's own DNS host) names the previous provider."""
    domain = "nocf-clinica.pt"
    portal.app.state.portal.sandbox.customer_dns[domain] = held
    assert (await portal.validate("man-1", domain)).status_code == 200
    applied = await portal.dns("man-1", domain)
    assert applied.status_code == 200, applied.text
    assert applied.json()["mode"] == "manual"
    assert "previous_provider" not in applied.json()
    await wait_until(portal.drained)
    data = _applied(portal)
    assert (data["mode"], data["previous_provider"]) == ("manual", previous)


class _FailingMx:
    """DNS that answers nothing but errors, as a resolver gives them (resolvers.rdatas)."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind
        self.asked: list[str] = []

    async def mx(self, name: str) -> list[str]:
        self.asked.append(name)
        raise DnsFailure(name, self.kind, f"DNS failed ({self.kind}) for {name}")


@pytest.mark.parametrize("kind", ["servfail", "timeout"])
async def test_a_failing_mx_lookup_leaves_it_unknown_and_the_step_done(
    portal: Portal, kind: str
) -> None:
    domain = "nocf-padaria.pt"
    failing = _FailingMx(kind)
    portal.app.state.portal.wizard._previous_mx = failing
    assert (await portal.validate("man-2", domain)).status_code == 200
    applied = await portal.dns("man-2", domain)
    assert applied.status_code == 200, applied.text
    assert applied.json()["mode"] == "manual"
    await wait_until(portal.drained)
    data = _applied(portal)
    assert failing.asked == [domain]
    assert data["mode"] == "manual" and "previous_provider" not in data
    # The step is stored as done: asked again, it answers the same without a new lookup.
    again = await portal.dns("man-2", domain)
    assert again.json() == applied.json() and failing.asked == [domain]


async def test_the_cloudflare_step_asks_the_world_nothing(portal: Portal) -> None:
    """With a zone the previous provider comes from the zone the step read."""
    failing = _FailingMx("servfail")
    portal.app.state.portal.wizard._previous_mx = failing
    assert (await portal.validate("cf-1", "m365-clinica.pt")).status_code == 200
    assert (await portal.dns("cf-1", "m365-clinica.pt")).status_code == 200
    await wait_until(portal.drained)
    assert _applied(portal)["previous_provider"] == "microsoft365"
    assert failing.asked == []


async def test_the_dns_step_lookup_leaves_nocflater_to_the_mail_check(tmp_path: Path) -> None:
    """nocflater... customers publish once the mail check has shown them the records: the
    DNS step's own MX lookup (made before) shows the customer nothing, so the first mail
    check still finds every record missing and "check again" finds them published."""
    domain = "nocflater-loja.pt"
    async with running_portal(make_settings(tmp_path, mail_check=True)) as portal:
        validated, applied, account = await portal.wizard("late-1", domain)
        assert (validated.status_code, applied.json()["mode"]) == (200, "manual")
        first = account.json()["mail"]
        assert {i["name"]: i["code"] for i in first["items"]} == {
            "mx": "mx_missing",
            "spf": "spf_missing",
            "dmarc": "dmarc_missing",
            "dkim": "dkim_not_created",
            "autodiscover": "autodiscover_missing",
        }
        portal.app.state.portal.mail.customer_interval = 0.0
        again = await portal.post("mail/check", {"session_id": "late-1", "domain": domain})
        assert again.status_code == 200, again.text
        assert {i["name"]: i["status"] for i in again.json()["items"]} == {
            "mx": "ok",
            "spf": "ok",
            "dmarc": "ok",
            "dkim": "pending",
            "autodiscover": "ok",
        }
        await wait_until(portal.drained)
        assert _applied(portal)["previous_provider"] == "none"  # nothing published before
