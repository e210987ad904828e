"""Issue 23, items 2, 6, 7 and 9 (Carbonio side), against the sandbox stand-ins:

- 2: the MX (new, or replacing Microsoft 365's) is written by the account step after
  Carbonio's CreateAccount, its last provider call; a failing account step writes none;
- 6: Cloudflare's 429 answers the customer 503 with Retry-After and does not fail the
  session; a replace is one dns_records/batch call;
- 7: a retried account step gives the existing account the new password and name; a
  changed local part is refused;
- 9: postmaster@ and dmarc@ aliases; the class of service's password maximum.
"""

from __future__ import annotations

import email.utils
from pathlib import Path
from typing import Any

import httpx

from tests.portal.conftest import PASSWORD, Portal, make_settings, running_portal
from vm112_portal.providers.carbonio import CarbonioClient, cookieless_client
from vm112_portal.providers.cloudflare_dns import CallBudget, retry_after_of
from vm112_portal.providers.sandbox import Sandbox

MAIL = "mail.sandbox.example.net"


def sandbox_of(portal: Portal) -> Sandbox:
    sandbox: Sandbox = portal.app.state.portal.sandbox
    return sandbox


async def apply(portal: Portal, session: str, domain: str, replace: list[str]) -> Any:
    return await portal.post(
        "dns/cloudflare/apply", {"session_id": session, "domain": domain, "replace": replace}
    )


def our_mx_writes(calls: list[str]) -> list[int]:
    return [i for i, c in enumerate(calls) if c.startswith("cloudflare wrote MX") and MAIL in c]


async def test_replace_m365_mx_comes_after_create_account(portal: Portal) -> None:
    sandbox = sandbox_of(portal)
    assert (await portal.validate("r1", "m365move.pt")).status_code == 200
    planned = await portal.post(
        "dns/cloudflare/plan", {"session_id": "r1", "domain": "m365move.pt"}
    )
    (mx,) = [s for s in planned.json()["plan"] if s["purpose"] == "mx"]
    assert mx["when"] == "after_account"
    assert mx["replace_effect"]["stops_receiving"] == (
        "every other address at m365move.pt until it is created here"
    )
    applied = await apply(portal, "r1", "m365move.pt", ["mx", "spf", "dmarc", "autodiscover"])
    assert applied.status_code == 200
    assert our_mx_writes(sandbox.calls) == []  # nothing of ours yet: Microsoft still gets it
    assert (await portal.account("r1", "m365move.pt")).status_code == 200
    calls = sandbox.calls
    created = calls.index("carbonio CreateAccountRequest")
    (mx_write,) = our_mx_writes(calls)
    assert created < mx_write
    # The MX is the account step's last provider call: one batch (delete Microsoft's,
    # post ours) and nothing after it.
    assert calls[mx_write - 1].endswith("/dns_records/batch")
    assert all(not c.startswith("carbonio") for c in calls[mx_write:])
    mx_records = [r for r in sandbox.records["m365move.pt"] if r["type"] == "MX"]
    assert [(r["content"], r["priority"]) for r in mx_records] == [(MAIL, 10)]


async def test_a_failing_account_step_never_writes_our_mx(portal: Portal) -> None:
    sandbox = sandbox_of(portal)
    # A fail… domain (Carbonio's account step fails) whose mail is at Microsoft 365.
    microsoft = "fail-m365-pt.mail.protection.outlook.com"
    sandbox.records["fail-m365.pt"] = [
        sandbox.cloudflare._record(
            "fail-m365.pt",
            {"type": "MX", "name": "fail-m365.pt", "content": microsoft, "priority": 0},
        )
    ]
    assert (await portal.validate("f1", "fail-m365.pt")).status_code == 200
    assert (await apply(portal, "f1", "fail-m365.pt", ["mx"])).status_code == 200
    for _ in range(2):  # a retry fails the same way
        failed = await portal.account("f1", "fail-m365.pt")
        assert failed.status_code == 502
    assert our_mx_writes(sandbox.calls) == []
    records = sandbox.records["fail-m365.pt"]
    assert [r["content"] for r in records if r["type"] == "MX"] == [microsoft]


