"""python -m bench --check end to end, with stand-in benchmarks (the real ones are slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.__main__ import Benchmark, main
from bench.budgets import Figure, Section, budget
from bench.plan import Plan


def funnel_reporting(p95_ms: float) -> Benchmark:
    async def run(plan: Plan) -> Section:
        assert plan.name == "check"
        figure = Figure(
            f"funnel.{plan.largest}.p95_ms", "funnel p95 at 100k", p95_ms, "ms", budget(500)
        )
        return Section("1 funnel", [figure], {"events": plan.largest})

    return run


async def crashing(plan: Plan) -> Section:
    raise RuntimeError("ops exited with 2 at start-up")


def test_a_slowed_funnel_fails_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.json"
    code = main(["--check", "--out", str(out)], {"funnel": funnel_reporting(731.0)})
    assert code == 1
    captured = capsys.readouterr()
    assert "funnel p95 at 100k = 731 ms (budget < 500 ms)" in captured.err
    assert "BUDGET MISSED" in captured.out  # the table says it too
    saved = json.loads(out.read_text())
    assert saved["plan"] == "check"
    assert saved["machine"]["cores"] >= 1
    assert saved["machine"]["sqlite"]
    [figure] = saved["sections"][0]["figures"]
    assert (figure["value"], figure["status"]) == (731.0, "BUDGET MISSED")


def test_a_fast_funnel_passes_check(tmp_path: Path) -> None:
    code = main(["--check", "--out", str(tmp_path / "r.json")], {"funnel": funnel_reporting(40)})
    assert code == 0


def test_a_crash_fails_check_and_the_others_still_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    benchmarks = {"push": crashing, "funnel": funnel_reporting(40)}
    code = main(["--check", "--out", str(tmp_path / "r.json")], benchmarks)
    assert code == 1
    captured = capsys.readouterr()
    assert "BENCHMARK FAILED: push: RuntimeError: ops exited with 2 at start-up" in captured.err
    assert "funnel p95 at 100k" in captured.out


def test_the_full_run_reports_a_miss_without_failing(tmp_path: Path) -> None:
    code = main(["--out", str(tmp_path / "r.json")], {"funnel": funnel_reporting(731.0)})
    assert code == 0


def test_reads_names_the_reads_benchmark_7_measures(tmp_path: Path) -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []

    async def reads(plan: Plan) -> Section:
        seen.append((plan.name, plan.read_keys))
        return Section("7 reads")

    argv = ["--check", "--reads", "breakdown", "breakdown_trend72", "--out"]
    assert main([*argv, str(tmp_path / "r.json")], {"reads": reads}) == 0
    assert main(["--out", str(tmp_path / "s.json")], {"reads": reads}) == 0
    assert seen == [("check", ("breakdown", "breakdown_trend72")), ("full", ())]
