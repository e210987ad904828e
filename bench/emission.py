"""Benchmark 3: what webhook emission adds to the Portal's wizard requests.

Four Portals (sandbox providers) run side by side, each with its own store:
- off: emission switched off (PORTAL_EMIT=off), the baseline;
- up: emitting to a real Ops;
- down: emitting to a closed loopback port;
- hanging: emitting to a socket that accepts and never answers.
Wizard runs (validate-domain, dns/cloudflare/apply, account/create, each a new session)
go to the four step by step: each step to the four in turn, in a balanced order
(``orders_cycle``), so the machine's noise and what one case leaves behind hit them
alike. Figures: p99 (p50) over all wizard requests of a case minus the baseline's p99
(p50); the p99's 2 ms goal is judged on the median over slices of the run (at least 100
requests of each case in each) of the per-slice p99 differences (``added_figures`` says
why).

"off" is the Portal started with PORTAL_EMIT=off (EMIT_SWITCH): its app wiring then gives
the wizard ``ops_webhook.emit_nothing`` and starts no dispatcher. Whether it really
emitted nothing is still checked in its outbox afterwards; when it did emit, its figures
are an identical second "up" (the spread between the two is the run's noise floor), "up"
cannot be judged (PENDING), and "down" and "hanging" are judged against "up" instead.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench.budgets import Figure, Section, budget, goal
from bench.latency import Summary, percentile
from bench.plan import Plan
from bench.ratios import median
from bench.seed import CACHE_DIR
from bench.services import HOST, Credentials, Fleet, HangingListener, ServiceError, free_port
from bench.wire import Connection

BUDGET_MS = 200.0
GOAL_MS = 2.0
EMIT_SWITCH = {"PORTAL_EMIT": "off"}
API = "/api/v1/onboarding"
JSON = {"content-type": "application/json"}
CASES = ("off", "up", "down", "hanging")
STEPS = ("validate-domain", "dns/cloudflare/apply", "account/create")
SLICE_REQUESTS = 100  # per case and slice: its p99 is then the second largest or lower


@dataclass
class Case:
    name: str
    port: int
    db: Path
    conn: Connection | None = None
    latencies: list[float] = field(default_factory=list)
    by_step: dict[str, list[float]] = field(default_factory=dict)
    # Each run's wizard secret (the cookie validate-domain sets), sent as X-Wizard-Secret.
    secrets: dict[str, str] = field(default_factory=dict)

    async def step(self, number: int, index: int) -> None:
        """Step ``index`` of wizard run ``number`` (a session of its own per run)."""
        assert self.conn is not None
        session = f"emit-{self.name}-{number}"
        domain = f"bench-{self.name}-{number}.pt"
        step = STEPS[index]
        body: dict[str, str] = {"session_id": session, "domain": domain}
        if step == "account/create":
            body |= {
                "admin_local_part": "admin",
                "display_name": "Bench Admin",
                "password": "bench-password-1",
            }
        headers = dict(JSON)
        if session in self.secrets:
            headers["x-wizard-secret"] = self.secrets[session]
        seconds, reply = await self.conn.timed("POST", f"{API}/{step}", headers, orjson.dumps(body))
        if reply.status != 200:
            raise ServiceError(f"{self.name}: {step} answered {reply.status}: {reply.body!r}")
        cookie = reply.headers.get("set-cookie", "")
        if cookie.startswith("vm112_wizard="):
            self.secrets[session] = cookie.split(";", 1)[0].split("=", 1)[1]
        self.latencies.append(seconds)
        self.by_step.setdefault(step, []).append(seconds)


def orders_cycle(cases: int) -> list[tuple[int, ...]]:
    """A balanced (Williams) design: rows in which each case runs once, and over the
    whole cycle every case runs right after every other case equally often. A plain
    rotation put "down" right after "up" in three rows of four and "off" never: the up
    Portal's delivery (and Ops storing it), ~20 ms after its request, then weighed on
    "down" and never on the baseline. Even counts need ``cases`` rows, odd ones twice
    as many (each row also reversed)."""
    first = [0, *_zigzag(cases)]
    rows = [tuple((case + shift) % cases for case in first) for shift in range(cases)]
    if cases % 2:
        rows += [row[::-1] for row in rows]
    return rows


def _zigzag(cases: int) -> list[int]:
    """1, n-1, 2, n-2, ...: the first row's tail after case 0."""
    tail: list[int] = []
    low, high = 1, cases - 1
    while low <= high:
        tail.append(low)
        if low != high:
            tail.append(high)
        low, high = low + 1, high - 1
    return tail


