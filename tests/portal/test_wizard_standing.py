"""Issue 25: the customer always knows where they stand and what to do next.

Step 1's refusals each have their own code; "Start again" releases the session's hold on
its domain at once; a failed step says whether retrying can help, with the support
contact and a short support reference (never the session id); the wizard's state is bound
to a secret the browser holds (a cookie, or the X-Wizard-Secret header of an API client),
so someone else's session id or reference is worth nothing; an optional contact e-mail at
step 1 reaches Ops in onboarding.started.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import httpx
import orjson
import pytest

from tests.portal.conftest import PASSWORD, Portal, make_settings, running_portal
from tests.portal.test_ownership import provider_calls
from tests.support import peek
from vm112_portal.providers.sandbox import Sandbox
from vm112_portal.support import parse_support_contact

CONTACT = "suporte@mail.example.net, +351 210 000 000"
REFERENCE = re.compile(r"^[A-Z2-9]{8}\Z")


async def test_step_one_refusals_each_have_their_own_code(portal: Portal) -> None:
    assert (await portal.validate("first", "acme.pt")).status_code == 200
    held = await portal.validate("second", "acme.pt")
    assert (held.status_code, held.json()["code"]) == (409, "domain_in_progress")
    assert [r.status_code for r in (await portal.wizard("first", "acme.pt"))[1:]] == [200, 200]
    taken = await portal.validate("third", "acme.pt")
    assert (taken.status_code, taken.json()["code"]) == (409, "domain_taken")
    again = await portal.validate("first", "acme.pt")
    assert (again.status_code, again.json()["code"]) == (409, "domain_onboarded")
    for mailbox in ("gmail.com", "sapo.pt", "mail.sapo.pt"):
        public = await portal.validate("fourth", mailbox)
        assert (public.status_code, public.json()["code"]) == (422, "mailbox_provider"), mailbox
    invalid = await portal.validate("fourth", "not a domain")
    assert (invalid.status_code, invalid.json()["code"]) == (400, "domain_invalid")
    # Validation errors carry no support reference: nothing happened worth quoting.
    for answer in (held, taken, public, invalid):
        assert "reference" not in answer.json()


async def test_start_again_releases_the_domain_at_once(portal: Portal) -> None:
    assert (await portal.validate("first", "fail-shop.pt")).status_code == 200
    assert (await portal.dns("first", "fail-shop.pt")).status_code == 200
    assert (await portal.account("first", "fail-shop.pt")).status_code == 502
    assert (await portal.validate("second", "fail-shop.pt")).json()["code"] == (
        "domain_in_progress"
    )
    released = await portal.post("restart", {"session_id": "first"})
    assert released.status_code == 200 and released.json()["released"] is True
    assert (await portal.validate("second", "fail-shop.pt")).status_code == 200
    # The released session is over: it cannot come back to the domain.
    assert (await portal.dns("first", "fail-shop.pt")).status_code in (403, 409)


async def test_a_failed_account_step_says_retry_will_not_help_and_who_to_call(
    tmp_path: Path,
) -> None:
    async with running_portal(
        make_settings(tmp_path, support_contact=parse_support_contact(CONTACT))
    ) as portal:
        support = (await portal.client.get("/api/v1/onboarding/support")).json()
        assert support["contact"] == {
            "email": "suporte@mail.example.net",
            "phone": "+351 210 000 000",
        }
        ok = await portal.validate("s-fail", "fail-shop.pt")
        reference = ok.json()["reference"]
        assert REFERENCE.match(reference) and "s-fail" not in reference
        assert (await portal.dns("s-fail", "fail-shop.pt")).status_code == 200
        failed = await portal.account("s-fail", "fail-shop.pt")
        body = failed.json()
        assert (failed.status_code, body["code"], body["retry"]) == (502, "account_refused", False)
        assert body["reference"] == reference
        # The reference is the same on every answer of the session, and in the events.
        (started,) = [r for r in portal.outbox() if r["event_type"] == "onboarding.started"]
        assert f'"reference":"{reference}"' in started["body"]
        typo = await portal.account("s-fail", "fail-shop.pt", admin_local_part="-bad")
        assert typo.status_code == 400 and "reference" not in typo.json()


async def test_the_account_step_needs_the_sessions_secret(portal: Portal) -> None:
    ok = await portal.validate("victim", "acme.pt")
    assert "victim" not in ok.text  # the session id never goes back to the page
    assert (await portal.dns("victim", "acme.pt")).status_code == 200
    reference = ok.json()["reference"]
    rows = len(portal.outbox())
    calls = provider_calls(portal)
    sandbox: Sandbox = portal.app.state.portal.sandbox
    accounts, domains = dict(sandbox.accounts), dict(sandbox.domains)
    attacker = httpx.AsyncClient(transport=portal.client._transport, base_url="http://portal.test")
    async with attacker:
        for session in ("victim", reference):
            body = {
                "session_id": session,
                "domain": "acme.pt",
                "admin_local_part": "postmaster",
                "display_name": "Not the owner",
                "password": PASSWORD,
            }
            answer = await attacker.post("/api/v1/onboarding/account/create", json=body)
            assert answer.status_code == 403, session
            forged = await attacker.post(
                "/api/v1/onboarding/account/create",
                json=body,
                headers={"X-Wizard-Secret": "x" * 43, "Cookie": "vm112_wizard=" + "y" * 43},
            )
            assert forged.status_code == 403, session
    assert len(portal.outbox()) == rows
    assert provider_calls(portal) == calls
    assert (dict(sandbox.accounts), dict(sandbox.domains)) == (accounts, domains)
    # The owner goes on.
    assert (await portal.account("victim", "acme.pt")).status_code == 200


async def test_a_contact_at_step_one_is_carried_in_onboarding_started(portal: Portal) -> None:
    answer = await portal.post(
        "validate-domain", {"session_id": "s-c", "domain": "acme.pt", "contact": "ana@gmail.com"}
    )
    assert answer.status_code == 200
    (started,) = [r for r in portal.outbox() if r["event_type"] == "onboarding.started"]
    assert '"contact":"ana@gmail.com"' in started["body"]
    same = await portal.post(
        "validate-domain", {"session_id": "s-d", "domain": "beta.pt", "contact": "ana@beta.pt"}
    )
    assert (same.status_code, same.json()["code"]) == (400, "contact_at_domain")
    bad = await portal.post(
        "validate-domain", {"session_id": "s-e", "domain": "gama.pt", "contact": "ana@"}
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "contact_invalid")
    assert peek.value(portal.settings.db_path, "select count(*) from sessions") == 1


async def test_a_browser_that_finished_onboards_the_next_domain_in_a_new_session(
    portal: Portal,
) -> None:
    """The page names no session: after a finished onboarding, the next domain starts a
    new session (new secret, new reference); the same domain says it is onboarded."""
    api = "/api/v1/onboarding"
    client = portal.client
    first = await client.post(f"{api}/validate-domain", json={"domain": "loja.pt"})
    assert first.status_code == 200
    assert (await client.post(f"{api}/dns/cloudflare/apply", json={"domain": "loja.pt"})).is_success
    account = {"domain": "loja.pt", "admin_local_part": "ana", "display_name": "Ana"}
    done = await client.post(f"{api}/account/create", json={**account, "password": PASSWORD})
    assert done.status_code == 200
    same = await client.post(f"{api}/validate-domain", json={"domain": "loja.pt"})
    assert (same.status_code, same.json()["code"]) == (409, "domain_onboarded")
    secret = client.cookies["vm112_wizard"]
    second = await client.post(f"{api}/validate-domain", json={"domain": "outra.pt"})
    assert second.status_code == 200
    assert second.json()["reference"] != first.json()["reference"]
    assert client.cookies["vm112_wizard"] != secret
    assert peek.value(portal.settings.db_path, "select count(*) from sessions") == 2


async def test_the_secret_is_never_stored_emitted_or_logged(
    portal: Portal, caplog: pytest.LogCaptureFixture
) -> None:
    """Ops gets the session id and the reference; the secret stays with the browser
    (only its SHA-256 is stored)."""
    caplog.set_level(logging.DEBUG)
    answers = await portal.wizard("s-secret", "fail-loja.pt")
    assert [a.status_code for a in answers] == [200, 200, 502]
    secret = portal.secrets["s-secret"]
    rows = portal.outbox()
    started = orjson.loads(rows[0]["body"])["data"]
    assert started["session_id"] == "s-secret"
    assert started["reference"] == answers[0].json()["reference"]
    assert not [r for r in rows if secret in r["body"]]
    assert secret not in caplog.text
    stored = peek.value(
        portal.settings.db_path, "select secret_hash from sessions where session_id = 's-secret'"
    )
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.encode() not in portal.settings.db_path.read_bytes()
