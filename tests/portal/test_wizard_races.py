"""Concurrent requests of one wizard session: a double click, an API client's retry that
overtakes its first try, "Start again" pressed while the account step runs.

The events a step emits reach Ops exactly once (each outbox row has its own webhook-id, so
Ops could not drop a second one), the providers are asked once (the shared Cloudflare
budget is spent once), and every request answers what the session's stored state says.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest

from tests.portal.conftest import PASSWORD, Portal
from tests.support import peek
from vm112_portal.providers.sandbox import Sandbox
from vm112_portal.support import SECRET_COOKIE
from vm112_portal.wizard import Wizard

API = "/api/v1/onboarding"
ACCOUNT = {"admin_local_part": "admin", "display_name": "Ana Lopes", "password": PASSWORD}


def sandbox_of(portal: Portal) -> Sandbox:
    sandbox: Sandbox = portal.app.state.portal.sandbox
    return sandbox


def wizard_of(portal: Portal) -> Wizard:
    wizard: Wizard = portal.app.state.portal.wizard
    return wizard


def events(portal: Portal, session_id: str) -> Counter[str]:
    return Counter(r["event_type"] for r in portal.outbox() if r["session_id"] == session_id)


def provider_writes(sandbox: Sandbox) -> Counter[str]:
    """The provider calls that change something: Cloudflare writes, Carbonio creations."""
    return Counter(
        call
        for call in sandbox.calls
        if call.startswith("cloudflare wrote")
        or call.startswith("carbonio Create")
        or call.startswith("carbonio AddAccountAlias")
    )


class FirstMailCheck:
    """The mail check the account step runs as it completes, without DNS: records which
    session the route asked about."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def check(self, session_id: str, trigger: str) -> Any:
        self.asked.append(session_id)
        return self

    def document(self) -> dict[str, Any]:
        return {"status": "pending"}


def session_row(portal: Portal, session_id: str) -> dict[str, Any]:
    (row,) = peek.records(
        portal.settings.db_path,
        "select step, released_at, domain from sessions where session_id = ?",
        (session_id,),
    )
    return row


def owners(portal: Portal, domain: str) -> list[tuple[Any, ...]]:
    return peek.rows(
        portal.settings.db_path, "select session_id from domain_owners where domain = ?", (domain,)
    )


@pytest.mark.parametrize("n", [2, 5])
async def test_concurrent_steps_of_one_session_emit_each_event_once(portal: Portal, n: int) -> None:
    domain = f"duplo{n}.pt"
    assert (await portal.validate("dbl", domain)).status_code == 200
    body = {"session_id": "dbl", "domain": domain}
    applied = await asyncio.gather(*[portal.post("dns/cloudflare/apply", body) for _ in range(n)])
    assert [r.status_code for r in applied] == [200] * n
    # Every request answers the one stored result: a retry's answer.
    assert all(r.json() == applied[0].json() for r in applied)
    created = await asyncio.gather(
        *[portal.post("account/create", {**body, **ACCOUNT}) for _ in range(n)]
    )
    codes = sorted((r.status_code, r.json().get("code")) for r in created)
    # One request creates the account; the others answer as a sequential retry does.
    assert codes == [(200, None)] + [(409, "session_done")] * (n - 1)
    assert events(portal, "dbl") == {
        "onboarding.started": 1,
        "domain.validated": 1,
        "dns.applied": 1,
        "account.created": 1,
        "infra.synced": 1,
        "onboarding.completed": 1,
    }
    writes = provider_writes(sandbox_of(portal))
    assert writes["carbonio CreateDomainRequest"] == 1
    assert writes["carbonio CreateAccountRequest"] == 1
    assert writes["carbonio AddAccountAliasRequest"] == 2  # postmaster@ and dmarc@
    # SPF, DMARC and autodiscover by the DNS step, the held MX by the account step: once each.
    cloudflare = [call for call in writes if call.startswith("cloudflare wrote")]
    assert len(cloudflare) == 4
    assert all(writes[call] == 1 for call in cloudflare)
    assert len(wizard_of(portal)._steps) == 0  # no lock outlives its requests


async def test_the_page_pressing_each_button_twice_emits_each_event_once(portal: Portal) -> None:
    """The page's flow: no session id, the wizard secret in the cookie only."""
    started = await portal.client.post(f"{API}/validate-domain", json={"domain": "clique.pt"})
    assert started.status_code == 200
    cookie = {"cookie": f"{SECRET_COOKIE}={started.cookies[SECRET_COOKIE]}"}
    portal.client.cookies.clear()

    async def post(path: str, body: dict[str, Any]) -> httpx.Response:
        return await portal.client.post(f"{API}/{path}", json=body, headers=cookie)

    apply = {"domain": "clique.pt"}
    applied = await asyncio.gather(
        post("dns/cloudflare/apply", apply), post("dns/cloudflare/apply", apply)
    )
    assert [r.status_code for r in applied] == [200, 200]
    account = {"domain": "clique.pt", **ACCOUNT}
    created = await asyncio.gather(post("account/create", account), post("account/create", account))
    assert sorted(r.status_code for r in created) == [200, 409]
    (session_id,) = peek.rows(
        portal.settings.db_path, "select session_id from sessions where domain = 'clique.pt'"
    )[0]
    counted = events(portal, session_id)
    assert [counted[t] for t in ("dns.applied", "account.created", "onboarding.completed")] == [
        1,
        1,
        1,
    ]