def case_order(cases: int, number: int) -> tuple[int, ...]:
    """Row ``number`` of the cycle, repeating."""
    cycle = orders_cycle(cases)
    return cycle[number % len(cycle)]


async def rounds(cases: Sequence[Case], runs: int, first: int = 0) -> None:
    """``runs`` wizard runs on every case, step by step: each step goes to the four cases
    back to back in a balanced order (``orders_cycle``), so a case's request and the
    baseline's are never more than three requests apart, the machine's noise hits them
    alike, and what one case leaves behind (a delivery) lands on each other case alike."""
    for number in range(first, first + runs):
        for index in range(len(STEPS)):
            for position in case_order(len(cases), number * len(STEPS) + index):
                await cases[position].step(number, index)


def slice_differences(
    latencies: Sequence[float], baseline: Sequence[float], slices: int, fraction: float = 0.99
) -> list[float]:
    """Per slice of the run (the same rounds for both), the case's percentile minus the
    baseline's, in milliseconds: ``slices`` contiguous slices of equal length."""
    if len(latencies) != len(baseline):
        raise ValueError(f"{len(latencies)} requests against {len(baseline)} in the baseline")
    size = len(latencies) // slices if slices else 0
    if size < 1:
        raise ValueError(f"{len(latencies)} requests cannot make {slices} slices")
    return [
        1000
        * (
            percentile(latencies[i * size : (i + 1) * size], fraction)
            - percentile(baseline[i * size : (i + 1) * size], fraction)
        )
        for i in range(slices)
    ]


