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
    # nginx, systemd-analyze, promtool, litestream, the services started from their units
    "tests/deploy/test_deploy.py::test_check_deploy_passes_on_the_deploy_files": (PROCESS, SLOW),
    "tests/deploy/test_deploy.py::test_check_deploy_fails_on_a_broken_file": (PROCESS, SLOW),
    "tests/deploy/test_deploy.py::test_ops_starts_from_its_unit_and_answers_healthz": (PROCESS,),
    (
        "tests/deploy/test_deploy.py::"
        "test_ops_refuses_a_newer_schema_and_the_unit_does_not_restart_it"
    ): (PROCESS,),
    "tests/deploy/test_deploy.py::test_portal_starts_from_its_unit_next_to_ops": (PROCESS, SLOW),
    "tests/deploy/test_deploy.py::test_nginx_serves_ops_over_http2_with_the_stream_unbuffered": (
        PROCESS,
        SLOW,
    ),
    "tests/deploy/test_deploy.py::test_nginx_in_front_of_the_portal_bounds_what_a_client_holds": (
        PROCESS,
        SLOW,
    ),
    "tests/deploy/test_fetch_litestream.py": (PROCESS, SLOW),
    (
        "tests/deploy/test_wheel.py::"
        "test_the_wheel_serves_pages_scripts_and_sql_from_another_folder"
    ): (PROCESS, SLOW),
    # Real Ops and Portal processes under faults, load and hostile input.
    "tests/reliability/test_bad_input.py": (PROCESS,),
    "tests/reliability/test_desk_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/reliability/test_fuzz.py": (SLOW,),  # hypothesis, in-process
    "tests/reliability/test_ops_faults.py": (PROCESS, SLOW),
    "tests/reliability/test_recovery.py": (PROCESS, SLOW),
    "tests/reliability/test_schemathesis.py": (PROCESS, SLOW),
    "tests/reliability/test_security.py": (PROCESS, SLOW),
    "tests/reliability/test_soak.py": (PROCESS, SLOW),
    "tests/reliability/test_storm.py": (PROCESS, SLOW),
    "tests/security/test_login_flood.py": (PROCESS, SLOW),  # production Argon2, floods
    "tests/security/test_nginx_limits.py": (PROCESS,),
    "tests/security/test_portal_budgets.py": (PROCESS,),
    "tests/security/test_portal_server.py": (PROCESS,),
    "tests/security/test_replay_memory.py::test_replay_refuses_a_since_older_than_what_ops_knows": (
        PROCESS,
    ),
    "tests/security/test_stream_flood.py": (PROCESS,),
    "tests/security/test_stream_flood.py::test_four_thousand_streams_of_one_cookie": (SLOW,),
    # The slow stand-in Ops on a socket.
    "tests/bench/test_funnel.py::test_a_slow_funnel_server_misses_the_budget": (PROCESS, SLOW),
    "tests/bench/test_funnel.py::test_concurrent_load_takes_turns_and_judges_the_ratio_as_a_goal": (
        PROCESS,
    ),
    "tests/bench/test_reads.py::test_a_slow_read_misses_the_budget_and_the_others_are_judged": (
        PROCESS,
        SLOW,
    ),
    "tests/bench/test_reads.py::test_concurrent_load_of_each_read_beside_healthz": (PROCESS,),
    "tests/bench/test_wire.py::test_a_chunked_reply_is_joined": (PROCESS,),
    "tests/bench/test_wire.py::test_an_event_stream_yields_messages_then_ends": (PROCESS,),
    "tests/desk/test_answers_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_banner_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_breakdown_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_layout_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_recent_tickets_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_refused_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_ticket_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_timeline_browser.py": (BROWSER, PROCESS, SLOW),
    "tests/desk/test_words_browser.py": (BROWSER, PROCESS, SLOW),
    # Ops under uvicorn on a loopback socket (tests/desk/conftest.py).
    "tests/desk/test_desk_sessions.py": (PROCESS,),
    "tests/desk/test_stream.py": (PROCESS,),
    "tests/desk/test_ticket_stream.py": (PROCESS,),
    "tests/ops/test_backup.py": (PROCESS,),
    (
        "tests/ops/test_client_gone.py::"
        "test_a_sender_that_hangs_up_mid_body_is_499_and_nothing_is_stored"
    ): (PROCESS,),
    "tests/ops/test_durability.py::test_sigkill_loses_no_acknowledged_event": (PROCESS,),
    "tests/ops/test_layers.py::test_ops_has_no_aiosqlite": (PROCESS,),
    "tests/ops/test_logs.py": (PROCESS,),
    "tests/ops/test_main.py::test_bad_configuration_exits_2_with_one_sentence": (PROCESS,),
    "tests/ops/test_main.py::test_a_newer_schema_refuses_to_start": (PROCESS,),
    "tests/ops/test_recovery.py::test_verify_needs_no_configuration": (PROCESS,),
    "tests/ops/test_recovery.py::test_restore_ops_refuses_before_touching_anything": (PROCESS,),
    "tests/ops/test_users.py::test_add_reads_the_password_from_stdin_and_stores_an_argon2id_hash": (
        PROCESS,
    ),
    "tests/ops/test_users.py::test_refusals_are_one_sentence_and_exit_code_2": (PROCESS,),
    "tests/ops/test_verify_script.py": (PROCESS, SLOW),
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
    "tests/portal/test_backup.py::test_backup_while_the_wizard_writes_then_restore": (SLOW,),
    "tests/portal/test_browser.py": (BROWSER, PROCESS, SLOW),
    (
        "tests/portal/test_dispatcher.py::"
        "test_sigterm_stops_the_portal_promptly_with_an_attempt_hanging"
    ): (PROCESS,),
    "tests/portal/test_e2e.py::test_ops_down_and_hanging_do_not_slow_the_wizard": (PROCESS,),
    "tests/portal/test_e2e.py::test_sigkilled_portal_delivers_pending_events_after_restart": (
        PROCESS,
        SLOW,
    ),
    "tests/portal/test_dkim.py::test_the_commands_run_the_check_and_print_the_manual_record": (
        PROCESS,
    ),
    "tests/portal/test_dkim.py::test_a_check_whose_lookups_failed_exits_3_and_says_so": (PROCESS,),
    "tests/portal/test_live_end_to_end.py": (PROCESS,),  # openssl, TLS servers on sockets
    "tests/portal/test_mail_check.py": (PROCESS,),  # a DNS server on a loopback socket
    "tests/portal/test_main.py::test_subprocess_exit_code_and_no_traceback": (PROCESS,),
    "tests/portal/test_proof_lookup.py": (PROCESS,),  # a DNS server on a loopback socket
    "tests/portal/test_provider_check.py": (PROCESS,),
    "tests/portal/test_provider_tls.py": (PROCESS,),  # openssl, a TLS server
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
