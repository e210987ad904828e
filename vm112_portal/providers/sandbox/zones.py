"""Which sandbox Cloudflare zones exist, and what each already holds, by its first label.

A zone exists for every registrable domain (public suffix plus one label) unless its first
label starts with ``nocf``. Its records on first use depend on how that label starts, so a
person can try the DNS plan by hand (docs/portal.md, "Sandbox rules"):

- ``m365``: a Microsoft 365 domain: MX 0 ``<domain-with-dashes>.mail.protection.outlook.com``,
  SPF ``v=spf1 include:spf.protection.outlook.com -all``, CNAME ``autodiscover`` to
  ``autodiscover.outlook.com`` (the values Microsoft's "Add DNS records to connect your
  domain" page tells its customers to publish), and a verification TXT ``MS=ms…``.
- ``gws``: a Google Workspace domain: MX 1 ``smtp.google.com`` and SPF ``v=spf1
  include:_spf.google.com ~all`` (Google's "Set up MX records for Google Workspace" help
  page: one MX record, priority 1, value smtp.google.com, since 2023; older domains keep
  ASPMX.L.GOOGLE.COM and its ALT hosts).
- ``cpanel``: a cPanel host: MX 0 the domain itself, SPF ``v=spf1 +a +mx ~all``, A
  ``autodiscover`` (cPanel publishes autodiscover/autoconfig as A records).
- ``spf``: only an SPF record, ``v=spf1 include:_spf.google.com ~all``.
- ``dmarc``: only ``_dmarc`` with ``v=DMARC1; p=reject``.
- ``heavyspf``: an SPF record with Google, Outlook and SendGrid includes plus ``mx a
  a:relay…``: 10 lookups once its includes are followed (vm112_portal/providers/sandbox/
  dns.py answers them), 6 on its own terms.
- ``brokenspf``: an SPF record including a name that has no SPF record.
- ``splitspf``: an SPF record of three character-strings, one of them a single space:
  ``"v=spf1 include:_spf.google.com" " " "~all"`` (RFC 1035 §3.3.14; Cloudflare's API
  gives TXT content as quoted strings, cloudflare-python types/dns/txt_record.py).
- ``ours``: already correct: the mail records this Portal publishes for its mail host
  (vm112_portal/providers/dns_plan.py ``mail_records``), so the plan finds them all present
  and the mail check all but DKIM ok.
- anything else: an empty zone.

Zone status and type, by the same label (Cloudflare API "List Zones": ``status`` is one of
initializing, pending, active, moved; ``type`` one of full, partial, secondary; docs
"Zone status" dns/zone-setups/reference/domain-status, and cloudflare-python
types/zones/zone.py): ``pending…``, ``moved…``, ``initializing…`` zones have that status,
``partial…`` and ``secondary…`` zones that type; every other zone is active and full.
"""

from __future__ import annotations

import hashlib
from typing import Any

from vm112_portal.domains import PSL
from vm112_portal.providers.dns_plan import mail_records

SANDBOX_MAIL_HOST = "mail.sandbox.example.net"  # Settings.mail_host's default


def zone_name_for(name: str) -> str | None:
    """The sandbox zone holding ``name``: its registrable domain, unless that is ``nocf…``."""
    registrable = PSL.privatesuffix(name.lower().rstrip("."))
    if registrable is None or registrable.split(".")[0].startswith("nocf"):
        return None
    return str(registrable)


def zone_document(name: str) -> dict[str, Any]:
    """A zone as GET /zones lists it (cloudflare-python types/zones/zone.py fields)."""
    zone_id = hashlib.sha256(f"zone:{name}".encode()).hexdigest()[:32]
    label = name.split(".")[0]
    status = next(
        (s for s in ("pending", "moved", "initializing") if label.startswith(s)), "active"
    )
    kind = next((t for t in ("partial", "secondary") if label.startswith(t)), "full")
    return {
        "id": zone_id,
        "name": name,
        "status": status,
        "paused": False,
        "type": kind,
        "development_mode": 0,
        "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
        "original_name_servers": None,
        "original_registrar": None,
        "original_dnshost": None,
        "created_on": "2026-01-01T00:00:00.000000Z",
        "modified_on": "2026-01-01T00:00:00.000000Z",
        "activated_on": "2026-01-01T00:00:00.000000Z",
        "account": {"id": "0" * 32, "name": "Sandbox account"},
        "meta": {"phishing_detected": False, "cdn_only": False, "dns_only": False},
        "owner": {"id": None, "name": None, "type": "user"},
        "permissions": [],
        "plan": {"id": "0" * 32, "name": "Free Website", "is_subscribed": False},
    }


def seed_records(zone: str, mail_host: str = SANDBOX_MAIL_HOST) -> list[dict[str, Any]]:
    """The records a zone holds before the wizard touches it (``mail_host``: the Portal's
    PORTAL_MAIL_HOST, for the ``ours`` zones)."""
    label = zone.split(".")[0]
    if label.startswith("ours"):
        return [record.brief() for record in mail_records(zone, mail_host)]
    if label.startswith("m365"):
        return [
            _mx(zone, f"{zone.replace('.', '-')}.mail.protection.outlook.com", 0),
            _txt(zone, "v=spf1 include:spf.protection.outlook.com -all"),
            _txt(zone, "MS=ms48151623"),
            {
                "type": "CNAME",
                "name": f"autodiscover.{zone}",
                "content": "autodiscover.outlook.com",
            },
        ]
    if label.startswith("gws"):
        return [_mx(zone, "smtp.google.com", 1), _txt(zone, "v=spf1 include:_spf.google.com ~all")]
    if label.startswith("cpanel"):
        return [
            _mx(zone, zone, 0),
            _txt(zone, "v=spf1 +a +mx ~all"),
            {"type": "A", "name": f"autodiscover.{zone}", "content": "203.0.113.10"},
        ]
    if label.startswith("spf"):
        return [_txt(zone, "v=spf1 include:_spf.google.com ~all")]
    if label.startswith("heavyspf"):
        return [
            _txt(
                zone,
                "v=spf1 include:_spf.google.com include:spf.protection.outlook.com "
                f"include:sendgrid.net mx a a:relay.{zone} ~all",
            )
        ]
    if label.startswith("brokenspf"):
        return [_txt(zone, "v=spf1 include:spf.gone.example ~all")]
    if label.startswith("splitspf"):
        return [_txt(zone, '"v=spf1 include:_spf.google.com" " " "~all"')]
    if label.startswith("dmarc"):
        return [_txt(f"_dmarc.{zone}", f"v=DMARC1; p=reject; rua=mailto:postmaster@{zone}")]
    return []


def _mx(name: str, host: str, priority: int) -> dict[str, Any]:
    return {"type": "MX", "name": name, "content": host, "priority": priority}


def _txt(name: str, content: str) -> dict[str, Any]:
    return {"type": "TXT", "name": name, "content": content}
