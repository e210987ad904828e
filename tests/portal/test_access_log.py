"""servicekit/logs/access.py in the Portal: one JSON-ready log line per request, and the wizard
request's id stored with its outbox rows and sent to Ops as X-Request-ID."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.portal.conftest import make_settings, running_portal
from tests.support.poll import wait_until
from vm112_portal.outbox.dispatcher import Dispatcher


async def test_the_wizard_request_id_reaches_ops_with_every_event(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[tuple[str, str | None]] = []

    async def ops(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["webhook-id"], request.headers.get("x-request-id")))
        return httpx.Response(202, json={"ok": True})

    caplog.set_level(logging.INFO, logger="vm112_portal.access")
    settings = make_settings(tmp_path)
    async with running_portal(settings, transport=httpx.MockTransport(ops)) as portal:
        response = await portal.client.post(
            "/api/v1/onboarding/validate-domain",
            json={"session_id": "rid-1", "domain": "example.pt"},
            headers={"X-Request-ID": "wizard-req.42"},
        )
        assert response.status_code == 200
        assert response.headers["x-request-id"] == "wizard-req.42"
        made_up = await portal.client.get("/healthz", headers={"X-Request-ID": "bad id!"})
        assert len(made_up.headers["x-request-id"]) == 32  # invalid: one is made up
        await wait_until(portal.drained)
        rows = portal.outbox()
    assert [row["request_id"] for row in rows] == ["wizard-req.42", "wizard-req.42"]
    assert seen == [
        ("onboarding-started-rid-1", "wizard-req.42"),
        (rows[1]["webhook_id"], "wizard-req.42"),
    ]
    lines = [r for r in caplog.records if r.name == "vm112_portal.access"]
    fields = [getattr(r, "fields", {}) for r in lines]
    assert {
        "method": "POST",
        "path": "/api/v1/onboarding/validate-domain",
        "status": 200,
        "request_id": "wizard-req.42",
    }.items() <= fields[0].items()


def test_an_event_without_a_request_falls_back_to_its_webhook_id() -> None:
    assert Dispatcher.request_id({"request_id": None, "webhook_id": "evt_abc"}) == "evt_abc"
    long_id = "onboarding-started-" + "s" * 100  # Ops would refuse it as a request id
    assert Dispatcher.request_id({"request_id": None, "webhook_id": long_id}) is None
    assert Dispatcher.request_id({"request_id": "r1", "webhook_id": "evt_abc"}) == "r1"
