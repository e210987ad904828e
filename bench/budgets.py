"""Figures, the budgets and goals they are held to, and the verdict of a run.

A budget is the user's promise: missing one fails ``python -m bench --check``. A goal is
ours, far below the budget: a miss is named in the table and the README, never fails.
A figure whose limit cannot be judged yet (its baseline is missing from the services)
is ``pending`` with the reason: printed loudly, not a failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["budget", "goal"]


@dataclass(frozen=True, slots=True)
class Limit:
    kind: Kind
    threshold: float
    better: Literal["lower", "higher"] = "lower"

    def allows(self, value: float) -> bool:
        if self.better == "lower":
            return value < self.threshold
        return value >= self.threshold

    def describe(self, unit: str) -> str:
        sign = "<" if self.better == "lower" else ">="
        return f"{self.kind} {sign} {_number(self.threshold)}{_unit(unit)}"


def budget(threshold: float, better: Literal["lower", "higher"] = "lower") -> Limit:
    return Limit("budget", threshold, better)


def goal(threshold: float, better: Literal["lower", "higher"] = "lower") -> Limit:
    return Limit("goal", threshold, better)


@dataclass(frozen=True, slots=True)
class Figure:
    key: str  # stable id in results.json, e.g. "funnel.100000.p95_ms"
    label: str
    value: float | None  # None: not measured (see note)
    unit: str
    limit: Limit | None = None
    note: str = ""
    pending: str = ""  # why the limit cannot be judged yet

    @property
    def status(self) -> str:
        if self.limit is None:
            return ""
        if self.pending:
            return "PENDING"
        if self.value is None:
            return "NOT MEASURED"
        if self.limit.allows(self.value):
            return "met"
        return "BUDGET MISSED" if self.limit.kind == "budget" else "goal missed"

    @property
    def fails_check(self) -> bool:
        """A budget that was missed, or that should have been measured and was not."""
        return (
            self.limit is not None
            and self.limit.kind == "budget"
            and not self.pending
            and (self.value is None or not self.limit.allows(self.value))
        )

    def shown(self) -> str:
        return "-" if self.value is None else f"{_number(self.value)}{_unit(self.unit)}"

    def sentence(self) -> str:
        """One line for a failure report: the figure and the budget."""
        limit = f" ({self.limit.describe(self.unit)})" if self.limit else ""
        why = f": {self.note or self.pending}" if (self.note or self.pending) else ""
        return f"{self.status}: {self.label} = {self.shown()}{limit}{why}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "limit": None
            if self.limit is None
            else {
                "kind": self.limit.kind,
                "threshold": self.limit.threshold,
                "better": self.limit.better,
            },
            "status": self.status,
            "note": self.note,
            "pending": self.pending,
        }


@dataclass
class Section:
    """One benchmark's outcome: figures for the table, details for results.json."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    error: str = ""  # the benchmark crashed: every budget it owns counts as missed

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)


def failures(sections: Iterable[Section]) -> list[str]:
    """Sentences for everything that fails --check; empty when the run passes."""
    lines = []
    for section in sections:
        if section.error:
            lines.append(f"BENCHMARK FAILED: {section.name}: {section.error}")
        lines.extend(f"{section.name}: {f.sentence()}" for f in section.figures if f.fails_check)
    return lines


def _number(value: float) -> str:
    if abs(value) >= 100 or value == int(value):
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _unit(unit: str) -> str:
    if not unit:
        return ""
    return unit if unit in ("x", "%") else f" {unit}"
