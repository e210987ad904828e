"""The outbox dispatcher: delivers queued events to Ops from a thread of its own.

What it promises is in vm112_portal/outbox/ops_webhook.py (order, retries, dead letters). How it
runs, so that the wizard does not pay for it (docs/portal.md "Emission off the wizard's
path"):

- a thread with its own event loop, its own httpx client and its own SQLite connection
  (vm112_portal/outbox/books.py). Nothing of a delivery (choosing the rows, signing, building the
  request, parsing the answer, the marks) runs on the wizard's event loop, its database
  threads or its writer lock;
- woken by the wizard's commits (``Database.on_commit``) through
  ``loop.call_soon_threadsafe``, at most one wake-up in flight; it also re-reads the
  outbox every ``poll`` seconds (rows redriven or replayed by another process);
- yielding to requests: while the Portal is handling requests (vm112_portal/outbox/in_flight.py),
  the next attempt waits for a quiet moment (no request for ``QUIET_GRACE``), at most
  ``YIELD_MAX`` per batch; the process's switch interval is 1 ms, so a wizard step that
  does meet a delivery waits at most that for the interpreter lock;
- batches: one read finds every pending event of up to ``BATCH`` sessions whose oldest
  pending event is due, the events go one at a time in creation order (a session stops
  at its first event that is not delivered, so its order holds), and their marks are
  written together in one transaction after the batch;
- a clean stop cancels the thread's work (an attempt in flight is abandoned: its row stays
  pending), writes the marks of the answers already received, and joins the thread.
  A crash at any point leaves rows pending, sent again at the next start; Ops stores each
  webhook-id once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from servicekit.logs.access import REQUEST_ID
from vm112_portal.db import Database
from vm112_portal.metrics import PortalMetrics
from vm112_portal.outbox.books import Books, Mark
from vm112_portal.outbox.in_flight import InFlight
from vm112_portal.outbox.loop_transport import OnLoop
from vm112_portal.outbox.ops_endpoint import OpsEndpoint
from vm112_portal.outbox.ops_webhook import (
    INGEST_PATH,
    NETWORK_ERRORS,
    Outcome,
    RetryPolicy,
    classify,
    describe,
    log,
    parse_retry_after,
)

# Sessions per batch: the rows of one read, and the marks of one transaction.
BATCH = 100
# While the Portal is handling requests, a batch waits for a moment without any, at most
# this long (counted from the batch's read), then goes anyway: a wizard step then shares
# the process with no delivery in the usual case (steps are seconds apart, and the
# whole Portal takes at most 5 writes a second: docs/portal.md "Rate limits"), and a Portal
# that is never idle still delivers a batch every YIELD_MAX or so.
YIELD_MAX = 0.25
# A quiet moment is this long with no request: a client often sends its next request as
# soon as the previous answer arrives (the bench does, and the wizard page's next step).
QUIET_GRACE = 0.02
# The interpreter lock's switch interval (Python's default is 5 ms): how long the wizard's
# thread may wait for the lock while the dispatcher's thread runs Python code, when a
# delivery did start beside a request. Set for the whole process when the thread starts.
SWITCH_INTERVAL = 0.001


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt's outcome and the mark that records it."""

    outcome: Outcome
    status: int | None
    error: str | None
    mark: Mark
    unreachable: bool = False  # a network error: about Ops, not about this event


