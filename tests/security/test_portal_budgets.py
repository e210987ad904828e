"""Issue 26, finding 3, against ``python -m vm112_portal`` with its default rate limits:
invalid requests spend no provider token, so a valid customer's DNS step from another
address still answers 2xx after 20 of them.

Before the fix the 20 refused requests (415) took the whole global provider budget (20)
and the customer's DNS step answered 429."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.ops_process import client_from
from tests.support.apps import portal_process
from tests.support.runner import HOST, free_port
from vm112_portal.errors import TooManyRequests
from vm112_portal.settings import Settings
from vm112_portal.throttle import Throttle, limits_of

API = "/api/v1/onboarding"


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = portal_process(
        tmp_path / "portal.db", port, free_port(), tmp_path / "portal.log", PORTAL_RATE_LIMITS="on"
    )
    process.start()
    url = f"http://{HOST}:{port}"
    try:
        process.wait_ready_sync(url)
        yield url
    finally:
        process.stop()


async def test_invalid_requests_leave_the_provider_budget_to_customers(portal: str) -> None:
    async with client_from("127.0.0.1", portal, timeout=30) as attacker:
        refused = Counter(
            [
                (
                    await attacker.post(
                        f"{API}/account/create",
                        content=b"x",
                        headers={"content-type": "text/plain"},
                    )
                ).status_code
                for _ in range(20)
            ]
        )
    assert refused == Counter({415: 20})
    async with client_from("127.0.0.2", portal, timeout=30) as customer:
        body = {"session_id": "customer-1", "domain": "loja.pt"}
        validated = await customer.post(f"{API}/validate-domain", json=body)
        assert validated.status_code == 200, validated.text
        applied = await customer.post(f"{API}/dns/cloudflare/apply", json=body)
    assert applied.status_code == 200, applied.text
    assert applied.json()["ok"] is True


async def test_requests_of_no_live_session_take_no_provider_token(portal: str) -> None:
    """Well-formed requests for sessions that never validated a domain are refused (403:
    nobody holds their wizard secret) and spend nothing either."""
    async with httpx.AsyncClient(base_url=portal, timeout=30) as client:
        statuses = Counter(
            [
                (
                    await client.post(
                        f"{API}/dns/cloudflare/apply",
                        json={"session_id": f"nobody-{n}", "domain": "loja.pt"},
                    )
                ).status_code
                for n in range(25)
            ]
        )
    assert statuses == Counter({403: 25})
    async with client_from("127.0.0.2", portal, timeout=30) as customer:
        body = {"session_id": "customer-2", "domain": "outra.pt"}
        assert (await customer.post(f"{API}/validate-domain", json=body)).status_code == 200
        applied = await customer.post(f"{API}/dns/cloudflare/apply", json=body)
    assert applied.status_code == 200, applied.text


class StoppedClock:
    def __call__(self) -> float:
        return 1000.0


def test_one_slash_56_cannot_hold_the_global_provider_budget() -> None:
    """The default budgets: 64 addresses of one /58 (one /56) take 12 provider tokens of
    the global 20 in a burst, and an address elsewhere still gets its own."""
    limits = limits_of(Settings())
    assert limits["provider"].per_address.capacity == 6 < limits["provider"].overall.capacity
    throttle = Throttle(limits, clock=StoppedClock())
    taken = 0
    for n in range(64):
        for _ in range(3):
            try:
                throttle.check(f"2001:db8:0:{n:x}::1", "provider")
                taken += 1
            except TooManyRequests as refused:
                assert "this address" in refused.message or "this network" in refused.message
    assert taken == 12
    for _ in range(6):
        throttle.check("2001:db8:1:1::1", "provider")  # another /56: its whole burst
    throttle.check("192.0.2.7", "provider")
    throttle.check("192.0.2.8", "provider")  # 12 + 6 + 2: the global burst of 20 is spent
    with pytest.raises(TooManyRequests, match="the portal as a whole"):
        throttle.check("192.0.2.9", "provider")
