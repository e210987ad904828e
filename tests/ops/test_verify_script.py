"""The seed's verification script against a real `python -m vm122_ops` on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.loopback import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
TOKEN = "verify-script-token-0123456789"


@pytest.fixture
def ops_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "OPS_DB": str(tmp_path / "ops.db"),
        "OPS_PORT": str(port),
        "OPS_WEBHOOK_SECRET": SECRET,
        "OPS_API_TOKEN": TOKEN,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "vm122_ops"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("Ops did not start within 20 s")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_verify_script_passes_against_a_real_ops(ops_url: str) -> None:
    env = {**os.environ, "OPS_WEBHOOK_SECRET": SECRET, "OPS_API_TOKEN": TOKEN}
    result = subprocess.run(
        [str(ROOT / "scripts" / "verify-funnel-webhook.sh"), ops_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
    assert result.stdout.count("ok   ") == 27
    assert "FAIL" not in result.stdout


def test_verify_script_fails_on_a_wrong_token(ops_url: str) -> None:
    env = {**os.environ, "OPS_WEBHOOK_SECRET": SECRET, "OPS_API_TOKEN": "wrong-token-0123456789"}
    result = subprocess.run(
        [str(ROOT / "scripts" / "verify-funnel-webhook.sh"), ops_url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
