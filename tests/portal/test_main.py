"""The command line (vm112_portal/__main__.py): refusals with exit code 2, outbox redrive."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import peek
from tests.support.credentials import SECRET
from vm112_portal.__main__ import main
from vm112_portal.db import Database
from vm112_portal.outbox.ops_webhook import emit_event


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        pytest.param([], {}, "OPS_WEBHOOK_SECRET is not set", id="no-secret"),
        pytest.param([], {"OPS_WEBHOOK_SECRET": "nope"}, "whsec_", id="bad-secret"),
        pytest.param(["serve", "now"], {}, "unrecognized arguments: now", id="extra-argument"),
        pytest.param(["frobnicate"], {}, "invalid choice: 'frobnicate'", id="bad-command"),
        pytest.param(["outbox"], {}, "arguments are required: action", id="no-action"),
        pytest.param(
            ["outbox", "redrive"], {"PORTAL_DB": "/nonexistent/p.db"}, "does not exist", id="no-db"
        ),
    ],
)
def test_refuses_with_one_sentence_and_code_2(
    argv: list[str], env: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv, env) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_newer_schema_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "portal.db"
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    env = {"OPS_WEBHOOK_SECRET": SECRET, "PORTAL_DB": str(db_path)}
    assert main([], env) == 2
    assert "schema is version 99" in capsys.readouterr().err


def test_subprocess_exit_code_and_no_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "vm112_portal"],
        env={"PATH": "/usr/bin:/bin", "OPS_WEBHOOK_SECRET": "whsec_x"},
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "vm112_portal: OPS_WEBHOOK_SECRET is not valid base64 after whsec_."
    )


async def _dead_letters(db_path: Path, count: int) -> None:
    db = Database(db_path)
    await db.open()
    try:
        for i in range(count):
            async with db.transaction() as tx:
                await emit_event(tx, "domain.validated", {"session_id": f"s{i}", "domain": "a.pt"})
        async with db.transaction() as tx:
            await tx.execute(
                "mark_dead", {"id": 1, "now": 0.0, "status": 422, "error": "HTTP 422 bad"}
            )
    finally:
        await db.close()


def test_outbox_redrive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path = tmp_path / "portal.db"
    asyncio.run(_dead_letters(db_path, 2))
    assert [row["state"] for row in peek.outbox(db_path)] == ["dead", "pending"]
    assert main(["outbox", "redrive"], {"PORTAL_DB": str(db_path)}) == 0
    assert capsys.readouterr().out.startswith("1 dead letter(s) queued again")
    rows = peek.outbox(db_path)
    assert [row["state"] for row in rows] == ["pending", "pending"]
    assert rows[0]["attempts"] == 0 and rows[0]["redriven_at"] is not None
