"""Benchmark 7: the Desk's other reads at each store size, beside GET /healthz.

Issue 12 ("Performance") and issue 16 (item 4). One Ops per size on its seeded store, all
up at once; the reads below and /healthz take turns on keep-alive connections of their
own (one request of each per round), the sizes in short slices in turn (5 rounds each),
so the machine's noise hits every read and every size alike:

- the drill-down list (``/api/v1/onboard/funnel/sessions``, 50 a page) of the stage and
  state with the most sessions in the funnel's ``stopped`` counts, its first page and
  its second page by the first page's cursor;
- the ticket list's first page (``/api/v1/desk/tickets?limit=50``);
- the search (``/api/v1/desk/search?q=cliente1``: a prefix of many domains, a full page);
- the search by any part (``?q=liente12``: in the middle of many domains, the trigram
  index's page), by a contact e-mail's part (``?q=admin@cliente42``) and by a support
  reference as a customer reads it out (session 42's, lower case with a hyphen: one
  lookup on the reference index);
- the failure-code table (``/api/v1/onboard/failures``) of the funnel's window;
- the conversion series of 72 hours (hourly) and of 2160 hours (90 days, daily);
- the breakdowns (vm122_ops/funnel/breakdowns.py): the funnel of the window split by
  release (the dimension with the most values: top 5, other, unknown), and the trend split
  by previous provider over 72 hours and by release over 2160 hours.

``--reads KEY ...`` measures only those reads (and /healthz beside them).

Figures: each read's p95, its ratio to /healthz's p95 (goal: within 5x), the 500 ms
budget at the largest size (fails --check), and at the end each read's flatness (p95 at
the largest size over p95 at the smallest, goal at most 1.5x). At the largest size, the
concurrent load of bench/load.py for each read beside /healthz with 8 and 32 connections
(the failure table's is in benchmark 1, beside the funnel).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from bench.budgets import Figure, Section, budget, goal
from bench.funnel import get_probe, label
from bench.latency import Bound, Summary, alternate_slices
from bench.load import CONNECTIONS, Slices, Target, load_figures, rates
from bench.plan import Plan
from bench.seed import cached_store
from bench.services import HOST, Credentials, Fleet, ServiceError
from bench.wire import Connection
from servicekit.contract import STAGES
from vm112_portal.support import support_reference

BUDGET_MS = 500.0
HEALTHZ_RATIO_GOAL = 5.0
FLAT_GOAL = 1.5
PAGE = 50
SEARCH = "cliente1"
SEARCH_PART = "liente12"  # not a prefix: the FTS5 trigram index answers
SEARCH_CONTACT = "admin@cliente42"
# A support reference as a customer reads it out (lower case, a hyphen in the middle):
# session 42's, in every store (bench/seed.py sends the Portal's derivation).
_REFERENCE = support_reference("bench-00000042")
SEARCH_REFERENCE = f"{_REFERENCE[:4]}-{_REFERENCE[4:]}".lower()
LISTED_STATES = ("moving", "stuck", "abandoned", "failed")
HEALTHZ = "healthz"
BREAKDOWN = "/api/v1/onboard/breakdown"
ROUNDS_PER_SLICE = 5  # rounds of every read and /healthz on one server before the next size's


@dataclass(frozen=True, slots=True)
class Read:
    key: str  # the figure keys' part, e.g. "drilldown"
    label: str  # the table's words, e.g. "drill-down page 1"
    path: str
    load: bool = True  # measured under concurrent load too


async def _get(conn: Connection, path: str, headers: Mapping[str, str]) -> dict[str, Any]:
    reply = await conn.request("GET", path, headers)
    if reply.status != 200:
        raise ServiceError(f"GET {path} answered {reply.status}: {reply.body[:200]!r}")
    document: dict[str, Any] = orjson.loads(reply.body)
    return document


def busiest_list(stopped: Mapping[str, Mapping[str, int]]) -> tuple[str, str, int]:
    """The funnel's (stage, state) with the most sessions to list: (stage, state, rows)."""
    cells = [
        (int(stopped.get(stage, {}).get(state, 0)), stage, state)
        for stage in STAGES
        for state in LISTED_STATES
    ]
    rows, stage, state = max(cells)
    return stage, state, rows


