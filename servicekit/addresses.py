"""The key a client address is throttled by, the same in both services."""

from __future__ import annotations

import ipaddress


def address_key(host: str | None) -> str:
    """The throttling key of a client address: IPv4 as is (an IPv4-mapped IPv6 address
    too), IPv6 by its /64 (the block one subscriber usually gets); a host that is no
    address, cut to 64 characters."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
