"""schemathesis (CLI, 4.x) against each service's published GET /openapi.json, served by
uvicorn on a loopback port: examples, coverage and fuzzing phases, a bounded number of
examples per operation, checks that answers are never 5xx and match the document
(status codes, content types, documented headers, response schemas).

The bodies are real ones: Ops holds sessions at every stage, a failure, tickets with
changes and a note before the run, and is asked with the operator token (the API) and a
logged-in Desk session's cookie (the pages); the Portal's request examples are sessions
brought to the step before each example's (vm112_portal/openapi.py EXAMPLES), so each
wizard step answers 200 with its full body at least once.

SCHEMATHESIS_EXAMPLES (default 5) and SCHEMATHESIS_SEED (default 20261129) tune it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import schemathesis

from tests.support.apps import ops_in_thread, portal_in_thread, user_command
from tests.support.credentials import AUTH, PASSWORD, TOKEN
from tests.support.signer import INGEST, event_body, new_webhook_id, signed_headers
from vm112_portal.openapi import EXAMPLES
from vm122_ops.desk.browser_sessions import COOKIE_NAME
from vm122_ops.routes import openapi as ops_openapi
from vm122_ops.routes.openapi import EXAMPLES as OPS_EXAMPLES

EXAMPLES_PER_OPERATION = os.environ.get("SCHEMATHESIS_EXAMPLES", "5")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261129")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    )
)
DESK_API = "^/api/v1/desk/"
PHASES = "examples,coverage,fuzzing"
METRICS_TOKEN = "portal-metrics-token-for-tests-0123"
# Never answered 2xx in the run: the webhook only with a signature over the body, which
# schemathesis cannot make (the seed's signed deliveries are held to the document
# instead); the document itself schemathesis does not ask again (it loaded it).
# Taking a session needs a person's session, and the run's requests carry the token too
# (which wins): the seed takes one with the cookie alone.
NO_SUCCESS_EXPECTED = {
    ("post", "/api/v1/webhooks/onboard"),
    ("get", "/openapi.json"),
    ("post", "/api/v1/desk/sessions/{session_id}/take"),
}
CLI = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"


def _seed_ops(client: httpx.Client) -> None:
    """Sessions at every stage, a failure with a code (OPS_EXAMPLES' session, whose ticket
    is the second) and a change of its ticket by the API: the answers the run cannot
    reach itself (a signed delivery, a first change) are held to the document here."""
    now = time.time()
    document = schemathesis.openapi.from_dict(ops_openapi.DOCUMENT)

    def post(event_type: str, session_id: str, at: float, domain: str, **data: Any) -> None:
        body = event_body(event_type, session_id, at=at, domain=domain, **data)
        headers = signed_headers(new_webhook_id(), body)
        for status in (202, 200):  # stored, then the same webhook-id again: a duplicate
            response = client.post(INGEST, content=body, headers=headers)
            assert response.status_code == status, response.text
            document[INGEST]["POST"].validate_response(response)

    for number in range(6):
        post("onboarding.started", f"s{number}", now - 3000 + number, f"d{number}.example.com")
    for step, event_type in enumerate(("domain.validated", "dns.applied", "account.created")):
        post(event_type, "s0", now - 2000 + step, "d0.example.com", contact="a@d0.example.com")
    post("infra.synced", "s0", now - 1000, "d0.example.com")
    post("onboarding.completed", "s0", now - 900, "d0.example.com")
    items = [{"name": "mx", "status": "ok"}, {"name": "dkim", "status": "pending"}]
    post("mail.checked", "s0", now - 890, "d0.example.com", ready=False, items=items)
    failing = OPS_EXAMPLES["session_id"]
    post("onboarding.started", failing, now - 850, "d1.example.com")
    post("domain.validated", failing, now - 800, "d1.example.com")
    post(
        "onboarding.failed",
        failing,
        now - 700,
        "d1.example.com",
        stage="dns_applied",
        reason="the zone refused the record",
        code="cloudflare.81053",
    )
    ticket = client.get(f"/api/v1/desk/tickets/{OPS_EXAMPLES['ticket_id']}").json()
    assert (ticket["session_id"], ticket["version"]) == (failing, 1)
    changed = client.patch(
        f"/api/v1/desk/tickets/{ticket['id']}",
        json={"version": 1, "status": "pending", "tags": ["checked"], "assignee": "ana"},
    )
    assert changed.status_code == 200, changed.text
    document["/api/v1/desk/tickets/{ticket_id}"]["PATCH"].validate_response(changed)
    stale = client.patch(f"/api/v1/desk/tickets/{ticket['id']}", json={"version": 1, "tags": []})
    assert stale.status_code == 409, stale.text  # answered with the ticket as it is now
    document["/api/v1/desk/tickets/{ticket_id}"]["PATCH"].validate_response(stale)


@contextmanager
def _seeded_ops(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Ops seeded, and a logged-in Desk session's cookie."""
    db_path = tmp_path / "ops.db"
    asyncio.run(user_command(db_path, "add", "ana"))
    with ops_in_thread(db_path) as url, httpx.Client(base_url=url, headers=AUTH) as client:
        _seed_ops(client)
        login = client.post(
            "/login",
            data={"name": "ana", "password": PASSWORD},
            headers={"Authorization": "", "Origin": url},
        )
        assert login.status_code == 303, login.text
        cookie = login.cookies[COOKIE_NAME]
        taken = httpx.post(
            f"{url}/api/v1/desk/sessions/s2/take",
            headers={"Cookie": f"{COOKIE_NAME}={cookie}", "Sec-Fetch-Site": "same-origin"},
        )
        assert taken.status_code == 200, taken.text
        document = schemathesis.openapi.from_dict(ops_openapi.DOCUMENT)
        document["/api/v1/desk/sessions/{session_id}/take"]["POST"].validate_response(taken)
        yield url, cookie