async def test_cloudflare_429_is_a_503_with_retry_after_and_the_session_goes_on(
    portal: Portal,
) -> None:
    sandbox = sandbox_of(portal)
    assert (await portal.validate("b1", "busyshop.pt")).status_code == 200
    sandbox.cloudflare.rate_limit_for(240)  # beyond the SDK's 60 s retry-after cap
    busy = await portal.dns("b1", "busyshop.pt")
    assert busy.status_code == 503
    assert busy.json()["code"] == "provider_busy"
    assert 230 <= int(busy.headers["retry-after"]) <= 240
    sent = len(sandbox.calls)
    again = await portal.dns("b1", "busyshop.pt")  # within the block: Cloudflare not asked
    assert again.status_code == 503 and len(sandbox.calls) == sent
    assert [row["event_type"] for row in portal.outbox()].count("onboarding.failed") == 0
    # The block over, the same session finishes.
    sandbox.cloudflare.blocked_until = 0.0
    dns: Any = portal.app.state.portal.wizard._dns
    dns._blocked_until = 0.0
    assert (await portal.dns("b1", "busyshop.pt")).status_code == 200
    assert (await portal.account("b1", "busyshop.pt")).status_code == 200


async def test_a_retried_account_step_sets_the_new_password_and_name(portal: Portal) -> None:
    sandbox = sandbox_of(portal)
    await portal.validate("a1", "retry.pt")
    await portal.dns("a1", "retry.pt")
    # The first attempt's account is created, then Cloudflare fails the MX write.
    sandbox.cloudflare.fail_writes = {"retry.pt": 1}
    first = await portal.account("a1", "retry.pt")
    assert first.status_code == 502
    assert sandbox.carbonio.password_is("admin@retry.pt", PASSWORD)
    second = await portal.account(
        "a1", "retry.pt", password="An0ther-pass-phrase", display_name="Ana M. Lopes"
    )
    assert second.status_code == 200, second.text
    assert sandbox.carbonio.password_is("admin@retry.pt", "An0ther-pass-phrase")
    account = sandbox.accounts["admin@retry.pt"]
    assert {"n": "displayName", "_content": "Ana M. Lopes"} in account["a"]
    assert "carbonio SetPasswordRequest" in sandbox.calls
    assert "carbonio ModifyAccountRequest" in sandbox.calls


async def test_a_changed_local_part_on_retry_is_refused(portal: Portal) -> None:
    sandbox = sandbox_of(portal)
    await portal.validate("a2", "retry2.pt")
    await portal.dns("a2", "retry2.pt")
    sandbox.cloudflare.fail_writes = {"retry2.pt": 1}
    assert (await portal.account("a2", "retry2.pt")).status_code == 502
    changed = await portal.account("a2", "retry2.pt", admin_local_part="boss")
    assert changed.status_code == 409
    assert changed.json()["code"] == "address_fixed"
    assert "admin@retry2.pt" in changed.json()["error"]
    assert sorted(sandbox.accounts) == ["admin@retry2.pt"]  # no second account


async def test_postmaster_and_dmarc_exist_and_the_cos_password_maximum(portal: Portal) -> None:
    sandbox = sandbox_of(portal)
    await portal.validate("c1", "aliases.pt")
    await portal.dns("c1", "aliases.pt")
    too_long = await portal.account("c1", "aliases.pt", password="x" * 65)
    assert too_long.status_code == 422
    assert too_long.json()["code"] == "password_rule"
    assert "6 to 64 characters" in too_long.json()["error"]
    assert "carbonio CreateDomainRequest" not in sandbox.calls  # refused before any write
    done = await portal.account("c1", "aliases.pt", password="y" * 64)
    assert done.status_code == 200
    assert sandbox.accounts["admin@aliases.pt"]["aliases"] == [
        "postmaster@aliases.pt",
        "dmarc@aliases.pt",
    ]


