"""The alert rules (deploy/prometheus/onboarding-rules.yml) read metrics that exist."""

from __future__ import annotations

import re
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # PyYAML ships no types; schemathesis brings it

from tests.ops.conftest import AUTH, Ops

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "onboarding-rules.yml"
DOCS = ROOT / "docs" / "observability.md"
METRIC = re.compile(r"\b((?:ops|portal)_[a-z_]+)")


def rule_metrics() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {
        name for group in groups for rule in group["rules"] for name in METRIC.findall(rule["expr"])
    }


async def test_every_ops_metric_a_rule_reads_is_served(ops: Ops) -> None:
    names = rule_metrics()
    assert "ops_onboarding_failures" in names
    text = (await ops.client.get("/metrics", headers=AUTH)).text
    served = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    served |= {f"{name}_total" for name in served}
    assert sorted(n for n in names if n.startswith("ops_") and n not in served) == []


def test_every_metric_and_alert_is_documented() -> None:
    docs = DOCS.read_text()
    for name in rule_metrics():
        assert f"`{name}`" in docs, name
    groups = yaml.safe_load(RULES.read_text())["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        assert f"### {rule['alert']}" in docs, rule["alert"]
        assert rule["annotations"]["runbook_url"].endswith("#" + rule["alert"].lower())
        assert {"summary", "description", "desk_url"} <= set(rule["annotations"])
