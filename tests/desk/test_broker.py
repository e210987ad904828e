"""The broker on its own (vm122_ops/desk/broker.py): fan-out, filters, overflow, shared funnel."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from vm122_ops.desk.broker import Broker, FunnelSnapshot, LiveEvent, StreamConfig
from vm122_ops.funnel.rollups import Funnel, Window, build_funnel
from vm122_ops.ingest.events import Event
from vm122_ops.ingest.session_fold import fold
from vm122_ops.ingest.storing import IngestResult, stored_events
from vm122_ops.store.stored_events import StoredEvent


def result(row_id: int, session_id: str = "s", duplicate: bool = False) -> IngestResult:
    event = Event(
        event_id=f"msg_{row_id}",
        event_type="onboarding.started",
        session_id=session_id,
        domain="example.pt",
        occurred_at=1_795_953_600_000 + row_id,
        data={"session_id": session_id, "domain": "example.pt"},
        payload="{}",
    )
    return IngestResult(
        id=row_id,
        duplicate=duplicate,
        event=event,
        received_at=event.occurred_at,
        session=fold(None, event, row_id),
    )


def announced(*results: IngestResult) -> list[StoredEvent]:
    """What the app's after-commit hook hands the broker: new events, never duplicates."""
    return stored_events(results)


async def test_publish_fans_out_new_events_only_in_commit_order() -> None:
    broker = Broker(StreamConfig(queue_size=10))
    everyone = broker.subscribe()
    only_b = broker.subscribe(session_id="b")
    broker.publish(announced(result(1, "a"), result(2, "b"), result(3, "a", duplicate=True)))
    broker.publish(announced(result(4, "b")))
    got = [everyone.queue.get_nowait().id for _ in range(everyone.queue.qsize())]
    assert got == [1, 2, 4]
    assert [only_b.queue.get_nowait().id for _ in range(2)] == [2, 4]
    assert broker.published == 3


async def test_a_full_queue_drops_that_subscriber_and_frees_its_queue() -> None:
    broker = Broker(StreamConfig(queue_size=2))
    slow = broker.subscribe()
    fine = broker.subscribe(session_id="other")
    broker.publish(announced(*(result(i) for i in range(1, 4))))
    assert slow.overflowed
    assert slow.queue.empty()
    assert await slow.next() is None
    assert broker.subscriber_count == 1
    assert broker.overflows == 1
    assert not fine.overflowed


async def test_funnel_is_computed_once_per_interval_for_all_subscribers() -> None:
    calls: list[int] = []

    async def source(hours: int) -> Funnel:
        calls.append(hours)
        cells = Counter({(0, "active"): len(calls)})
        return build_funnel(Window(hours=hours, now_ms=0), cells, {}, [])

    broker = Broker(StreamConfig(funnel_interval=0.2, queue_size=100))
    broker.start(source)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        subscribers = [broker.subscribe(hours=48) for _ in range(5)]
        other = broker.subscribe(hours=24)
        for i in range(30):  # a burst of events
            broker.publish(announced(result(i + 1)))
            await asyncio.sleep(0.005)
        seen = -1
        for _ in range(100):  # settle: no new computation for a whole interval
            await asyncio.sleep(0.25)
            if len(calls) == seen:
                break
            seen = len(calls)
        intervals = (loop.time() - started) / 0.2
        # Per window and per interval, never per event or per subscriber.
        assert 2 <= len(calls) <= 2 * (intervals + 1)
        assert len(calls) < 30
        assert set(calls) == {24, 48}
        latest = subscribers[0].funnel
        assert isinstance(latest, FunnelSnapshot)
        assert '"ok"' not in latest.data
        assert all(s.funnel is latest for s in subscribers)
        assert other.funnel is not None and other.funnel.hours == 24
        # A newcomer gets the cached snapshot at once when nothing happened since.
        newcomer = broker.subscribe(hours=48)
        assert newcomer.funnel is latest
    finally:
        await broker.close()
    assert broker.subscriber_count == 0


async def test_next_prefers_events_and_ends_on_close() -> None:
    broker = Broker()
    subscriber = broker.subscribe(hours=48)
    subscriber.offer_funnel(FunnelSnapshot(hours=48, data="{}"))
    broker.publish(announced(result(7)))
    first = await subscriber.next()
    assert isinstance(first, LiveEvent) and first.id == 7
    assert isinstance(await subscriber.next(), FunnelSnapshot)
    waiter = asyncio.create_task(subscriber.next())
    await asyncio.sleep(0.01)
    broker.unsubscribe(subscriber)
    assert await asyncio.wait_for(waiter, 1) is None
    assert broker.subscriber_count == 0


async def test_with_nobody_subscribed_nothing_is_serialised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At full ingest rate and no Desk open, announcing cost the event loop a JSON
    message per event for no one; it is only counted, and a later subscriber is live."""
    made: list[int] = []
    original = LiveEvent.of

    def counting(event: StoredEvent) -> LiveEvent:
        made.append(event.id)
        return original(event)

    monkeypatch.setattr(LiveEvent, "of", counting)
    broker = Broker(StreamConfig(queue_size=10))
    broker.publish(announced(result(1, "a"), result(2, "b")))
    broker.publish([])
    assert made == []
    assert broker.published == 2
    late = broker.subscribe()
    broker.publish(announced(result(3, "a")))
    assert made == [3]
    assert late.queue.get_nowait().id == 3
    assert broker.published == 3
