"""The Desk's live fan-out: committed events to every open stream, and one shared funnel.

- ``publish`` is called by the database's after-commit hook (app.py) with the events a
  durable COMMIT stored, in the event loop and in commit order, so an event is never
  announced before it is stored (duplicates store nothing and are never announced).
  Each event is serialised once and offered to every subscriber whose filter wants it;
  the stream encodes its SSE message once too and keeps it on the event (``wire``).
- Each subscriber has a bounded queue. A subscriber whose queue is full is marked
  overflowed and its queue dropped: its stream ends and the client resumes from its
  last id (replay), so a slow reader costs bounded memory and never slows the others.
- The funnel is computed by one task, at most once per ``funnel_interval`` and only for
  the windows that some subscriber watches; every subscriber of a window gets the same
  snapshot. A subscriber keeps only the newest unsent snapshot, so funnels never queue up.
- The banner's alerts (alerts.py) are computed by the same task, on the same occasions,
  whenever anyone is subscribed, and offered to every subscriber only when they changed;
  a new subscriber gets the latest at once. Like funnels, only the newest is kept.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import InitVar, dataclass, field
from typing import Any

import orjson

from servicekit.background import stop
from vm122_ops.desk.stream_slots import StreamLimits, StreamSlots
from vm122_ops.funnel.rollups import Funnel
from vm122_ops.store.stored_events import StoredEvent
from vm122_ops.tickets.work import TicketChange

log = logging.getLogger("vm122_ops.broker")

FunnelSource = Callable[[int], Awaitable[Funnel]]
AlertsSource = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Tunables of GET /api/v1/stream; tests shrink them."""

    heartbeat_seconds: float = 15.0
    retry_ms: int = 2000
    queue_size: int = 256
    max_replay: int = 1000
    replay_page: int = 200
    funnel_interval: float = 1.0
    funnel_refresh: float = 30.0  # recompute without events too, so the window slides
    send_timeout: float = 10.0
    # How many streams may be open at once (vm122_ops/desk/stream_slots.py).
    limits: StreamLimits = field(default_factory=StreamLimits)


