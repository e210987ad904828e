"""The wizard's steps, order and events (vm112_portal/wizard.py), with a MockTransport Ops."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.portal.conftest import PASSWORD, FakeOps, Portal, make_settings, running_portal
from tests.support import peek
from tests.support.poll import wait_until
from vm112_portal.errors import DomainTaken, Unprocessable, UpstreamTimeout
from vm112_portal.providers.sandbox import Sandbox
from vm112_portal.release import RELEASE
from vm112_portal.wizard import dkim_pending, refusal_of
from vm122_ops.ingest.events import STAGE_TYPES

MAIL = "mail.sandbox.example.net"

HAPPY = list(STAGE_TYPES)


async def test_full_wizard_emits_six_events_in_order(portal: Portal) -> None:
    validate, dns, account = await portal.wizard("s-ok", " Example.PT ")
    assert validate.status_code == 200 and validate.json()["domain"] == "example.pt"
    # Three records now, the MX held for the account step (issue 23).
    assert dns.status_code == 200 and len(dns.json()["created"]) == 3
    assert [h["type"] for h in dns.json()["held"]] == ["MX"]
    assert account.status_code == 200
    mx = {
        "action": "created",
        "type": "MX",
        "name": "example.pt",
        "content": "mail.sandbox.example.net",
        "priority": 10,
    }
    assert account.json() == {
        "ok": True,
        "reference": validate.json()["reference"],
        "domain": "example.pt",
        "domain_unicode": "example.pt",
        "account": "admin@example.pt",
        "account_unicode": "admin@example.pt",
        "domain_created": True,
        "aliases": ["postmaster@example.pt", "dmarc@example.pt"],
        "mx": mx,
        "dkim": dkim_pending("example.pt"),
        "plan": "starter",
        "mailbox_quota_mb": 5120,
    }
    assert [row["event_type"] for row in portal.outbox()] == HAPPY
    await wait_until(portal.drained)
    assert portal.ops.types_for("s-ok") == HAPPY
    bodies = list(portal.ops.stored.values())
    assert {body["data"]["domain"] for body in bodies} == {"example.pt"}
    applied = bodies[2]["data"]
    assert (applied["zone"], applied["mode"], len(applied["created"])) == (
        "example.pt",
        "cloudflare",
        3,
    )
    assert applied["dkim"]["status"] == "pending"
    assert "zmdkimkeyutil -a -d example.pt" in applied["dkim"]["operations"][0]
    assert bodies[3]["data"]["account"] == "admin@example.pt"
    assert bodies[3]["data"]["mx"] == mx
    assert bodies[4]["data"] == {
        "session_id": "s-ok",
        "domain": "example.pt",
        "plan": "starter",
        "mailbox_quota_mb": 5120,
        "contact": "admin@example.pt",
    }
    assert [body["timestamp"] for body in bodies] == sorted(body["timestamp"] for body in bodies)
    sandbox: Sandbox = portal.app.state.portal.sandbox
    assert sandbox.accounts["admin@example.pt"]["a"][0] == {
        "n": "displayName",
        "_content": "Ana Lopes",
    }


async def test_password_is_never_stored_logged_or_emitted(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await portal.wizard("s-pw", "example.pt")
    await portal.wizard("s-pw2", "fail-shop.pt")
    await wait_until(portal.drained)
    assert PASSWORD not in caplog.text
    for sent in portal.ops.received:
        assert PASSWORD not in str(sent)
    for path in Path(portal.settings.db_path).parent.glob("portal.db*"):
        assert PASSWORD.encode() not in path.read_bytes(), path.name
    with peek.reading(portal.settings.db_path) as conn:
        dump = "\n".join(conn.iterdump())
    assert PASSWORD not in dump


async def test_fail_domain_emits_failed_with_stage_and_answers_502(portal: Portal) -> None:
    validate, dns, account = await portal.wizard("s-fail", "fail-shop.pt")
    assert (validate.status_code, dns.status_code) == (200, 200)
    assert account.status_code == 502
    assert "service.FAILURE" in account.json()["error"]
    await wait_until(portal.drained)
    assert portal.ops.types_for("s-fail") == [*HAPPY[:3], "onboarding.failed"]
    failed = list(portal.ops.stored.values())[-1]["data"]
    assert failed["stage"] == "account_created" and failed["code"] == "carbonio:service.FAILURE"
    assert failed["provider"] == "carbonio"
    # The mail server refuses the same way every time: no retry offered, the reference.
    assert account.json()["code"] == "account_refused" and account.json()["retry"] is False
    assert account.json()["reference"] == validate.json()["reference"]
    assert failed["reason"].startswith("Carbonio fault service.FAILURE: system failure")


async def test_nocf_domain_is_manual_dns_with_the_exact_records(portal: Portal) -> None:
    await portal.validate("s-nocf", "nocf-shop.pt")
    planned = await portal.post(
        "dns/cloudflare/plan", {"session_id": "s-nocf", "domain": "nocf-shop.pt"}
    )
    _validate, dns, account = await portal.wizard("s-nocf", "nocf-shop.pt")
    manual = [
        {
            "purpose": "spf",
            "type": "TXT",
            "name": "nocf-shop.pt",
            "content": f"v=spf1 mx a:{MAIL} ~all",
        },
        {
            "purpose": "dmarc",
            "type": "TXT",
            "name": "_dmarc.nocf-shop.pt",
            "content": "v=DMARC1; p=none; rua=mailto:dmarc@nocf-shop.pt",
        },
        {
            "purpose": "autodiscover",
            "type": "CNAME",
            "name": "autodiscover.nocf-shop.pt",
            "content": MAIL,
        },
        # Last, and only once the mailbox exists (issue 23).
        {
            "purpose": "mx",
            "type": "MX",
            "name": "nocf-shop.pt",
            "content": MAIL,
            "priority": 10,
            "when": "after_account",
        },
    ]
    assert planned.json()["mode"] == "manual" and planned.json()["records"] == manual
    assert dns.status_code == 200
    assert (dns.json()["mode"], dns.json()["zone_found"], dns.json()["records"]) == (
        "manual",
        False,
        manual,
    )
    assert account.status_code == 200
    await wait_until(portal.drained)
    assert portal.ops.types_for("s-nocf") == HAPPY  # dns.applied says the DNS is the customer's
    applied = next(b for b in portal.ops.stored.values() if b["type"] == "dns.applied")["data"]
    assert (applied["mode"], applied["provider"], applied["records"]) == (
        "manual",
        "customer",
        manual,
    )


async def test_second_dns_apply_answers_the_stored_result(portal: Portal) -> None:
    """Apply runs once per session (issue 17: repeats multiplied the Cloudflare calls)."""
    await portal.validate("s-2", "example.pt")
    first = await portal.dns("s-2", "example.pt")
    sandbox: Sandbox = portal.app.state.portal.sandbox
    records = sum(len(found) for found in sandbox.records.values())
    second = await portal.dns("s-2", "example.pt")
    assert len(first.json()["created"]) == 3  # the MX is held for the account step
    assert second.json() == first.json()
    assert sum(len(found) for found in sandbox.records.values()) == records
    assert [row["event_type"] for row in portal.outbox()].count("dns.applied") == 1


async def test_out_of_order_steps_get_409(portal: Portal) -> None:
    # A session that never validated a domain does not exist: nobody holds its secret.
    early_account = await portal.account("s-o", "example.pt")
    early_dns = await portal.dns("s-o", "example.pt")
    assert (early_account.status_code, early_dns.status_code) == (403, 403)
    assert early_account.json()["code"] == "not_your_session"
    await portal.validate("s-o", "example.pt")
    skipped_dns = await portal.account("s-o", "example.pt")
    assert skipped_dns.status_code == 409 and "DNS" in skipped_dns.json()["error"]
    other = await portal.dns("s-o", "other.pt")
    assert other.status_code == 409 and "not the one validated" in other.json()["error"]
    await portal.dns("s-o", "example.pt")
    assert (await portal.account("s-o", "example.pt")).status_code == 200
    again = await portal.validate("s-o", "example.pt")
    assert again.status_code == 409 and again.json()["code"] == "domain_onboarded"
    another = await portal.validate("s-o", "another.pt")
    assert another.status_code == 409 and "already complete" in another.json()["error"]
    assert (await portal.account("s-o", "example.pt")).status_code == 409
    assert [row["event_type"] for row in portal.outbox()] == HAPPY


async def test_started_is_emitted_once_per_session(portal: Portal) -> None:
    await portal.validate("s-once", "co.uk")
    await portal.validate("s-once", "example.pt")
    await portal.validate("s-once", "example.pt")
    await portal.validate("s-once", "example.com")
    types = [row["event_type"] for row in portal.outbox()]
    assert types == ["onboarding.started", "domain.validated", "domain.validated"]
    first = portal.outbox()[0]
    assert '"domain":"(rejected)"' in first["body"]  # never the raw text (issue 17)


async def test_account_exists_is_a_409_and_a_failed_event(portal: Portal) -> None:
    # The address exists on the mail server already (made by hand); a second session for
    # the same domain is refused before this point (tests/portal/test_ownership.py).
    sandbox: Sandbox = portal.app.state.portal.sandbox
    sandbox.accounts["admin@example.pt"] = {"name": "admin@example.pt", "id": "x", "a": []}
    await portal.validate("s-b", "example.pt")
    await portal.dns("s-b", "example.pt")
    clash = await portal.account("s-b", "example.pt")
    assert clash.status_code == 409
    assert (clash.json()["code"], "account.ACCOUNT_EXISTS" in clash.json()["error"]) == (
        "address_taken",
        True,
    )
    await wait_until(portal.drained)
    failed = list(portal.ops.stored.values())[-1]
    assert failed["type"] == "onboarding.failed"
    assert failed["data"]["code"] == "carbonio:account.ACCOUNT_EXISTS"
    # The domain the first attempt created is this session's (zimbraNotes): go on.
    retry = await portal.account("s-b", "example.pt", admin_local_part="boss")
    assert retry.status_code == 200 and retry.json()["domain_created"] is False


async def test_the_admin_address_typed_is_the_contact_from_the_account_step_on(
    portal: Portal,
) -> None:
    # Issue 12, item 10: who to contact is the admin address the customer typed, known
    # from the account step; a failure there carries it, and so does every later event.
    sandbox: Sandbox = portal.app.state.portal.sandbox
    sandbox.accounts["admin@example.pt"] = {"name": "admin@example.pt", "id": "x", "a": []}
    await portal.validate("s-c", "example.pt")
    await portal.dns("s-c", "example.pt")
    assert (await portal.account("s-c", "example.pt")).status_code == 409
    retry = await portal.account("s-c", "example.pt", admin_local_part="Boss.Lopes")
    assert retry.status_code == 200
    await wait_until(portal.drained)
    sent = [(body["type"], body["data"].get("contact")) for body in portal.ops.stored.values()]
    assert sent == [
        ("onboarding.started", None),
        ("domain.validated", None),
        ("dns.applied", None),
        ("onboarding.failed", "admin@example.pt"),
        ("account.created", "boss.lopes@example.pt"),
        ("infra.synced", "boss.lopes@example.pt"),
        ("onboarding.completed", "boss.lopes@example.pt"),
    ]


async def test_unreachable_carbonio_is_502_with_failed_event(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, carbonio_admin_url="http://127.0.0.1:9/service/admin/soap", provider_timeout=1.0
    )
    async with running_portal(settings, providers_in_process=False) as portal:
        await portal.validate("s-x", "example.pt")
        await portal.dns("s-x", "example.pt")
        response = await portal.account("s-x", "example.pt")
        rows = portal.outbox()
    assert response.status_code == 502
    assert "could not be reached" in response.json()["error"]
    assert rows[-1]["event_type"] == "onboarding.failed"
    assert '"stage":"account_created"' in rows[-1]["body"]


async def test_cloudflare_refusal_is_502_with_failed_event(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, cloudflare_base_url="http://127.0.0.1:9/client/v4")
    async with running_portal(settings, providers_in_process=False) as portal:
        await portal.validate("s-cf", "example.pt")
        response = await portal.dns("s-cf", "example.pt")
        rows = portal.outbox()
    assert response.status_code == 502
    assert response.json()["error"].startswith("Cloudflare could not be reached")
    assert rows[-1]["event_type"] == "onboarding.failed"
    assert '"stage":"dns_applied"' in rows[-1]["body"]


async def test_wizard_is_not_slowed_by_a_hanging_ops(tmp_path: Path) -> None:
    ops = FakeOps(hang=True)
    async with running_portal(make_settings(tmp_path, ops_timeout=30), ops) as portal:
        responses = await portal.wizard("s-h", "example.pt")
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert [row["state"] for row in portal.outbox()] == ["pending"] * 6


async def test_ops_rejecting_everything_never_fails_the_wizard(tmp_path: Path) -> None:
    # Every request is refused, retries included: an attempt whose answer came after the
    # dispatcher's timeout (a loaded machine) is sent again and must be refused again.
    ops = FakeOps(otherwise=422)
    async with running_portal(make_settings(tmp_path), ops) as portal:
        responses = await portal.wizard("s-r", "example.pt")
        await wait_until(portal.drained)
        health = await portal.health()
        rows = portal.outbox()
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert (health["outbox"]["dead"], health["outbox"]["delivered"]) == (6, 0)
    assert [row["event_type"] for row in rows] == HAPPY
    assert {row["state"] for row in rows} == {"dead"}
    assert {webhook_id for webhook_id, _ in ops.attempts} == {row["webhook_id"] for row in rows}
    assert ops.stored == {}


async def test_emission_off_queues_nothing_and_the_wizard_still_works(tmp_path: Path) -> None:
    async with running_portal(make_settings(tmp_path, emit=False)) as portal:
        responses = await portal.wizard("quiet-1", "quiet-example.pt")
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert portal.outbox() == []
        assert portal.ops.types() == []


def _started(portal: Portal) -> list[dict[str, Any]]:
    return [
        orjson.loads(row["body"])["data"]
        for row in portal.outbox()
        if row["event_type"] == "onboarding.started"
    ]


@pytest.mark.parametrize(
    ("domain", "status", "code"),
    [
        pytest.param("gmail.com", 422, "mailbox_provider", id="unhostable-gmail"),
        pytest.param("mail.outlook.com", 422, "mailbox_provider", id="unhostable-under-outlook"),
        pytest.param("not a domain!", 400, "domain_invalid", id="invalid"),
        pytest.param("co.uk", 400, "domain_invalid", id="public-suffix"),
    ],
)
async def test_a_refused_first_attempt_sends_its_refusal(
    portal: Portal, domain: str, status: int, code: str
) -> None:
    answer = await portal.validate("s-ref", domain)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert [row["event_type"] for row in portal.outbox()] == ["onboarding.started"]
    assert _started(portal)[0]["domain"] == "(rejected)"
    assert _started(portal)[0]["refusal"] == {"code": code, "status": status}


async def test_a_taken_domain_is_a_refusal_with_the_409_code(portal: Portal) -> None:
    assert (await portal.validate("s-holder", "example.pt")).status_code == 200
    taken = await portal.validate("s-late", "example.pt")
    assert (taken.status_code, taken.json()["code"]) == (409, "domain_in_progress")
    late = [data for data in _started(portal) if data["session_id"] == "s-late"]
    assert late == [
        {
            "session_id": "s-late",
            "domain": "(rejected)",
            "reference": late[0]["reference"],
            "refusal": {"code": "domain_in_progress", "status": 409},
            "release": RELEASE,  # the breakdowns' value, on every start
        }
    ]
    holder = [data for data in _started(portal) if data["session_id"] == "s-holder"]
    assert "refusal" not in holder[0]  # accepted at once: no refusal


async def test_later_refusals_are_sent_until_a_domain_is_validated(portal: Portal) -> None:
    await portal.validate("s-again", "gmail.com")
    await portal.validate("s-again", "not a domain!")
    await portal.validate("s-again", "example.pt")
    await portal.validate("s-again", "hotmail.com")  # after validation: nothing new
    types = [row["event_type"] for row in portal.outbox()]
    assert types == ["onboarding.started", "onboarding.started", "domain.validated"]
    first, second = _started(portal)
    assert (first["refusal"]["code"], second["refusal"]["code"]) == (
        "mailbox_provider",
        "domain_invalid",
    )
    assert second["reference"] == first["reference"]
    ids = [row["webhook_id"] for row in portal.outbox()]
    assert ids[0] == "onboarding-started-s-again" and len(set(ids)) == 3


async def test_a_timed_out_first_attempt_names_its_domain_and_no_refusal(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 5xx (DNS did not answer) refuses nothing, so the start must not read as one: Ops
    # takes a start whose domain is "(rejected)" with no refusal for an older Portal's
    # refused attempt (code "unspecified"), which would hide a customer who may retry.
    async def no_answer(domain: Any) -> None:
        raise UpstreamTimeout("DNS did not answer in time", "provider_timeout")

    monkeypatch.setattr(portal.app.state.portal.wizard._checker, "check", no_answer)
    answer = await portal.validate("s-slow", "Padaria-Lenta.pt")
    assert (answer.status_code, answer.json()["code"]) == (504, "provider_timeout")
    assert _started(portal) == [
        {
            "session_id": "s-slow",
            "domain": "padaria-lenta.pt",  # as normalised: no raw text
            "reference": _started(portal)[0]["reference"],
            "release": RELEASE,
        }
    ]


def test_a_5xx_is_no_refusal() -> None:
    # DNS that did not answer in time (504) refuses nothing: the customer may try again,
    # and Ops would refuse a refusal with another status than 4xx (422).
    assert refusal_of(UpstreamTimeout("DNS did not answer", "provider_timeout")) is None
    assert refusal_of(None) is None
    assert refusal_of(DomainTaken("held", "domain_in_progress")) == {
        "code": "domain_in_progress",
        "status": 409,
    }
    assert refusal_of(Unprocessable("odd", "bad code!")) == {"code": "refused", "status": 422}
