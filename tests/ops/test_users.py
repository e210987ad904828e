"""python -m vm122_ops users: accounts from the command line, the password from stdin
(or a prompt), never from argv; refusals are one sentence and exit code 2."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.desk.harness import user_command
from vm122_ops.errors import ConfigError

SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
TOKEN = "users-cli-token-0123456789-abcdefghijkl"


def users(tmp_path: Path, *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPS_")}
    env.update(OPS_DB=str(tmp_path / "ops.db"), OPS_WEBHOOK_SECRET=SECRET, OPS_API_TOKEN=TOKEN)
    return subprocess.run(
        [sys.executable, "-m", "vm122_ops", "users", *argv],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_add_reads_the_password_from_stdin_and_stores_an_argon2id_hash(tmp_path: Path) -> None:
    password = "stdin password 2026"
    added = users(tmp_path, "add", "Ana", "--admin", stdin=password + "\n")
    assert (added.returncode, added.stdout.strip()) == (0, "created admin ana")
    assert password not in added.stdout + added.stderr
    with sqlite3.connect(tmp_path / "ops.db") as conn:
        ((name, stored, admin),) = conn.execute(
            "select name, password_hash, is_admin from accounts"
        ).fetchall()
    assert (name, admin) == ("ana", 1)
    # argon2-cffi's recommended parameters (RFC 9106 low memory), not the test hasher.
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert password not in stored
    listed = users(tmp_path, "list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[1].split()[:3] == ["ana", "admin", "active"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        pytest.param(["add", "bob", "--password", "x" * 20], "", "unrecognized", id="no-argv"),
        pytest.param(["add", "bob"], "short\n", "at least 12", id="short"),
        pytest.param(["add", "bob"], TOKEN + "\n", "API token", id="the-api-token"),
        pytest.param(["add", "Bad Name!"], "long enough password\n", "account name", id="name"),
        pytest.param(["disable", "nobody"], "", "no account named nobody", id="unknown"),
    ],
)
def test_refusals_are_one_sentence_and_exit_code_2(
    tmp_path: Path, argv: list[str], stdin: str, message: str
) -> None:
    result = users(tmp_path, *argv, stdin=stdin)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


async def test_add_first_creates_only_while_no_account_exists(tmp_path: Path) -> None:
    db = tmp_path / "ops.db"
    assert await user_command(db, "add", "admin", "--admin", "--first") == "created admin admin"
    second = await user_command(db, "add", "other", "--admin", "--first")
    assert second == "accounts exist already; nothing created"
    with pytest.raises(ConfigError, match="already exists"):
        await user_command(db, "add", "admin")
