"""python -m bench [--check] [--only NAME ...] [--reads KEY ...] [--out PATH]

Runs the benchmarks, prints the table, writes the JSON (bench/results.json by default).
With --check (the quick form CI runs): smaller stores and loops, and exit code 1 with
each missed budget's figure and limit when any budget is missed or a benchmark crashed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path

from bench import desk, emission, funnel, ingest, memory, push, reads
from bench.budgets import Section, failures
from bench.machine import facts
from bench.plan import CHECK, FULL, Plan
from bench.report import document, table, write

Benchmark = Callable[[Plan], Awaitable[Section]]
BENCHMARKS: dict[str, Benchmark] = {
    "funnel": funnel.run,
    "desk": desk.run,
    "emission": emission.run,
    "ingest": ingest.run,
    "push": push.run,
    "memory": memory.run,
    "reads": reads.run,
}
DEFAULT_OUT = Path(__file__).resolve().parent / "results.json"


def parse_args(argv: Sequence[str], names: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[2])
    parser.add_argument("--check", action="store_true", help="quick form; fail on a budget")
    parser.add_argument("--only", nargs="+", choices=names, help="run only these benchmarks")
    parser.add_argument(
        "--reads", nargs="+", default=(), help="benchmark 7: measure only these reads (keys)"
    )
    parser.add_argument("--out", type=Path, default=None, help="where to write the JSON")
    return parser.parse_args(list(argv))


async def run_all(plan: Plan, benchmarks: dict[str, Benchmark]) -> list[Section]:
    sections = []
    for name, benchmark in benchmarks.items():
        print(f"bench: {name} ({plan.name})...", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            section = await benchmark(plan)
        except Exception as exc:  # report it, go on with the others, fail the run
            traceback.print_exc(file=sys.stderr)
            section = Section(name, error=f"{type(exc).__name__}: {exc}".splitlines()[0])
        section.details["seconds"] = round(time.monotonic() - started, 1)
        print(f"bench: {name} done in {section.details['seconds']} s", file=sys.stderr)
        sections.append(section)
    return sections


def main(argv: Sequence[str], benchmarks: dict[str, Benchmark] | None = None) -> int:
    benchmarks = BENCHMARKS if benchmarks is None else benchmarks
    args = parse_args(argv, list(benchmarks))
    plan = replace(CHECK if args.check else FULL, read_keys=tuple(args.reads))
    chosen = {name: b for name, b in benchmarks.items() if not args.only or name in args.only}
    machine = facts()
    started = time.monotonic()
    sections = asyncio.run(run_all(plan, chosen))
    seconds = time.monotonic() - started
    out = args.out or DEFAULT_OUT.with_name(
        "results.json" if plan is FULL else "results-check.json"
    )
    write(out, document(plan.name, machine, sections, seconds))
    print(table(sections))
    print(
        f"\n{plan.name} run: {seconds:.0f} s on {machine['cores']} cores, Python "
        f"{machine['python']}, SQLite {machine['sqlite']}; JSON in {out}"
    )
    missed = failures(sections)
    if args.check and missed:
        print("\nbench --check FAILED:", file=sys.stderr)
        for line in missed:
            print(f"  {line}", file=sys.stderr)
        return 1
    for line in missed:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
