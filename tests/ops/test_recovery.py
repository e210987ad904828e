"""`python -m vm122_ops verify PATH` (vm122_ops/store/recovery.py): a restored store's integrity,
what it holds, its newest event and the Portal's replay time; refusals with exit code 2."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.conftest import NOW, Ops
from tests.support import peek
from vm122_ops.__main__ import main
from vm122_ops.ingest.events import format_ms

ROOT = Path(__file__).resolve().parents[2]


async def test_verify_reports_the_newest_event_and_the_replay_time(
    ops: Ops, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = [
        await ops.send("onboarding.started", "v-1", NOW - 60, webhook_id="w1"),
        await ops.send("domain.validated", "v-1", NOW - 50, webhook_id="w2"),
        await ops.send("onboarding.started", "v-2", NOW - 40, webhook_id="w3"),
        await ops.send("onboarding.failed", "v-2", NOW - 30, webhook_id="w4", stage="started"),
    ]
    assert [response.status_code for response in sent] == [202] * 4
    with peek.reading(ops.db_path) as conn:
        received = conn.execute("select received_at from webhook_events where id = 4").fetchone()
        tickets = conn.execute("select count(*) from tickets").fetchone()[0]
        notes = conn.execute("select count(*) from ticket_entries where kind = 'note'").fetchone()

    assert main(["verify", str(ops.db_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    since = format_ms(received[0] - 300_000)
    assert lines[0].startswith(f"integrity ok: {ops.db_path} (schema version ")
    assert lines[1].startswith(
        f"holds 4 events of 2 sessions, {tickets} tickets and {notes[0]} notes"
    )
    assert lines[2:] == [
        f"newest event: w4 (onboarding.failed, session v-2), row 4, received "
        f"{format_ms(received[0])}",
        f"replay since: {since}",
        f"  on the Portal: python -m vm112_portal outbox replay --since {since}",
    ]


async def test_verify_an_empty_store_says_to_replay_everything(
    ops: Ops, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["verify", str(ops.db_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "holds 0 events of 0 sessions, 0 tickets and 0 notes",
        "newest event: none; replay the Portal's whole outbox",
    ]


def test_verify_refuses_a_store_without_the_ops_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "ops.db"
    with sqlite3.connect(store) as conn:
        conn.execute("create table webhook_events (id integer primary key)")
        conn.execute("pragma user_version = 1")
    assert main(["verify", str(store)]) == 2  # not an Ops schema: the summary cannot be read
    assert capsys.readouterr().err.startswith(f"vm122_ops: {store} cannot be read as an Ops store")


def _corrupt(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("create table filler (v text)")
        conn.executemany("insert into filler values (?)", [("x" * 500,)] * 200)
        conn.execute("pragma user_version = 4")
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 3 + 64] = b"\xff" * 64  # a b-tree page header: broken
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(None, "does not exist or is not a file", id="missing"),
        pytest.param(lambda p: p.write_bytes(b"not a database" * 100), "cannot be read", id="junk"),
        pytest.param(lambda p: sqlite3.connect(p).close(), "is not an Ops store", id="no-schema"),
        pytest.param(_corrupt, "", id="corrupt"),
    ],
)
def test_verify_refuses_what_is_not_a_whole_ops_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    store = tmp_path / "restored.db"
    if callable(make):
        make(store)
    assert main(["verify", str(store)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"vm122_ops: {store} ")
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_verify_needs_no_configuration(tmp_path: Path) -> None:
    """Run on a rescue host: no OPS_WEBHOOK_SECRET, no OPS_API_TOKEN in the environment."""
    result = subprocess.run(
        [sys.executable, "-m", "vm122_ops", "verify", str(tmp_path / "none.db")],
        env={"PATH": "/usr/bin:/bin"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert (
        result.stderr.strip()
        == f"vm122_ops: {tmp_path / 'none.db'} does not exist or is not a file"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param([], "usage: scripts/restore-ops TARGET", id="no-target"),
        pytest.param(["EXISTING"], "exists; restore into a fresh path", id="target-exists"),
        pytest.param(["NEW"], "no Litestream config at", id="no-config"),
    ],
)
def test_restore_ops_refuses_before_touching_anything(
    tmp_path: Path, args: list[str], message: str
) -> None:
    existing = tmp_path / "ops.db"
    existing.write_bytes(b"keep me")
    argv = [
        {"EXISTING": str(existing), "NEW": str(tmp_path / "new.db")}.get(arg, arg) for arg in args
    ]
    result = subprocess.run(
        [str(ROOT / "scripts" / "restore-ops"), *argv],
        env={"PATH": "/usr/bin:/bin", "LITESTREAM_CONFIG": str(tmp_path / "none.yml")},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("restore-ops: ") and message in result.stderr
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "new.db").exists()