# The stream is endless (tested in tests/desk and the fuzz test, status only); a logout
# would end the session the pages are asked with (tests/desk/test_login.py).
NOT_RUN = ("/api/v1/stream", "/logout")


@contextmanager
def _ops(tmp_path: Path) -> Iterator[tuple[str, list[str], str]]:
    """Every operation, the API with the token (which wins), the pages with the cookie."""
    with _seeded_ops(tmp_path) as (url, cookie):
        yield (
            url,
            [
                "-H",
                f"Authorization: Bearer {TOKEN}",
                "-H",
                f"Cookie: {COOKIE_NAME}={cookie}",
                *(argument for path in NOT_RUN for argument in ("--exclude-path", path)),
            ],
            "",
        )


@contextmanager
def _desk(tmp_path: Path) -> Iterator[tuple[str, list[str], str]]:
    """The Desk's API as its pages ask it: the session cookie alone, from the same origin
    (so ``me`` is a person, ``assignee=me`` works and a session can be taken)."""
    with _seeded_ops(tmp_path) as (url, cookie):
        yield (
            url,
            [
                "-H",
                f"Cookie: {COOKIE_NAME}={cookie}",
                "-H",
                "Sec-Fetch-Site: same-origin",
                "--include-path-regex",
                DESK_API,
                # The token run's coverage phase already walked these operations' bounds.
                "--phases",
                "examples,fuzzing",
            ],
            DESK_API,
        )


@contextmanager
def _portal(tmp_path: Path) -> Iterator[tuple[str, list[str], str]]:
    api = "/api/v1/onboarding"
    with (
        portal_in_thread(tmp_path / "portal.db", PORTAL_METRICS_TOKEN=METRICS_TOKEN) as url,
        httpx.Client(base_url=url) as client,
    ):
        # One wizard secret for every example session (an API client may choose its own
        # when it names a new session): schemathesis sends it with every request.
        secret = {"X-Wizard-Secret": "S" * 43}

        def step(path: str, body: dict[str, Any]) -> None:
            response = client.post(f"{api}/{path}", json=body, headers=secret, timeout=10)
            assert response.status_code == 200, response.text

        pair = ("session_id", "domain")
        for name in ("plan", "apply", "account"):
            step("validate-domain", {key: EXAMPLES[name][key] for key in pair})
        step("dns/cloudflare/apply", {key: EXAMPLES["account"][key] for key in pair})
        # A completed session for "check again".
        onboarded = {key: EXAMPLES["mail"][key] for key in pair}
        step("validate-domain", onboarded)
        step("dns/cloudflare/apply", onboarded)
        step("account/create", {**EXAMPLES["account"], **onboarded})
        yield (
            url,
            ["-H", f"Authorization: Bearer {METRICS_TOKEN}", "-H", f"X-Wizard-Secret: {'S' * 43}"],
            "",
        )


def unanswered(document: dict[str, Any], har: dict[str, Any]) -> list[str]:
    """The operations with a documented 2xx that no request of the run got a 2xx from:
    their answers' schemas were never checked against a real body."""
    answered = set()
    for entry in har["log"]["entries"]:
        if 200 <= entry["response"]["status"] < 300:
            path = urlsplit(entry["request"]["url"]).path
            answered.add((entry["request"]["method"].lower(), path))
    missing = []
    for path, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{[a-z_]+\\}", "[^/]+", re.escape(path)) + "$")
        for method, operation in item.items():
            if (method, path) in NO_SUCCESS_EXPECTED or not any(
                code.startswith("2") for code in operation["responses"]
            ):
                continue
            if not any(m == method and pattern.match(p) for m, p in answered):
                missing.append(f"{method.upper()} {path}")
    return missing


@pytest.mark.parametrize(
    "server",
    [
        pytest.param(_ops, id="ops"),
        pytest.param(_desk, id="ops-desk-cookie"),
        pytest.param(_portal, id="portal"),
    ],
)
def test_schemathesis_finds_nothing(
    tmp_path: Path,
    server: Callable[[Path], AbstractContextManager[tuple[str, list[str], str]]],
) -> None:
    with server(tmp_path) as (url, extra, only):
        result = subprocess.run(
            [
                CLI,
                "run",
                f"{url}/openapi.json",
                "--checks",
                CHECKS,
                "-n",
                EXAMPLES_PER_OPERATION,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--request-timeout",
                "10",
                "--report",
                "har",
                "--report-har-path",
                str(tmp_path / "run.har"),
                *(extra if "--phases" in extra else [*extra, "--phases", PHASES]),
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
        document = httpx.get(f"{url}/openapi.json").json()
    har = json.loads((tmp_path / "run.har").read_text(encoding="utf-8"))
    document["paths"] = {
        path: item
        for path, item in document["paths"].items()
        if path not in NOT_RUN and re.match(only, path)
    }
    assert unanswered(document, har) == []
    cases = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert cases is not None, result.stdout[-3000:]
    print(f"schemathesis {url}: {cases.group(0)}")
    assert cases.group(1) == cases.group(2) and int(cases.group(1)) >= 50
    assert len(document["paths"]) > 5
