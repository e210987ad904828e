"""Issue 26, finding 4: ownership that lasts and does not leak to subdomains, with the
proof of control off (the sandbox default, or PORTAL_DOMAIN_PROOF=off).

Before the fix, after acme.pt was onboarded another session validated mail.acme.pt
(200) and got MX, SPF, DMARC and autodiscover written into acme.pt's zone and an admin
account evil@mail.acme.pt; and once retention pruned the infrastructure row (its
updated_at is never refreshed) acme.pt itself could be taken again."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.portal.conftest import Portal, make_settings, running_portal
from tests.support import peek
from vm112_portal import retention
from vm112_portal.providers.sandbox import Sandbox


@pytest.fixture
async def portal(tmp_path: Path) -> AsyncIterator[Portal]:
    async with running_portal(make_settings(tmp_path)) as running:
        assert running.settings.domain_proof is False
        yield running


def cloudflare_writes(sandbox: Sandbox) -> int:
    return sum(len(records) for records in sandbox.records.values())


@pytest.mark.parametrize("name", ["mail.acme.pt", "a.b.acme.pt", "MAIL.Acme.PT"])
async def test_a_name_under_an_onboarded_domain_is_refused_to_others(
    portal: Portal, name: str
) -> None:
    assert [r.status_code for r in await portal.wizard("victim", "acme.pt")] == [200] * 3
    sandbox: Sandbox = portal.app.state.portal.sandbox
    records = cloudflare_writes(sandbox)
    validate = await portal.validate("attacker", name)
    assert validate.status_code == 409, validate.text
    assert "acme.pt is already onboarded" in validate.json()["error"]
    assert (await portal.dns("attacker", name)).status_code == 409
    assert (await portal.account("attacker", name, admin_local_part="evil")).status_code == 409
    assert cloudflare_writes(sandbox) == records
    assert not [a for a in sandbox.accounts if a.startswith("evil@")]
    # Sessions are not customers: a new session of the owner is refused the same way
    # (support moves a name); a name under an unrelated domain is not affected.
    assert (await portal.validate("victim-2", "mail.acme.pt")).status_code == 409
    assert (await portal.validate("other", "mail.acme-loja.pt")).status_code == 200


async def test_an_onboarded_domain_keeps_its_owner_after_retention(portal: Portal) -> None:
    assert [r.status_code for r in await portal.wizard("victim", "acme.pt")] == [200] * 3
    path = portal.settings.db_path
    with sqlite3.connect(path) as conn:
        long_ago = time.time() - 400 * 86400
        for table in ("sessions", "infra"):
            conn.execute(f"update {table} set updated_at = ?", (long_ago,))  # noqa: S608
    removed = await retention.purge_wizard_state(portal.app.state.portal.db, 90, time.time())
    assert removed.sessions == 1 and removed.infra == 1
    assert peek.rows(path, "select domain, session_id from domain_owners") == [
        ("acme.pt", "victim")
    ]
    for session, name in (("attacker", "acme.pt"), ("attacker-2", "www.acme.pt")):
        refused = await portal.validate(session, name)
        assert refused.status_code == 409, refused.text
        assert "acme.pt is already onboarded" in refused.json()["error"]
