"""The mail DNS plan: what the zone already holds, compared with what the mail setup needs.

Pure logic, no I/O: ``plan(domain, mail_host, records)`` takes the zone's records on every
name the setup touches and says, per purpose, one action:

- ``create``: nothing of ours or in the way; add the record.
- ``present``: our record is already there (identical); nothing to do.
- ``merge``: SPF only: one ``v=spf1`` record exists without our mechanism; ours is added to
  it (never a second SPF record: two are a permerror, RFC 7208 §4.5), the old mechanisms
  kept, as long as the result stays within 10 DNS lookups counted as an evaluator counts
  them, includes and redirects followed (RFC 7208 §4.6.4; vm112_portal/spf.py, given to
  ``plan`` as ``spf_count``), and every include resolves.
- ``conflict``: something else holds the place (``reason``): ``mx_other_provider`` (an MX
  of another provider: two providers' MX split incoming mail), ``dmarc_other_policy`` (a
  second ``_dmarc`` record means no DMARC policy is applied, RFC 7489 §6.6.3),
  ``name_taken`` (the autodiscover name has an A, AAAA or CNAME: Cloudflare refuses a CNAME
  beside them, 81053), ``spf_multiple`` (already two SPF records), ``spf_too_many_lookups``
  (merging would pass 10 lookups, or 2 void lookups), ``spf_unresolvable`` (an include or
  redirect has no SPF record, or DNS failed for it): both with ``figures``
  (``SpfCount.as_dict``), never a silent merge. The customer replaces or keeps each
  conflict.

TXT content is read as its RFC 1035 character-strings joined (RFC 7208 §3.3,
vm112_portal/txt_strings.py): ``"v=spf1 a:x" " " "~all"`` is ``v=spf1 a:x ~all``.

DMARC is published with ``p=none``: until the domain's DKIM key is in DNS (it cannot be
yet: Carbonio makes the key after its domain exists, "DKIM" in docs/portal.md), DMARC
passes only on aligned SPF (RFC 7489 §6.6), so forwarded and mailing-list mail would fail
it; raising the policy is part of DKIM publication.

DKIM is not part of the plan: Carbonio signs a domain only with the key its own tool
generates for that domain (docs/portal.md, "DKIM"), so dns.applied says ``dkim: pending``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vm112_portal import txt_strings
from vm112_portal.spf import SpfCount

Action = Literal["create", "present", "merge", "conflict"]
SPF_LOOKUP_LIMIT = 10
# p=none until DKIM is published (RFC 7489 §6.6: without DKIM only aligned SPF passes).
DMARC_POLICY = "none"
# RFC 7208 §4.6.4: these mechanisms and the redirect modifier each cost a DNS lookup.
_LOOKUP_TERMS = ("include:", "a", "a:", "a/", "mx", "mx:", "mx/", "ptr", "ptr:", "exists:")


@dataclass(frozen=True)
class ZoneRecord:
    """A record read from the zone."""

    id: str
    type: str
    name: str
    content: str
    priority: int | None = None

    def brief(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": self.type, "name": self.name, "content": self.content}
        if self.priority is not None:
            record["priority"] = self.priority
        return record


@dataclass(frozen=True)
class MailRecord:
    """A record the mail setup wants in the zone."""

    purpose: str  # mx, spf, dmarc, autodiscover
    type: str
    name: str
    content: str
    priority: int | None = None

    def brief(self) -> dict[str, Any]:
        record: dict[str, Any] = {"type": self.type, "name": self.name, "content": self.content}
        if self.priority is not None:
            record["priority"] = self.priority
        return record


@dataclass(frozen=True)
class Step:
    purpose: str
    action: Action
    record: MailRecord  # the record the zone ends with if applied (merged content for merge)
    existing: tuple[ZoneRecord, ...] = field(default=())  # what it merges into or conflicts with
    reason: str | None = None  # conflict reason
    figures: dict[str, Any] | None = None  # SPF: the lookup count of the merged record

    def as_dict(self) -> dict[str, Any]:
        step: dict[str, Any] = {
            "purpose": self.purpose,
            "action": self.action,
            **self.record.brief(),
            "existing": [r.brief() for r in self.existing],
        }
        if self.reason is not None:
            step["reason"] = self.reason
        if self.figures is not None:
            step["figures"] = self.figures
        return step


# MX hosts of well-known providers, for "MX still points to Microsoft 365" (each provider's
# own setup page names these hosts: Microsoft's "Add DNS records to connect your domain"
# gives <domain>.mail.protection.outlook.com; Google Workspace's MX values end in
# google.com or googlemail.com; Zoho's in zoho.com / zoho.eu).
_PROVIDERS = (
    ("mail.protection.outlook.com", "Microsoft 365"),
    ("outlook.com", "Microsoft 365"),
    ("google.com", "Google Workspace"),
    ("googlemail.com", "Google Workspace"),
    ("zoho.com", "Zoho Mail"),
    ("zoho.eu", "Zoho Mail"),
)


def provider_of(host: str) -> str:
    """The provider an MX host belongs to, or the host itself when unknown."""
    low = host.lower().rstrip(".")
    for suffix, name in _PROVIDERS:
        if low == suffix or low.endswith("." + suffix):
            return name
    return low


# The contract's previous_provider (servicekit.contract.PREVIOUS_PROVIDERS) of each named
# provider; any other host is "other".
_PREVIOUS = {"Microsoft 365": "microsoft365", "Google Workspace": "google"}


def previous_provider(steps: list[Step], mail_host: str) -> str:
    """What the zone's mail pointed to before the DNS step, from its plan (cloudflare
    mode): ``previous_of`` the MX hosts the zone held."""
    for step in steps:
        if step.purpose == "mx":
            return previous_of([r.content for r in step.existing], mail_host)
    return "none"


def previous_of(mx_hosts: list[str], mail_host: str) -> str:
    """What a domain's mail pointed to before the DNS step, from its MX hosts (the zone's
    in cloudflare mode, the world's DNS in manual mode): the provider of the hosts that are
    not ours (``microsoft365``, ``google``, ``other``; the first named one when several),
    or ``none`` (no MX, or only ours): dns.applied's ``previous_provider``
    (docs/webhook-funnel-events.md, "Breakdowns")."""
    host = _host(mail_host)
    names = [provider_of(mx) for mx in mx_hosts if _host(mx) != host]
    for name in names:
        if name in _PREVIOUS:
            return _PREVIOUS[name]
    return "other" if names else "none"


def mail_records(domain: str, mail_host: str) -> list[MailRecord]:
    """The records a fresh zone gets for a mail domain on our Carbonio."""
    return [
        MailRecord("mx", "MX", domain, mail_host, priority=10),
        MailRecord("spf", "TXT", domain, f"v=spf1 mx a:{mail_host} ~all"),
        MailRecord(
            "dmarc",
            "TXT",
            f"_dmarc.{domain}",
            f"v=DMARC1; p={DMARC_POLICY}; rua=mailto:dmarc@{domain}",
        ),
        MailRecord("autodiscover", "CNAME", f"autodiscover.{domain}", mail_host),
    ]


def names_to_read(domain: str) -> list[str]:
    """Every name the mail setup touches."""
    return [domain, f"_dmarc.{domain}", f"autodiscover.{domain}"]


def _host(value: str) -> str:
    return value.strip().rstrip(".").lower()


def _unquote(content: str) -> str:
    """TXT content as its text: the RFC 1035 character-strings joined (RFC 7208 §3.3)."""
    return txt_strings.joined(content)


def is_spf(content: str) -> bool:
    text = _unquote(content).lower()
    return text == "v=spf1" or text.startswith("v=spf1 ")


def spf_terms(content: str) -> list[str]:
    """The terms after ``v=spf1``."""
    return _unquote(content).split()[1:]


def spf_lookups(content: str) -> int:
    """DNS-querying terms of one SPF record (nested includes are not resolved here)."""
    count = 0
    for term in spf_terms(content):
        bare = term.lower().lstrip("+-~?")
        if bare.startswith("redirect=") or any(
            bare == t or (t.endswith((":", "/")) and bare.startswith(t)) for t in _LOOKUP_TERMS
        ):
            count += 1
    return count


def spf_mechanism(mail_host: str) -> str:
    return f"a:{mail_host}"


def merge_spf(content: str, mail_host: str) -> str:
    """Our mechanism added right after ``v=spf1`` (before any ``all`` or ``redirect=``)."""
    return " ".join(["v=spf1", spf_mechanism(mail_host), *spf_terms(content)])


def has_our_spf(content: str, mail_host: str) -> bool:
    wanted = spf_mechanism(mail_host).lower()
    return any(t.lower().lstrip("+") == wanted for t in spf_terms(content))


def _dmarc_policy(content: str) -> str | None:
    for tag in _unquote(content).split(";"):
        key, _, value = tag.strip().partition("=")
        if key.strip().lower() == "p":
            return value.strip().lower()
    return None


def spf_to_merge(domain: str, mail_host: str, records: list[ZoneRecord]) -> str | None:
    """The merged SPF text planning would propose (the one SPF record at the domain
    without our mechanism, ours added), or None; the caller counts its lookups."""
    spf = [r for r in records if r.name == domain and r.type == "TXT" and is_spf(r.content)]
    if len(spf) != 1 or has_our_spf(spf[0].content, mail_host):
        return None
    return merge_spf(spf[0].content, mail_host)


def plan(
    domain: str, mail_host: str, records: list[ZoneRecord], spf_count: SpfCount | None = None
) -> list[Step]:
    """One step per purpose, from the zone's records on ``names_to_read(domain)``;
    ``spf_count`` is the evaluator's count of ``spf_to_merge`` (vm112_portal/spf.py)."""
    wanted = {r.purpose: r for r in mail_records(domain, mail_host)}
    host = _host(mail_host)
    at = {name: [r for r in records if r.name == name] for name in names_to_read(domain)}
    return [
        _plan_mx(wanted["mx"], at[domain], host),
        _plan_spf(wanted["spf"], at[domain], mail_host, spf_count),
        _plan_dmarc(wanted["dmarc"], at[f"_dmarc.{domain}"]),
        _plan_autodiscover(wanted["autodiscover"], at[f"autodiscover.{domain}"], host),
    ]


