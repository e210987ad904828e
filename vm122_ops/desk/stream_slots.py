"""How many streams may be open at once (docs/desk.md, "Stream limits").

Every open ``GET /api/v1/stream`` holds a connection of uvicorn's 4096 for as long as
it lives, so streams are counted before they are answered: at most ``per_session`` per
Desk login, ``per_account`` per account (all its logins together), ``program`` for the
API token, and ``total`` for everyone, which leaves the rest of uvicorn's connections to
webhook ingest, /healthz and the API. A stream over a limit is refused with 429 before
it starts; its slot is taken synchronously, so concurrent requests cannot all pass the
count before any is counted, and given back when the response ends however it ends.

The funnel windows a stream may ask for are a fixed set (``WINDOWS`` and the configured
default), so the broker computes at most that many funnels however many streams ask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# The funnel windows a stream may follow (hours): the Desk's 24 h, 48 h and 7 days, and
# round figures around them; OPS_WINDOW_HOURS is added to these.
WINDOWS = (1, 6, 12, 24, 48, 72, 168, 336, 720)


@dataclass(frozen=True)
class StreamLimits:
    per_session: int = 6
    per_account: int = 12
    program: int = 32
    total: int = 1024


class StreamRefused(Exception):
    """The stream would go over ``limit``; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StreamSlots:
    def __init__(self, limits: StreamLimits | None = None) -> None:
        self.limits = limits or StreamLimits()
        self._sessions: Counter[int] = Counter()
        self._accounts: Counter[int] = Counter()
        self._programs = 0
        self._total = 0
        self.refused = 0

    def __repr__(self) -> str:
        return f"StreamSlots(total={self._total}, programs={self._programs})"

    @property
    def open(self) -> int:
        return self._total

    def take(self, session_id: int | None, account_id: int | None) -> Callable[[], None]:
        """A slot for one stream of this Desk login (None: the API token), or
        StreamRefused; returns the function that gives it back (once)."""
        limits = self.limits
        if self._total >= limits.total:
            reason = f"all {limits.total} streams Ops serves are open"
        elif session_id is None:
            reason = (
                f"the API token has {limits.program} streams open"
                if self._programs >= limits.program
                else ""
            )
        elif self._sessions[session_id] >= limits.per_session:
            reason = f"this login has {limits.per_session} streams open (close a tab)"
        elif account_id is not None and self._accounts[account_id] >= limits.per_account:
            reason = f"this account has {limits.per_account} streams open"
        else:
            reason = ""
        if reason:
            self.refused += 1
            raise StreamRefused(reason)
        self._total += 1
        if session_id is None:
            self._programs += 1
        else:
            self._sessions[session_id] += 1
            if account_id is not None:
                self._accounts[account_id] += 1
        given_back = False

        def give_back() -> None:
            nonlocal given_back
            if given_back:
                return
            given_back = True
            self._total -= 1
            if session_id is None:
                self._programs -= 1
                return
            self._sessions[session_id] -= 1
            if self._sessions[session_id] <= 0:
                del self._sessions[session_id]
            if account_id is not None:
                self._accounts[account_id] -= 1
                if self._accounts[account_id] <= 0:
                    del self._accounts[account_id]

        return give_back
