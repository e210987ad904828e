"""The seed's verification script against a real `python -m vm122_ops` on loopback."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.apps import ops_process
from tests.support.credentials import SECRET, TOKEN
from tests.support.runner import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ops_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = ops_process(tmp_path / "ops.db", port, tmp_path / "ops.log")
    process.cwd = tmp_path
    url = f"http://127.0.0.1:{port}"
    try:
        process.start().wait_ready_sync(url)
        yield url
    finally:
        process.stop()


def verify(ops_url: str, token: str) -> subprocess.CompletedProcess[str]:
    """scripts/verify-funnel-webhook.sh OPS_URL with the secret and ``token``."""
    return subprocess.run(
        [str(ROOT / "scripts" / "verify-funnel-webhook.sh"), ops_url],
        env={**os.environ, "OPS_WEBHOOK_SECRET": SECRET, "OPS_API_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_verify_script_passes_against_a_real_ops(ops_url: str) -> None:
    result = verify(ops_url, TOKEN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all checks passed" in result.stdout
    assert result.stdout.count("ok   ") == 27
    assert "FAIL" not in result.stdout


def test_verify_script_fails_on_a_wrong_token(ops_url: str) -> None:
    result = verify(ops_url, "wrong-token-0123456789")
    assert result.returncode != 0