class Dispatcher:
    """Delivers the outbox to Ops in a thread of its own; see the module docstring.

    ``transport`` replaces the network (tests). It belongs to the loop that calls
    ``start()`` and is used there (vm112_portal/outbox/loop_transport.py); without it the
    dispatcher's client opens its own connections on its own loop. ``in_flight`` is the
    Portal's count of requests being handled: each attempt waits for none (up to
    ``YIELD_MAX`` per batch).
    """

    def __init__(
        self,
        db: Database,
        *,
        ops_url: str,
        secret: bytes,
        policy: RetryPolicy,
        metrics: PortalMetrics,
        transport: httpx.AsyncBaseTransport | None = None,
        in_flight: InFlight | None = None,
    ) -> None:
        self._db = db
        self._in_flight = in_flight
        self._metrics = metrics
        self._transport = transport
        self._url = ops_url.rstrip("/") + INGEST_PATH
        self._signer = Webhook(secret)
        self._policy = policy
        self.endpoint = OpsEndpoint(policy)
        self._thread: threading.Thread | None = None
        self._finished: concurrent.futures.Future[None] = concurrent.futures.Future()
        # Set on the dispatcher's thread once it runs; read by wake() and stop().
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._wake_sent = False
        # False while a batch is being sent: the round after it reads the outbox anyway,
        # so a commit then needs no wake-up (and the wizard's thread sends none).
        self._armed = True
        # Waiting for a moment with no request in flight: set on the dispatcher's thread,
        # read by _idle() on the wizard's.
        self._quiet: asyncio.Event | None = None
        self._waiting_quiet = False
        self._stopping = False
        self._client: httpx.AsyncClient | None = None
        self._books: Books | None = None
        self.last_error: str | None = None
        db.on_commit(self.wake)
        if in_flight is not None:
            in_flight.on_idle(self._idle)

    # -- the thread ---------------------------------------------------------------------

    async def start(self) -> None:
        """Start the thread; returns once its connection and client are open."""
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        caller = asyncio.get_running_loop()
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread = threading.Thread(
            target=self._main, args=(ready, caller), name="portal-outbox-dispatcher", daemon=True
        )
        self._thread.start()
        await asyncio.wrap_future(ready)

    async def stop(self) -> None:
        """Stop promptly: abandon an attempt in flight (its row stays pending), record the
        answers already received, close the client and the connection, join the thread."""
        self._stopping = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # its loop has already closed
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            await asyncio.wrap_future(self._finished)
            self._thread.join()
            self._thread = None

    def wake(self) -> None:
        """A commit may have queued events (called on the wizard's loop): wake the
        dispatcher's loop. Thread-safe; a wake-up already on its way is not sent again,
        nor one while a batch is being sent (the next round reads the outbox anyway)."""
        loop = self._loop
        if loop is None or self._wake_sent or not self._armed:
            return
        if self.endpoint.waiting():
            return  # Ops is backed off: the dispatcher sleeps until its probe anyway
        self._wake_sent = True
        with contextlib.suppress(RuntimeError):  # its loop is closing
            loop.call_soon_threadsafe(self._woken)

    def _idle(self) -> None:
        """The last request in flight ended (on the wizard's loop): wake the dispatcher
        if, and only if, it waits for that moment."""
        loop, quiet = self._loop, self._quiet
        if self._waiting_quiet and loop is not None and quiet is not None:
            with contextlib.suppress(RuntimeError):  # its loop is closing
                loop.call_soon_threadsafe(quiet.set)

    def _woken(self) -> None:
        self._wake_sent = False
        if self._wake is not None:
            self._wake.set()

    def _main(
        self, ready: concurrent.futures.Future[None], caller: asyncio.AbstractEventLoop
    ) -> None:
        try:
            asyncio.run(self._serve(ready, caller))
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("the outbox dispatcher's thread failed")
        finally:
            self._loop = None
            # Cancelled when the stop() awaiting it was itself cancelled.
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                self._finished.set_result(None)

    async def _serve(
        self, ready: concurrent.futures.Future[None], caller: asyncio.AbstractEventLoop
    ) -> None:
        transport = None if self._transport is None else OnLoop(self._transport, caller)
        books = Books.open(self._db.path, self._db.queries)
        try:
            async with httpx.AsyncClient(
                transport=transport, timeout=self._policy.timeout
            ) as client:
                self._client, self._books = client, books
                self._wake = asyncio.Event()
                self._quiet = asyncio.Event()
                self._task = asyncio.current_task()
                self._loop = asyncio.get_running_loop()
                if not ready.set_running_or_notify_cancel():
                    return  # start() was cancelled: nothing waits for this thread
                ready.set_result(None)
                with contextlib.suppress(asyncio.CancelledError):
                    await self._run()
        finally:
            self._loop = None
            books.close()

    # -- the work -----------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:  # never let the dispatcher die; the rows stay pending
                if self._stopping:
                    return
                log.exception("outbox dispatcher step failed")
                await self._sleep(self._policy.poll)

    async def _round(self) -> None:
        assert self._wake is not None and self._books is not None
        self._wake.clear()
        backed_off = self.endpoint.waiting()
        if backed_off:
            # Ops was unreachable: no read, no attempt, no write before its next probe.
            await self._sleep(backed_off)
            return
        self._armed = True  # before the read: a commit after it wakes the sleep below
        rows = self._books.due(time.time(), BATCH)
        if rows:
            self._armed = False
            await self._send(rows)
            return
        due = self._books.next_attempt_at()
        wait = self._policy.poll
        if due is not None:
            wait = min(wait, max(due - time.time(), 0.001))
        await self._sleep(wait)

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake early when a commit queued something."""
        assert self._wake is not None
        self._armed = True
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
        # races with the event being set, and then stop() would wait forever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    async def _send(self, rows: list[Any]) -> None:
        """One batch, in order; a session stops at its first event not delivered, and the
        whole batch at an attempt that found Ops unreachable (the rest waits for the next
        probe). The marks are written once the batch is done and the Portal is quiet (or
        the batch's yield is over), or when stop() cuts it short."""
        assert self._books is not None
        done: list[tuple[Any, Attempt]] = []
        held: set[str] = set()
        deadline = time.monotonic() + YIELD_MAX
        try:
            for row in rows:
                if row["session_id"] in held:
                    continue
                await self._until_quiet(deadline)
                attempt = await self.attempt(row)
                done.append((row, attempt))
                if attempt.unreachable:
                    break
                if attempt.outcome != "delivered":
                    held.add(row["session_id"])
            if done:
                await self._until_quiet(deadline)  # the marks' write takes the write lock
        finally:
            self._books.record([attempt.mark for _, attempt in done])
            for row, attempt in done:
                self._report(row["webhook_id"], attempt)

    async def _until_quiet(self, deadline: float) -> None:
        """Until no request has been in flight for QUIET_GRACE, or the deadline."""
        in_flight = self._in_flight
        if in_flight is None:
            return
        while (remaining := deadline - time.monotonic()) > 0:
            if in_flight.busy:
                await self._until_idle(in_flight, remaining)
                continue
            quiet = in_flight.quiet_for()
            if quiet >= QUIET_GRACE:
                return
            await asyncio.sleep(min(QUIET_GRACE - quiet, remaining))

    async def _until_idle(self, in_flight: InFlight, remaining: float) -> None:
        """Until the last request in flight ends (``_idle`` sets the event), at most
        ``remaining`` seconds."""
        quiet = self._quiet
        assert quiet is not None
        quiet.clear()
        self._waiting_quiet = True
        try:
            # Checked again after announcing the wait: a request ending in between either
            # is seen here or sees the flag and sets the event.
            if in_flight.busy:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await quiet.wait()
        finally:
            self._waiting_quiet = False

    def sign(self, webhook_id: str, body: str, moment: datetime) -> dict[str, str]:
        return {
            "webhook-id": webhook_id,
            "webhook-timestamp": str(math.floor(moment.timestamp())),
            "webhook-signature": self._signer.sign(webhook_id, moment, body),
            "content-type": "application/json",
        }

    @staticmethod
    def request_id(row: Any) -> str | None:
        """The X-Request-ID for a delivery: the emitting wizard request's id, else the
        webhook-id when Ops would accept it as one (1-64 of A-Z a-z 0-9 . _ -)."""
        for candidate in (row["request_id"], row["webhook_id"]):
            if isinstance(candidate, str) and REQUEST_ID.match(candidate):
                return candidate
        return None

    async def attempt(self, row: Any) -> Attempt:
        """One attempt for one outbox row: its outcome and the mark recording it."""
        assert self._client is not None
        webhook_id: str = row["webhook_id"]
        body: str = row["body"]
        status: int | None = None
        retry_after: float | None = None
        try:
            headers = self.sign(webhook_id, body, datetime.now(UTC))
            request_id = self.request_id(row)
            if request_id is not None:
                headers["x-request-id"] = request_id
            async with asyncio.timeout(self._policy.timeout):
                response = await self._client.post(
                    self._url, content=body.encode(), headers=headers
                )
            status = response.status_code
            outcome = classify(status)
            error = None if outcome == "delivered" else describe(response)
            retry_after = parse_retry_after(response.headers.get("retry-after"), time.time())
        except NETWORK_ERRORS as exc:
            # About Ops, not the event: back Ops off and keep the event due at the next
            # probe (vm112_portal/outbox/ops_endpoint.py); its age is not held against it.
            error = f"Ops unreachable: {type(exc).__name__} {exc}".strip()
            now = time.time()
            retry = {
                "id": row["id"],
                "now": now,
                "status": None,
                "error": error,
                "next_attempt_at": self.endpoint.unreachable(now),
            }
            return Attempt("retry", None, error, Mark("schedule_retry", retry), unreachable=True)
        except Exception as exc:  # the request cannot be sent: retrying cannot help
            outcome = "dead"
            error = f"cannot be sent: {type(exc).__name__} {exc}".strip()[:500]
        else:
            self.endpoint.reached()  # any answer: Ops is reachable
        now = time.time()
        params: dict[str, Any] = {"id": row["id"], "now": now, "status": status}
        if outcome == "retry":
            delay = (
                retry_after
                if retry_after is not None
                else self._policy.backoff(int(row["attempts"]) + 1)
            )
            born = float(row["redriven_at"] or row["created_at"])
            if now + delay - born <= self._policy.max_age:
                retry = {**params, "error": error, "next_attempt_at": now + delay}
                return Attempt("retry", status, error, Mark("schedule_retry", retry))
            outcome = "dead"
            error = f"gave up after {self._policy.max_age:g}s: {error}"
        if outcome == "delivered":
            return Attempt("delivered", status, error, Mark("mark_delivered", params))
        return Attempt("dead", status, error, Mark("mark_dead", {**params, "error": error}))

    def _report(self, webhook_id: str, attempt: Attempt) -> None:
        """Metrics and log lines of an attempt, once its mark is written."""
        self._metrics.attempts.labels(outcome=attempt.outcome).inc()
        if attempt.status == 401:
            log.warning(
                "Ops rejected the signature of %s (401: %s). Check that the Portal's and "
                "Ops' clocks agree within 5 minutes and that OPS_WEBHOOK_SECRET is the same "
                "on both; the event stays queued and is re-signed at every retry.",
                webhook_id,
                attempt.error,
            )
        if attempt.outcome == "delivered":
            log.debug("delivered %s (%s)", webhook_id, attempt.status)
            return
        self.last_error = attempt.error
        log.log(
            logging.ERROR if attempt.outcome == "dead" else logging.INFO,
            "event %s %s: %s",
            webhook_id,
            "dead-lettered" if attempt.outcome == "dead" else "will be retried",
            attempt.error,
        )
