"""Failed attempts counted per key in a sliding window: the failure budgets of both
services' credential checks (Ops' login and Bearer, the Portal's /metrics Bearer).

A key is over its budget once it has ``limit`` failures within the last ``period``
seconds; ``retry_after`` then says how many whole seconds until the oldest of those
leaves the window. Each failure carries a tag (Ops: the account name tried), so a
success can forgive one tag's failures and leave the others counted. The table holds at
most ``max_keys`` keys: when full, keys with nothing left in the window are forgotten
(at most once a second, so a flood of new keys cannot make every call scan it), and if
none can be a new key is over budget at once (``full_wait`` seconds) instead of going
uncounted.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class FailureWindow:
    def __init__(
        self,
        limit: int,
        period: float = 600.0,
        *,
        max_keys: int = 10_000,
        keep: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        # Failures kept per key: the limit is enough to say "over it"; a key whose
        # failures are forgiven by tag keeps more, so the others are still counted.
        self.keep = max(1, keep or limit)
        self.period = period
        self.max_keys = max_keys
        self._clock = clock
        self._keys: dict[str, deque[tuple[float, str]]] = {}
        self._pruned_at = float("-inf")

    def __repr__(self) -> str:
        return f"FailureWindow(limit={self.limit}, period={self.period}, keys={len(self._keys)})"

    @property
    def full_wait(self) -> int:
        return max(1, int(self.period / 10))

    def __len__(self) -> int:
        return len(self._keys)

    def count(self, key: str) -> int:
        """Failures of ``key`` within the window."""
        failures = self._trimmed(key, self._clock())
        return 0 if failures is None else len(failures)

    def times(self, key: str, tag: str | None = None) -> list[float]:
        """When ``key`` failed within the window (only with ``tag``, when given)."""
        failures = self._trimmed(key, self._clock())
        if failures is None:
            return []
        return [at for at, which in failures if tag is None or which == tag]

    def wait_for(self, oldest: float) -> int:
        """Seconds until a failure made at ``oldest`` leaves the window."""
        return max(1, int(oldest + self.period - self._clock()) + 1)

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` is under its budget again; 0 when it is now."""
        now = self._clock()
        failures = self._trimmed(key, now)
        if failures is None:
            if len(self._keys) >= self.max_keys:
                self._prune(now)
                if len(self._keys) >= self.max_keys:
                    return self.full_wait
            return 0
        if len(failures) < self.limit:
            return 0
        oldest = failures[-self.limit][0]
        return max(1, int(oldest + self.period - now) + 1)

    def add(self, key: str, tag: str = "") -> None:
        """One failure of ``key`` now (ignored when the table is full: ``retry_after``
        already refuses every key not in it)."""
        now = self._clock()
        failures = self._keys.get(key)
        if failures is None:
            if len(self._keys) >= self.max_keys:
                self._prune(now)
            if len(self._keys) >= self.max_keys:
                return
            failures = self._keys[key] = deque(maxlen=self.keep)
        failures.append((now, tag))

    def forgive(self, key: str, tag: str | None = None) -> None:
        """Forget ``key``'s failures: all of them, or only those tagged ``tag``."""
        failures = self._keys.get(key)
        if failures is None:
            return
        if tag is None:
            del self._keys[key]
            return
        kept = [entry for entry in failures if entry[1] != tag]
        if kept:
            self._keys[key] = deque(kept, maxlen=failures.maxlen)
        else:
            del self._keys[key]

    def remove_one(self, key: str, tag: str) -> None:
        """Take back the newest failure of ``key`` tagged ``tag`` (a charge refunded)."""
        failures = self._keys.get(key)
        if failures is None:
            return
        for index in range(len(failures) - 1, -1, -1):
            if failures[index][1] == tag:
                del failures[index]
                break
        if not failures:
            del self._keys[key]

    def _trimmed(self, key: str, now: float) -> deque[tuple[float, str]] | None:
        failures = self._keys.get(key)
        if failures is None:
            return None
        cutoff = now - self.period
        while failures and failures[0][0] <= cutoff:
            failures.popleft()
        return failures

    def _prune(self, now: float) -> None:
        if now - self._pruned_at < 1.0:
            return
        self._pruned_at = now
        cutoff = now - self.period
        self._keys = {k: d for k, d in self._keys.items() if d and d[-1][0] > cutoff}
