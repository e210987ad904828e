"""Ops' funnel beside the naive ways of computing it, on the same events, in-process.

Three contenders, run in turn (ours, naive, DuckDB, ours, ...) so noise hits each alike;
after one untimed run of each, at least ``runs`` rounds and more while the rounds so far
took less than ``seconds`` (at most ``MAX_RUNS``: many at 10k, where one round takes
milliseconds and a single slow one would move a median of five). Each ratio is the median
of the rounds' own ratios (theirs / ours in the same round, bench/ratios.py):
- ours: what ``GET /api/v1/onboard/funnel`` costs when nothing is kept (the first request
  after a commit): ``answer_funnel_text`` with an empty memo each round (the basis read in
  one snapshot of the service's own Database, the funnel finished and its JSON written)
  and the step durations' cache as the running service has it (kept up to date by each
  commit, so warm);
- naive: the seed's plan, json_extract over every webhook_events payload (SQLite);
- DuckDB: the same aggregate over the same rows' denormalised columns, loaded in memory.

All three are timed in this process without HTTP, so the ratios compare the work alone.
The naive cells are checked against ours, so a ratio never compares different answers.
"""

from __future__ import annotations

import csv
import sqlite3
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.latency import percentile
from bench.ratios import median, pair_ratios
from bench.seed import HOUR_MS
from servicekit.sqlfiles import load_queries
from vm122_ops.funnel.rollups import DurationCache, Window, build_funnel
from vm122_ops.funnel.session_states import StateRule
from vm122_ops.ingest.events import STAGES, format_ms
from vm122_ops.kept.funnel_basis import answer_funnel_text
from vm122_ops.kept.memo import Memo
from vm122_ops.store.db import Database

SQL = load_queries(Path(__file__).resolve().parent / "sql")

Cells = Counter[tuple[int, str]]
MAX_RUNS = 100


@dataclass(frozen=True)
class Comparison:
    ours_ms: float  # median of the runs
    naive_ms: float
    duckdb_ms: float | None
    agree: bool  # naive and DuckDB cells give the same stages and failures as ours
    runs: int
    naive_ratios: list[float]  # per round: naive / ours
    duckdb_ratios: list[float]  # per round: DuckDB / ours (empty without DuckDB)
    duckdb_error: str = ""

    @property
    def naive_ratio(self) -> float:
        return median(self.naive_ratios)

    @property
    def duckdb_ratio(self) -> float | None:
        return median(self.duckdb_ratios) if self.duckdb_ratios else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ours_median_ms": round(self.ours_ms, 3),
            "naive_median_ms": round(self.naive_ms, 3),
            "duckdb_median_ms": None if self.duckdb_ms is None else round(self.duckdb_ms, 3),
            "naive_ratio": round(self.naive_ratio, 2),
            "duckdb_ratio": None if self.duckdb_ratio is None else round(self.duckdb_ratio, 2),
            "answers_agree": self.agree,
            "runs": self.runs,
            "duckdb_error": self.duckdb_error,
        }


def summary_of(cells: Cells, now_ms: int, hours: int) -> tuple[dict[str, int], int]:
    """(stages, failed) from (stage, status) cells, built by Ops' own build_funnel."""
    steps: dict[int, Counter[int]] = {step: Counter() for step in range(len(STAGES) - 1)}
    funnel = build_funnel(Window(hours=hours, now_ms=now_ms), cells, steps, [])
    return dict(funnel.stages), funnel.failed


async def compare(path: Path, hours: int, runs: int, seconds: float = 0.0) -> Comparison:
    now_ms = int(time.time() * 1000)
    window = Window(hours=hours, now_ms=now_ms)
    since_ms = now_ms - hours * HOUR_MS
    db = Database(path)
    await db.open()
    naive_conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    duck, duckdb_error = _load_duckdb(path)
    ours_s: list[float] = []
    naive_s: list[float] = []
    duck_s: list[float] = []
    answers: list[tuple[dict[str, int], int]] = []
    durations = DurationCache()  # filled by the untimed first run, as a running service's
    rule = StateRule()
    started = time.perf_counter()
    try:
        for run in range(-1, MAX_RUNS):  # run -1: untimed, caches filled
            if run >= runs and time.perf_counter() - started >= seconds:
                break
            start = time.perf_counter()
            body = await answer_funnel_text(db, window, durations, Memo(), rule)
            ours_s.append(time.perf_counter() - start)

            start = time.perf_counter()
            rows = naive_conn.execute(SQL["naive_funnel"], {"since": format_ms(since_ms)})
            naive_cells: Cells = Counter({(s, st): n for s, st, n in rows.fetchall()})
            naive_s.append(time.perf_counter() - start)

            duck_cells: Cells | None = None
            if duck is not None:
                start = time.perf_counter()
                result = duck.execute(SQL["duckdb_funnel"], {"since": since_ms}).fetchall()
                duck_cells = Counter({(s, st): n for s, st, n in result})
                duck_s.append(time.perf_counter() - start)
            if run < 0:
                ours_s.pop()
                naive_s.pop()
                if duck_cells is not None:
                    duck_s.pop()
                started = time.perf_counter()
                continue
            if run == 0:
                ours = orjson.loads(body)
                answers.append((dict(ours["stages"]), ours["failed"]))
                answers.append(summary_of(naive_cells, now_ms, hours))
                if duck_cells is not None:
                    answers.append(summary_of(duck_cells, now_ms, hours))
    finally:
        naive_conn.close()
        if duck is not None:
            duck.close()
        await db.close()
    return Comparison(
        ours_ms=percentile(ours_s, 0.5) * 1000,
        naive_ms=percentile(naive_s, 0.5) * 1000,
        duckdb_ms=percentile(duck_s, 0.5) * 1000 if duck_s else None,
        agree=all(answer == answers[0] for answer in answers),
        runs=len(ours_s),
        naive_ratios=pair_ratios(naive_s, ours_s),
        duckdb_ratios=pair_ratios(duck_s, ours_s) if duck_s else [],
        duckdb_error=duckdb_error,
    )


def _load_duckdb(path: Path) -> tuple[Any, str]:
    """An in-memory DuckDB holding the store's events (via CSV: no extension download)."""
    try:
        import duckdb  # optional: the test extra installs it
    except ImportError as exc:
        return None, f"duckdb is not installed ({exc}); pip install -e '.[test]'"
    with tempfile.TemporaryDirectory(prefix="bench-duckdb-") as folder:
        csv_path = Path(folder) / "events.csv"
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            with csv_path.open("w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["session_id", "event_type", "occurred_at"])
                cursor = source.execute(SQL["export_rows"])
                while rows := cursor.fetchmany(50_000):
                    writer.writerows(rows)
        finally:
            source.close()
        conn = duckdb.connect()
        conn.execute(
            "create table webhook_events as select * from read_csv("
            "$path, header = true, columns = {'session_id': 'VARCHAR', "
            "'event_type': 'VARCHAR', 'occurred_at': 'BIGINT'})",
            {"path": str(csv_path)},
        )
    return conn, ""
