"""CloudflareDns (vm112_portal/cloudflare_dns.py): the official SDK against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cloudflare import AsyncCloudflare

from tests.portal.conftest import cloudflare_refuses_writes
from vm112_portal.cloudflare_dns import CloudflareDns, mail_records
from vm112_portal.domains import normalise
from vm112_portal.errors import CloudflareFailed
from vm112_portal.sandbox import Sandbox

BASE = "http://sandbox.test/cloudflare/client/v4"
MAIL_HOST = "mail.provider.example"


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(admin_user="admin@x.example", admin_password="x")


@pytest.fixture
async def dns(sandbox: Sandbox) -> AsyncIterator[CloudflareDns]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox.app()))
    async with AsyncCloudflare(
        api_token="t", base_url=BASE, http_client=http, max_retries=0
    ) as client:
        yield CloudflareDns(client)


def records(domain: str) -> list[Any]:
    return mail_records(domain, MAIL_HOST, "vm112", "QUJD")


async def test_fresh_zone_gets_all_five_records(dns: CloudflareDns, sandbox: Sandbox) -> None:
    outcome = await dns.apply(normalise("example.pt"), records("example.pt"))
    assert outcome.zone_name == "example.pt" and outcome.zone_id
    assert [(r["type"], r["name"]) for r in outcome.applied] == [
        ("MX", "example.pt"),
        ("TXT", "example.pt"),
        ("TXT", "_dmarc.example.pt"),
        ("TXT", "vm112._domainkey.example.pt"),
        ("CNAME", "autodiscover.example.pt"),
    ]
    assert outcome.applied[0]["priority"] == 10
    assert outcome.skipped == []
    stored = sandbox.records["example.pt"]
    assert {(r["type"], r["content"]) for r in stored} >= {
        ("MX", MAIL_HOST),
        ("TXT", f"v=spf1 mx a:{MAIL_HOST} ~all"),
        ("TXT", "v=DKIM1; k=rsa; p=QUJD"),
    }


async def test_second_apply_skips_everything_with_81058(dns: CloudflareDns) -> None:
    await dns.apply(normalise("example.pt"), records("example.pt"))
    outcome = await dns.apply(normalise("example.pt"), records("example.pt"))
    assert outcome.applied == []
    assert [r["code"] for r in outcome.skipped] == [81058] * 5
    assert {r["reason"] for r in outcome.skipped} == {"already exists"}


async def test_existing_cname_counts_as_present_with_81057(dns: CloudflareDns) -> None:
    other = mail_records("example.pt", "elsewhere.example", "vm112", "QUJD")[-1:]
    first = await dns.apply(normalise("example.pt"), other)
    assert len(first.applied) == 1
    outcome = await dns.apply(normalise("example.pt"), records("example.pt"))
    assert len(outcome.applied) == 4
    assert [(r["purpose"], r["code"]) for r in outcome.skipped] == [("autodiscover", 81057)]


async def test_nocf_domain_has_no_zone(dns: CloudflareDns, sandbox: Sandbox) -> None:
    outcome = await dns.apply(normalise("nocf-shop.pt"), records("nocf-shop.pt"))
    assert (outcome.zone_id, outcome.applied, outcome.skipped) == (None, [], [])
    assert sandbox.records == {}


async def test_subdomain_uses_the_parent_zone(dns: CloudflareDns) -> None:
    outcome = await dns.apply(normalise("eu.example.pt"), records("eu.example.pt"))
    assert outcome.zone_name == "example.pt"
    assert outcome.applied[2]["name"] == "_dmarc.eu.example.pt"


def failing_client(handler: Any) -> CloudflareDns:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return CloudflareDns(
        AsyncCloudflare(api_token="t", base_url=BASE, http_client=http, max_retries=0)
    )


async def test_other_api_errors_fail_with_code() -> None:
    refused = failing_client(cloudflare_refuses_writes)
    with pytest.raises(CloudflareFailed) as caught:
        await refused.apply(normalise("example.pt"), records("example.pt"))
    assert caught.value.code == 10000
    assert "creating the mx record (10000: Authentication error)" in caught.value.reason


async def test_unreachable_cloudflare_fails() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(CloudflareFailed) as caught:
        await failing_client(handler).apply(normalise("example.pt"), records("example.pt"))
    assert (
        caught.value.reason
        == "Cloudflare could not be reached while looking up the zone example.pt"
    )
