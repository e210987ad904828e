"""GET /api/v1/stream against a real uvicorn on 127.0.0.1 (routes/stream.py, broker.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import httpx
import pytest
from sse_starlette import ServerSentEvent

from tests.desk.harness import FAST, Ops, SSEReader, open_stream
from tests.support.credentials import TOKEN
from tests.support.poll import wait_until
from vm122_ops.desk.broker import FunnelSnapshot, LiveEvent, StreamConfig
from vm122_ops.routes.stream import WIRE_IDS, wire


@asynccontextmanager
async def stream(
    ops: Ops, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> AsyncIterator[SSEReader]:
    response, reader = await open_stream(ops.client, params, headers)
    try:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield reader
    finally:
        await reader.aclose()


async def test_fresh_stream_sends_retry_then_reset_at_the_head(ops: Ops) -> None:
    first = await ops.post("onboarding.started", "s1")
    async with stream(ops) as reader:
        hello = await reader.next()
        assert hello.kind == "comment"
        retry = await reader.next()
        assert (retry.kind, retry.retry) == ("retry", FAST.retry_ms)
        reset = await reader.next_event()
        assert reset.kind == "reset"
        assert reset.id == str(first["id"])
        assert reset.json() == {"head": first["id"], "reason": "fresh"}


async def test_committed_event_is_pushed_with_its_session_state(ops: Ops) -> None:
    async with stream(ops) as reader:
        assert (await reader.next_event()).kind == "reset"
        await ops.post("onboarding.started", "s1", domain="loja.pt")
        created = await ops.post("account.created", "s1", domain="loja.pt", plan="pro")
        started = await reader.next_onboard()
        assert started.json()["event_type"] == "onboarding.started"
        assert started.json()["ticket_id"] is None
        event = await reader.next_onboard()
    message = event.json()
    assert event.id == str(created["id"])
    assert message["id"] == created["id"]
    assert message["session_id"] == "s1"
    assert message["domain"] == "loja.pt"
    assert message["event_type"] == "account.created"
    assert message["data"] == {"session_id": "s1", "domain": "loja.pt", "plan": "pro"}
    assert message["stage"] == "account_created"
    assert message["status"] == "active"
    assert isinstance(message["ticket_id"], int)
    assert message["occurred_at"].endswith("Z")


async def test_duplicates_are_not_announced(ops: Ops) -> None:
    async with stream(ops) as reader:
        await reader.next_event()
        first = await ops.post("onboarding.started", "s1", webhook_id="msg_dup")
        again = await ops.post("onboarding.started", "s1", webhook_id="msg_dup")
        assert again["duplicate"] is True
        marker = await ops.post("domain.validated", "s1")
        ids = [int((await reader.next_onboard()).id or 0) for _ in range(2)]
    assert ids == [first["id"], marker["id"]]
    assert ops.broker.published == 2


@pytest.mark.parametrize(
    "how",
    [pytest.param("header", id="last-event-id-header"), pytest.param("query", id="query")],
)
async def test_replay_after_last_event_id_then_live(ops: Ops, how: str) -> None:
    ids = [(await ops.post("onboarding.started", f"s{i}"))["id"] for i in range(5)]
    since = str(ids[1])
    params = {"last_event_id": since} if how == "query" else None
    headers = {"last-event-id": since} if how == "header" else None
    async with stream(ops, params, headers) as reader:
        replayed = [await reader.next_event() for _ in range(3)]
        assert [e.kind for e in replayed] == ["onboard"] * 3
        assert [int(e.id or 0) for e in replayed] == ids[2:]
        assert [e.json()["session_id"] for e in replayed] == ["s2", "s3", "s4"]
        live = await ops.post("domain.validated", "s4")
        assert int((await reader.next_onboard()).id or 0) == live["id"]


async def test_header_wins_over_query_parameter(ops: Ops) -> None:
    ids = [(await ops.post("onboarding.started", f"s{i}"))["id"] for i in range(3)]
    async with stream(
        ops, {"last_event_id": str(ids[0])}, {"last-event-id": str(ids[1])}
    ) as reader:
        assert int((await reader.next_onboard()).id or 0) == ids[2]


async def test_no_event_lost_or_repeated_across_the_switch_to_live(ops: Ops) -> None:
    """Subscribers join while events pour in; each sees every later id exactly once."""
    total = 40
    posted: list[int] = []
    done = asyncio.Event()

    async def producer() -> None:
        for i in range(total):
            posted.append((await ops.post("onboarding.started", f"p{i}"))["id"])
            if i % 4 == 0:
                await asyncio.sleep(0.01)
        done.set()

    async def subscriber(join_after: int) -> tuple[int, list[int]]:
        await wait_until(lambda: len(posted) >= join_after, timeout=10, what="posts")
        start = posted[join_after - 1]
        seen: list[int] = []
        async with stream(ops, {"last_event_id": str(start)}) as reader:
            for _ in range(total + 100):  # bounded: each turn reads or waits 0.3 s
                if done.is_set() and seen and seen[-1] == posted[-1]:
                    break
                with suppress(TimeoutError):
                    seen.append(int((await reader.next_onboard(within=0.3)).id or 0))
        return start, seen

    results = await asyncio.gather(producer(), *(subscriber(n) for n in (1, 7, 15, 29)))
    for outcome in results[1:]:
        assert outcome is not None
        start, seen = outcome
        assert seen == [i for i in posted if i > start]


@pytest.mark.parametrize(
    "stream_config", [pytest.param(dataclasses.replace(FAST, max_replay=3), id="max3")]
)
async def test_gap_too_large_sends_reset(ops: Ops) -> None:
    ids = [(await ops.post("onboarding.started", f"s{i}"))["id"] for i in range(5)]
    async with stream(ops, {"last_event_id": str(ids[0] - 1)}) as reader:
        reset = await reader.next_event()
        assert (reset.kind, reset.id) == ("reset", str(ids[-1]))
        assert reset.json()["reason"] == "gap"
        live = await ops.post("dns.applied", "s1")
        assert int((await reader.next_onboard()).id or 0) == live["id"]
    # Within the limit it replays.
    async with stream(ops, {"last_event_id": str(ids[2])}) as reader:
        replayed = [int((await reader.next_event()).id or 0) for _ in range(3)]
    assert replayed == [ids[3], ids[4], live["id"]]


async def test_unknown_last_id_resets(ops: Ops) -> None:
    await ops.post("onboarding.started", "s1")
    async with stream(ops, {"last_event_id": "999"}) as reader:
        reset = await reader.next_event()
    assert reset.kind == "reset"
    assert reset.json()["reason"] == "unknown_id"


@pytest.mark.parametrize(
    "stream_config",
    [pytest.param(dataclasses.replace(FAST, heartbeat_seconds=0.2), id="200ms")],
)
async def test_heartbeat_comment_keeps_an_idle_stream_alive(ops: Ops) -> None:
    # A filtered stream gets no funnel events, so only heartbeats follow the reset.
    async with stream(ops, {"session_id": "quiet"}) as reader:
        await reader.next_event()
        beats = []
        for _ in range(2):
            item = await reader.next(within=2)
            beats.append((item.kind, item.data))
    assert beats == [("comment", "heartbeat"), ("comment", "heartbeat")]


async def test_session_filter_only_sends_that_session(ops: Ops) -> None:
    async with stream(ops, {"session_id": "mine"}) as reader:
        assert (await reader.next_event()).kind == "reset"
        await ops.post("onboarding.started", "other")
        mine = await ops.post("onboarding.started", "mine")
        await ops.post("domain.validated", "other")
        mine2 = await ops.post("domain.validated", "mine")
        got = [await reader.next_event() for _ in range(2)]
    assert [int(e.id or 0) for e in got] == [mine["id"], mine2["id"]]
    assert {e.json()["session_id"] for e in got} == {"mine"}


async def test_ticket_filter_replays_and_pushes_that_ticket_only(ops: Ops) -> None:
    first = await ops.post("onboarding.started", "t1")
    opened = await ops.post("account.created", "t1")
    await ops.post("account.created", "t2")
    listing = (await ops.client.get("/api/v1/desk/tickets", params={"session_id": "t1"})).json()
    ticket_id = listing["tickets"][0]["id"]
    params = {"ticket_id": str(ticket_id), "last_event_id": "0"}
    async with stream(ops, params) as reader:
        replayed = [int((await reader.next_event()).id or 0) for _ in range(2)]
        # Funnel snapshots go only to unfiltered streams.
        await ops.post("infra.synced", "t2")
        later = await ops.post("infra.synced", "t1")
        live = await reader.next_event()
    assert replayed == [first["id"], opened["id"]]
    assert (live.kind, int(live.id or 0)) == ("onboard", later["id"])
    assert live.json()["ticket_id"] == ticket_id


async def test_funnel_snapshot_is_shared_and_rate_limited(ops: Ops) -> None:
    async with stream(ops) as a, stream(ops) as b, stream(ops) as c:
        for reader in (a, b, c):
            assert (await reader.next_event()).kind == "reset"
        await wait_until(lambda: ops.broker.subscriber_count == 3, what="3 subscribers")
        before = ops.broker.funnel_computations
        started = asyncio.get_running_loop().time()
        for i in range(12):
            await ops.post("onboarding.started", f"f{i}")
        await ops.post("domain.validated", "f0")
        finals = []
        for reader in (a, b, c):
            while True:
                event = await reader.next_event(within=5)
                if event.kind == "funnel" and event.json()["stages"]["domain_validated"] == 1:
                    finals.append(event.json())
                    break
        elapsed = asyncio.get_running_loop().time() - started
    assert all(f["stages"]["started"] == 12 for f in finals)
    assert finals[0] == finals[1] == finals[2]
    computed = ops.broker.funnel_computations - before
    # One computation per interval for all three subscribers, never one each per event.
    assert 1 <= computed <= elapsed / FAST.funnel_interval + 2
    assert computed < 13


async def test_subscribers_are_removed_on_disconnect(ops: Ops) -> None:
    readers = []
    for _ in range(3):
        _, reader = await open_stream(ops.client)
        readers.append(reader)
        await reader.next_event()
    assert ops.broker.subscriber_count == 3
    for reader in readers:
        await reader.aclose()
    await wait_until(lambda: ops.broker.subscriber_count == 0, timeout=5, what="unsubscribe")
    # The broker still serves a newcomer.
    async with stream(ops) as reader:
        assert (await reader.next_event()).kind == "reset"
        assert ops.broker.subscriber_count == 1


@pytest.mark.parametrize(
    "stream_config",
    [pytest.param(dataclasses.replace(FAST, queue_size=4, send_timeout=1.0), id="q4")],
)
async def test_slow_subscriber_is_disconnected_and_resumes(ops: Ops) -> None:
    # A client that stops reading, with a tiny receive buffer so the server feels it.
    slow = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
    slow.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(slow, ("127.0.0.1", ops.server.port))
        request = (
            f"GET /api/v1/stream?last_event_id=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
        )
        await loop.sock_sendall(slow, request.encode())
        async with stream(ops) as fast:
            assert (await fast.next_event()).kind == "reset"
            await wait_until(
                lambda: ops.broker.subscriber_count == 2, timeout=5, what="2 subscribers"
            )
            padding = "x" * 30_000
            sent: list[int] = []
            for i in range(120):
                sent.append((await ops.post("onboarding.started", f"b{i}", note=padding))["id"])
                if ops.broker.subscriber_count == 1:
                    break
            await wait_until(
                lambda: ops.broker.subscriber_count == 1, timeout=10, what="slow one dropped"
            )
            # The reader that keeps up got everything, in order, unharmed.
            got = [int((await fast.next_onboard()).id or 0) for _ in sent]
            assert got == sent
    finally:
        slow.close()
    await wait_until(lambda: ops.broker.subscriber_count == 0, timeout=5, what="all gone")
    # The dropped client resumes from its last id and misses nothing.
    async with stream(ops, {"last_event_id": str(sent[0])}) as reader:
        assert [int((await reader.next_onboard()).id or 0) for _ in sent[1:]] == sent[1:]


async def test_stream_needs_the_token_or_a_session(ops: Ops) -> None:
    async with httpx.AsyncClient(base_url=ops.server.base_url) as anonymous:
        response = await anonymous.get("/api/v1/stream")
    assert response.status_code == 401
    assert response.json() == {
        "ok": False,
        "error": response.json()["error"],
        "status": 401,
    }


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"last_event_id": "abc"}, id="bad-last-id"),
        pytest.param({"session_id": "no spaces"}, id="bad-session"),
        pytest.param({"ticket_id": "-1"}, id="bad-ticket"),
        pytest.param({"hours": "0"}, id="bad-hours"),
    ],
)
async def test_bad_parameters_get_400(ops: Ops, params: dict[str, str]) -> None:
    response = await ops.client.get("/api/v1/stream", params=params)
    assert response.status_code == 400
    assert response.json()["ok"] is False


def test_stream_config_defaults_follow_the_issue() -> None:
    config = StreamConfig()
    assert config.heartbeat_seconds <= 15
    assert config.funnel_interval >= 1.0


async def next_alerts(reader: SSEReader) -> dict[str, Any]:
    while True:
        event = await reader.next_event(within=5)
        if event.kind == "alerts":
            document: dict[str, Any] = event.json()
            return document


async def test_alerts_reach_every_stream_when_they_change(ops: Ops) -> None:
    async with stream(ops) as dashboard, stream(ops, {"session_id": "elsewhere"}) as page:
        for reader in (dashboard, page):
            assert (await reader.next_event()).kind == "reset"
        for index in range(5):
            await ops.post("onboarding.started", f"a{index}", domain=f"a{index}.pt")
        for index in range(3):
            await ops.post("onboarding.failed", f"a{index}", domain=f"a{index}.pt", reason="x")
        for reader in (dashboard, page):
            document = await next_alerts(reader)
            while [c["figures"]["failed"] for c in document["conditions"]] != [3]:
                document = await next_alerts(reader)
            (condition,) = document["conditions"]
            assert condition["kind"] == "failure_spike"
            assert {s["session_id"] for s in condition["sessions"]} == {"a0", "a1", "a2"}
        # A new stream hears the current alerts at once.
        async with stream(ops, {"session_id": "late"}) as late:
            assert (await late.next_event()).kind == "reset"
            assert [c["kind"] for c in (await next_alerts(late))["conditions"]] == ["failure_spike"]
        for index in range(5, 7):
            await ops.post("onboarding.started", f"a{index}")
        for reader in (dashboard, page):
            assert (await next_alerts(reader))["conditions"] == []


def test_an_items_sse_message_is_encoded_once_for_every_stream() -> None:
    """routes/stream.py ``wire``: the bytes ServerSentEvent would make, kept on the item
    (the broker offers one object to every subscriber), one per SSE id, and bounded."""
    event = LiveEvent(id=7, session_id="s1", ticket_id=None, data='{"id":7,"x":"a\\nb"}')
    first = wire(event, "onboard", "7")
    assert first == ServerSentEvent(data=event.data, event="onboard", id="7").encode()
    assert first == b'id: 7\r\nevent: onboard\r\ndata: {"id":7,"x":"a\\nb"}\r\n\r\n'
    assert wire(event, "onboard", "7") is first  # the second stream reuses it
    other = wire(event, "onboard", "7.2")  # a stream whose ticket cursor differs
    assert other == ServerSentEvent(data=event.data, event="onboard", id="7.2").encode()
    assert set(event.wire) == {"7", "7.2"}
    for n in range(10):
        assert wire(event, "onboard", f"7.{n + 10}").startswith(f"id: 7.{n + 10}\r\n".encode())
    assert len(event.wire) == WIRE_IDS
    snapshot = FunnelSnapshot(hours=24, data='{"cohort":1}')
    assert wire(snapshot, "funnel") == b'event: funnel\r\ndata: {"cohort":1}\r\n\r\n'
    assert snapshot == FunnelSnapshot(hours=24, data='{"cohort":1}')  # wire is not its value


async def test_the_stream_says_refused_in_its_funnel_and_onboard_events(ops: Ops) -> None:
    refusal = {"code": "mailbox_provider", "status": 422}
    async with stream(ops) as reader:
        assert (await reader.next_event()).kind == "reset"
        await ops.post("onboarding.started", "r1", domain="(rejected)", refusal=refusal)
        await ops.post("onboarding.started", "ok1", domain="loja.pt")
        statuses: dict[str, str] = {}
        while True:
            event = await reader.next_event(within=5)
            if event.kind == "onboard":
                statuses[event.json()["session_id"]] = event.json()["status"]
            if event.kind == "funnel" and event.json()["stages"]["started"] == 2:
                funnel = event.json()
                break
    assert statuses == {"r1": "refused", "ok1": "active"}
    assert (funnel["refused"], funnel["refused_by_code"]) == (1, {"mailbox_provider": 1})
    assert funnel["stopped"]["started"]["refused"] == 1
    assert [s["session_id"] for s in funnel["active_sessions"]] == ["ok1"]
    # Replayed (the status as it is now, read back from the store): the same.
    replayed: dict[str, str] = {}
    async with stream(ops, {"last_event_id": "0"}) as again:
        while len(replayed) < 2:
            event = await again.next_event(within=5)
            if event.kind == "onboard":
                replayed[event.json()["session_id"]] = event.json()["status"]
    assert replayed == statuses
