"""The mail check against a DNS server the test runs (real UDP/TCP sockets on 127.0.0.1,
tests/support/dns_server.py), the Portal's PORTAL_DNS_RESOLVERS pointing at it.

The server answers for a name in a sandbox Cloudflare zone the wizard touched from that
zone's records as they are (Cloudflare serving its zones), and for any other name from
``world`` (a customer's own DNS host, a provider's SPF include), which the test changes.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.portal.conftest import Portal, make_settings, running_portal
from tests.support.dns_server import Answer, dns_server
from vm112_portal.dkim import parse
from vm112_portal.dkim_publish import publish
from vm112_portal.mail_check import MailChecker, ResolverDns
from vm112_portal.providers.sandbox import Sandbox
from vm112_portal.providers.sandbox.zones import zone_name_for
from vm112_portal.resolvers import resolver_for

DATA = Path(__file__).resolve().parent / "data"
CAPTURED = DATA / "zmdkimkeyutil-q-loja-pronta.pt.txt"  # zmdkimkeyutil -q -d loja-pronta.pt
MAIL_HOST = "mail.sandbox.example.net"  # Settings.mail_host's default


@dataclass
class World:
    """What DNS shows: sandbox zones the wizard touched, else ``records``."""

    sandbox: Sandbox | None = None
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    failing: set[str] = field(default_factory=set)  # names answered with SERVFAIL
    dropped: set[str] = field(default_factory=set)  # names never answered (a timeout)
    asked: list[tuple[str, str]] = field(default_factory=list)  # the server's questions

    def answer(self, name: str, rdtype: str) -> Answer:
        if name in self.failing:
            return "servfail"
        if name in self.dropped:
            return "drop"
        zone = zone_name_for(name)
        if self.sandbox is not None and zone in self.sandbox.records:
            held = [r for r in self.sandbox.records[zone] if r["name"].lower() == name]
            if not held:
                return None
            return [_rdata(r) for r in held if r["type"] == rdtype]
        if (name, rdtype) in self.records:
            return self.records[(name, rdtype)]
        return [] if any(n == name for n, _ in self.records) else None

    def publish(self, name: str, rdtype: str, *values: str) -> None:
        self.records[(name.lower(), rdtype)] = list(values)


def _rdata(record: dict[str, Any]) -> str:
    content = str(record["content"])
    if record["type"] == "MX":
        return f"{record['priority']} {content}."
    if record["type"] == "CNAME":
        return f"{content}."
    if record["type"] == "TXT":
        return content if content.startswith('"') else '"' + content.replace('"', '\\"') + '"'
    return content


@pytest.fixture
def world() -> Iterator[tuple[World, str]]:
    found = World()
    # The includes of the seeded SPF records, as their providers publish them.
    found.publish("spf.protection.outlook.com", "TXT", '"v=spf1 ip4:40.92.0.0/15 -all"')
    with dns_server(found.answer) as server:
        found.asked = server.queries
        yield found, server.address


@asynccontextmanager
async def portal_on(tmp_path: Path, world: World, address: str) -> AsyncIterator[Portal]:
    host, port = address.split(":")
    settings = make_settings(tmp_path, dns_resolvers=((host, int(port)),), mail_check=True)
    async with running_portal(settings) as portal:
        state = portal.app.state.portal
        world.sandbox = state.sandbox
        yield portal


def mail(portal: Portal) -> MailChecker:
    checker: MailChecker = portal.app.state.portal.mail
    return checker


def checks(portal: Portal, session_id: str) -> list[dict[str, Any]]:
    """The mail.checked bodies the session queued, in order."""
    found = []
    for row in portal.outbox():
        if row["event_type"] == "mail.checked" and row["session_id"] == session_id:
            found.append(orjson.loads(row["body"])["data"])
    return found


def statuses(data: dict[str, Any]) -> dict[str, str]:
    return {i["name"]: f"{i['status']}:{i['code']}" for i in data["items"]}


async def onboard(portal: Portal, session_id: str, domain: str, **dns: Any) -> dict[str, Any]:
    assert (await portal.validate(session_id, domain)).status_code == 200
    applied = await portal.post(
        "dns/cloudflare/apply", {"session_id": session_id, "domain": domain, **dns}
    )
    assert applied.status_code == 200, applied.text
    response = await portal.account(session_id, domain)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def publish_key(portal: Portal, text: str, domain: str) -> Any:
    state = portal.app.state.portal
    lookup = ResolverDns(resolver_for(state.settings.dns_resolvers, 2.0), 2.0)
    return await publish(
        parse(text, domain),
        db=state.db,
        cloudflare=state.wizard._dns,
        lookup=lookup,
        checker=mail(portal),
        wait=0,
    )


def captured_for(domain: str) -> str:
    return CAPTURED.read_text(encoding="utf-8").replace("loja-pronta.pt", domain)


async def test_an_onboarding_whose_records_are_all_visible_ends_ready(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    found, address = world
    async with portal_on(tmp_path, found, address) as portal:
        # Our team made the key before (a returning domain): the zone gets every record.
        assert (await portal.validate("s1", "loja-pronta.pt")).status_code == 200
        await portal.dns("s1", "loja-pronta.pt")
        await publish_key(portal, captured_for("loja-pronta.pt"), "loja-pronta.pt")
        answer = await portal.account("s1", "loja-pronta.pt")
        assert answer.status_code == 200, answer.text
        result = answer.json()["mail"]
        assert result["ready"] is True, result
        assert [i["status"] for i in result["items"]] == ["ok"] * 5
        assert result["next_check_at"] is None
        (event,) = checks(portal, "s1")
        assert event["ready"] is True and event["changed_from"] is None
        assert event["trigger"] == "account"
        # Every lookup went to the test's server over its socket.
        for question in [
            ("loja-pronta.pt", "MX"),
            ("loja-pronta.pt", "TXT"),
            ("_dmarc.loja-pronta.pt", "TXT"),
            ("autodiscover.loja-pronta.pt", "CNAME"),
            ("7b3e2a10-3c4d-11ef-9a6b-5f0e8c1d2a47._domainkey.loja-pronta.pt", "TXT"),
        ]:
            assert question in found.asked, question
        # Nothing changes: a scheduled or repeated check sends nothing more.
        await mail(portal).check("s1", "command")
        assert len(checks(portal, "s1")) == 1


async def test_m365_kept_is_pending_until_the_mx_moves_and_the_schedule_runs(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    found, address = world
    domain = "m365-loja.pt"
    async with portal_on(tmp_path, found, address) as portal:
        assert (await portal.validate("m1", domain)).status_code == 200
        await publish_key(portal, captured_for(domain), domain)  # DKIM out of the way
        answer = await onboard(portal, "m1", domain, replace=[])  # "keep" everything
        result = answer["mail"]
        assert result["ready"] is False
        assert statuses(result)["mx"] == "pending:mx_elsewhere"
        mx = result["items"][0]
        assert mx["provider"] == "Microsoft 365"
        assert mx["found"] == ["m365-loja-pt.mail.protection.outlook.com"]
        assert mx["record"] == {"type": "MX", "name": domain, "content": MAIL_HOST, "priority": 10}
        assert statuses(result)["autodiscover"] == "pending:autodiscover_elsewhere"
        assert result["next_check_at"] is not None
        (first,) = checks(portal, "m1")
        assert first["ready"] is False and first["changed_from"] is None

        # Not due yet: the schedule runs nothing.
        assert await mail(portal).run_due(time.time() + 60) == 0
        # The customer moves MX and autodiscover to us in their zone.
        assert found.sandbox is not None
        for record in found.sandbox.records[domain]:
            if record["type"] == "MX":
                record.update(content=MAIL_HOST, priority=10)
            if record["type"] == "CNAME" and record["name"] == f"autodiscover.{domain}":
                record["content"] = MAIL_HOST
        assert await mail(portal).run_due(time.time() + 16 * 60) == 1
        _, second = checks(portal, "m1")
        assert second["ready"] is True
        assert second["trigger"] == "schedule"
        assert second["changed_from"]["ready"] is False
        assert second["changed_from"]["items"]["mx"] == "pending"
        assert second["next_check_at"] is None
        # Ready: the schedule is done.
        assert await mail(portal).run_due(time.time() + 10 * 86_400) == 0


async def test_a_manual_zone_is_pending_until_the_customer_publishes(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    found, address = world
    domain = "nocf-loja.pt"
    async with portal_on(tmp_path, found, address) as portal:
        assert (await portal.validate("n1", domain)).status_code == 200
        await publish_key(portal, captured_for(domain), domain)
        answer = await onboard(portal, "n1", domain)
        result = answer["mail"]
        assert result["mode"] == "manual" and result["ready"] is False
        assert statuses(result) == {
            "mx": "pending:mx_missing",
            "spf": "pending:spf_missing",
            "dmarc": "pending:dmarc_missing",
            "dkim": "pending:dkim_not_visible",
            "autodiscover": "pending:autodiscover_missing",
        }
        # Each pending item names the whole record to publish.
        records = {i["name"]: i["record"] for i in result["items"]}
        assert records["spf"] == {
            "type": "TXT",
            "name": domain,
            "content": f"v=spf1 mx a:{MAIL_HOST} ~all",
        }
        # The customer publishes them at their DNS host; the schedule finds them.
        found.publish(domain, "MX", f"10 {MAIL_HOST}.")
        found.publish(domain, "TXT", f'"{records["spf"]["content"]}"')
        found.publish(f"_dmarc.{domain}", "TXT", f'"{records["dmarc"]["content"]}"')
        found.publish(f"autodiscover.{domain}", "CNAME", f"{MAIL_HOST}.")
        dkim = records["dkim"]
        content = dkim["content"]  # as a DNS host splits it: two character-strings
        found.publish(dkim["name"], "TXT", f'"{content[:200]}" "{content[200:]}"')
        assert await mail(portal).run_due(time.time() + 16 * 60) == 1
        first, second = checks(portal, "n1")
        assert second["ready"] is True, statuses(second)
        assert first["ready"] is False
        assert second["changed_from"]["items"]["mx"] == "pending"


async def test_dkim_published_from_zmdkimkeyutil_raises_dmarc_and_flips_dkim(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    found, address = world
    domain = "loja-pronta.pt"
    async with portal_on(tmp_path, found, address) as portal:
        answer = await onboard(portal, "d1", domain)
        result = answer["mail"]
        dkim = result["items"][3]
        assert (dkim["status"], dkim["code"], dkim["todo"]) == (
            "pending",
            "dkim_not_created",
            "team",
        )
        assert dkim["commands"][0].endswith(f"zmdkimkeyutil -a -d {domain}")
        assert f"dkim publish {domain}" in dkim["commands"][1]
        assert result["ready"] is False
        # DMARC as issue 23 publishes it before DKIM: p=none.
        assert found.sandbox is not None
        dmarc = next(r for r in found.sandbox.records[domain] if r["name"] == f"_dmarc.{domain}")
        dmarc["content"] = dmarc["content"].replace("p=quarantine", "p=none")
        report = await publish_key(portal, CAPTURED.read_text(encoding="utf-8"), domain)
        assert report.key.selector == "7B3E2A10-3C4D-11EF-9A6B-5F0E8C1D2A47"
        assert report.dkim_action == "created" and report.visible is True
        assert report.dmarc == "raised"
        assert "p=quarantine" in dmarc["content"] and "p=none" not in dmarc["content"]
        name = f"{report.key.selector}._domainkey.{domain}".lower()
        (published,) = [r for r in found.sandbox.records[domain] if r["name"].lower() == name]
        assert published["type"] == "TXT"
        assert report.check is not None and report.check.ready is True
        first, second = checks(portal, "d1")
        assert statuses(first)["dkim"] == "pending:dkim_not_created"
        assert statuses(second)["dkim"] == "ok:ok"
        assert second["trigger"] == "dkim" and second["ready"] is True
        # The private key the output held is nowhere in the database.
        assert b"TESTONLYNOTAKEY" not in (tmp_path / "portal.db").read_bytes()


async def test_a_failing_lookup_is_a_failed_item_never_missing(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    found, address = world
    domain = "nocf-quebrado.pt"
    async with portal_on(tmp_path, found, address) as portal:
        found.failing.add(f"_dmarc.{domain}")
        answer = await onboard(portal, "f1", domain)
        dmarc = answer["mail"]["items"][2]
        assert (dmarc["status"], dmarc["code"]) == ("failed", "dns_error")
        assert "SERVFAIL" in dmarc["why"]


async def test_check_again_answers_the_session_and_refuses_others(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    found, address = world
    async with portal_on(tmp_path, found, address) as portal:
        # A session nobody holds the secret of (issue 25): 403 before anything is read.
        bad = await portal.post("mail/check", {"session_id": "nobody", "domain": "x.pt"})
        assert bad.status_code == 403 and bad.json()["ok"] is False
        await onboard(portal, "c1", "loja-nova.pt")
        again = await portal.post("mail/check", {"session_id": "c1", "domain": "loja-nova.pt"})
        assert again.status_code == 200, again.text
        assert again.json()["domain"] == "loja-nova.pt"
        assert "session_id" not in again.json()  # the page never sees a session id
        other = await portal.post("mail/check", {"session_id": "c1", "domain": "outra.pt"})
        assert other.status_code == 409
        missing = await portal.post("mail/check", {"session_id": "c1"})
        assert missing.status_code == 400


async def test_check_again_takes_the_domain_in_any_form_the_other_steps_take(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    """An IDN domain typed as at step 1 (Unicode, any case) or in its ASCII form: the same
    name once normalised (vm112_portal/domains.py), as every other step compares it."""
    found, address = world
    async with portal_on(tmp_path, found, address) as portal:
        await onboard(portal, "idn", "tésté-idn.pt")
        for typed in ("tésté-idn.pt", "TÉSTÉ-IDN.PT", "xn--tst-idn-byac.pt", " tésté-idn.pt. "):
            again = await portal.post("mail/check", {"session_id": "idn", "domain": typed})
            assert again.status_code == 200, (typed, again.text)
            assert again.json()["domain"] == "xn--tst-idn-byac.pt"
        other = await portal.post("mail/check", {"session_id": "idn", "domain": "téste-idn.pt"})
        assert (other.status_code, other.json()["code"]) == (409, "out_of_order")
        assert other.json()["error"] == (
            "domain 'téste-idn.pt' is not this session's (xn--tst-idn-byac.pt)"
        )
        invalid = await portal.post("mail/check", {"session_id": "idn", "domain": "a b.pt"})
        assert invalid.status_code == 400


def test_the_schedule_is_every_15_minutes_for_7_days_then_daily_until_day_37() -> None:
    from vm112_portal.mail_check import DAY, next_check

    first = 1_000_000.0
    assert next_check(first, first, ready=True) is None
    assert next_check(first, first, ready=False) == first + 15 * 60
    assert next_check(first, first + 7 * DAY - 1, ready=False) == first + 7 * DAY - 1 + 15 * 60
    assert next_check(first, first + 7 * DAY, ready=False) == first + 8 * DAY
    assert next_check(first, first + 36 * DAY, ready=False) == first + 37 * DAY
    assert next_check(first, first + 36 * DAY + 1, ready=False) is None
    # Walking the schedule from the first check: 672 quick checks, then 30 daily ones.
    at, count = first, 0
    while (upcoming := next_check(first, at, ready=False)) is not None:
        at, count = upcoming, count + 1
    assert count == 7 * 24 * 4 + 30


async def test_retention_removes_finished_mail_checks_and_keeps_scheduled_ones(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    from vm112_portal import retention

    found, address = world
    async with portal_on(tmp_path, found, address) as portal:
        await onboard(portal, "r1", "loja-um.pt")  # not ready: DKIM, scheduled
        await publish_key(portal, captured_for("loja-dois.pt"), "loja-dois.pt")
        assert (await portal.validate("r2", "loja-dois.pt")).status_code == 200
        await portal.dns("r2", "loja-dois.pt")
        assert (await portal.account("r2", "loja-dois.pt")).json()["mail"]["ready"] is True
        db = portal.app.state.portal.db
        later = time.time() + 91 * 86_400
        removed = await retention.purge_wizard_state(db, 90, later)
        assert removed.mail_checks == 1
        assert await mail(portal).last("r2") is None
        kept = await mail(portal).last("r1")
        assert kept is not None and kept.next_check_at is not None


async def test_the_lifespan_loop_runs_due_checks(tmp_path: Path, world: tuple[World, str]) -> None:
    """The loop the Portal's lifespan starts (run_periodically) runs a check once it is due."""
    import asyncio

    from tests.support.poll import wait_until

    found, address = world
    domain = "nocf-loop.pt"
    async with portal_on(tmp_path, found, address) as portal:
        await publish_key(portal, captured_for(domain), domain)
        result = (await onboard(portal, "l1", domain))["mail"]
        assert result["ready"] is False
        for item in result["items"]:
            record = item.get("record")
            if record:
                value = record["content"]
                if record["type"] == "MX":
                    value = f"{record['priority']} {value}."
                elif record["type"] == "CNAME":
                    value = f"{value}."
                else:
                    value = f'"{value[:200]}"' + (f' "{value[200:]}"' if value[200:] else "")
                found.publish(record["name"], record["type"], value)
        checker = mail(portal)
        loop = asyncio.create_task(checker.run_periodically(0.02))
        try:
            await asyncio.sleep(0.1)
            assert len(checks(portal, "l1")) == 1  # not due yet: nothing ran
            checker._clock = lambda: time.time() + 16 * 60  # a quarter of an hour later
            await wait_until(lambda: len(checks(portal, "l1")) == 2, timeout=10)
        finally:
            loop.cancel()
        assert checks(portal, "l1")[1]["ready"] is True
        assert checks(portal, "l1")[1]["trigger"] == "schedule"


