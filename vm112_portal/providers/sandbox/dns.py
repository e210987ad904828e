"""The world's DNS as the sandbox sees it, for the mail check (vm112_portal/mail_check.py)
when no ``PORTAL_DNS_RESOLVERS`` is set in sandbox mode.

- A domain with a sandbox Cloudflare zone shows that zone's records as they are now (what
  the wizard created, kept or replaced; vm112_portal/providers/sandbox/zones.py seeds them).
- A ``nocf…`` domain has no Cloudflare zone: its records are at the customer's own DNS
  host (``Sandbox.customer_dns``, empty at first: "manual records not yet published").
  ``nocflater…`` domains are the customer who publishes them later: once the mail check
  has looked at the domain, the records this onboarding asked for appear at the
  customer's host (a "check again" then finds them).

Sandbox rules, not any provider's: docs/portal.md, "Sandbox rules".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vm112_portal import txt_strings
from vm112_portal.domains import PSL
from vm112_portal.providers.dns_plan import mail_records
from vm112_portal.providers.sandbox.zones import zone_name_for

if TYPE_CHECKING:
    from vm112_portal.providers.sandbox import Sandbox


class SandboxDns:
    def __init__(self, sandbox: Sandbox, mail_host: str) -> None:
        self._sandbox = sandbox
        self._mail_host = mail_host
        self._looked: set[str] = set()

    def _records(self, name: str, rdtype: str) -> list[dict[str, Any]]:
        name = name.lower().rstrip(".")
        zone = zone_name_for(name)
        if zone is not None:
            held = self._sandbox.cloudflare.zone_records(zone)
        else:
            registrable = PSL.privatesuffix(name) or name
            held = self._sandbox.customer_dns.get(str(registrable), [])
        return [r for r in held if r["name"].lower() == name and r["type"] == rdtype]

    async def mx(self, name: str) -> list[str]:
        registrable = str(PSL.privatesuffix(name.lower()) or name)
        if registrable.split(".")[0].startswith("nocflater"):
            if registrable in self._looked and registrable not in self._sandbox.customer_dns:
                self._sandbox.customer_dns[registrable] = [
                    r.brief() for r in mail_records(registrable, self._mail_host)
                ]
            self._looked.add(registrable)
        return [str(r["content"]) for r in self._records(name, "MX")]

    async def txt(self, name: str) -> list[str]:
        return [txt_strings.joined(str(r["content"])) for r in self._records(name, "TXT")]

    async def cname(self, name: str) -> str | None:
        found = self._records(name, "CNAME")
        return str(found[0]["content"]) if found else None