ONBOARD, TICKET = "onboard", "ticket"


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A stored event (kind "onboard", id: its row) or a ticket change (kind "ticket", id:
    its activity entry) as the stream announces it, serialised once for everyone."""

    id: int
    session_id: str
    ticket_id: int | None
    data: str
    kind: str = ONBOARD
    # The stream's encoded message by SSE id, made once for every subscriber it is
    # offered to (routes/stream.py); not part of the event's value.
    wire: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, event: StoredEvent) -> LiveEvent:
        return cls(
            id=event.id,
            session_id=event.session_id,
            ticket_id=event.ticket_id,
            data=orjson.dumps(event.message()).decode(),
        )

    @classmethod
    def of_change(cls, message: dict[str, Any]) -> LiveEvent:
        """A ``ticket`` message (TicketChange.messages), id: its activity entry."""
        return cls(
            id=int(message["id"]),
            session_id=str(message["session_id"]),
            ticket_id=int(message["ticket_id"]),
            data=orjson.dumps(message).decode(),
            kind=TICKET,
        )


@dataclass(frozen=True, slots=True)
class FunnelSnapshot:
    hours: int
    data: str
    wire: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class AlertsSnapshot:
    data: str
    wire: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


@dataclass(eq=False, kw_only=True)
class Subscriber:
    """One open stream: its filter (the fields given), its bounded queue of
    ``queue_size`` events and its pending funnel and alerts."""

    queue_size: InitVar[int]
    session_id: str | None = None
    ticket_id: int | None = None
    hours: int | None = None  # None: this stream gets no funnel events
    # The Desk login this stream was opened with (None: the API token), and when
    # (time.monotonic()) that session expires: the stream ends then.
    desk_session: int | None = None
    deadline: float | None = None
    queue: asyncio.Queue[LiveEvent] = field(init=False, repr=False)
    funnel: FunnelSnapshot | None = field(default=None, init=False, repr=False)
    alerts: AlertsSnapshot | None = field(default=None, init=False, repr=False)
    overflowed: bool = field(default=False, init=False)
    closed: bool = field(default=False, init=False)
    _wake: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    def __post_init__(self, queue_size: int) -> None:
        self.queue = asyncio.Queue(maxsize=queue_size)

    def wants(self, event: LiveEvent) -> bool:
        return self.matches(event.session_id, event.ticket_id)

    def matches(self, session_id: str, ticket_id: int | None) -> bool:
        if self.session_id is not None and session_id != self.session_id:
            return False
        return self.ticket_id is None or ticket_id == self.ticket_id

    def offer(self, event: LiveEvent) -> bool:
        """Queue an event; False (and the subscriber is dropped) when the queue is full."""
        if self.overflowed or self.closed:
            return False
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.overflowed = True
            while not self.queue.empty():  # free the memory now; the client will replay
                self.queue.get_nowait()
        self._wake.set()
        return not self.overflowed

    def offer_funnel(self, snapshot: FunnelSnapshot) -> None:
        self.funnel = snapshot
        self._wake.set()

    def offer_alerts(self, snapshot: AlertsSnapshot) -> None:
        self.alerts = snapshot
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    async def next(self) -> LiveEvent | FunnelSnapshot | AlertsSnapshot | None:
        """The next thing to send; None once the stream must end (overflow or close)."""
        while True:
            if self.overflowed or self.closed:
                return None
            if not self.queue.empty():
                return self.queue.get_nowait()
            if self.alerts is not None:
                alerts, self.alerts = self.alerts, None
                return alerts
            if self.funnel is not None:
                snapshot, self.funnel = self.funnel, None
                return snapshot
            self._wake.clear()
            if self.deadline is None:
                await self._wake.wait()
                continue
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                self.closed = True
                return None
            with suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._wake.wait()


class Broker:
    def __init__(
        self,
        config: StreamConfig | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or StreamConfig()
        self.slots = StreamSlots(self.config.limits)
        self._monotonic = monotonic
        self._subscribers: set[Subscriber] = set()
        self._source: FunnelSource | None = None
        self._alerts_source: AlertsSource | None = None
        self._alerts: AlertsSnapshot | None = None
        # The conditions of the latest, to compare; none is what a fresh page assumes.
        self._alerts_body = b"[]"
        self._task: asyncio.Task[None] | None = None
        self._dirty = asyncio.Event()
        # Newest funnel per window, and whether an event came after it was computed.
        self._snapshots: dict[int, tuple[float, FunnelSnapshot]] = {}
        self._stale = True
        # Counters for health checks and tests.
        self.published = 0
        self.overflows = 0
        self.funnel_computations = 0
        self.alerts_computations = 0

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def start(self, source: FunnelSource, alerts: AlertsSource | None = None) -> None:
        """Begin computing funnels with ``source(hours)`` (and the banner's alerts with
        ``alerts()``); call once the database is open."""
        self._source = source
        self._alerts_source = alerts
        self._task = asyncio.create_task(self._funnel_loop(), name="ops-broker-funnel")

    async def close(self) -> None:
        for subscriber in list(self._subscribers):
            subscriber.close()
        self._subscribers.clear()
        await stop(self._task)
        self._task = None

    def subscribe(
        self,
        *,
        session_id: str | None = None,
        ticket_id: int | None = None,
        hours: int | None = None,
        desk_session: int | None = None,
        deadline: float | None = None,
    ) -> Subscriber:
        subscriber = Subscriber(
            queue_size=self.config.queue_size,
            session_id=session_id,
            ticket_id=ticket_id,
            hours=hours,
            desk_session=desk_session,
            deadline=deadline,
        )
        self._subscribers.add(subscriber)
        if self._alerts is not None and self._alerts_body != b"[]":
            subscriber.offer_alerts(self._alerts)  # a fresh page assumes nothing is wrong
        elif self._alerts is None and self._alerts_source is not None:
            self._dirty.set()
        if hours is not None:
            cached = self._snapshots.get(hours)
            fresh = (
                cached is not None
                and not self._stale
                and self._monotonic() - cached[0] < self.config.funnel_refresh
            )
            if cached is not None and fresh:
                subscriber.offer_funnel(cached[1])
            else:
                self._dirty.set()
        return subscriber

    def desk_session_ids(self) -> set[int]:
        """The Desk sessions that have a stream open."""
        return {s.desk_session for s in self._subscribers if s.desk_session is not None}

    def end_desk_session(self, session_id: int) -> int:
        """Close every stream of a session that ended (logout, disabled, expired)."""
        ended = [s for s in self._subscribers if s.desk_session == session_id]
        for subscriber in ended:
            self.unsubscribe(subscriber)
        return len(ended)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscriber.close()
        self._subscribers.discard(subscriber)

    def publish(self, stored: Sequence[StoredEvent | TicketChange]) -> None:
        """After-commit hook: announce newly stored events and ticket changes, in commit
        order."""
        if stored and not self._subscribers:
            # Nobody listens: count what would have been announced, serialise nothing
            # (at full ingest rate the serialisation would take a share of the event loop).
            self.published += sum(
                len(item.messages()) if isinstance(item, TicketChange) else 1 for item in stored
            )
            self._stale = True
            self._dirty.set()
            return
        events: list[LiveEvent] = []
        for item in stored:
            try:
                if isinstance(item, TicketChange):
                    events.extend(LiveEvent.of_change(message) for message in item.messages())
                else:
                    events.append(LiveEvent.of(item))
            except (TypeError, ValueError):  # one bad event must not silence its batch
                log.exception("%s could not be announced", item)
        if not events:
            return
        self.published += len(events)
        for subscriber in list(self._subscribers):
            for event in events:
                if subscriber.wants(event) and not subscriber.offer(event):
                    self.overflows += 1
                    log.warning("a stream subscriber fell behind; disconnecting it")
                    self._subscribers.discard(subscriber)
                    break
        self._stale = True
        self._dirty.set()

    async def _funnel_loop(self) -> None:
        while True:
            with suppress(TimeoutError):
                async with asyncio.timeout(self.config.funnel_refresh):
                    await self._dirty.wait()
            self._dirty.clear()
            windows = {s.hours for s in self._subscribers if s.hours is not None}
            if windows:
                self._stale = False
                for hours in sorted(windows):
                    try:
                        await self._compute(hours)
                    except Exception:
                        log.exception("funnel snapshot for %s h failed", hours)
            if self._subscribers and self._alerts_source is not None:
                try:
                    await self._compute_alerts()
                except Exception:
                    log.exception("alerts snapshot failed")
            # The rate limit: whatever arrives meanwhile is folded into the next snapshot.
            await asyncio.sleep(self.config.funnel_interval)

    async def _compute_alerts(self) -> None:
        assert self._alerts_source is not None
        document = await self._alerts_source()
        self.alerts_computations += 1
        conditions = orjson.dumps(document.get("conditions", []))
        if conditions == self._alerts_body:
            return  # unchanged: nothing to say
        self._alerts_body = conditions
        self._alerts = AlertsSnapshot(data=orjson.dumps(document).decode())
        for subscriber in list(self._subscribers):
            subscriber.offer_alerts(self._alerts)

    async def _compute(self, hours: int) -> None:
        assert self._source is not None
        funnel = await self._source(hours)
        self.funnel_computations += 1
        snapshot = FunnelSnapshot(hours=hours, data=orjson.dumps(funnel.document()).decode())
        self._snapshots[hours] = (self._monotonic(), snapshot)
        for subscriber in list(self._subscribers):
            if subscriber.hours == hours:
                subscriber.offer_funnel(snapshot)
