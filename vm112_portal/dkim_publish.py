"""``dkim publish``: the key zmdkimkeyutil made for a domain, put where the world sees it.

1. The key (vm112_portal/dkim.py read it from zmdkimkeyutil's output) is kept in
   ``dkim_keys`` (its public part: the mail check compares DNS with it).
2. With a Cloudflare zone for the domain, ``<selector>._domainkey.<domain>`` is written
   there (created, or an existing DKIM record at that name overwritten); without one, or
   when the onboarding's DNS step was manual (Cloudflare is then not asked), the one
   joined record is printed for the customer's DNS host.
3. Once DNS shows the key (looked up through the mail check's resolvers, waiting up to
   ``wait`` seconds), DMARC is raised from ``p=none`` to the target policy in a Cloudflare
   zone: DMARC passes on aligned DKIM from then on (RFC 7489 §6.6), so forwarded mail no
   longer depends on SPF alone. A policy other than ``none`` is left as the customer has
   it; a manual zone gets the raised record printed.
4. The session's mail check runs (trigger ``dkim``), which sends ``mail.checked`` when the
   result changed (DKIM now ``ok``).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from vm112_portal import txt_strings
from vm112_portal.db import Database
from vm112_portal.dkim import DkimKey, public_key_of
from vm112_portal.domains import normalise
from vm112_portal.mail_check import MailChecker, MailDns, MailResult, SessionNotOnboarded
from vm112_portal.providers.cloudflare_dns import CloudflareDns
from vm112_portal.resolvers import DnsFailure

TARGET_POLICY = "quarantine"  # the DMARC policy once DKIM signs (docs/portal.md, "DKIM")
_POLICY = re.compile(r"(^|;)(\s*)p\s*=\s*none\s*(?=;|$)", re.IGNORECASE)


@dataclass
class PublishReport:
    key: DkimKey
    zone: str | None = None  # the Cloudflare zone written, None: manual
    dkim_action: str | None = None  # created, updated, present
    visible: bool = False
    dmarc: str = "unchanged"  # raised, unchanged, not_none, missing, manual
    dmarc_record: str | None = None
    check: MailResult | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        key = self.key
        out = [f"DKIM selector {key.selector} for {key.domain}"]
        if self.zone is None:
            out += [
                "no Cloudflare zone: publish this one record at the customer's DNS host:",
                f"  {key.name}. TXT {txt_strings.render(key.txt)}",
                f"  (as one value: {key.txt})",
            ]
        else:
            out.append(f"Cloudflare zone {self.zone}: {key.name} TXT {self.dkim_action}")
        out.append(
            "the key is visible in DNS" if self.visible else "the key is not visible in DNS yet"
        )
        if self.dmarc == "raised":
            out.append(f"DMARC raised to p={TARGET_POLICY}: {self.dmarc_record}")
        elif self.dmarc == "manual" and self.dmarc_record:
            out.append(
                "raise DMARC at the customer's DNS host: "
                f"_dmarc.{key.domain} TXT {self.dmarc_record}"
            )
        out += self.notes
        if self.check is not None:
            state = "ready" if self.check.ready else "not ready"
            out.append(f"mail check: {state}")
            out += [f"  {i['name']}: {i['status']} ({i['code']})" for i in self.check.items]
        return out


def raised(dmarc: str) -> str | None:
    """The DMARC record with ``p=none`` raised to the target policy; None when its
    policy is not ``none``."""
    if not _POLICY.search(dmarc):
        return None
    return _POLICY.sub(lambda m: f"{m.group(1)}{m.group(2)}p={TARGET_POLICY}", dmarc, count=1)


async def _visible(lookup: MailDns, key: DkimKey, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        try:
            shown = [public_key_of(t) for t in await lookup.txt(key.name)]
        except DnsFailure:
            shown = []
        if key.public_key in shown:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(min(5.0, max(0.0, deadline - time.monotonic())))


async def publish(
    key: DkimKey,
    *,
    db: Database,
    cloudflare: CloudflareDns | None,
    lookup: MailDns,
    checker: MailChecker,
    wait: float = 60.0,
) -> PublishReport:
    report = PublishReport(key=key)
    async with db.transaction() as tx:
        await tx.execute(
            "upsert_dkim_key",
            {"domain": key.domain, "selector": key.selector, "txt": key.txt, "now": time.time()},
        )
    # A manual onboarding's records are at the customer's DNS host: Cloudflare is not asked.
    manual = await checker.mode_of(key.domain) == "manual"
    zone = None
    if cloudflare is not None and not manual:
        zone = await cloudflare.find_zone(normalise(key.domain))
    if zone is not None and cloudflare is not None:
        report.zone = zone[1]
        existing = await cloudflare.txt_at(zone[0], key.name)
        dkim_old = next(
            (r for r in existing if txt_strings.joined(r.content).startswith("v=DKIM1")), None
        )
        report.dkim_action = await cloudflare.put_txt(zone[0], key.name, key.txt, dkim_old)
    report.visible = await _visible(lookup, key, wait)
    dmarc_name = f"_dmarc.{key.domain}"
    if report.visible:
        if zone is not None and cloudflare is not None:
            found = [
                r
                for r in await cloudflare.txt_at(zone[0], dmarc_name)
                if txt_strings.joined(r.content).upper().startswith("V=DMARC1")
            ]
            if len(found) != 1:
                report.dmarc = "missing"
                report.notes.append(
                    f"DMARC left as it is: {len(found)} DMARC records at {dmarc_name}"
                )
            else:
                text = txt_strings.joined(found[0].content)
                new = raised(text)
                if new is None:
                    report.dmarc = "not_none"
                    report.notes.append(f"DMARC left as it is (policy not none): {text}")
                else:
                    await cloudflare.put_txt(zone[0], dmarc_name, new, found[0])
                    report.dmarc, report.dmarc_record = "raised", new
        else:
            texts = [t for t in await lookup.txt(dmarc_name) if t.upper().startswith("V=DMARC1")]
            new = raised(texts[0]) if len(texts) == 1 else None
            report.dmarc, report.dmarc_record = "manual", new
    else:
        report.notes.append(
            "DMARC stays as it is until the key is visible; run dkim publish again then"
        )
    try:
        session_id = await checker.session_for(key.domain)
    except SessionNotOnboarded:
        report.notes.append(f"no onboarded session of {key.domain}: no mail check ran")
    else:
        report.check = await checker.check(session_id, "dkim")
    return report
