"""Event types and funnel stages of an onboarding (docs/webhook-funnel-events.md).

One ``Stage`` per step of the funnel, in order: its name (as the funnel, the Desk and
the timelines show it) and the event type whose arrival reaches it. A session that fails
sends ``onboarding.failed`` instead, which reaches no stage.

``mail.checked`` is not a stage either: it says whether the domain's mail works as the
world's DNS shows it (``MAIL_ITEMS``, each ``MAIL_STATUSES``), sent on a session's first
check and whenever the result changes (docs/webhook-funnel-events.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    event_type: str


FUNNEL = (
    Stage("started", "onboarding.started"),
    Stage("domain_validated", "domain.validated"),
    Stage("dns_applied", "dns.applied"),
    Stage("account_created", "account.created"),
    Stage("infra_synced", "infra.synced"),
    Stage("completed", "onboarding.completed"),
)
FAILED = "onboarding.failed"
MAIL_CHECKED = "mail.checked"
# mail.checked's items in the order every view lists them, and the status each can have.
MAIL_ITEMS = ("mx", "spf", "dmarc", "dkim", "autodiscover")
MAIL_STATUSES = ("ok", "pending", "failed")

# Stage names in funnel order; a stage's number is its index here (stored as such).
STAGES = tuple(stage.name for stage in FUNNEL)
# The event types of a complete onboarding, in stage order.
STAGE_TYPES = tuple(stage.event_type for stage in FUNNEL)
# Event type -> the stage number it reaches.
STAGE_OF_TYPE = {event_type: number for number, event_type in enumerate(STAGE_TYPES)}
# Every event type a sender may emit and Ops accepts.
EVENT_TYPES = (*STAGE_TYPES, FAILED, MAIL_CHECKED)
COMPLETED_STAGE = STAGES.index("completed")

# Breakdowns (docs/webhook-funnel-events.md, "Breakdowns"): what the Portal knows of a
# session that the funnel and the trend can be split by, each a closed set or a bounded
# string. onboarding.started carries ``language`` and ``release``; dns.applied carries
# ``mode`` (the DNS mode) and ``previous_provider`` (what the zone's MX named before).
# Ops counts a session without a value (an older Portal's events) as unknown.
DNS_MODES = ("cloudflare", "manual")
PREVIOUS_PROVIDERS = ("microsoft365", "google", "other", "none")
LANGUAGES = ("pt", "en")
# A Portal release: its package version, 1-32 characters, a digit first (so never a word
# such as "unknown" or "other"), then digits, letters and . + -
_RELEASE = "[0-9][0-9A-Za-z.+-]{0,31}"
RELEASE = re.compile(rf"^{_RELEASE}\Z")
RELEASE_SCHEMA = f"^{_RELEASE}$"
# The dimensions a breakdown splits by, each the session property of the same name.
BREAKDOWNS = ("dns_mode", "previous_provider", "language", "release")

# data.session_id (also the wizard API's session_id): 1-128 of A-Z a-z 0-9 _ -.
_SESSION_ID = "[A-Za-z0-9_-]{1,128}"
# \Z, not $: $ matches before a trailing newline.
SESSION_ID = re.compile(rf"^{_SESSION_ID}\Z")
# The same for JSON Schema (OpenAPI), whose ECMA-262 regexes have no \Z and whose $
# ends the string unless multiline.
SESSION_ID_SCHEMA = f"^{_SESSION_ID}$"
# The webhook-id header (the event's id, stored once by Ops): 1-255 visible ASCII.
WEBHOOK_ID = re.compile(r"^[\x21-\x7e]{1,255}\Z")
# onboarding.started's data.reference, the support reference the customer quotes (the
# Portal derives it: vm112_portal/support.py): 8 of A-Z and 2-9.
_REFERENCE = "[A-Z2-9]{8}"
REFERENCE = re.compile(rf"^{_REFERENCE}\Z")
REFERENCE_SCHEMA = f"^{_REFERENCE}$"

# onboarding.started's `data.refusal` (docs/webhook-funnel-events.md, "Refused attempts"):
# the wizard API's error `code` of a refused domain (e.g. `mailbox_provider`,
# `domain_invalid`, `domain_in_progress`) and the HTTP `status` it answered (4xx).
_REFUSAL_CODE = "[A-Za-z0-9_.:-]{1,64}"
REFUSAL_CODE = re.compile(rf"^{_REFUSAL_CODE}\Z")
REFUSAL_CODE_SCHEMA = f"^{_REFUSAL_CODE}$"
# What onboarding.started carries as `domain` when the attempt was refused (never the raw
# text the customer typed); an event of an older Portal with it and no `refusal` is
# counted as a refusal with the code `unspecified`.
REJECTED_DOMAIN = "(rejected)"
UNSPECIFIED_REFUSAL = "unspecified"
