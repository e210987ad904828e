"""``python -m vm112_portal check-providers`` (vm112_portal/providers/provider_check.py) against the
sandbox served by a real uvicorn: success, bad credentials, unreachable host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.portal.conftest import FakeOps, make_settings
from tests.support.credentials import SECRET
from tests.support.runner import Loopback
from vm112_portal.__main__ import main
from vm112_portal.app import create_app

PASSWORD = "check-pw-0123456789"  # the sandbox Carbonio's admin password here


@pytest.fixture
def sandbox_url(tmp_path: Path) -> Iterator[str]:
    """The Portal in sandbox mode on a loopback port: its /sandbox providers answer."""
    settings = make_settings(tmp_path, carbonio_admin_password=PASSWORD)
    app = create_app(settings, ops_transport=httpx.MockTransport(FakeOps()))
    with Loopback().threaded(app) as base:
        yield f"{base}/sandbox"


def live_env(sandbox: str, **overrides: str) -> dict[str, str]:
    return {
        "OPS_WEBHOOK_SECRET": SECRET,
        "PORTAL_PROVIDERS": "live",
        "CLOUDFLARE_BASE_URL": f"{sandbox}/cloudflare/client/v4",
        "CLOUDFLARE_API_TOKEN": "sandbox-token",
        "CARBONIO_ADMIN_URL": f"{sandbox}/carbonio/service/admin/soap",
        "CARBONIO_ADMIN_USER": "admin@sandbox.invalid",
        "CARBONIO_ADMIN_PASSWORD": PASSWORD,
        "PORTAL_MAIL_HOST": "mail.example.net",
        "PORTAL_PROVIDER_TIMEOUT": "2",
        **overrides,
    }


def test_success_prints_what_each_provider_said(
    sandbox_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-providers"], live_env(sandbox_url)) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        "Cloudflare: token active; 0 zone(s) visible",
        "Carbonio: admin login of admin@sandbox.invalid works; 25.6.0_ZEXTRAS_sandbox",
    ]
    assert err == "" and PASSWORD not in out


@pytest.mark.parametrize(
    ("overrides", "sentence"),
    [
        pytest.param(
            {"CARBONIO_ADMIN_PASSWORD": "wrong-password"},
            "refused the admin login of admin@sandbox.invalid (account.AUTH_FAILED): check "
            "CARBONIO_ADMIN_USER and CARBONIO_ADMIN_PASSWORD.",
            id="carbonio-credentials",
        ),
        pytest.param(
            {"CLOUDFLARE_API_TOKEN": "not-the-token"},
            "refused the API token (HTTP 401): check CLOUDFLARE_API_TOKEN",
            id="cloudflare-token",
        ),
        pytest.param(
            {"CARBONIO_ADMIN_URL": "http://127.0.0.1:9/service/admin/soap"},
            "Carbonio at http://127.0.0.1:9/service/admin/soap: the Carbonio admin API could "
            "not be reached (ConnectError); check CARBONIO_ADMIN_URL and the network.",
            id="carbonio-unreachable",
        ),
        pytest.param(
            {"CLOUDFLARE_BASE_URL": "http://127.0.0.1:9/client/v4"},
            "Cloudflare at http://127.0.0.1:9/client/v4 could not be reached",
            id="cloudflare-unreachable",
        ),
    ],
)
def test_failures_are_one_sentence_and_exit_2(
    sandbox_url: str, capsys: pytest.CaptureFixture[str], overrides: dict[str, str], sentence: str
) -> None:
    assert main(["check-providers"], live_env(sandbox_url, **overrides)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("vm112_portal: ")
    assert sentence in err
    assert "Traceback" not in err and "wrong-password" not in err and "not-the-token" not in err
