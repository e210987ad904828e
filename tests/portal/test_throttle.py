"""Issue 17, finding 3: no amplification through the wizard.

The attack: one client finished 300 onboardings in 15.7 s (1,800 Cloudflare calls, 600
Carbonio calls); a 125-label domain made one apply do 125 zone lookups; apply could be
repeated on a session; sessions and infrastructure rows were never pruned.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import pytest

from servicekit.addresses import address_key
from tests.portal.conftest import Portal, make_settings, running_portal
from tests.support import peek
from vm112_portal import retention
from vm112_portal.errors import TooManyRequests
from vm112_portal.throttle import Limit, Rate, Throttle, limits_of


def provider_calls(portal: Portal, provider: str | None = None) -> float:
    registry = portal.app.state.portal.metrics.registry
    names = (provider,) if provider else ("cloudflare", "carbonio")
    return sum(
        registry.get_sample_value("portal_provider_call_seconds_count", {"provider": p}) or 0.0
        for p in names
    )


async def test_the_300_onboarding_flood_from_one_address_is_cut_off(tmp_path: Path) -> None:
    """The documented defaults: a burst of 6 provider steps per address (2 per
    onboarding), so one address finishes 3 onboardings and then gets 429 on its next
    provider step, with no provider call after it; its later wizard writes run out of
    the 30 per minute too."""
    settings = make_settings(tmp_path, rate_limits=True)
    async with running_portal(settings) as portal:
        # The limiter's clock stands still: the figures do not depend on the machine's speed
        # (a real flood of 15.7 s would get back 7 tokens, two more onboardings).
        state = portal.app.state.portal
        portal.app.state.portal = replace(
            state, throttle=Throttle(limits_of(settings), clock=Clock())
        )
        started = time.monotonic()
        completed = 0
        first_refusal: tuple[int, float] | None = None
        statuses: list[int] = []
        errors: list[str] = []
        for n in range(300):
            for response in await _onboard(portal, f"flood-{n}", f"flood{n}.pt"):
                statuses.append(response.status_code)
                if response.status_code == 429:
                    errors.append(response.json()["error"])
                    if first_refusal is None:
                        first_refusal = (n, provider_calls(portal))
                        retry_after = response.headers["retry-after"]
            if statuses[-3:] == [200, 200, 200]:
                completed += 1
        elapsed = time.monotonic() - started
        assert first_refusal is not None
        calls_at_refusal = first_refusal[1]
        assert completed == 3
        assert first_refusal[0] == 3  # the 4th onboarding's DNS step
        assert provider_calls(portal) == calls_at_refusal  # none beyond the limit
        # per onboarding: the zone, three names read, three records (issue 11's plan);
        # the account step's held MX: the zone, the domain's name read, the MX (issue 23)
        assert provider_calls(portal, "cloudflare") == 3 * (7 + 3)
        assert "this address (provider)" in errors[0] and retry_after == "180"
        assert "this address (write)" in errors[-1]
        # The 30 writes of the minute: 3 onboardings' 9, then 11 validations whose DNS
        # step (a write too) was refused for the provider budget, 10 of them with a token.
        assert statuses.count(200) == 9 + 11
        assert elapsed < 30
        print(
            f"flood: {completed} onboardings, first 429 at onboarding {first_refusal[0] + 1}, "
            f"{provider_calls(portal):g} provider calls in all, {elapsed:.1f} s"
        )


async def _onboard(portal: Portal, session_id: str, domain: str) -> list:  # type: ignore[type-arg]
    responses = [await portal.validate(session_id, domain)]
    if responses[-1].status_code == 200:
        responses.append(await portal.dns(session_id, domain))
    if responses[-1].status_code == 200:
        responses.append(await portal.account(session_id, domain))
    return responses


async def test_apply_repeated_on_a_session_calls_cloudflare_once(portal: Portal) -> None:
    await portal.validate("s1", "acme.pt")
    first = await portal.dns("s1", "acme.pt")
    calls = provider_calls(portal, "cloudflare")
    for _ in range(5):
        again = await portal.dns("s1", "acme.pt")
        assert again.json() == first.json()
    # zone, 3 reads, 3 records (the MX is written by the account step, issue 23)
    assert provider_calls(portal, "cloudflare") == calls == 7


async def test_zone_lookups_are_bounded_by_the_registrable_domain(portal: Portal) -> None:
    """A 125-label name: the name itself and its registrable domain, nothing between."""
    domain = "a." * 123 + "acme.pt"
    assert len(domain.split(".")) == 125
    assert (await portal.validate("deep", domain)).status_code == 200
    response = await portal.dns("deep", domain)
    assert response.status_code == 200 and response.json()["zone"] == "acme.pt"
    # two zone lookups, three names read, three records (the MX comes with the account)
    assert provider_calls(portal, "cloudflare") == 2 + 3 + 3


async def test_sessions_and_infrastructure_rows_are_pruned(portal: Portal) -> None:
    await portal.wizard("old", "old.pt")
    await portal.validate("abandoned", "abandoned.pt")
    await portal.wizard("new", "new.pt")
    path = portal.settings.db_path
    with sqlite3.connect(path) as conn:
        long_ago = time.time() - 91 * 86400
        for table in ("sessions", "infra"):
            conn.execute(
                f"update {table} set updated_at = ? where session_id in ('old', 'abandoned')",  # noqa: S608
                (long_ago,),
            )
    removed = await retention.purge_wizard_state(portal.app.state.portal.db, 90, time.time())
    assert removed.sessions == 2 and removed.infra == 1
    with peek.reading(path) as conn:
        sessions = [r[0] for r in conn.execute("select session_id from sessions")]
        infra = [r[0] for r in conn.execute("select domain from infra")]
    assert sessions == ["new"] and infra == ["new.pt"]


# -- the limiter itself -------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


LIMITS = {"write": Limit(Rate(3, 60), Rate(5, 60)), "provider": Limit(Rate(2, 3600), Rate(10, 60))}


def refused(throttle: Throttle, host: str, *kinds: str) -> int | None:
    try:
        throttle.check(host, *kinds)
    except TooManyRequests as exc:
        return exc.retry_after
    return None


def test_per_address_then_refill() -> None:
    clock = Clock()
    throttle = Throttle(LIMITS, clock=clock)
    assert [refused(throttle, "192.0.2.1", "write") for _ in range(4)] == [None] * 3 + [20]
    clock.now += 20
    assert refused(throttle, "192.0.2.1", "write") is None
    assert refused(throttle, "192.0.2.1", "write") == 20


def test_a_refused_request_does_not_spend_the_global_budget() -> None:
    throttle = Throttle(LIMITS, clock=Clock())
    for _ in range(10):
        refused(throttle, "192.0.2.1", "write")  # 3 through, 7 refused
    assert [refused(throttle, "192.0.2.2", "write") for _ in range(3)] == [None, None, 12]


def test_both_budgets_or_neither() -> None:
    throttle = Throttle(LIMITS, clock=Clock())
    assert refused(throttle, "192.0.2.1", "write", "provider") is None
    assert refused(throttle, "192.0.2.1", "write", "provider") is None
    assert refused(throttle, "192.0.2.1", "write", "provider") == 1800  # provider: 2 per hour
    assert refused(throttle, "192.0.2.1", "write") is None  # the refusal took no write token


@pytest.mark.parametrize(
    ("host", "key"),
    [
        pytest.param("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64", id="ipv6-per-64"),
        pytest.param("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64", id="same-64"),
        pytest.param("::ffff:192.0.2.7", "192.0.2.7", id="ipv4-mapped"),
        pytest.param("192.0.2.7", "192.0.2.7", id="ipv4"),
        pytest.param(None, "unknown", id="no-client"),
    ],
)
def test_client_key(host: str | None, key: str) -> None:
    assert address_key(host) == key


def test_a_full_table_throttles_new_clients_instead_of_forgetting() -> None:
    clock = Clock()
    limits = {"write": Limit(Rate(3, 60), Rate(10**6, 60))}
    throttle = Throttle(limits, clock=clock, max_clients=100)
    for n in range(100):
        throttle.check(f"2001:db8:{n:x}::1", "write")  # each one owes a token
    assert refused(throttle, "192.0.2.200", "write") == 60
    assert throttle.clients() == 100
    clock.now += 20  # every bucket full again: idle clients are forgotten for new ones
    assert refused(throttle, "192.0.2.200", "write") is None
    assert throttle.clients() == 1
