"""The sandbox's TXT answers for SPF planning without the network.

What a resolver would answer for TXT: the sandbox Cloudflare's records (each content read
as its RFC 1035 character-strings, vm112_portal/txt_strings.py), and for names outside
the sandbox zones a small table of mail providers' SPF records. The table is the
sandbox's own (docs/portal.md, "Sandbox rules"): its structure follows what the
providers tell their customers to include (Google Workspace: ``include:_spf.google.com``,
which includes three ``_netblocks`` names; Microsoft 365: ``include:spf.protection.
outlook.com``, which includes ``spfd.protection.outlook.com``; SendGrid:
``include:sendgrid.net``); the address ranges are documentation examples, not theirs.
Any other name has no TXT record (NXDOMAIN).
"""

from __future__ import annotations

from vm112_portal import txt_strings
from vm112_portal.providers.sandbox.cloudflare import FakeCloudflare
from vm112_portal.providers.sandbox.zones import zone_name_for
from vm112_portal.resolvers import TxtRecord

PROVIDER_SPF: dict[str, str] = {
    "_spf.google.com": (
        "v=spf1 include:_netblocks.google.com include:_netblocks2.google.com "
        "include:_netblocks3.google.com ~all"
    ),
    "_netblocks.google.com": "v=spf1 ip4:192.0.2.0/24 ~all",
    "_netblocks2.google.com": "v=spf1 ip6:2001:db8::/32 ~all",
    "_netblocks3.google.com": "v=spf1 ip4:198.51.100.0/24 ~all",
    "spf.protection.outlook.com": (
        "v=spf1 ip4:203.0.113.0/24 include:spfd.protection.outlook.com -all"
    ),
    "spfd.protection.outlook.com": "v=spf1 ip4:203.0.113.128/25 -all",
    "sendgrid.net": "v=spf1 ip4:198.51.100.128/25 ~all",
}


class SandboxTxt:
    """TXT lookups answered from the sandbox Cloudflare's zones and the table above."""

    def __init__(self, cloudflare: FakeCloudflare) -> None:
        self._cloudflare = cloudflare

    async def txt_records(self, name: str) -> list[TxtRecord]:
        key = name.lower().rstrip(".")
        if key in PROVIDER_SPF:
            return [TxtRecord(tuple(txt_strings.split(PROVIDER_SPF[key])))]
        zone = zone_name_for(key)
        if zone is None:
            return []
        return [
            TxtRecord(tuple(txt_strings.parse(str(r["content"]))))
            for r in self._cloudflare.zone_records(zone)
            if r["name"] == key and r["type"] == "TXT"
        ]