def slices_for(requests: int) -> int:
    """How many slices: each holds at least ``SLICE_REQUESTS`` requests of a case (so its
    p99 is not simply its largest), and at least one."""
    return max(1, requests // SLICE_REQUESTS)


def outbox_rows(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("select state, count(*) from outbox group by state").fetchall()
    finally:
        conn.close()
    return {str(state): int(count) for state, count in rows}


def added_figures(
    summaries: dict[str, Summary],
    emitted_when_off: bool,
    latencies: Mapping[str, Sequence[float]] | None = None,
) -> tuple[list[Figure], str]:
    """The p99- and p50-added figures, and the name of the baseline they were judged
    against. With each case's ``latencies`` (in the order they ran, the same rounds for
    every case), the p99's goal is judged on the median over slices of the run of the
    per-slice p99 differences (``slice_differences``): a difference of two p99s over all
    requests rests on a handful of requests each, and a burst of other work landing on one
    case's few slowest requests moves it by more than the 2 ms judged; a slice with such a
    burst moves the median by one rank. The pooled difference keeps the 200 ms budget."""
    baseline = "up" if emitted_when_off else "off"
    base_p99 = summaries[baseline].p99
    figures = []
    for name in ("up", "down", "hanging"):
        label = f"p99 added, Ops {name} (vs {baseline})"
        if name == baseline:
            figures.append(
                Figure(
                    f"emission.{name}.p99_added_ms",
                    f"p99 added, Ops {name} (vs off)",
                    None,
                    "ms",
                    budget(BUDGET_MS),
                    pending="the Portal needs an emission switch: PORTAL_EMIT=off",
                )
            )
            continue
        added = summaries[name].p99 - base_p99
        figures.append(
            Figure(f"emission.{name}.p99_added_ms", label, added, "ms", budget(BUDGET_MS))
        )
        if latencies is None:
            figures.append(
                Figure(
                    f"emission.{name}.p99_added_goal",
                    f"{label}, our goal",
                    added,
                    "ms",
                    goal(GOAL_MS),
                )
            )
        else:
            count = slices_for(len(latencies[baseline]))
            differences = slice_differences(latencies[name], latencies[baseline], count)
            figures.append(
                Figure(
                    f"emission.{name}.p99_added_goal",
                    f"{label}, our goal: median of {count} slices' p99 differences",
                    median(differences),
                    "ms",
                    goal(GOAL_MS),
                    note=f"slices {min(differences):+.1f} to {max(differences):+.1f} ms",
                )
            )
        figures.append(
            Figure(
                f"emission.{name}.p50_added_ms",
                f"p50 added, Ops {name} (vs {baseline})",
                summaries[name].p50 - summaries[baseline].p50,
                "ms",
                goal(GOAL_MS),  # issue 16: p50 and p99 alike
            )
        )
    return figures, baseline


async def run(plan: Plan) -> Section:
    section = Section("3 emission")
    creds = Credentials()
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="emission-", dir=CACHE_DIR) as folder:
        root = Path(folder)
        async with Fleet() as fleet, HangingListener() as hanging:
            ops = await fleet.ops(creds, root / "ops.db")
            targets = {
                "off": ops.url,
                "up": ops.url,
                "down": f"http://{HOST}:{free_port()}",
                "hanging": hanging.url,
            }
            cases = []
            for name in CASES:
                db = root / f"portal-{name}.db"
                extra = {**EMIT_SWITCH} if name == "off" else {}
                portal = await fleet.portal(creds, db, targets[name], extra=extra)
                cases.append(Case(name, portal.port, db))
            try:
                for case in cases:
                    case.conn = await Connection.open(HOST, case.port)
                await rounds(cases, plan.emission.warmup, first=1_000_000)
                for case in cases:
                    case.latencies.clear()
                    case.by_step.clear()
                await rounds(cases, plan.emission.count)
            finally:
                for case in cases:
                    if case.conn is not None:
                        await case.conn.close()
            outboxes = {case.name: outbox_rows(case.db) for case in cases}
            hanging_accepted = hanging.accepted
    summaries = {case.name: Summary.of(case.latencies) for case in cases}
    emitted_when_off = sum(outboxes["off"].values()) > 0
    figures, baseline = added_figures(
        summaries, emitted_when_off, {case.name: case.latencies for case in cases}
    )
    for name in CASES:
        section.add(
            Figure(
                f"emission.{name}.p99_ms", f"wizard request p99, {name}", summaries[name].p99, "ms"
            )
        )
    section.add(*figures)
    if emitted_when_off:
        section.add(
            Figure(
                "emission.noise_floor_ms",
                "noise floor: p99 spread of 'off' and 'up' (both emitting)",
                abs(summaries["off"].p99 - summaries["up"].p99),
                "ms",
            )
        )
    details: dict[str, Any] = {
        "baseline": baseline,
        "off_switch_honoured": not emitted_when_off,
        "wizard_runs_per_case": plan.emission.count,
        "outbox_rows": outboxes,
        "hanging_connections_accepted": hanging_accepted,
    }
    base = next(case.latencies for case in cases if case.name == baseline)
    slices = slices_for(len(base))
    for case in cases:
        by_slice = slice_differences(case.latencies, base, slices)
        details[case.name] = {
            "all_requests": summaries[case.name].as_dict(),
            f"p99_added_by_slice_ms_vs_{baseline}": [round(d, 3) for d in by_slice],
            "p50_ms_by_step": {
                step: round(percentile(values, 0.5) * 1000, 3)
                for step, values in case.by_step.items()
            },
        }
    section.details.update(details)
    return section
