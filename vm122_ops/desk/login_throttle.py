"""One failure budget for every way into Ops: the login form and Bearer authentication.

Failures are counted in sliding windows of ``period`` seconds (servicekit.failures):
- per client address (an IPv4 address, or the /64 of an IPv6 one, since one host gets a
  whole /64): over ``per_address`` failures, that address is throttled, whatever it
  sends;
- per network (an IPv4 /24, an IPv6 /48: one site): over ``per_network`` failures
  (5 times the address's by default), every address of it is throttled, so rotating
  addresses within a site gains little;
- per account name: over ``per_account`` failures (from any addresses), the account is
  throttled for the addresses that failed on it; an address with no failure on it still
  gets its attempts, so someone else's failures never refuse the right password;
- globally: over ``global_limit`` failures in the window, only addresses with no failure
  at all may still try (each new address then gets one wrong guess before it waits).

A login is charged before its password is checked (``charge``): the attempt counts as a
failure from the moment it is let through, so concurrent attempts cannot all pass the
check before any of them is counted, and at most the budget is ever checked. The right
password then forgives that account's failures from that address only (``succeeded``),
so logging into one's own account does not clear guesses made at others'. An attempt
that was let through but never checked (the hashing queue was full) is refunded.

The tables are bounded (``max_keys`` keys each). When one is full, a new client is
throttled instead of going uncounted.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

from servicekit.addresses import address_key
from servicekit.failures import FailureWindow

TOKEN_ACCOUNT = "\x00api-token"  # noqa: S105 - the Bearer token's failures count like an account's
_GLOBAL = "*"


def network_key(key: str) -> str:
    """The site an address key is in: an IPv4 /24, an IPv6 /48; else the key itself."""
    try:
        network = ipaddress.ip_network(key, strict=False)
    except ValueError:
        return key
    prefix = 24 if network.version == 4 else 48
    return str(network.supernet(new_prefix=prefix)) if network.prefixlen > prefix else str(network)


class AuthThrottle:
    def __init__(
        self,
        *,
        per_address: int = 10,
        per_network: int | None = None,
        per_account: int = 10,
        global_limit: int = 1000,
        period: float = 600.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_address = per_address
        self.per_network = per_network if per_network is not None else 5 * per_address
        self.per_account = per_account
        self.global_limit = global_limit
        self.period = period

        def window(limit: int, keys: int = max_keys, keep: int | None = None) -> FailureWindow:
            return FailureWindow(limit, period, max_keys=keys, keep=keep, clock=clock)

        # Each failure is tagged with the account it was made on (the address, on the
        # account's own window), so a success forgives exactly that account's.
        self._addresses = window(per_address, keep=4 * per_address)
        self._networks = window(self.per_network, keep=4 * self.per_network)
        self._accounts = window(per_account, keep=4 * per_account)
        self._global = window(global_limit, keys=1)

    def __repr__(self) -> str:
        return (
            f"AuthThrottle(addresses={len(self._addresses)}, networks={len(self._networks)}, "
            f"accounts={len(self._accounts)}, global={self._global.count(_GLOBAL)})"
        )

    def retry_after(self, address: str, account: str | None) -> int:
        """Seconds until this address may try this account again; 0 when it may now.
        ``address`` is the client's host (or its address_key: the same)."""
        address = address_key(address)
        for window, key in ((self._addresses, address), (self._networks, network_key(address))):
            wait = window.retry_after(key)
            if wait:
                return wait
        if account is not None and self._accounts.count(account) >= self.per_account:
            from_here = self._accounts.times(account, address)
            if from_here:
                return self._accounts.wait_for(from_here[0])
        if self._global.count(_GLOBAL) >= self.global_limit:
            mine = self._addresses.times(address)
            if mine:
                return self._addresses.wait_for(mine[0])
        return 0

    def charge(self, address: str, account: str | None) -> int:
        """Before a credential is checked: the seconds to wait when this attempt may not be
        made now (nothing is counted), else 0 and the attempt is counted as a failure
        until ``succeeded`` or ``refund`` says otherwise."""
        wait = self.retry_after(address, account)
        if not wait:
            self.failed(address, account)
        return wait

    def failed(self, address: str, account: str | None) -> None:
        tag, address = account or "", address_key(address)
        self._addresses.add(address, tag)
        self._networks.add(network_key(address), tag)
        if account is not None:
            self._accounts.add(account, address)
        self._global.add(_GLOBAL, tag)

    def refund(self, address: str, account: str | None) -> None:
        """Take back a charge whose credential was never checked."""
        tag, address = account or "", address_key(address)
        self._addresses.remove_one(address, tag)
        self._networks.remove_one(network_key(address), tag)
        if account is not None:
            self._accounts.remove_one(account, address)
        self._global.remove_one(_GLOBAL, tag)

    def succeeded(self, address: str, account: str | None) -> None:
        """The right credential from this address: its failures on this account (its
        charge included) are forgiven; those on other accounts stay counted."""
        tag, address = account or "", address_key(address)
        self._addresses.forgive(address, tag)
        self._networks.forgive(network_key(address), tag)
        if account is not None:
            self._accounts.forgive(account, address)