def _plan_mx(ours: MailRecord, here: list[ZoneRecord], host: str) -> Step:
    mx = [r for r in here if r.type == "MX"]
    others = tuple(r for r in mx if _host(r.content) != host)
    if others:
        return Step("mx", "conflict", ours, others, "mx_other_provider")
    if mx:
        return Step("mx", "present", ours)
    return Step("mx", "create", ours)


def _plan_spf(
    ours: MailRecord, here: list[ZoneRecord], mail_host: str, counted: SpfCount | None
) -> Step:
    spf = [r for r in here if r.type == "TXT" and is_spf(r.content)]
    if not spf:
        return Step("spf", "create", ours)
    if len(spf) > 1:
        return Step("spf", "conflict", ours, tuple(spf), "spf_multiple")
    (old,) = spf
    if has_our_spf(old.content, mail_host):
        return Step("spf", "present", MailRecord("spf", "TXT", ours.name, _unquote(old.content)))
    merged = MailRecord("spf", "TXT", ours.name, merge_spf(old.content, mail_host))
    if counted is None:  # no resolver: the record's own terms (a lower bound)
        if spf_lookups(merged.content) > SPF_LOOKUP_LIMIT:
            return Step("spf", "conflict", ours, (old,), "spf_too_many_lookups")
        return Step("spf", "merge", merged, (old,))
    figures = counted.as_dict()
    if counted.over_limit:
        return Step("spf", "conflict", ours, (old,), "spf_too_many_lookups", figures)
    if counted.unresolved:
        return Step("spf", "conflict", ours, (old,), "spf_unresolvable", figures)
    return Step("spf", "merge", merged, (old,), figures=figures)


def _plan_dmarc(ours: MailRecord, here: list[ZoneRecord]) -> Step:
    dmarc = [
        r for r in here if r.type == "TXT" and _unquote(r.content).upper().startswith("V=DMARC1")
    ]
    if not dmarc:
        return Step("dmarc", "create", ours)
    if len(dmarc) == 1 and _dmarc_policy(dmarc[0].content) == _dmarc_policy(ours.content):
        return Step(
            "dmarc", "present", MailRecord("dmarc", "TXT", ours.name, _unquote(dmarc[0].content))
        )
    return Step("dmarc", "conflict", ours, tuple(dmarc), "dmarc_other_policy")


def _plan_autodiscover(ours: MailRecord, here: list[ZoneRecord], host: str) -> Step:
    taken = [r for r in here if r.type in ("A", "AAAA", "CNAME")]
    if any(r.type == "CNAME" and _host(r.content) == host for r in taken) and len(taken) == 1:
        return Step("autodiscover", "present", ours)
    if taken:
        return Step("autodiscover", "conflict", ours, tuple(taken), "name_taken")
    return Step("autodiscover", "create", ours)
