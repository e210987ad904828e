"""The outbox dispatcher's own thread (vm112_portal/outbox/dispatcher.py): its work is off the
wizard's event loop, a commit wakes it at once, a batch keeps each session's order and
writes its marks together, a stop in the middle of a batch loses and repeats nothing, and
a delivery waits (a little) while the Portal is handling a request."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.portal.conftest import FakeOps, Portal, make_settings, running_portal
from tests.support import peek
from tests.support.apps import portal_process
from tests.support.poll import wait_until
from tests.support.runner import HOST, free_port
from vm112_portal.db import Database
from vm112_portal.outbox.books import Books, Mark
from vm112_portal.outbox.dispatcher import YIELD_MAX, Dispatcher
from vm112_portal.outbox.in_flight import InFlight
from vm112_portal.outbox.ops_webhook import emit_event

THREAD = "portal-outbox-dispatcher"


async def queue(db_path: Path, events: list[tuple[str, str]]) -> None:
    """Queue (session, domain) events before any dispatcher runs: one batch holds them."""
    db = Database(db_path)
    await db.open()
    try:
        for session_id, domain in events:
            async with db.transaction() as tx:
                await emit_event(
                    tx, "domain.validated", {"session_id": session_id, "domain": domain}
                )
    finally:
        await db.close()


def sent(fake: FakeOps) -> list[str]:
    """(session, domain) of every request Ops received, in order."""
    return [f"{r['data']['session_id']}:{r['data']['domain']}" for r in fake.received]


async def test_signing_and_bookkeeping_run_on_the_dispatchers_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: dict[str, set[str]] = {"sign": set(), "due": set(), "record": set()}
    sign, due, record = Dispatcher.sign, Books.due, Books.record

    def spy_sign(self: Dispatcher, *args: Any) -> dict[str, str]:
        threads["sign"].add(threading.current_thread().name)
        return sign(self, *args)

    def spy_due(self: Books, *args: Any) -> Any:
        threads["due"].add(threading.current_thread().name)
        return due(self, *args)

    def spy_record(self: Books, marks: Any) -> None:
        threads["record"].add(threading.current_thread().name)
        record(self, marks)

    monkeypatch.setattr(Dispatcher, "sign", spy_sign)
    monkeypatch.setattr(Books, "due", spy_due)
    monkeypatch.setattr(Books, "record", spy_record)
    async with running_portal(make_settings(tmp_path)) as portal:
        assert [r.status_code for r in await portal.wizard("t1", "example.pt")] == [200] * 3
        await wait_until(portal.drained)
    assert threads == {"sign": {THREAD}, "due": {THREAD}, "record": {THREAD}}
    assert threading.current_thread().name != THREAD
    assert len(portal.ops.stored) == 6


async def test_a_commit_wakes_the_sleeping_dispatcher_at_once(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, outbox_poll=30.0)  # only a wake-up can be quick
    async with running_portal(settings) as portal:
        for session_id in ("w1", "w2"):
            await asyncio.sleep(0.3)  # the dispatcher is asleep, waiting for its poll
            started = time.monotonic()
            assert (await portal.validate(session_id, f"{session_id}.pt")).status_code == 200
            await wait_until(portal.drained, timeout=3)
            assert time.monotonic() - started < 2.0
    assert len(portal.ops.stored) == 4


class FailFirst:
    """Ops answering 503 to the first attempt of one session's first event."""

    def __init__(self, fake: FakeOps, session_id: str) -> None:
        self.fake = fake
        self.session_id = session_id
        self.failed = False

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.failed and f'"session_id":"{self.session_id}"'.encode() in request.content:
            self.failed = True
            self.fake.responses.append(503)
        return await self.fake(request)


