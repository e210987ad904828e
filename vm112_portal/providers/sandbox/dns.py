"""The world's DNS as the sandbox sees it, for the mail check (vm112_portal/mail_check.py)
when no ``PORTAL_DNS_RESOLVERS`` is set in sandbox mode.

- A domain with a sandbox Cloudflare zone shows that zone's records as they are now (what
  the wizard created, kept or replaced; vm112_portal/providers/sandbox/zones.py seeds them).
- A ``nocf…`` domain has no Cloudflare zone: its records are at the customer's own DNS
  host (``Sandbox.customer_dns``, empty at first: "manual records not yet published").
  ``nocflater…`` domains are the customer who publishes them later: once the mail check
  has shown the customer the records still to publish, those records appear at the
  customer's host (a "check again" then finds them).

What a ``nocflater…`` customer has been shown is state of the sandbox's world
(``Sandbox.customer_shown``), not of one lookup object: a lookup advances it only when its
answers reach the customer (``shows_customer``: the mail check's, whose pending items
name the records to publish). The DNS step's MX lookup (manual mode's previous provider,
vm112_portal/wizard.py) shows the customer nothing, so it reads the world without
changing it, whenever and however often it runs.

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
    def __init__(self, sandbox: Sandbox, mail_host: str, *, shows_customer: bool = True) -> None:
        self._sandbox = sandbox
        self._mail_host = mail_host
        self._shows_customer = shows_customer

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
        if self._shows_customer and registrable.split(".")[0].startswith("nocflater"):
            # Shown the records by an earlier check, the customer has published them by
            # this one; this check's answer shows them the records still missing.
            shown = self._sandbox.customer_shown
            if registrable in shown and registrable not in self._sandbox.customer_dns:
                self._sandbox.customer_dns[registrable] = [
                    r.brief() for r in mail_records(registrable, self._mail_host)
                ]
            shown.add(registrable)
        return [str(r["content"]) for r in self._records(name, "MX")]

    async def txt(self, name: str) -> list[str]:
        return [txt_strings.joined(str(r["content"])) for r in self._records(name, "TXT")]

    async def cname(self, name: str) -> str | None:
        found = self._records(name, "CNAME")
        return str(found[0]["content"]) if found else None
