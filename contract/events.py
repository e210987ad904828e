"""Event types and funnel stages of an onboarding (docs/webhook-funnel-events.md).

One ``Stage`` per step of the funnel, in order: its name (as the funnel, the Desk and
the timelines show it) and the event type whose arrival reaches it. A session that fails
sends ``onboarding.failed`` instead, which reaches no stage.
"""

from __future__ import annotations

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

# Stage names in funnel order; a stage's number is its index here (stored as such).
STAGES = tuple(stage.name for stage in FUNNEL)
# The event types of a complete onboarding, in stage order.
STAGE_TYPES = tuple(stage.event_type for stage in FUNNEL)
# Event type -> the stage number it reaches.
STAGE_OF_TYPE = {event_type: number for number, event_type in enumerate(STAGE_TYPES)}
# Every event type a sender may emit and Ops accepts.
EVENT_TYPES = (*STAGE_TYPES, FAILED)
COMPLETED_STAGE = STAGES.index("completed")
