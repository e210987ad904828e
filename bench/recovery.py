"""python -m bench.recovery [--sizes N ...] [--trials T]: RPO and RTO of the replication.

For each store size (bench/seed.py's seeded stores, 100k and 1M events by default) and
each trial, everything real and on 127.0.0.1, in a scratch folder under var/bench/:

1. Ops (`python -m vm122_ops`) on a copy of the seeded store; Litestream (the pinned
   binary, deploy/litestream.yml moved into the folder) replicating it. Its first full
   snapshot is timed.
2. Steady signed ingest at RATE events/s from SENDERS concurrent senders; each 2xx is an
   acknowledged event, with the moment it was answered. After a random 4-8 s, the
   machine is lost: Litestream and Ops are SIGKILLed together, then the database, its
   WAL and Litestream's shadow WAL are deleted.
3. RPO: scripts/restore-ops restores the replica into a fresh path. Every acknowledged
   event missing from it is a loss; the trial's window is the kill time minus the
   earliest acknowledgement of a lost event (0 when none is lost).
4. RTO: restore (litestream restore, then verify's integrity check), Ops started on the
   restored file, then the Portal (`python -m vm112_portal`, its outbox holding the
   trial's events as delivered, as the real Portal would) replays since the time
   restore-ops printed, until its outbox is drained. Then the case where the replica is
   lost too: a fresh Ops, and the same Portal replays everything; that rate (new events)
   gives the time to rebuild N events from the Portal alone.

Prints a table and writes var/bench/recovery.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.deliveries import INGEST_PATH, Delivery, delivery
from bench.litestream import ScratchReplication, litestream_binary
from bench.seed import FLOW, Store, cached_store
from bench.services import ROOT, Credentials, Fleet, Service, kill
from servicekit.sqlfiles import load_queries
from vm112_portal.db import Database as PortalDatabase

RATE = 100.0  # events per second, all senders together
SENDERS = 4
HOLD = (4.0, 8.0)  # seconds of ingest before the kill
RESULTS = ROOT / "var" / "bench" / "recovery.json"
SCRATCH = ROOT / "var" / "bench" / "recovery"
SQL = load_queries(Path(__file__).resolve().parent / "sql")


@dataclass
class Trial:
    size: int
    snapshot_s: float  # Litestream's first full snapshot of the store
    acked: int
    lost: int
    window_s: float  # how far before the kill the lost acknowledgements reach
    restore_s: float  # litestream restore
    verify_s: float  # python -m vm122_ops verify (integrity_check and the summary)
    ops_start_s: float  # Ops started on the restored file, until /healthz answers
    replayed: int
    replay_s: float  # replay command until the Portal's outbox is drained
    rebuild_rate: float  # events/s a fresh Ops is rebuilt at from the Portal alone

    @property
    def serving_s(self) -> float:
        return self.restore_s + self.verify_s + self.ops_start_s

    @property
    def complete_s(self) -> float:
        return self.serving_s + self.replay_s


def _start_litestream(binary: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(binary), "replicate", "-config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


async def _until(predicate: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {within:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def _ingest(
    url: str, creds: Credentials, prefix: str, stop: asyncio.Event
) -> tuple[list[Delivery], dict[str, float]]:
    """Steady signed deliveries until ``stop``; the acknowledged ones with their times."""
    sent: list[Delivery] = []
    acked: dict[str, float] = {}
    began = time.monotonic()

    async def sender(number: int, client: httpx.AsyncClient) -> None:
        count = 0
        while not stop.is_set():
            index = count * SENDERS + number
            session = f"{prefix}-{index // len(FLOW)}"
            event = delivery(
                creds,
                f"{prefix}-{index}",
                FLOW[index % len(FLOW)],
                session,
                f"{session}.example.pt",
            )
            sent.append(event)
            with suppress(httpx.HTTPError):
                response = await client.post(INGEST_PATH, content=event.body, headers=event.headers)
                if response.status_code in (200, 202):
                    acked[event.webhook_id] = time.time()
            count += 1
            await asyncio.sleep(max(0.0, began + count * SENDERS / RATE - time.monotonic()))

    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        await asyncio.gather(*(sender(n, client) for n in range(SENDERS)))
    return sent, acked


def _stored_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {str(row[0]) for row in conn.execute(SQL["stored_event_ids"])}
    finally:
        conn.close()


def _outbox_pending(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute(SQL["outbox_not_delivered"]).fetchone()[0])
    finally:
        conn.close()


async def _fill_portal(path: Path, sent: list[Delivery], acked: dict[str, float]) -> None:
    """The Portal's outbox as it would be: the trial's events, delivered when acknowledged."""
    db = PortalDatabase(path)
    await db.open()
    try:
        async with db.transaction() as tx:
            for event in sent:
                row = await tx.fetch_one(
                    "insert_outbox_event",
                    {
                        "webhook_id": event.webhook_id,
                        "event_type": json.loads(event.body)["type"],
                        "session_id": event.session_id,
                        "body": event.body.decode(),
                        "now": acked.get(event.webhook_id, time.time()),
                        "request_id": None,
                    },
                )
                assert row is not None
                if event.webhook_id in acked:
                    await tx.execute(
                        "mark_delivered",
                        {"id": row["id"], "now": acked[event.webhook_id], "status": 202},
                    )
    finally:
        await db.close()


def _run(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(
        argv, env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stdout}{result.stderr}")
    return result.stdout


async def _replay(portal_db: Path, since: str) -> float:
    """The replay command, then until the running Portal has drained its outbox."""
    started = time.monotonic()
    await asyncio.to_thread(
        _run,
        [sys.executable, "-m", "vm112_portal", "outbox", "replay", "--since", since],
        {"PORTAL_DB": str(portal_db)},
    )
    await _until(lambda: _outbox_pending(portal_db) == 0, 900, "the replay drained")
    return time.monotonic() - started


async def trial(store: Store, binary: Path, folder: Path, rng: random.Random) -> Trial:
    shutil.rmtree(folder, ignore_errors=True)
    scratch = ScratchReplication(folder)
    config = scratch.write_config()
    shutil.copyfile(store.path, scratch.db)
    creds = Credentials()
    prefix = f"rec{rng.randrange(10**6)}"
    async with Fleet() as fleet:
        ops = await fleet.ops(creds, scratch.db, window_hours=store.window_hours())
        started = time.monotonic()
        litestream = _start_litestream(binary, config, folder / "litestream.log")
        try:
            await _until(
                lambda: "snapshot written" in (folder / "litestream.log").read_text(),
                900,
                "Litestream's first snapshot",
            )
            snapshot_s = time.monotonic() - started
            stop = asyncio.Event()
            feeding = asyncio.create_task(_ingest(ops.url, creds, prefix, stop))
            await asyncio.sleep(rng.uniform(*HOLD))
            _kill_group(litestream)
            kill(ops)
            # After the signals: every acknowledgement recorded so far came before the
            # deaths, so a window measured from here errs on the long side.
            killed_at = time.time()
            stop.set()
            sent, acked = await feeding
        finally:
            _kill_group(litestream)
        for path in scratch.database_files():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

        restored = folder / "restored.db"
        began = time.monotonic()
        report = await asyncio.to_thread(
            _run,
            [str(ROOT / "scripts" / "restore-ops"), str(restored)],
            {
                "LITESTREAM_CONFIG": str(config),
                "OPS_DB": str(scratch.db),
                "LITESTREAM": str(binary),
                "PYTHON": sys.executable,
            },
        )
        total_s = time.monotonic() - began
        restore_s = float(re.search(r" in ([\d.]+) s$", report, re.M).group(1))  # type: ignore[union-attr]
        since = re.search(r"^replay since: (\S+)$", report, re.M).group(1)  # type: ignore[union-attr]
        held = _stored_ids(restored)
        acked = {w: at for w, at in acked.items() if at <= killed_at}
        missing = [at for webhook_id, at in acked.items() if webhook_id not in held]
        window_s = killed_at - min(missing) if missing else 0.0

        restored.rename(scratch.db)
        began = time.monotonic()
        ops = await fleet.ops(creds, scratch.db, window_hours=store.window_hours())
        ops_start_s = time.monotonic() - began
        portal_db = folder / "portal.db"
        await _fill_portal(portal_db, sent, acked)
        portal = await fleet.portal(creds, portal_db, ops.url)
        replay_s = await _replay(portal_db, since)
        missing_after = set(acked) - _stored_ids(scratch.db)
        if missing_after:
            raise RuntimeError(f"{len(missing_after)} acknowledged events still missing")

        # The replica lost too: a fresh Ops, rebuilt from the Portal's outbox alone.
        kill(portal)
        fresh: Service = await fleet.ops(creds, folder / "fresh.db")
        portal = await fleet.portal(creds, portal_db, fresh.url)
        rebuild_s = await _replay(portal_db, "2000-01-01T00:00:00Z")
        rebuilt = len(_stored_ids(folder / "fresh.db"))
        if rebuilt != len(sent):
            raise RuntimeError(f"the rebuild stored {rebuilt} of {len(sent)} events")
    shutil.rmtree(folder, ignore_errors=True)
    return Trial(
        size=store.events,
        snapshot_s=round(snapshot_s, 2),
        acked=len(acked),
        lost=len(missing),
        window_s=round(window_s, 3),
        restore_s=restore_s,
        verify_s=round(total_s - restore_s, 2),
        ops_start_s=round(ops_start_s, 2),
        replayed=len(sent),
        replay_s=round(replay_s, 2),
        rebuild_rate=round(rebuilt / rebuild_s, 1),
    )


def _table(trials: list[Trial]) -> str:
    rows = [
        "| events | first snapshot | acked | lost | loss window | restore | integrity check "
        "| Ops start | serving again | replay (events) | complete | rebuild rate |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in trials:
        rows.append(
            f"| {t.size:,} | {t.snapshot_s:.1f} s | {t.acked} | {t.lost} | {t.window_s:.2f} s "
            f"| {t.restore_s:.2f} s | {t.verify_s:.2f} s | {t.ops_start_s:.2f} s "
            f"| {t.serving_s:.1f} s | {t.replay_s:.1f} s ({t.replayed}) | {t.complete_s:.1f} s "
            f"| {t.rebuild_rate:,.0f} /s |"
        )
    return "\n".join(rows)


async def main(sizes: list[int], trials: int) -> list[Trial]:
    binary = litestream_binary()
    rng = random.Random()
    results: list[Trial] = []
    for size in sizes:
        store = await cached_store(size)
        for number in range(trials):
            result = await trial(store, binary, SCRATCH / f"{size}-{number}", rng)
            print(json.dumps(asdict(result)), flush=True)
            results.append(result)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    measured = asyncio.run(main(args.sizes, args.trials))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps([asdict(t) for t in measured], indent=1))
    print(_table(measured))
