"""The table printed at the end of a run (also pasted into bench/README.md) and the JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.budgets import Section


def table(sections: Sequence[Section]) -> str:
    """A Markdown table: benchmark, figure, value, limit, verdict."""
    rows = [("benchmark", "figure", "value", "budget / goal", "verdict")]
    for section in sections:
        if section.error:
            rows.append((section.name, "(crashed)", "-", "", f"FAILED: {section.error}"))
        for figure in section.figures:
            limit = figure.limit.describe(figure.unit) if figure.limit else ""
            verdict = figure.status
            if figure.pending:
                verdict = f"PENDING: {figure.pending}"
            elif figure.note and figure.status not in ("", "met"):
                verdict = f"{verdict} ({figure.note})"
            elif figure.note:
                verdict = f"{verdict} {figure.note}".strip()
            rows.append((section.name, figure.label, figure.shown(), limit, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = []
    for number, row in enumerate(rows):
        cells = [cell.replace("|", "/").ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
        if number == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def document(
    plan: str, machine: dict[str, Any], sections: Sequence[Section], seconds: float
) -> dict[str, Any]:
    return {
        "plan": plan,
        "machine": machine,
        "duration_seconds": round(seconds, 1),
        "sections": [
            {
                "name": section.name,
                "error": section.error,
                "figures": [figure.as_dict() for figure in section.figures],
                "details": section.details,
            }
            for section in sections
        ],
    }


def write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
