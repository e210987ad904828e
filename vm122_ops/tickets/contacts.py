"""Who to contact about a session: the admin address the customer typed.

The Portal learns it at the account step and carries it as ``data.contact`` in that step's
events and every later one (docs/webhook-funnel-events.md); events of an older Portal
carry only ``account`` on account.created and onboarding.completed, which is the same
address. Ingest keeps, per session, the address of the newest event (by event time, then
row id) that carries one, so any arrival order gives the same contact. A value that is not
one plain address (RFC 5322 dot-atom local part, an ASCII domain with a dot: what the
Portal builds from ``admin_local_part`` and the IDNA domain) is ignored, never stored: the
Desk builds a mailto: link from it.
"""

from __future__ import annotations

import re
import sqlite3

from servicekit.sqlfiles import Queries
from vm122_ops.ingest.events import Event

# RFC 5322 §3.2.3 atext for the local part (dot-atom: no leading, trailing or double dot);
# the domain as LDH labels (RFC 5890 A-labels), at least two; RFC 5321 §4.5.3.1 lengths.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\Z"
)
MAX_ADDRESS = 254
MAX_LOCAL = 64
# Older Portals: the created account is the address typed.
_ACCOUNT_TYPES = frozenset({"account.created", "onboarding.completed"})


def address(value: object) -> str | None:
    """``value`` when it is one plain e-mail address, else None."""
    if not isinstance(value, str) or len(value) > MAX_ADDRESS or not _ADDRESS.match(value):
        return None
    return value if len(value.split("@", 1)[0]) <= MAX_LOCAL else None


def of_event(event: Event) -> str | None:
    """The contact an event carries: ``contact``, else an older Portal's ``account``."""
    found = address(event.data.get("contact"))
    if found is None and event.event_type in _ACCOUNT_TYPES:
        found = address(event.data.get("account"))
    return found


def record(conn: sqlite3.Connection, queries: Queries, event: Event, row_id: int) -> None:
    """Keep the event's contact on its session when it is the newest carrying one (ingest,
    after the session row is written)."""
    contact = of_event(event)
    if contact is None:
        return
    conn.execute(
        queries["set_session_contact"],
        {
            "session_id": event.session_id,
            "contact": contact,
            "at": event.occurred_at,
            "row": row_id,
        },
    )