async def test_the_portals_own_budget_answers_503_before_cloudflare_would(
    tmp_path: Path,
) -> None:
    """PORTAL_CLOUDFLARE_CALLS_PER_5MIN: a DNS step needs 7 calls on a fresh zone; with a
    budget of 5 the sixth is not sent, the customer gets 503 and the session goes on. The
    budget is one of the rate limits: on here (PORTAL_RATE_LIMITS=off lifts it)."""
    settings = make_settings(tmp_path, cloudflare_calls_per_5min=5, rate_limits=True)
    async with running_portal(settings) as portal:
        sandbox = sandbox_of(portal)
        assert (await portal.validate("g1", "budget.pt")).status_code == 200
        busy = await portal.dns("g1", "budget.pt")
        assert busy.status_code == 503 and busy.json()["code"] == "provider_busy"
        assert 1 <= int(busy.headers["retry-after"]) <= 300
        assert (
            len([c for c in sandbox.calls if c.startswith("cloudflare GET")])
            + len([c for c in sandbox.calls if c.startswith("cloudflare POST")])
            == 5
        )
        assert [r["event_type"] for r in portal.outbox()].count("onboarding.failed") == 0


def test_retry_after_is_read_from_each_header_cloudflare_sends() -> None:
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 42, usegmt=True)
    assert retry_after_of(httpx.Headers({"retry-after": "17"}), now) == 17
    assert retry_after_of(httpx.Headers({"retry-after": "2.2"}), now) == 3
    assert retry_after_of(httpx.Headers({"retry-after": date}), now) == 42
    assert retry_after_of(httpx.Headers({"ratelimit": '"default";r=0;t=30'}), now) == 30
    assert retry_after_of(httpx.Headers({}), now) == 300  # the documented 5-minute block


def test_call_budget_is_a_sliding_five_minutes() -> None:
    budget = CallBudget(calls=3)
    assert [budget.take(t) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 0.0]
    assert budget.take(3.0) == 297.0  # until the first call leaves the window
    assert budget.take(300.0) == 0.0


async def test_the_client_gives_this_sessions_existing_account_the_new_password() -> None:
    """Item 7 at the client: CreateAccount twice for one session (a retry) ends with the
    second password and display name, through SetPassword and ModifyAccount."""
    sandbox = Sandbox(admin_user="admin@x.example", admin_password="pw-sandbox")
    async with cookieless_client(httpx.ASGITransport(app=sandbox.app())) as http:
        client = CarbonioClient(
            http,
            url="http://sandbox.test/carbonio/service/admin/soap",
            user="admin@x.example",
            password="pw-sandbox",
        )
        await client.create_domain("again.pt", owner="s1")
        first = await client.create_account(
            "ana@again.pt", "first-password", {"displayName": "Ana"}, owner="s1"
        )
        second = await client.create_account(
            "ana@again.pt", "second-password", {"displayName": "Ana Lopes"}, owner="s1"
        )
    assert second.id == first.id and second.existed
    assert sandbox.carbonio.password_is("ana@again.pt", "second-password")
    assert {"n": "displayName", "_content": "Ana Lopes"} in sandbox.accounts["ana@again.pt"]["a"]


async def test_rate_limits_off_lift_the_portals_own_budget(tmp_path: Path) -> None:
    """PORTAL_RATE_LIMITS=off (load tests against the sandbox): the same DNS step with a
    budget of 5 sends all its calls and succeeds."""
    settings = make_settings(tmp_path, cloudflare_calls_per_5min=5, rate_limits=False)
    async with running_portal(settings) as portal:
        sandbox = sandbox_of(portal)
        assert (await portal.validate("g2", "nobudget.pt")).status_code == 200
        assert (await portal.dns("g2", "nobudget.pt")).status_code == 200
        assert len([c for c in sandbox.calls if c.startswith("cloudflare")]) > 5
