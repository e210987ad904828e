"""One failure budget for every way into Ops: the login form and Bearer authentication.

Failures are counted, in a sliding window of ``period`` seconds:
- per client address (an IPv4 address, or the /64 of an IPv6 one, since one host gets a
  whole /64): over ``per_address`` failures, that address is throttled, whatever it sends;
- per account name: over ``per_account`` failures (from any addresses), the account is
  throttled for the addresses that failed on it; an address with no failure on it still
  gets its attempts, so someone else's failures never refuse the right password;
- globally: over ``global_limit`` failures in the window, only addresses with no failure
  at all may still try (each new address then gets one wrong guess before it waits).
The tables are bounded (``max_keys`` addresses, as many account names). When the address
table is full, a new address is throttled instead of going uncounted.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

TOKEN_ACCOUNT = "\x00api-token"  # noqa: S105 - the Bearer token's failures count like an account's


class AuthThrottle:
    def __init__(
        self,
        *,
        per_address: int = 10,
        per_account: int = 10,
        global_limit: int = 1000,
        period: float = 600.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.per_account = per_account
        self.global_limit = global_limit
        self.period = period
        self.max_keys = max_keys
        self._clock = clock
        self._addresses: dict[str, deque[float]] = {}
        self._accounts: dict[str, deque[tuple[float, str]]] = {}
        self._global: deque[float] = deque()
        self._pruned_at = float("-inf")

    def __repr__(self) -> str:
        return (
            f"AuthThrottle(addresses={len(self._addresses)}, accounts={len(self._accounts)}, "
            f"global={len(self._global)})"
        )

    def retry_after(self, address: str, account: str | None) -> int:
        """Seconds until this address may try this account again; 0 when it may now."""
        now = self._clock()
        cutoff = now - self.period
        mine = self._trim(self._addresses.get(address), cutoff)
        if mine is not None and len(mine) >= self.per_address:
            return self._wait(mine[0], now)
        if mine is None and len(self._addresses) >= self.max_keys:
            self._prune(now)
            if len(self._addresses) >= self.max_keys:
                return max(1, int(self.period / 10))  # full: new clients wait, none forgotten
        if account is not None:
            failures = self._accounts.get(account)
            while failures and failures[0][0] <= cutoff:
                failures.popleft()
            if failures and len(failures) >= self.per_account:
                from_here = [at for at, where in failures if where == address]
                if from_here:
                    return self._wait(from_here[0], now)
        while self._global and self._global[0] <= cutoff:
            self._global.popleft()
        if len(self._global) >= self.global_limit and mine:
            return self._wait(mine[0], now)
        return 0

    def failed(self, address: str, account: str | None) -> None:
        now = self._clock()
        failures = self._addresses.get(address)
        if failures is None:
            if len(self._addresses) >= self.max_keys:
                self._prune(now)
            if len(self._addresses) >= self.max_keys:
                return  # retry_after already throttles every address not in the table
            failures = self._addresses[address] = deque(maxlen=self.per_address)
        failures.append(now)
        if account is not None:
            on_account = self._accounts.get(account)
            if on_account is None and len(self._accounts) < self.max_keys:
                on_account = self._accounts[account] = deque(maxlen=self.per_account * 4)
            if on_account is not None:
                on_account.append((now, address))
        self._global.append(now)
        if len(self._global) > self.global_limit:
            self._global.popleft()

    def succeeded(self, address: str, account: str | None) -> None:
        """The right credential from this address: its own failures are forgiven."""
        self._addresses.pop(address, None)
        if account is not None and account in self._accounts:
            kept = deque(
                ((at, where) for at, where in self._accounts[account] if where != address),
                maxlen=self.per_account * 4,
            )
            self._accounts[account] = kept

    def _wait(self, oldest: float, now: float) -> int:
        return max(1, int(oldest + self.period - now) + 1)

    @staticmethod
    def _trim(failures: deque[float] | None, cutoff: float) -> deque[float] | None:
        if failures is None:
            return None
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures

    def _prune(self, now: float) -> None:
        """Forget addresses and accounts with no failure in the window (at most once a
        second, so a flood of new addresses cannot make every request scan the table)."""
        if now - self._pruned_at < 1.0:
            return
        self._pruned_at = now
        cutoff = now - self.period
        self._addresses = {k: d for k, d in self._addresses.items() if d and d[-1] > cutoff}
        self._accounts = {k: d for k, d in self._accounts.items() if d and d[-1][0] > cutoff}
