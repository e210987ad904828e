"""Real processes on loopback for the reliability tests: Ops and Portal subprocesses with
their logs in files, outboxes filled through the portal's own emit_event, and readers of
what each side stored. Reuses the Ops and Portal test harnesses where they fit."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from contract.events import STAGE_OF_TYPE, STAGE_TYPES, STAGES
from tests.loopback import free_port
from tests.ops.test_durability import SECRET, TOKEN, _wait_ready
from vm112_portal.db import Database as PortalDatabase
from vm112_portal.ops_webhook import emit_event, started_webhook_id

__all__ = ["SECRET", "TOKEN", "free_port"]

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HAPPY = STAGE_TYPES
STAGE = STAGE_OF_TYPE
STAGE_NAMES = STAGES
# Session shapes, in turn: complete, failed at the account, stuck after DNS, no DNS zone.
SHAPES: tuple[tuple[str, ...], ...] = (
    HAPPY,
    (*HAPPY[:3], "onboarding.failed"),
    HAPPY[:3],
    (*HAPPY[:2], *HAPPY[3:]),
)


@dataclass
class Process:
    """A service subprocess whose stdout and stderr go to a log file."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no flushing."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        assert self.popen.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=5)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def json_lines(self) -> list[dict[str, Any]]:
        """Every JSON line of the log (the print() banner lines are skipped)."""
        lines = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                lines.append(orjson.loads(line))
        return lines


def ops_process(db: Path, port: int, log: Path) -> Process:
    env = {
        **os.environ,
        "OPS_DB": str(db),
        "OPS_PORT": str(port),
        "OPS_WEBHOOK_SECRET": SECRET,
        "OPS_API_TOKEN": TOKEN,
    }
    return Process([sys.executable, "-m", "vm122_ops"], env, log)


def portal_process(db: Path, port: int, ops_port: int, log: Path, **extra: str) -> Process:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PORTAL_HOST": "127.0.0.1",
        "PORTAL_PORT": str(port),
        "PORTAL_DB": str(db),
        "OPS_URL": f"http://127.0.0.1:{ops_port}",
        "OPS_WEBHOOK_SECRET": SECRET,
        "PORTAL_OPS_TIMEOUT": "2",
        "PORTAL_OUTBOX_BACKOFF_MAX": "0.3",
        **extra,
    }
    return Process([sys.executable, "-m", "vm112_portal"], env, log)


async def wait_ready(url: str) -> None:
    await _wait_ready(url)


async def until(predicate: Any, *, within: float, every: float = 0.1, what: str = "") -> None:
    """Poll a sync predicate until it holds; bounded in time."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(every)


@dataclass
class Sent:
    """The events queued in the outboxes: what Ops must end up with."""

    webhook_ids: list[str] = field(default_factory=list)
    # session -> [(event time ms, arrival order, type)]
    sessions: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)

    def expected_funnel(self) -> dict[str, Any]:
        """Cohort, cumulative stages and failed count, by the contract's rules."""
        stages = dict.fromkeys(STAGE_NAMES, 0)
        failed = 0
        for events in self.sessions.values():
            furthest = max((STAGE[t] for _, _, t in events if t in STAGE), default=-1)
            for index in range(furthest + 1):
                stages[STAGE_NAMES[index]] += 1
            latest = max(events)[2]
            if "onboarding.completed" not in {t for _, _, t in events} and (
                latest == "onboarding.failed"
            ):
                failed += 1
        return {"cohort": len(self.sessions), "stages": stages, "failed": failed}


async def fill_outbox(db_path: Path, prefix: str, count: int, sent: Sent, start: datetime) -> None:
    """Queue at least ``count`` events of whole sessions through the portal's emit_event."""
    db = PortalDatabase(db_path)
    await db.open()
    try:
        queued = 0
        session = 0
        async with db.transaction() as tx:
            while queued < count:
                session_id = f"{prefix}-{session}"
                shape = SHAPES[session % len(SHAPES)]
                for step, event_type in enumerate(shape):
                    moment = start + timedelta(seconds=session, milliseconds=step * 10)
                    data: dict[str, Any] = {
                        "session_id": session_id,
                        "domain": f"{session_id}.example.pt",
                    }
                    if event_type == "onboarding.failed":
                        data.update(stage="account_created", reason="Carbonio fault")
                    webhook_id = (
                        started_webhook_id(session_id)
                        if event_type == "onboarding.started"
                        else f"evt_{session_id}_{step}"
                    )
                    assert await emit_event(tx, event_type, data, webhook_id=webhook_id, now=moment)
                    sent.webhook_ids.append(webhook_id)
                    sent.sessions.setdefault(session_id, []).append(
                        (int(moment.timestamp() * 1000), len(sent.webhook_ids), event_type)
                    )
                    queued += 1
                session += 1
    finally:
        await db.close()


def outbox_states(db_path: Path) -> Counter[str]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = conn.execute("select state, count(*) from outbox group by state").fetchall()
    finally:
        conn.close()
    return Counter({str(state): int(n) for state, n in rows})


def outbox_rows(db_path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("select * from outbox order by id")]
    finally:
        conn.close()


def stored_event_ids(db_path: Path) -> list[str]:
    if not db_path.exists():
        return []
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return [str(r[0]) for r in conn.execute("select event_id from webhook_events")]
    except sqlite3.OperationalError:
        return []  # not migrated yet
    finally:
        conn.close()


def stored_count(db_path: Path) -> int:
    if not db_path.exists():
        return 0
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return int(conn.execute("select count(*) from webhook_events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def ingest_statuses(lines: Iterable[dict[str, Any]]) -> Counter[int]:
    """Statuses of the ingest requests in Ops' JSON request lines."""
    return Counter(
        int(line["status"])
        for line in lines
        if line.get("msg") == "request" and line.get("path") == "/api/v1/webhooks/onboard"
    )


async def funnel(url: str, hours: int = 2) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=AUTH, timeout=10) as client:
        response = await client.get("/api/v1/onboard/funnel", params={"hours": hours})
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def now_utc() -> datetime:
    return datetime.now(UTC)