async def test_a_zone_already_correct_plans_present_and_ends_ready(
    tmp_path: Path, world: tuple[World, str]
) -> None:
    """The sandbox's ``ours…`` zones hold our records before the wizard runs."""
    found, address = world
    domain = "ours-loja.pt"
    async with portal_on(tmp_path, found, address) as portal:
        await publish_key(portal, captured_for(domain), domain)  # our team, before
        assert (await portal.validate("o1", domain)).status_code == 200
        applied = (await portal.dns("o1", domain)).json()
        assert applied["created"] == [] and applied["replaced"] == []
        answer = await portal.account("o1", domain)
        assert answer.json()["mail"]["ready"] is True, answer.text


def applied(portal: Portal, session_id: str) -> dict[str, Any]:
    """The session's dns.applied body as queued."""
    [data] = [
        orjson.loads(row["body"])["data"]
        for row in portal.outbox()
        if row["event_type"] == "dns.applied" and row["session_id"] == session_id
    ]
    result: dict[str, Any] = data
    return result


@pytest.mark.parametrize(
    ("answer", "previous"),
    [
        pytest.param(["0 nocf-clinica-pt.mail.protection.outlook.com."], "microsoft365", id="m365"),
        pytest.param(["1 smtp.google.com."], "google", id="google"),
        pytest.param([f"10 {MAIL_HOST}."], "none", id="ours already"),
        pytest.param("servfail", None, id="servfail"),
        pytest.param("drop", None, id="timeout"),
    ],
)
async def test_manual_mode_asks_the_resolvers_for_the_mx_before(
    tmp_path: Path, world: tuple[World, str], answer: list[str] | str, previous: str | None
) -> None:
    """PORTAL_DNS_RESOLVERS answers the DNS step's MX lookup of a domain without a
    Cloudflare zone; a lookup that fails leaves previous_provider out, the step done."""
    found, address = world
    domain = "nocf-clinica.pt"
    if answer == "servfail":
        found.failing.add(domain)
    elif answer == "drop":
        found.dropped.add(domain)
    else:
        found.publish(domain, "MX", *answer)
    host, port = address.split(":")
    settings = make_settings(tmp_path, dns_resolvers=((host, int(port)),), dns_timeout=0.5)
    async with running_portal(settings) as portal:
        assert (await portal.validate("p1", domain)).status_code == 200
        response = await portal.dns("p1", domain)
        assert response.status_code == 200, response.text
        assert response.json()["mode"] == "manual"
        assert (domain, "MX") in found.asked
        data = applied(portal, "p1")
        assert data.get("previous_provider") == previous
