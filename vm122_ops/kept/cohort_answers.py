"""The drill-down answered from the funnel's kept basis: its totals from memory, its page
from one small read.

Computed whole, a drill-down page costs what grows with the sessions of the last 7 days:
the steps' paces (``session_states.step_paces`` sums 7 days of duration cells) and the
range counts over the active sessions. The funnel's basis
(vm122_ops/kept/funnel_basis.py) already holds both for the window's hours and start hour,
kept until new events commit and computed once per burst: the page takes the paces and
the ``stopped`` totals from it, so its totals are the funnel's own counts at the same
millisecond. Only the page's rows are read per request: at most ``limit + 1`` rows per
stage walked newest first on an index, so their cost grows with the page, not the events.

The rows are read in a later snapshot than the basis. They are used only when that
snapshot's newest event is the basis's (``cohort.page_items`` checks it); when an event
committed in between, the database's stamp has moved and the next basis is taken (shared with
every request waiting for it). After a second miss, under a steady stream of events, the
page is computed whole in one snapshot (``cohort.page``), as before this module.

A page's JSON is kept in the memo (vm122_ops/kept/memo.py) per (window, filter, limit,
cursor) until the database changes or the basis's next boundary
(``FunnelBasis.holds_until``): its rows are the cohort sessions of one state, stage and
cursor, which change only when a session changes state (moving -> stuck -> abandoned) or
leaves the cohort (the window's start passes its first event), and everything else on it
(the total, the next cursor, the tickets opened at ingest, the failure reasons read from
the last events' payloads) only with a commit (new events, a purge). The kept page is the
page at the millisecond it was computed (its ``generated_at``).
tests/ops/test_funnel_text.py checks the pages against ``cohort.page`` at moments around
each kind of boundary.

A breakdown group's page (``CohortFilter.group``) takes its total and which values are
the group's from the split's kept basis (vm122_ops/funnel/breakdowns.py, the one the
breakdown card reads), with the same check of the newest event and the same fallback
(``cohort.group_page``); its JSON is not kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from servicekit.envelope import ok_body
from vm122_ops.funnel import breakdowns, cohort
from vm122_ops.funnel.rollups import DurationCache, Window
from vm122_ops.funnel.session_states import StateRule, StepPace
from vm122_ops.kept.funnel_basis import kept_basis, until_boundary
from vm122_ops.kept.memo import Memo

if TYPE_CHECKING:
    from vm122_ops.store.db import Database

ATTEMPTS = 2


async def answer_page(
    db: Database,
    memo: Memo,
    cache: DurationCache,
    rule: StateRule,
    hours: int,
    now_ms: int,
    filters: cohort.CohortFilter,
    limit: int,
    before: tuple[int, str] | None = None,
) -> cohort.CohortPage:
    """The drill-down page of the window of ``hours`` ending at ``now_ms``: the same
    answer as ``cohort.page`` at that millisecond."""
    window = Window(hours=hours, now_ms=now_ms)
    span = cohort.CohortWindow(since_ms=window.since_ms, now_ms=now_ms)
    if filters.code is not None:  # its total and rows are two ranges of one index
        found: cohort.CohortPage = await db.read(cohort.code_page, span, filters, limit, before)
        return found
    if filters.group is not None:
        return await _group_page(db, memo, cache, rule, window, filters, limit, before)
    for _ in range(ATTEMPTS):
        basis = await kept_basis(db, memo, window, cache, rule)
        items_found = await db.read(
            cohort.page_items,
            span,
            basis.paces,
            rule,
            filters,
            limit,
            before,
            basis.last_event_id,
        )
        if items_found is not None:
            items, following = items_found
            started = basis.funnel(now_ms).stages["started"] if filters.state == "started" else 0
            total = cohort.filter_total(basis.stopped(now_ms), filters, started)
            return cohort.CohortPage(span, basis.last_event_id, total, items, following)
    fresh: cohort.CohortPage = await db.read(cohort.page, span, rule, filters, limit, before)
    return fresh


async def _group_page(
    db: Database,
    memo: Memo,
    cache: DurationCache,
    rule: StateRule,
    window: Window,
    filters: cohort.CohortFilter,
    limit: int,
    before: tuple[int, str] | None,
) -> cohort.CohortPage:
    """A breakdown group's page: its total and values from the split's kept basis (and
    for started, the steps' paces that say each active session's state from the funnel's),
    its rows read when the snapshot's newest event is the basis's (else, twice missed, the
    whole page in one snapshot)."""
    assert filters.group is not None
    span = cohort.CohortWindow(since_ms=window.since_ms, now_ms=window.now_ms)
    for _ in range(ATTEMPTS):
        basis = await breakdowns.kept_basis(db, memo, filters.group.dimension, window)
        members = basis.members(window.now_ms, filters.group)
        paces: tuple[StepPace, ...] = ()
        if filters.state == "started":
            funnel = await kept_basis(db, memo, window, cache, rule)
            if funnel.last_event_id != basis.last_event_id:
                continue
            paces = funnel.paces
        items_found = await db.read(
            cohort.page_items,
            span,
            paces,
            rule,
            filters,
            limit,
            before,
            basis.last_event_id,
            members,
        )
        if items_found is not None:
            items, following = items_found
            total = members.count(filters.state)
            return cohort.CohortPage(span, basis.last_event_id, total, items, following)
    fresh: cohort.CohortPage = await db.read(
        cohort.group_page, window, rule, filters, limit, before
    )
    return fresh


async def answer_page_text(
    db: Database,
    memo: Memo,
    cache: DurationCache,
    rule: StateRule,
    hours: int,
    now_ms: int,
    filters: cohort.CohortFilter,
    limit: int,
    before: tuple[int, str] | None = None,
) -> bytes:
    """``answer_page`` as the JSON the API sends, kept until the database changes or the
    basis's next boundary (see the module's docstring)."""

    async def body() -> bytes:
        found = await answer_page(db, memo, cache, rule, hours, now_ms, filters, limit, before)
        return ok_body(**found.document(hours))

    if filters.code is not None or filters.group is not None:  # read as ``answer_page`` says
        return await body()
    window = Window(hours=hours, now_ms=now_ms)
    stamp = db.data_version()
    basis = await kept_basis(db, memo, window, cache, rule, stamp)
    # Rows newer than the basis (an event committed since ``stamp``) are kept under the
    # older stamp, which no later request has: only this request's waiters share them.
    key = ("funnel page", hours, window.first_whole_hour, filters, limit, before)
    return await memo.get(key, until_boundary(stamp, basis, now_ms), body)
