"""What an Ops answers about its events, comparable across two stores: the funnel, the
timelines and the tickets, without what depends on when each store received them (the
recovery and replay tests compare a rebuilt Ops with one that never died)."""

from __future__ import annotations

from typing import Any

import httpx

# What depends on when Ops received an event rather than on the events themselves: row and
# ticket ids, receipt times (a ticket's created_at/updated_at are its events' receipt
# times), and the moment and bounds of the answer. An event's own data is kept whole.
RECEIPT_FIELDS = frozenset(
    {
        "id",
        "received_at",
        "created_at",
        "updated_at",
        "generated_at",
        "since",
        "until",  # the funnel's previous window ends where the window begins
        "last_event_id",
        "ticket_id",  # a session's ticket: ticket ids follow the order of receipt
        # A ticket's version counts its changes; which automatic ones happen (a reopen, a
        # tag Ops adds) follows the order its events arrived in, not the events themselves.
        "version",
    }
)


def _without_receipt(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: v if k == "data" else _without_receipt(v)
            for k, v in value.items()
            if k not in RECEIPT_FIELDS
        }
    if isinstance(value, list):
        return [_without_receipt(item) for item in value]
    return value


async def ops_view(client: httpx.AsyncClient, session_ids: list[str]) -> dict[str, Any]:
    """The funnel, every listed session's timeline, and every ticket with its timeline, as
    the API answers them, without the receipt-dependent fields: equal for two stores that
    hold the same events, whatever order or time each received them in."""
    view: dict[str, Any] = {}
    view["funnel"] = (await client.get("/api/v1/onboard/funnel")).json()
    for session_id in session_ids:
        timeline = await client.get(f"/api/v1/onboard/sessions/{session_id}/timeline")
        view[f"timeline {session_id}"] = [timeline.status_code, timeline.json()]
    tickets: list[Any] = []
    cursor: str | None = None
    while True:
        params = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/desk/tickets", params=params)).json()
        for ticket in page["tickets"]:
            tickets.append((await client.get(f"/api/v1/desk/tickets/{ticket['id']}")).json())
        cursor = page["next"]
        if not cursor:
            break
    view["tickets"] = sorted(tickets, key=lambda ticket: str(ticket["session_id"]))
    stripped: dict[str, Any] = _without_receipt(view)
    return stripped
