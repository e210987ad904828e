"""Rate limits on the wizard's writes: per client address and for the whole Portal.

Cloudflare allows 1,200 requests per 5 minutes per token
(https://developers.cloudflare.com/fundamentals/api/reference/limits/): a handful of
clients could lock the production token. Two budgets, each a token bucket per address
(IPv6 per /64, the block one subscriber usually gets) plus one global bucket:

- ``write``: every wizard POST (validate-domain, DNS plan and apply, account create),
  taken before the body is read;
- ``provider``: the steps that call Cloudflare or Carbonio (DNS plan and apply, account
  create), taken only once the request is valid and belongs to a live session that may
  make it (routes.py passes the wizard a ``spend`` it calls just before the providers),
  so refused requests never spend the customers' budget. Its per-address bucket holds a
  burst well below the global one, and an IPv6 /56 (a whole site or one customer's
  allocation) has a bucket of its own, so neither one address nor one /56 can hold the
  global budget.

A request is let through only when every bucket it needs has a token; a refused request
takes nothing, so a client refused for its own address does not spend the global budget.
The answer is 429 with Retry-After (whole seconds until a token is back). The table of
addresses is bounded: when full, idle addresses (full buckets) are forgotten first; if
none is idle a new address is refused (429), never let through unthrottled.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from servicekit.addresses import address_key
from vm112_portal.errors import TooManyRequests
from vm112_portal.settings import Settings

MAX_CLIENTS = 10_000


@dataclass(frozen=True)
class Rate:
    """``count`` requests per ``seconds``, refilled continuously; at most ``burst`` at
    once (``count`` when not given)."""

    count: int
    seconds: float
    burst: int | None = None

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def capacity(self) -> int:
        return self.count if self.burst is None else self.burst


@dataclass(frozen=True)
class Limit:
    per_address: Rate
    overall: Rate
    # The IPv6 /56 an address is in (IPv4 has none: its address is its own network).
    per_network: Rate | None = None


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float, now: float) -> None:
        self.tokens = tokens
        self.updated = now

    def refill(self, rate: Rate, now: float) -> None:
        self.tokens = min(rate.capacity, self.tokens + (now - self.updated) * rate.per_second)
        self.updated = now

    def wait(self, rate: Rate) -> float:
        """Seconds until one token is back (0 when one is there)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / rate.per_second


def limits_of(settings: Settings) -> dict[str, Limit]:
    """The two budgets from the settings (documented in docs/portal.md, "Rate limits")."""
    return {
        "write": Limit(
            Rate(settings.rate_writes_per_minute, 60.0),
            Rate(settings.rate_writes_global_per_minute, 60.0),
        ),
        "provider": Limit(
            Rate(
                settings.rate_provider_steps_per_hour,
                3600.0,
                min(settings.rate_provider_burst, settings.rate_provider_steps_per_hour),
            ),
            Rate(settings.rate_provider_steps_global_per_minute, 60.0),
            Rate(
                2 * settings.rate_provider_steps_per_hour,
                3600.0,
                2 * min(settings.rate_provider_burst, settings.rate_provider_steps_per_hour),
            ),
        ),
    }


def network_key(host: str | None) -> str | None:
    """The IPv6 /56 an address is in; None for IPv4 (and anything not an address)."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv4Address) or address.ipv4_mapped is not None:
        return None
    return str(ipaddress.IPv6Network((address, 56), strict=False))


class Throttle:
    def __init__(
        self,
        limits: dict[str, Limit],
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self._limits = limits
        self._clock = clock
        self._max = max_clients
        self._overall = {
            kind: _Bucket(limit.overall.capacity, clock()) for kind, limit in limits.items()
        }
        self._clients: dict[tuple[str, str], _Bucket] = {}

    def check(self, host: str | None, *kinds: str) -> None:
        """Take one token of each kind for this client, or raise TooManyRequests."""
        now = self._clock()
        key, network = address_key(host), network_key(host)
        buckets: list[tuple[_Bucket, Rate, str]] = []
        for kind in kinds:
            limit = self._limits[kind]
            client = self._client_bucket(kind, key, limit.per_address, now)
            buckets.append((client, limit.per_address, f"this address ({kind})"))
            if limit.per_network is not None and network is not None:
                shared = self._client_bucket(f"{kind}/56", network, limit.per_network, now)
                buckets.append((shared, limit.per_network, f"this network ({kind})"))
            overall = self._overall[kind]
            overall.refill(limit.overall, now)
            buckets.append((overall, limit.overall, f"the portal as a whole ({kind})"))
        waits = [(bucket.wait(rate), who) for bucket, rate, who in buckets]
        longest, who = max(waits)
        if longest > 0:
            retry_after = max(1, math.ceil(longest))
            raise TooManyRequests(
                f"too many wizard requests from {who}; try again in {retry_after} s",
                retry_after,
            )
        for bucket, _, _ in buckets:
            bucket.tokens -= 1

    def _client_bucket(self, kind: str, key: str, rate: Rate, now: float) -> _Bucket:
        bucket = self._clients.get((kind, key))
        if bucket is None:
            if len(self._clients) >= self._max:
                self._forget_idle(now)
            if len(self._clients) >= self._max:
                # Full of active clients: a new one waits rather than slipping through.
                raise TooManyRequests(
                    "the portal is busy with many clients; try again in a minute", 60
                )
            bucket = self._clients[(kind, key)] = _Bucket(rate.capacity, now)
        else:
            bucket.refill(rate, now)
        return bucket

    def _forget_idle(self, now: float) -> None:
        """Drop the clients whose buckets have refilled completely (they owe nothing)."""
        for (kind, key), bucket in list(self._clients.items()):
            rate = self._rate_of(kind)
            if bucket.tokens + (now - bucket.updated) * rate.per_second >= rate.capacity:
                del self._clients[(kind, key)]

    def _rate_of(self, kind: str) -> Rate:
        """The rate of a client bucket's kind ("provider", or "provider/56")."""
        base, _, network = kind.partition("/")
        limit = self._limits[base]
        if network and limit.per_network is not None:
            return limit.per_network
        return limit.per_address

    def clients(self) -> int:
        return len(self._clients)
