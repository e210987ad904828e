"""Issue 17, finding 1: nobody gets an admin mailbox on another customer's domain.

The attack: a second session for a domain someone else onboarded completed — Carbonio's
DOMAIN_EXISTS counted as success, the attacker's account got
zimbraIsDelegatedAdminAccount=TRUE and their password, and the first customer's
infrastructure row was overwritten. Domains we do not host (gmail.com) got a Carbonio
domain and an account too. In live mode nothing was asked to prove control of a domain.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.portal.conftest import Portal, make_settings, running_portal
from tests.support import peek
from vm112_portal.__main__ import main
from vm112_portal.providers.sandbox import Sandbox


def infra_rows(portal: Portal) -> list[dict[str, object]]:
    return peek.records(portal.settings.db_path, "select * from infra order by domain")


def provider_calls(portal: Portal) -> float:
    registry = portal.app.state.portal.metrics.registry
    return sum(
        registry.get_sample_value("portal_provider_call_seconds_count", {"provider": p}) or 0.0
        for p in ("cloudflare", "carbonio")
    )


async def test_a_domain_onboarded_by_another_session_is_refused(portal: Portal) -> None:
    assert [r.status_code for r in await portal.wizard("victim", "acme.pt")] == [200] * 3
    calls = provider_calls(portal)
    validate = await portal.validate("attacker", "acme.pt")
    assert validate.status_code == 409
    error = validate.json()["error"]
    assert "acme.pt is already onboarded" in error and "support" in error
    # Straight to the later steps: refused too, and no provider is called.
    assert (await portal.dns("attacker", "acme.pt")).status_code == 409
    assert (await portal.account("attacker", "acme.pt", admin_local_part="evil")).status_code == (
        409
    )
    assert provider_calls(portal) == calls
    sandbox: Sandbox = portal.app.state.portal.sandbox
    assert "evil@acme.pt" not in sandbox.accounts
    (row,) = infra_rows(portal)
    assert row["session_id"] == "victim" and row["account"] == "admin@acme.pt"


async def test_a_domain_held_in_progress_by_another_session_is_refused(portal: Portal) -> None:
    assert (await portal.validate("first", "acme.pt")).status_code == 200
    second = await portal.validate("second", "acme.pt")
    assert second.status_code == 409
    assert "another onboarding of acme.pt is in progress" in second.json()["error"]
    # The first session goes on undisturbed.
    assert [r.status_code for r in await portal.wizard("first", "acme.pt")] == [200] * 3


async def test_a_hold_lapses_after_the_documented_inactivity(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, domain_hold_seconds=0.2)
    async with running_portal(settings) as portal:
        assert (await portal.validate("first", "acme.pt")).status_code == 200
        assert (await portal.validate("second", "acme.pt")).status_code == 409
        await asyncio.sleep(0.3)
        assert (await portal.validate("second", "acme.pt")).status_code == 200
        # The abandoned session cannot come back and take it over.
        assert (await portal.dns("first", "acme.pt")).status_code == 409


async def test_domain_exists_on_the_mail_server_for_another_owner_is_not_success(
    portal: Portal,
) -> None:
    """A domain already on Carbonio that this onboarding did not create (another
    customer's, or created by hand) is never taken as this session's."""
    sandbox: Sandbox = portal.app.state.portal.sandbox
    sandbox.domains["acme.pt"] = {"name": "acme.pt", "id": "someone-else", "a": []}
    await portal.validate("s1", "acme.pt")
    await portal.dns("s1", "acme.pt")
    account = await portal.account("s1", "acme.pt")
    assert account.status_code == 409
    assert "already exists on the mail server" in account.json()["error"]
    assert "admin@acme.pt" not in sandbox.accounts
    assert infra_rows(portal) == []


async def test_a_retry_after_a_failed_account_step_keeps_its_own_domain(portal: Portal) -> None:
    """The session that created the Carbonio domain may finish after a failure."""
    sandbox: Sandbox = portal.app.state.portal.sandbox
    await portal.validate("s1", "acme.pt")
    await portal.dns("s1", "acme.pt")
    short = await portal.account("s1", "acme.pt", password="short")
    assert short.status_code in (400, 422)
    retry = await portal.account("s1", "acme.pt")
    assert retry.status_code == 200, retry.text
    assert retry.json()["domain_created"] is True
    assert "acme.pt" in sandbox.domains


async def test_the_admin_is_an_ordinary_account_not_a_delegated_admin(portal: Portal) -> None:
    await portal.wizard("s1", "acme.pt")
    sandbox: Sandbox = portal.app.state.portal.sandbox
    attrs = {a["n"]: a["_content"] for a in sandbox.accounts["admin@acme.pt"]["a"]}
    assert "zimbraIsDelegatedAdminAccount" not in attrs
    assert "zimbraIsAdminAccount" not in attrs


async def test_delegated_admin_only_when_the_setting_says_so(tmp_path: Path) -> None:
    async with running_portal(make_settings(tmp_path, delegated_admin=True)) as portal:
        await portal.wizard("s1", "acme.pt")
        sandbox: Sandbox = portal.app.state.portal.sandbox
        attrs = {a["n"]: a["_content"] for a in sandbox.accounts["admin@acme.pt"]["a"]}
    assert attrs["zimbraIsDelegatedAdminAccount"] == "TRUE"


@pytest.mark.parametrize(
    ("domain", "why"),
    [
        pytest.param("gmail.com", "mailbox provider", id="gmail"),
        pytest.param("mail.outlook.com", "mailbox provider", id="outlook-subdomain"),
        pytest.param("sapo.pt", "mailbox provider", id="sapo"),
        pytest.param("blogspot.com", "public suffix", id="psl-private-section"),
        pytest.param("github.io", "public suffix", id="github-io"),
        pytest.param("co.uk", "public suffix", id="icann-suffix"),
    ],
)
async def test_provider_and_public_suffix_domains_are_refused(
    portal: Portal, domain: str, why: str
) -> None:
    response = await portal.validate("s1", domain)
    assert response.status_code in (400, 422), response.text
    assert why in response.json()["error"]
    assert (await portal.dns("s1", domain)).status_code == 409
    assert provider_calls(portal) == 0


# -- live mode: proof of control ---------------------------------------------------------


@dataclass
class FakeTxt:
    """The configured resolvers, as the wizard sees them: TXT records by name."""

    records: dict[str, list[str]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    async def txt(self, name: str) -> list[str]:
        self.asked.append(name)
        return self.records.get(name, [])


async def test_live_mode_asks_for_proof_before_any_provider_write(tmp_path: Path) -> None:
    resolver = FakeTxt()
    settings = make_settings(tmp_path, domain_proof=True)
    async with running_portal(settings, proof_resolver=resolver) as portal:
        first = await portal.validate("s1", "acme.pt")
        assert first.status_code == 200
        proof = first.json()["proof"]
        assert proof["verified"] is False
        record = proof["record"]
        assert record["type"] == "TXT" and record["name"] == "_vm112-verify.acme.pt"
        assert record["content"].startswith("vm112-verify=") and len(record["content"]) > 30
        refused = await portal.dns("s1", "acme.pt")
        assert refused.status_code == 403
        assert f'_vm112-verify.acme.pt "{record["content"]}"' in refused.json()["error"]
        assert (await portal.account("s1", "acme.pt")).status_code == 409  # DNS step first
        assert provider_calls(portal) == 0
        # Another session gets another token: one cannot reuse a published record.
        other = (await portal.validate("s2", "acme.pt")).json()["proof"]["record"]["content"]
        assert other != record["content"]
        # Published: the next validate checks it through the resolvers.
        resolver.records["_vm112-verify.acme.pt"] = ["v=spf1 -all", record["content"]]
        second = await portal.validate("s1", "acme.pt")
        assert second.json()["proof"] == {"verified": True, "by": "txt"}
        # Issuing a token asks DNS nothing (issue 23): only the check after publishing.
        assert resolver.asked == ["_vm112-verify.acme.pt"]
        assert [r.status_code for r in await portal.wizard("s1", "acme.pt")] == [200] * 3
        # The proven session now holds the domain.
        assert (await portal.validate("s2", "acme.pt")).status_code == 409


async def test_an_operator_grant_proves_a_zone_in_our_account(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, domain_proof=True)
    async with running_portal(settings, proof_resolver=FakeTxt()) as portal:
        await portal.validate("s1", "acme.pt")
        assert (await portal.dns("s1", "acme.pt")).status_code == 403
        env = {"PORTAL_DB": str(settings.db_path)}
        grant = ["domain", "grant", "s1"]
        assert await asyncio.to_thread(main, [*grant, "other.pt"], env) == 2  # not its domain
        assert await asyncio.to_thread(main, [*grant, "acme.pt"], env) == 0
        assert (await portal.validate("s1", "acme.pt")).json()["proof"] == {
            "verified": True,
            "by": "grant",
        }
        assert [r.status_code for r in await portal.wizard("s1", "acme.pt")] == [200] * 3