async def plan_reads(
    port: int, headers: Mapping[str, str], hours: int
) -> tuple[list[Read], dict[str, Any]]:
    """The reads' paths on this store (the drill-down list and its cursor read from Ops)."""
    conn = await Connection.open(HOST, port)
    try:
        funnel = await _get(conn, f"/api/v1/onboard/funnel?hours={hours}", headers)
        stage, state, rows = busiest_list(funnel.get("stopped") or {})
        first = f"/api/v1/onboard/funnel/sessions?hours={hours}&stage={stage}&state={state}"
        first += f"&limit={PAGE}"
        page = await _get(conn, first, headers)
    finally:
        await conn.close()
    cursor = page.get("next")
    if not isinstance(cursor, str):
        raise ServiceError(f"the drill-down list {stage}/{state} has no second page ({rows})")
    reads = [
        Read("drilldown", "drill-down page 1", first),
        Read("drilldown_next", "drill-down page 2 (cursor)", f"{first}&cursor={cursor}"),
        Read("tickets", "ticket list page", f"/api/v1/desk/tickets?limit={PAGE}"),
        Read("search", "search", f"/api/v1/desk/search?q={SEARCH}"),
        Read("search_part", "search, any part", f"/api/v1/desk/search?q={SEARCH_PART}"),
        Read("search_contact", "search, contact e-mail", f"/api/v1/desk/search?q={SEARCH_CONTACT}"),
        Read(
            "search_reference",
            "search, support reference",
            f"/api/v1/desk/search?q={SEARCH_REFERENCE}",
        ),
        Read("failures", "failure codes", f"/api/v1/onboard/failures?hours={hours}", load=False),
        Read("trend72", "trend 72 h", "/api/v1/onboard/trend?hours=72"),
        Read("trend2160", "trend 2160 h", "/api/v1/onboard/trend?hours=2160"),
        Read("breakdown", "breakdown by release", f"{BREAKDOWN}?hours={hours}&by=release"),
        Read(
            "breakdown_trend72",
            "breakdown trend 72 h by provider",
            f"{BREAKDOWN}/trend?hours=72&by=previous_provider",
        ),
        Read(
            "breakdown_trend2160",
            "breakdown trend 2160 h by release",
            f"{BREAKDOWN}/trend?hours=2160&by=release",
        ),
    ]
    chosen = {"stage": stage, "state": state, "rows": rows, "total": page.get("total")}
    return reads, {"drilldown": chosen}


async def measure(
    port: int, headers: Mapping[str, str], reads: Sequence[Read], bound: Bound
) -> dict[str, Summary]:
    """Each read's latency and /healthz's on one server, in turns (one request of each per
    round)."""
    return (await measure_sizes({0: (port, reads)}, headers, bound))[0]


async def measure_sizes(
    servers: Mapping[int, tuple[int, Sequence[Read]]],
    headers: Mapping[str, str],
    bound: Bound,
    per_slice: int = ROUNDS_PER_SLICE,
) -> dict[int, dict[str, Summary]]:
    """Each size's reads and /healthz, all servers up at once, the sizes in short slices in
    turn (``per_slice`` rounds of one request of each read and one /healthz, then the next
    size's: ``alternate_slices``), so every size's p95 comes from the same seconds and the
    quotient between sizes carries no drift of the machine."""
    conns: list[Connection] = []
    groups: list[list[Any]] = []
    keys: list[list[str]] = []

    try:
        for port, reads in servers.values():
            targets = [(read.key, read.path, headers) for read in reads]
            targets.append((HEALTHZ, "/healthz", {}))
            group = []
            for _, path, sent in targets:
                conns.append(await Connection.open(HOST, port))
                group.append(get_probe(conns[-1], path, sent))
            groups.append(group)
            keys.append([key for key, _, _ in targets])
        samples = await alternate_slices(groups, bound, per_slice)
    finally:
        for conn in conns:
            await conn.close()
    return {
        size: {key: Summary.of(times) for key, times in zip(names, found, strict=True)}
        for size, names, found in zip(servers, keys, samples, strict=True)
    }


