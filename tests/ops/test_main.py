"""python -m vm122_ops refuses a bad configuration with one sentence and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vm122_ops.errors import ConfigError
from vm122_ops.settings import Settings

GOOD_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="  # 32 bytes
GOOD_TOKEN = "t" * 40


def run(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OPS_")}
    base.update({"OPS_DB": str(tmp_path / "ops.db"), "OPS_PORT": "1"}, **env)
    return subprocess.run(
        [sys.executable, "-m", "vm122_ops"],
        env=base,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param(
            {"OPS_API_TOKEN": GOOD_TOKEN}, "OPS_WEBHOOK_SECRET is not set", id="no-secret"
        ),
        pytest.param(
            {"OPS_WEBHOOK_SECRET": GOOD_SECRET}, "OPS_API_TOKEN is not set", id="no-token"
        ),
        pytest.param(
            {"OPS_WEBHOOK_SECRET": "abc", "OPS_API_TOKEN": GOOD_TOKEN},
            "must start with whsec_",
            id="no-prefix",
        ),
        pytest.param(
            {"OPS_WEBHOOK_SECRET": "whsec_!!!", "OPS_API_TOKEN": GOOD_TOKEN},
            "not valid base64",
            id="bad-base64",
        ),
        pytest.param(
            {"OPS_WEBHOOK_SECRET": "whsec_c2hvcnQ=", "OPS_API_TOKEN": GOOD_TOKEN},
            "decodes to 5 bytes",
            id="too-short",
        ),
        pytest.param(
            {"OPS_WEBHOOK_SECRET": GOOD_SECRET, "OPS_API_TOKEN": "short"},
            "32 to 256",
            id="short-token",
        ),
        pytest.param(
            # Issue 17 (5): a 20-character token was accepted before; 32 is the minimum.
            {"OPS_WEBHOOK_SECRET": GOOD_SECRET, "OPS_API_TOKEN": "t" * 31},
            "32 to 256",
            id="31-character-token",
        ),
        pytest.param(
            {
                "OPS_WEBHOOK_SECRET": GOOD_SECRET,
                "OPS_API_TOKEN": GOOD_TOKEN,
                "OPS_WINDOW_HOURS": "0",
            },
            "OPS_WINDOW_HOURS",
            id="bad-window",
        ),
    ],
)
def test_bad_configuration_exits_2_with_one_sentence(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run(env, tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert GOOD_TOKEN not in result.stderr


def test_a_newer_schema_refuses_to_start(tmp_path: Path) -> None:
    import sqlite3

    with sqlite3.connect(tmp_path / "ops.db") as conn:
        conn.execute("PRAGMA user_version = 999")
    result = run({"OPS_WEBHOOK_SECRET": GOOD_SECRET, "OPS_API_TOKEN": GOOD_TOKEN}, tmp_path)
    assert result.returncode == 2
    assert "schema is version 999" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings_repr_hides_secrets() -> None:
    settings = Settings.from_env({"OPS_WEBHOOK_SECRET": GOOD_SECRET, "OPS_API_TOKEN": GOOD_TOKEN})
    assert GOOD_TOKEN not in repr(settings)
    assert "QUJD" not in repr(settings)
    assert settings.port == 8080
    assert settings.window_hours == 48
    with pytest.raises(ConfigError):
        Settings.from_env(
            {"OPS_WEBHOOK_SECRET": GOOD_SECRET, "OPS_API_TOKEN": GOOD_TOKEN, "OPS_PORT": "99999"}
        )