async def test_a_batch_keeps_each_sessions_order_and_writes_its_marks_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [(s, f"{s}{n}.pt") for n in (1, 2, 3) for s in ("a", "b", "c")]
    await queue(tmp_path / "portal.db", events)
    batches: list[list[str]] = []
    record = Books.record

    def spy(self: Books, marks: list[Mark]) -> None:
        batches.append([mark.query for mark in marks])
        record(self, marks)

    monkeypatch.setattr(Books, "record", spy)
    fake = FakeOps()
    transport = httpx.MockTransport(FailFirst(fake, "b"))
    async with running_portal(make_settings(tmp_path), fake, transport=transport) as portal:
        await wait_until(portal.drained)
    # b1 failed: b2 and b3 waited for its retry; a and c went on in the same batch.
    assert sent(fake) == [
        "a:a1.pt",
        "b:b1.pt",
        "c:c1.pt",
        "a:a2.pt",
        "c:c2.pt",
        "a:a3.pt",
        "c:c3.pt",
        "b:b1.pt",
        "b:b2.pt",
        "b:b3.pt",
    ]
    assert [status for _, status in fake.attempts] == [202, 503, *[202] * 8]
    assert batches == [
        ["mark_delivered", "schedule_retry", *["mark_delivered"] * 5],
        ["mark_delivered"] * 3,
    ]
    rows = peek.outbox(tmp_path / "portal.db")
    assert [row["state"] for row in rows] == ["delivered"] * 9
    assert [row["attempts"] for row in rows] == [1, 2, 1, 1, 1, 1, 1, 1, 1]


class AnswerThenHang:
    """Ops answering the first ``answered`` requests, then hanging until cancelled."""

    def __init__(self, fake: FakeOps, answered: int) -> None:
        self.fake = fake
        self.answered = answered
        self.calls = 0
        self.hanging = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls > self.answered:
            self.hanging.set()
            await asyncio.Event().wait()
        return await self.fake(request)


async def test_a_stop_in_the_middle_of_a_batch_loses_and_repeats_nothing(tmp_path: Path) -> None:
    await queue(tmp_path / "portal.db", [(f"s{n}", f"s{n}.pt") for n in range(5)])
    first = FakeOps()
    ops = AnswerThenHang(first, answered=2)
    settings = make_settings(tmp_path, ops_timeout=30.0)
    async with running_portal(settings, first, transport=httpx.MockTransport(ops)) as portal:
        await asyncio.wait_for(ops.hanging.wait(), timeout=5)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 2.0  # the hanging attempt was abandoned, not awaited
    rows = peek.outbox(tmp_path / "portal.db")
    # The two answers were recorded at the stop; the abandoned attempt is not counted.
    assert [row["state"] for row in rows] == ["delivered"] * 2 + ["pending"] * 3
    assert [row["attempts"] for row in rows] == [1, 1, 0, 0, 0]
    second = FakeOps()
    async with running_portal(settings, second) as portal:
        await wait_until(portal.drained)
    assert sent(first) == ["s0:s0.pt", "s1:s1.pt"]
    assert sent(second) == ["s2:s2.pt", "s3:s3.pt", "s4:s4.pt"]


class Clocked(FakeOps):
    """A FakeOps noting when each request arrived (time.monotonic())."""

    def __init__(self) -> None:
        super().__init__()
        self.at: list[float] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.at.append(time.monotonic())
        return await super().__call__(request)


async def test_a_delivery_waits_while_a_request_is_in_flight_but_not_for_long(
    tmp_path: Path,
) -> None:
    ops = Clocked()
    # Every sandbox Carbonio call takes 0.6 s: account/create stays in flight for seconds.
    settings = make_settings(tmp_path, sandbox_carbonio_latency_ms=600)
    async with running_portal(settings, ops) as portal:
        assert (await portal.validate("busy", "busy.pt")).status_code == 200
        assert (await portal.dns("busy", "busy.pt")).status_code == 200
        await wait_until(portal.drained)
        account = asyncio.create_task(portal.account("busy", "busy.pt"))
        await asyncio.sleep(0.2)  # the request is in flight, waiting on Carbonio
        db: Database = portal.app.state.portal.db
        async with db.transaction() as tx:
            await emit_event(tx, "domain.validated", {"session_id": "other", "domain": "o.pt"})
        committed = time.monotonic()
        await wait_until(lambda: len(ops.stored) == 4)
        delivered = ops.at[-1]
        in_flight_then = not account.done()
        assert (await account).status_code == 200
        await wait_until(portal.drained)
    assert delivered - committed >= YIELD_MAX - 0.05  # it waited for a quiet moment...
    assert in_flight_then  # ...but went before the request ended
    assert len(ops.stored) == 7


