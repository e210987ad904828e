"""Bad input on every wizard endpoint (vm112_portal/routes.py): 4xx with a reason, never 5xx."""

from __future__ import annotations

from typing import Any

import pytest

from tests.portal.conftest import PASSWORD, Portal

ENDPOINTS = ["validate-domain", "dns/cloudflare/apply", "account/create"]
GOOD = {
    "session_id": "s-1",
    "domain": "example.pt",
    "admin_local_part": "admin",
    "display_name": "Ana",
    "password": PASSWORD,
}


def without(name: str) -> dict[str, Any]:
    return {k: v for k, v in GOOD.items() if k != name}


def envelope(document: dict[str, Any], status: int) -> str:
    assert document["ok"] is False and document["status"] == status
    assert isinstance(document["error"], str) and document["error"]
    return str(document["error"])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("content", "content_type", "status", "reason"),
    [
        pytest.param(b"{", "application/json", 400, "not valid JSON", id="broken-json"),
        pytest.param(b"\xff\xfe", "application/json", 400, "not valid JSON", id="not-utf8"),
        pytest.param(b"[1, 2]", "application/json", 400, "JSON object", id="array"),
        pytest.param(b"null", "application/json", 400, "JSON object", id="null"),
        pytest.param(
            b"a=b", "application/x-www-form-urlencoded", 415, "application/json", id="form"
        ),
        pytest.param(b"{}", "", 415, "application/json", id="no-content-type"),
        pytest.param(b"x" * 20000, "application/json", 413, "over 16384", id="too-large"),
        pytest.param(b"{}", "application/json", 400, "domain", id="empty-object"),
    ],
)
async def test_malformed_bodies(
    portal: Portal, endpoint: str, content: bytes, content_type: str, status: int, reason: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await portal.client.post(
        f"/api/v1/onboarding/{endpoint}", content=content, headers=headers
    )
    assert response.status_code == status
    assert reason in envelope(response.json(), status)
    assert portal.outbox() == []


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param({**GOOD, "session_id": ""}, "session_id", id="empty-session"),
        pytest.param({**GOOD, "session_id": "a b"}, "session_id", id="space-session"),
        pytest.param({**GOOD, "session_id": "x" * 129}, "session_id", id="long-session"),
        pytest.param({**GOOD, "session_id": 7}, "session_id", id="number-session"),
        pytest.param(without("domain"), "domain is required", id="no-domain"),
        pytest.param({**GOOD, "domain": ["a.pt"]}, "domain is required", id="list-domain"),
        pytest.param({**GOOD, "domain": "   "}, "domain is required", id="blank-domain"),
        pytest.param({**GOOD, "domain": "a" * 301}, "too long", id="huge-domain"),
    ],
)
async def test_bad_fields_everywhere(
    portal: Portal, endpoint: str, body: dict[str, Any], reason: str
) -> None:
    response = await portal.post(endpoint, body)
    assert response.status_code == 400
    assert reason in envelope(response.json(), 400)
    assert portal.outbox() == []


@pytest.mark.parametrize(
    ("domain", "reason"),
    [
        pytest.param("co.uk", "public suffix", id="public-suffix"),
        pytest.param("com", "at least two labels", id="tld"),
        pytest.param("example.notatld", "known top-level domain", id="unknown-tld"),
        pytest.param("ex ample.pt", "spaces", id="space"),
        pytest.param("admin@example.pt", "'@'", id="email"),
        pytest.param("https://example.pt", "must not contain", id="url"),
        pytest.param("-bad.pt", "hyphen", id="hyphen"),
        pytest.param("a..pt", "empty label (two dots in a row)", id="empty-label"),
        pytest.param(("x" * 64) + ".pt", "Label too long", id="long-label"),
        pytest.param("bad\x00.pt", "control", id="nul"),
    ],
)
async def test_invalid_domain_is_400_but_starts_the_session(
    portal: Portal, domain: str, reason: str
) -> None:
    response = await portal.validate("s-bad", domain)
    assert response.status_code == 400
    assert reason in envelope(response.json(), 400)
    (row,) = portal.outbox()
    assert (row["event_type"], row["webhook_id"]) == (
        "onboarding.started",
        "onboarding-started-s-bad",
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(without("admin_local_part"), "admin_local_part is required", id="no-local"),
        pytest.param({"admin_local_part": "a b"}, "admin_local_part must be", id="space-local"),
        pytest.param({"admin_local_part": ".admin"}, "admin_local_part must be", id="dot-local"),
        pytest.param({"admin_local_part": "a..b"}, "admin_local_part must be", id="dots-local"),
        pytest.param({"admin_local_part": "x" * 65}, "too long", id="long-local"),
        pytest.param(without("display_name"), "display_name is required", id="no-name"),
        pytest.param({"display_name": "a\nb"}, "control characters", id="newline-name"),
        pytest.param({"display_name": "x" * 129}, "too long", id="long-name"),
        pytest.param(without("password"), "password is required", id="no-password"),
        pytest.param({"password": "short"}, "8 to 256", id="short-password"),
        pytest.param({"password": 12345678}, "8 to 256", id="number-password"),
        pytest.param({"password": "x" * 257}, "8 to 256", id="long-password"),
    ],
)
async def test_bad_account_fields(portal: Portal, change: dict[str, Any], reason: str) -> None:
    body = change if "session_id" in change else {**GOOD, **change}
    response = await portal.post("account/create", body)
    assert response.status_code == 400
    message = envelope(response.json(), 400)
    assert reason in message
    assert "short" not in message.replace("short-", "")  # the password value is never echoed


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        pytest.param("/api/v1/onboarding/validate-domain", "GET", 405, id="get-on-post"),
        pytest.param("/api/v1/onboarding/nothing", "POST", 404, id="unknown"),
        pytest.param("/healthz", "POST", 405, id="post-health"),
    ],
)
async def test_unknown_routes_use_the_envelope(
    portal: Portal, path: str, method: str, status: int
) -> None:
    response = await portal.client.request(method, path)
    assert response.status_code == status
    envelope(response.json(), status)


async def test_healthz_reports_the_outbox(portal: Portal) -> None:
    document = await portal.health()
    assert document == {
        "ok": True,
        "database": "ok",
        "providers": "sandbox",
        "outbox": {
            "pending": 0,
            "dead": 0,
            "delivered": 0,
            "oldest_pending_age_s": None,
            "last_error": None,
        },
    }


async def test_page_is_served_with_a_strict_csp(portal: Portal) -> None:
    page = await portal.client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert '<script type="module" src="/static/js/main.js">' in page.text
    assert "<script>" not in page.text and " on" + "click=" not in page.text
    for asset in (
        "/static/js/main.js",
        "/static/js/api.js",
        "/static/js/i18n.js",
        "/static/style.css",
    ):
        response = await portal.client.get(asset)
        assert response.status_code == 200, asset
        assert "innerHTML" not in response.text
        assert response.headers["content-security-policy"] == csp
