"""Streams follow their session (desk_sessions.py, broker.py): a stream opened with a
Desk session closes as soon as that session ends (logout, disabled, expired), against a
real uvicorn on 127.0.0.1."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.desk.harness import (
    FAST,
    TOKEN,
    OpsServer,
    SSEReader,
    login,
    open_stream,
    user_command,
)
from tests.support.signer import deliver
from vm122_ops.desk.browser_sessions import COOKIE_NAME


async def ended_within(reader: SSEReader, seconds: float) -> float:
    """Seconds until the stream ended; fails when an event arrives or it stays open."""
    start = time.monotonic()
    while True:
        try:
            item = await reader.next(within=max(0.01, seconds - (time.monotonic() - start)))
        except EOFError:
            return time.monotonic() - start
        assert item.kind in ("comment", "retry", "funnel"), f"got {item.kind} after the end"


async def test_logout_closes_the_sessions_streams_at_once(tmp_path: Path) -> None:
    # Issue 17 (8): before, a stream opened before logout still received the next event.
    server = OpsServer(db_path=tmp_path / "ops.db", config=FAST)
    await user_command(server.db_path, "add", "ana")
    await server.start()
    try:
        async with (
            httpx.AsyncClient(base_url=server.base_url, timeout=10) as browser,
            httpx.AsyncClient(
                base_url=server.base_url, headers={"authorization": f"Bearer {TOKEN}"}
            ) as program,
        ):
            await login(browser, "ana")
            _, person = await open_stream(browser)
            _, robot = await open_stream(program)
            assert (await person.next_event()).kind == "reset"
            assert (await robot.next_event()).kind == "reset"
            await browser.post("/logout", headers={"origin": server.base_url})
            assert await ended_within(person, 1.0) < 1.0
            sent = await deliver(program, "onboarding.started", "after-logout")
            # The program's stream is not the person's: it goes on.
            assert int((await robot.next_onboard()).id or 0) == sent["id"]
            await person.aclose()
            await robot.aclose()
    finally:
        await server.stop()


async def test_disabling_from_the_cli_closes_the_streams_within_the_check(tmp_path: Path) -> None:
    server = OpsServer(db_path=tmp_path / "ops.db", config=FAST, session_check_seconds=0.2)
    await user_command(server.db_path, "add", "rui")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as browser:
            await login(browser, "rui")
            _, reader = await open_stream(browser)
            assert (await reader.next_event()).kind == "reset"
            await user_command(server.db_path, "disable", "rui")
            assert await ended_within(reader, 2.0) < 2.0
            assert (await browser.get("/api/v1/desk/tickets")).status_code == 401
            await reader.aclose()
    finally:
        await server.stop()


async def test_a_stream_ends_when_its_session_expires(tmp_path: Path) -> None:
    server = OpsServer(
        db_path=tmp_path / "ops.db", config=FAST, session_lifetime=1, session_check_seconds=30
    )
    await user_command(server.db_path, "add", "ana")
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as browser:
            await login(browser, "ana")
            cookie = browser.cookies[COOKIE_NAME]
            _, reader = await open_stream(browser)
            assert (await reader.next_event()).kind == "reset"
            assert await ended_within(reader, 2.5) < 2.5
            browser.cookies.set(COOKIE_NAME, cookie)
            assert (await browser.get("/api/v1/desk/tickets")).status_code == 401
            await reader.aclose()
    finally:
        await server.stop()