async def test_sigterm_stops_the_portal_promptly_with_an_attempt_hanging(tmp_path: Path) -> None:
    """A real Portal process, its dispatcher waiting on an Ops that accepted the connection
    and never answers (timeout 30 s): SIGTERM stops it within seconds, rows still pending."""
    db_path = tmp_path / "portal.db"
    await queue(db_path, [(f"h{n}", f"h{n}.pt") for n in range(3)])
    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(hang, HOST, 0)
    ops_port = server.sockets[0].getsockname()[1]
    log = tmp_path / "portal.log"
    portal = portal_process(db_path, free_port(), ops_port, log, PORTAL_OPS_TIMEOUT="30")
    try:
        portal.start()
        await asyncio.wait_for(accepted.wait(), timeout=30)
        started = time.monotonic()
        await asyncio.to_thread(portal.stop)  # SIGTERM; SIGKILL only after 10 s
        elapsed = time.monotonic() - started
        assert portal.popen is not None
        code = portal.popen.returncode
    finally:
        await asyncio.to_thread(portal.stop)
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()
    assert code in (0, -signal.SIGTERM), log.read_text()[-2000:]
    assert elapsed < 5.0
    rows = peek.outbox(db_path)
    assert [(row["state"], row["attempts"]) for row in rows] == [("pending", 0)] * 3
    assert "Traceback" not in log.read_text()


async def test_an_event_committed_during_a_batch_goes_in_the_next_round(tmp_path: Path) -> None:
    """No wake-up is sent while a batch is being sent; the round after it reads anyway."""
    fake = FakeOps()
    slow_once = asyncio.Event()

    async def slow_first(request: httpx.Request) -> httpx.Response:
        if not slow_once.is_set():
            slow_once.set()
            await asyncio.sleep(0.2)  # the batch is in flight meanwhile (timeout: 0.5 s)
        return await fake(request)

    settings = make_settings(tmp_path, outbox_poll=30.0)  # only a read can find it quickly
    transport = httpx.MockTransport(slow_first)
    async with running_portal(settings, fake, transport=transport) as portal:
        db: Database = portal.app.state.portal.db
        async with db.transaction() as tx:
            await emit_event(tx, "domain.validated", {"session_id": "first", "domain": "f.pt"})
        await asyncio.wait_for(slow_once.wait(), timeout=5)
        async with db.transaction() as tx:
            await emit_event(tx, "domain.validated", {"session_id": "later", "domain": "l.pt"})
        started = time.monotonic()
        await wait_until(portal.drained, timeout=5)
        assert time.monotonic() - started < 3.0
    assert sent(fake) == ["first:f.pt", "later:l.pt"]


class Unreachable:
    """Ops whose port refuses connections while ``down``; then the FakeOps answers.
    Counts the connection attempts made while down."""

    def __init__(self, fake: FakeOps) -> None:
        self.fake = fake
        self.down = True
        self.refused = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        return await self.fake(request)


def count_calls(monkeypatch: pytest.MonkeyPatch, cls: Any, name: str) -> list[Any]:
    """Every call of ``cls.name`` (its arguments after self), in order."""
    calls: list[Any] = []
    original = getattr(cls, name)

    def spy(self: Any, *args: Any) -> Any:
        calls.append(args)
        return original(self, *args)

    monkeypatch.setattr(cls, name, spy)
    return calls