async def test_start_again_during_the_account_step_never_splits_the_session(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "Start again" arrives while the account step waits on Carbonio: the account step
    finishes and answers 200, and the restart, which comes after it, releases nothing."""
    assert (await portal.validate("rsa", "recomeco.pt")).status_code == 200
    assert (await portal.dns("rsa", "recomeco.pt")).status_code == 200
    carbonio: Any = wizard_of(portal)._carbonio
    reached, go = asyncio.Event(), asyncio.Event()
    create = carbonio.create_account

    async def paused(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        await go.wait()
        return await create(*args, **kwargs)

    monkeypatch.setattr(carbonio, "create_account", paused)
    mail = FirstMailCheck()
    monkeypatch.setattr(portal.app.state, "portal", replace(portal.app.state.portal, mail=mail))
    account = asyncio.create_task(portal.account("rsa", "recomeco.pt"))
    await reached.wait()
    restart = asyncio.create_task(portal.post("restart", {"session_id": "rsa"}))
    # Give the restart its chance to run to the end while Carbonio is busy; with the
    # session's steps serialised it waits for the account step instead.
    await asyncio.wait({restart}, timeout=1.0)
    go.set()
    created, restarted = await asyncio.gather(account, restart)
    assert created.status_code == 200, created.text
    assert created.json()["account"] == "admin@recomeco.pt"
    assert created.json()["mail"] == {"status": "pending"} and mail.asked == ["rsa"]
    assert (restarted.status_code, restarted.json()["code"]) == (409, "session_done")
    assert "nothing was released" in restarted.json()["error"]
    assert session_row(portal, "rsa") == {
        "step": "completed",
        "released_at": None,
        "domain": "recomeco.pt",
    }
    assert owners(portal, "recomeco.pt") == [("rsa",)]
    assert events(portal, "rsa")["onboarding.completed"] == 1
    # The domain is this customer's: another session is told it is onboarded.
    other = await portal.validate("other", "recomeco.pt")
    assert (other.status_code, other.json()["code"]) == (409, "domain_taken")


async def test_start_again_first_refuses_the_account_step_before_any_provider_call(
    portal: Portal,
) -> None:
    assert (await portal.validate("rsb", "recomeco2.pt")).status_code == 200
    assert (await portal.dns("rsb", "recomeco2.pt")).status_code == 200
    released = await portal.post("restart", {"session_id": "rsb"})
    assert released.json() == {"ok": True, "released": True}
    before = len(sandbox_of(portal).calls)
    refused = await portal.account("rsb", "recomeco2.pt")
    assert (refused.status_code, refused.json()["code"]) == (409, "session_released")
    assert len(sandbox_of(portal).calls) == before
    assert events(portal, "rsb")["account.created"] == 0


async def test_start_again_after_the_account_step_says_nothing_was_released(
    portal: Portal,
) -> None:
    assert [r.status_code for r in await portal.wizard("rsc", "feito.pt")] == [200] * 3
    answer = await portal.post("restart", {"session_id": "rsc"})
    assert (answer.status_code, answer.json()["code"]) == (409, "session_done")
    assert answer.json()["error"] == (
        "feito.pt is onboarded by this session: its mailbox exists and nothing was "
        "released; start a new session for another domain"
    )
    # The browser forgets the finished session's secret all the same.
    assert SECRET_COOKIE in answer.headers["set-cookie"]
    assert session_row(portal, "rsc")["released_at"] is None


async def test_a_double_first_submit_keeps_the_cookie_of_the_session_that_holds_the_domain(
    portal: Portal,
) -> None:
    """The page's first step submitted twice before either answer came back: two new
    sessions, one holds the domain and the other is refused 409 ``domain_in_progress``.
    The refused answer sets no wizard cookie, so a browser keeps the holder's cookie
    whichever answer it reads last, and the next step goes on in the holder's session."""
    portal.client.cookies.clear()
    first = {"domain": "duas-vezes.pt"}
    both = await asyncio.gather(
        portal.client.post(f"{API}/validate-domain", json=first),
        portal.client.post(f"{API}/validate-domain", json=first),
    )
    portal.client.cookies.clear()
    held, refused = sorted(both, key=lambda r: r.status_code)
    assert held.status_code == 200, held.text
    assert (refused.status_code, refused.json()["code"]) == (409, "domain_in_progress")
    assert "set-cookie" not in refused.headers
    # The refused attempt still counts in the funnel: a refused start of its own session.
    started = [
        orjson.loads(r["body"])["data"]
        for r in portal.outbox()
        if r["event_type"] == "onboarding.started"
    ]
    assert sorted(data.get("refusal", {}).get("code", "") for data in started) == [
        "",
        "domain_in_progress",
    ]
    # A browser that reads the refused answer last keeps what the answers set, in order.
    jar = httpx.Cookies()
    for answer in (held, refused):
        jar.extract_cookies(answer)
    assert jar.get(SECRET_COOKIE) == held.cookies[SECRET_COOKIE]
    cookie = {"cookie": f"{SECRET_COOKIE}={jar.get(SECRET_COOKIE)}"}
    applied = await portal.client.post(f"{API}/dns/cloudflare/apply", json=first, headers=cookie)
    assert applied.status_code == 200, applied.text
    assert applied.json()["reference"] == held.json()["reference"]
