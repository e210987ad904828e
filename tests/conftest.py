"""Fixtures for every suite: Debian's Chromium driven by Playwright, for the Desk's
browser tests (never skipped: scripts/test installs Chromium when it is missing).

Test tiers: ``pytest_collection_modifyitems`` marks each test ``browser``, ``process``
or ``slow`` from its path (``TIERS``) so ``./scripts/test --quick`` can leave them out
(``-m "not browser and not process and not slow"``). A test that asks for the
``browser`` fixture is marked ``browser`` wherever it lives. A test without the
``process`` or ``browser`` mark that starts a subprocess or listens on a socket fails
(``_tier_guard``), so the quick tier cannot quietly grow servers and processes.
"""

from __future__ import annotations

import platform
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.async_api import Browser, async_playwright

from tests.support.browser import ARGS, CHROMIUM

BROWSER, PROCESS, SLOW = "browser", "process", "slow"
# platform.processor() runs `uname -p` once and keeps the answer: run it here, before
# any test, so the guard never blames whichever test happens to ask first.
platform.processor()

# Where each mark applies: a folder (ends in /), a file (ends in .py) or one test
# ("file.py::name", its parametrized cases included). Process: a real server process,
# uvicorn or another server listening on a loopback socket, or a subprocess. Slow: about
# 3 s or more on its own on the 2-core development machine (measured with --durations).
TIERS: dict[str, tuple[str, ...]] = {
    "tests/alerting/": (PROCESS, SLOW),  # real Prometheus and Alertmanager
    "tests/deploy/": (PROCESS, SLOW),  # nginx, systemd-analyze, the services from units
    "tests/reliability/": (PROCESS,),  # real Ops and Portal processes under faults
    "tests/reliability/test_desk_browser.py": (BROWSER, SLOW),
    "tests/reliability/test_fuzz.py": (SLOW,),
    "tests/reliability/test_ops_faults.py": (SLOW,),
    "tests/reliability/test_recovery.py": (SLOW,),
    "tests/reliability/test_schemathesis.py": (SLOW,),
    "tests/reliability/test_security.py": (SLOW,),
    "tests/reliability/test_soak.py": (SLOW,),
    "tests/reliability/test_storm.py": (SLOW,),
    "tests/security/test_nginx_limits.py": (PROCESS,),
    "tests/security/test_portal_budgets.py": (PROCESS,),
    "tests/security/test_portal_server.py": (PROCESS,),
    "tests/bench/test_funnel.py": (PROCESS,),  # the slow stand-in Ops on a socket
    "tests/bench/test_reads.py": (PROCESS,),
    "tests/bench/test_wire.py::test_a_chunked_reply_is_joined": (PROCESS,),
    "tests/bench/test_wire.py::test_an_event_stream_yields_messages_then_ends": (PROCESS,),
    "tests/desk/test_answers_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_banner_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_layout_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_ticket_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_timeline_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_desk_sessions.py": (PROCESS,),  # Ops under uvicorn (desk/conftest.py)
    "tests/desk/test_stream.py": (PROCESS,),
    "tests/desk/test_ticket_stream.py": (PROCESS,),
    "tests/ops/test_backup.py": (PROCESS,),
    "tests/ops/test_client_gone.py": (PROCESS,),
    "tests/ops/test_durability.py::test_sigkill_loses_no_acknowledged_event": (PROCESS,),
    # Oracles over many random stores: each one takes seconds.
    "tests/ops/test_cohort.py::test_lists_and_counts_equal_an_oracle_and_the_funnel": (SLOW,),
    "tests/ops/test_cohort_answers.py::test_kept_answers_equal_a_fresh_computation": (SLOW,),
    "tests/ops/test_funnel.py::test_funnel_equals_a_brute_force_oracle_off_the_hour": (SLOW,),
    "tests/ops/test_funnel_basis.py::test_kept_answers_equal_a_fresh_computation": (SLOW,),
    "tests/ops/test_funnel_text.py::test_kept_text_equals_a_fresh_computation_at_every_boundary": (
        SLOW,
    ),
    "tests/ops/test_kept_text_clock.py": (SLOW,),
    "tests/ops/test_states.py::test_states_equal_an_oracle": (SLOW,),
    "tests/ops/test_trend.py::test_the_series_equals_an_oracle": (SLOW,),
    "tests/ops/test_layers.py::test_ops_has_no_aiosqlite": (PROCESS,),
    "tests/ops/test_logs.py": (PROCESS,),
    "tests/ops/test_main.py": (PROCESS,),
    "tests/ops/test_recovery.py::test_verify_needs_no_configuration": (PROCESS,),
    "tests/ops/test_recovery.py::test_restore_ops_refuses_before_touching_anything": (PROCESS,),
    "tests/ops/test_users.py": (PROCESS,),
    "tests/ops/test_verify_script.py": (PROCESS, SLOW),
    "tests/portal/test_backup.py::test_backup_while_the_wizard_writes_then_restore": (SLOW,),
    "tests/portal/test_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/portal/test_dispatcher.py": (PROCESS,),
    "tests/portal/test_e2e.py": (PROCESS, SLOW),
    "tests/portal/test_main.py::test_subprocess_exit_code_and_no_traceback": (PROCESS,),
    "tests/portal/test_proof_lookup.py": (PROCESS,),  # a DNS server on a loopback socket
    "tests/portal/test_provider_check.py": (PROCESS,),
    "tests/portal/test_resolvers_spf.py": (PROCESS,),  # the same
}


def in_tier(nodeid: str, where: str) -> bool:
    """Whether the test ``nodeid`` (relative to the repository) lies in ``where``."""
    if where.endswith("/"):
        return nodeid.startswith(where)
    if where.endswith(".py"):
        return nodeid.startswith(where + "::")
    return nodeid == where or nodeid.startswith(where + "[")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marks = {mark for where, ms in TIERS.items() if in_tier(item.nodeid, where) for mark in ms}
        if BROWSER in getattr(item, "fixturenames", ()):
            marks.add(BROWSER)
        for mark in sorted(marks):
            item.add_marker(mark)


@pytest.fixture(autouse=True)
def _tier_guard(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail a test outside the process and browser tiers that starts a subprocess or
    listens on a socket; what it does still happens (no hang in a server thread), and
    the failure comes at teardown with what was done."""
    node = request.node
    if node.get_closest_marker(PROCESS) or node.get_closest_marker(BROWSER):
        yield
        return
    done: list[str] = []
    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]
    listen = socket.socket.listen

    def guarded_child(self: subprocess.Popen[Any], args: Any, *rest: Any) -> Any:
        done.append(f"started a subprocess {args!r}"[:200])
        return execute_child(self, args, *rest)

    def guarded_listen(self: socket.socket, *args: Any) -> None:
        done.append(f"listened on {self.getsockname()!r}")
        listen(self, *args)

    monkeypatch.setattr(subprocess.Popen, "_execute_child", guarded_child)
    monkeypatch.setattr(socket.socket, "listen", guarded_listen)
    yield
    if done:
        pytest.fail(
            f"{node.nodeid} {done[0]} but is not marked process "
            "(add it to TIERS in tests/conftest.py)",
            pytrace=False,
        )


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()