async def test_ops_down_costs_one_probe_per_backoff_not_an_attempt_per_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connection refused is about Ops, not the event: the dispatcher backs off Ops as a
    whole. Wizard commits meanwhile cause no attempt, no read and no bookkeeping write;
    once Ops is back every queued event is delivered exactly once within the bound."""
    reads = count_calls(monkeypatch, Books, "due")
    writes = count_calls(monkeypatch, Books, "record")
    wakeups = count_calls(monkeypatch, Dispatcher, "_woken")
    fake = FakeOps()
    ops = Unreachable(fake)
    # The first failure backs Ops off for 1-2 s (equal jitter of 2 s).
    settings = make_settings(tmp_path, backoff_base=2.0, backoff_max=2.0, outbox_poll=0.05)
    async with running_portal(settings, fake, transport=httpx.MockTransport(ops)) as portal:
        db: Database = portal.app.state.portal.db
        for n in range(20):
            async with db.transaction() as tx:
                await emit_event(tx, "domain.validated", {"session_id": f"d{n}", "domain": "d.pt"})
            await asyncio.sleep(0.02)  # each commit wakes the dispatcher (~0.45 s in all)
        refused, read, written = ops.refused, len(reads), [m for (b,) in writes for m in b]
        woken = len(wakeups)
        rows = portal.outbox()
        health = (await portal.health())["outbox"]
        ops.down = False
        back = time.monotonic()
        await wait_until(portal.drained, timeout=10)
        resumed = time.monotonic() - back
        # Ops is up again: a commit is delivered at once, not after a backoff.
        async with db.transaction() as tx:
            await emit_event(tx, "domain.validated", {"session_id": "after", "domain": "a.pt"})
        committed = time.monotonic()
        await wait_until(portal.drained, timeout=5)
        prompt = time.monotonic() - committed
    assert refused == 1  # one probe, not one attempt per commit
    assert read == 2  # at start, and the one that found the first event; none backed off
    assert woken == 1  # the first commit's; the wizard's thread sends none while backed off
    assert [mark.query for mark in written] == ["schedule_retry"]
    assert [row["attempts"] for row in rows] == [1] + [0] * 19
    assert rows[0]["last_error"] == "Ops unreachable: ConnectError [Errno 111] Connection refused"
    assert health["last_error"] == {
        "event_type": "domain.validated",
        "status": None,
        "error": "Ops unreachable: ConnectError",
    }
    # Bound: the next probe is at most backoff_max after the failure, then one batch.
    assert resumed < settings.backoff_max + 1.0
    assert sorted(fake.stored) == sorted(row["webhook_id"] for row in portal.outbox())
    assert len(fake.received) == len(fake.stored) == 21  # each exactly once
    assert prompt < 0.5


async def test_a_hanging_ops_holds_one_attempt_per_backoff(tmp_path: Path) -> None:
    """A timeout is about Ops too: after one attempt timed out, the next sessions are not
    tried one after another (each holding a connection until its timeout)."""
    await queue(tmp_path / "portal.db", [(f"h{n}", f"h{n}.pt") for n in range(5)])
    fake = FakeOps(hang=True)
    sent_at: list[float] = []

    async def counted(request: httpx.Request) -> httpx.Response:
        sent_at.append(time.monotonic())
        return await fake(request)

    settings = make_settings(tmp_path, ops_timeout=0.2, backoff_base=2.0, backoff_max=2.0)
    async with running_portal(settings, fake, transport=httpx.MockTransport(counted)) as portal:
        started = time.monotonic()
        await asyncio.sleep(1.0)  # one timeout (0.2 s), then 1-2 s of backoff
        tried = len(sent_at)
        rows = portal.outbox()
        fake.hang = False
        await wait_until(portal.drained, timeout=10)
    assert tried == 1, [round(at - started, 2) for at in sent_at]
    assert [row["attempts"] for row in rows] == [1, 0, 0, 0, 0]
    assert rows[0]["last_error"] == "Ops unreachable: TimeoutError"  # the attempt's bound
    assert len(fake.stored) == 5


async def test_a_batchs_marks_wait_for_a_request_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marks' transaction takes the database's write lock: it waits, like an attempt,
    until no request is in flight (a wizard transaction finding the lock taken sleeps in
    SQLite's busy handler), within the batch's yield."""
    recorded: list[float] = []
    record = Books.record

    def spy(self: Books, marks: list[Mark]) -> None:
        recorded.append(time.monotonic())
        record(self, marks)

    monkeypatch.setattr(Books, "record", spy)
    entered = asyncio.Event()
    enter = InFlight.enter

    def spy_enter(self: InFlight) -> None:
        enter(self)
        entered.set()

    monkeypatch.setattr(InFlight, "enter", spy_enter)
    fake = FakeOps()
    requests: list[asyncio.Task[httpx.Response]] = []
    answered: list[float] = []
    portal_box: list[Portal] = []

    async def ops(request: httpx.Request) -> httpx.Response:
        if b'"session_id":"lone"' in request.content:
            # A wizard request arrives while the attempt is in flight; Ops answers first.
            task = asyncio.create_task(portal_box[0].validate("q", "q.pt"))
            task.add_done_callback(lambda _: answered.append(time.monotonic()))
            requests.append(task)
            await asyncio.wait_for(entered.wait(), timeout=5)  # the request is in flight
        return await fake(request)

    settings = make_settings(tmp_path, outbox_poll=30.0)
    async with running_portal(settings, fake, transport=httpx.MockTransport(ops)) as portal:
        portal_box.append(portal)
        db: Database = portal.app.state.portal.db
        async with db.transaction() as tx:
            await emit_event(tx, "domain.validated", {"session_id": "lone", "domain": "l.pt"})
        await wait_until(lambda: len(requests) == 1)
        assert (await requests[0]).status_code == 200
        await wait_until(portal.drained)
    assert recorded[0] > answered[0]  # not while the request was in flight...
    assert recorded[0] - answered[0] < YIELD_MAX  # ...but right after it