def read_figures(
    size: int, reads: Sequence[Read], summaries: Mapping[str, Summary], *, judged: bool
) -> list[Figure]:
    """Each read's p95 (the budget where ``judged``) and its ratio to /healthz's p95."""
    name = label(size)
    health = summaries[HEALTHZ].p95
    figures = [
        Figure(
            f"reads.{size}.healthz.p95_ms", f"GET /healthz p95 (same server, {name})", health, "ms"
        )
    ]
    for read in reads:
        p95 = summaries[read.key].p95
        figures.append(
            Figure(
                f"reads.{size}.{read.key}.p95_ms",
                f"{read.label} p95 at {name}",
                p95,
                "ms",
                budget(BUDGET_MS) if judged else None,
            )
        )
        figures.append(
            Figure(
                f"reads.{size}.{read.key}.healthz_ratio",
                f"{read.label} p95 / healthz p95 at {name}",
                p95 / health if health else None,
                "x",
                goal(HEALTHZ_RATIO_GOAL),
            )
        )
    return figures


def flat_figures(reads: Sequence[Read], p95s: Mapping[int, Mapping[str, float]]) -> list[Figure]:
    """Each read's p95 at the largest size over its p95 at the smallest (goal <= 1.5x), and
    the same for its ratio to /healthz when /healthz was measured: each size's read over
    its own server's /healthz in the same rounds (what is left is a difference between the
    two servers' processes; the plain quotient, the sizes measured in the same rounds,
    carries no drift of the machine either)."""
    smallest, largest = min(p95s), max(p95s)
    small, large = p95s[smallest], p95s[largest]
    figures: list[Figure] = []
    for read in reads:
        figures.append(
            Figure(
                f"reads.{read.key}.flatness",
                f"{read.label} flat: p95 at {label(largest)} / p95 at {label(smallest)}",
                large[read.key] / small[read.key],
                "x",
                goal(FLAT_GOAL),
            )
        )
        if HEALTHZ in small and HEALTHZ in large:
            figures.append(
                Figure(
                    f"reads.{read.key}.flatness_vs_healthz",
                    f"{read.label} flat against /healthz: (p95 / healthz p95) at "
                    f"{label(largest)} / at {label(smallest)}",
                    (large[read.key] / large[HEALTHZ]) / (small[read.key] / small[HEALTHZ]),
                    "x",
                    goal(FLAT_GOAL),
                )
            )
    return figures


async def run(plan: Plan) -> Section:
    section = Section("7 reads")
    creds = Credentials()
    stores = {size: await cached_store(size) for size in plan.funnel_sizes}
    load: dict[int, Slices] = {}
    planned: dict[int, tuple[int, list[Read]]] = {}
    chosen: dict[int, dict[str, Any]] = {}
    hours = {size: store.window_hours() for size, store in stores.items()}
    async with Fleet() as fleet:
        for size, store in stores.items():
            ops = await fleet.ops(creds, store.path)
            reads, chosen[size] = await plan_reads(ops.port, creds.bearer, hours[size])
            if plan.read_keys:
                unknown = set(plan.read_keys) - {read.key for read in reads}
                if unknown:
                    raise ServiceError(f"--reads: no read {', '.join(sorted(unknown))}")
                reads = [read for read in reads if read.key in plan.read_keys]
            planned[size] = (ops.port, reads)
        summaries = await measure_sizes(planned, creds.bearer, plan.reads)
        port, reads = planned[plan.largest]
        targets = [Target(r.key, r.path, creds.bearer) for r in reads if r.load]
        targets.append(Target(HEALTHZ, "/healthz", {}))
        for connections in CONNECTIONS:
            load[connections] = await rates(
                port, targets, connections, plan.load_seconds, plan.load_turns
            )
    for size, store in stores.items():
        reads = planned[size][1]
        judged = size == plan.largest
        section.add(*read_figures(size, reads, summaries[size], judged=judged))
        if judged:
            for connections, slices in load.items():
                section.add(*load_figures("reads", label(size), connections, slices))
        section.details[str(size)] = {
            "events": store.events,
            "sessions": store.sessions,
            "window_hours": hours[size],
            **chosen[size],
            "paths": {read.key: read.path for read in reads},
            "latency": {key: summary.as_dict() for key, summary in summaries[size].items()},
            "load": {str(c): s.as_dict() for c, s in load.items()} if judged else {},
        }
    p95s = {
        size: {key: summary.p95 for key, summary in found.items()}
        for size, found in summaries.items()
    }
    section.add(*flat_figures(planned[plan.largest][1], p95s))
    return section
