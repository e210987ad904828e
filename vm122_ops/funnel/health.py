"""Funnel health: one read of everything /metrics and the Desk banner need, from rollups.

``read_funnel_health`` is a read function (one reader connection, one snapshot): the
recent activity of the 15 and 60 minute windows (activity.py), the active sessions by
stage and state (states.py) and the tickets by status. None of it reads webhook_events;
its cost grows with the minutes of the windows, the codes seen and the sessions active
in the last OPS_ABANDON_HOURS, never with the stored events.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass

from vm122_ops.funnel.activity import RecentActivity, WindowActivity, recent_activity
from vm122_ops.funnel.session_states import StateCounts, StateRule, StepPace, state_counts
from vm122_ops.store.sql import QUERIES
from vm122_ops.tickets.ticket import STATUSES

MAX_CODE_LABELS = 10  # codes exported by name; the rest are summed as `other`
OTHER = "other"


@dataclass(frozen=True, slots=True)
class FunnelHealth:
    activity: RecentActivity
    states: StateCounts
    tickets: dict[str, int]  # status -> tickets

    def code_labels(self) -> dict[str, str]:
        """Each failure code seen in the longest window -> its label: the MAX_CODE_LABELS
        codes with most failures in that window keep their name (ties by name), others
        `other`."""
        per_code: Counter[str] = Counter()
        for (_, code), failures in self._longest().failures.items():
            per_code[code] += failures
        return _labels(per_code)

    def refusal_labels(self) -> dict[str, str]:
        """The same for refusal codes, by refused attempts in the longest window."""
        return _labels(self._longest().refused)

    def _longest(self) -> WindowActivity:
        return max(self.activity.windows, key=lambda w: w.minutes)


def _labels(per_code: Counter[str]) -> dict[str, str]:
    ranked = sorted(per_code, key=lambda code: (-per_code[code], code))
    named = set(ranked[:MAX_CODE_LABELS])
    return {code: code if code in named else OTHER for code in ranked}


def read_funnel_health(
    conn: sqlite3.Connection,
    now_ms: int,
    rule: StateRule,
    paces: tuple[StepPace, ...] | None = None,
) -> FunnelHealth:
    """Read function (run it with ``db.read``); ``paces`` as for states.state_counts."""
    rows = conn.execute(QUERIES["tickets_by_status"])
    tickets = {str(row["status"]): int(row["tickets"]) for row in rows}
    return FunnelHealth(
        activity=recent_activity(conn, now_ms),
        states=state_counts(conn, now_ms, rule, paces),
        tickets={**dict.fromkeys(STATUSES, 0), **tickets},
    )
