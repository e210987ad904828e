"""The Desk's search (vm122_ops/tickets/search.py, GET /api/v1/desk/search): domain prefixes in
both forms of internationalised names, session ids, ticket numbers; bad queries."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from servicekit.sqlfiles import migrate
from tests.ops.conftest import AUTH, HOUR, NOW, Ops
from vm122_ops.store.db import SQL_DIR
from vm122_ops.store.sql import QUERIES
from vm122_ops.tickets.search import ascii_form, unicode_form

SEARCH = "/api/v1/desk/search"


async def ids(ops: Ops, q: str) -> list[tuple[str, str]]:
    found = await ops.get(SEARCH, q=q)
    return [(item["session_id"], item["matched"]) for item in found["items"]]


def test_both_forms_of_a_name() -> None:
    assert unicode_form("XN--MNCHEN-3YA.De") == "münchen.de"
    assert ascii_form("MÜNCHEN.de") == "xn--mnchen-3ya.de"
    assert unicode_form("Exemplo.PT ") == "exemplo.pt"
    assert ascii_form("açores.pt") == "xn--aores-yra.pt"
    assert unicode_form("xn--zz") == "xn--zz"  # a partial label stays as typed


async def test_finds_by_domain_prefix_id_and_ticket(ops: Ops) -> None:
    await ops.send("onboarding.started", "uni", NOW - 3 * HOUR, domain="München.de")
    await ops.send("onboarding.started", "asc", NOW - 2 * HOUR, domain="xn--aores-yra.pt")
    await ops.send("onboarding.started", "ex1", NOW - 2 * HOUR, domain="Example.PT")
    await ops.send("onboarding.started", "ex2", NOW - HOUR, domain="example.pt")
    await ops.send("onboarding.started", "other", NOW - HOUR, domain="exempt.com")
    await ops.send("onboarding.failed", "ex1", NOW - 1.5 * HOUR, domain="Example.PT")  # ticket
    ticket = (await ops.get("/api/v1/desk/tickets"))["tickets"][0]["id"]

    # Case-insensitive prefix, newest activity first within one domain.
    assert await ids(ops, "EXAMPLE") == [("ex2", "domain"), ("ex1", "domain")]
    assert await ids(ops, "Ex") == [("ex2", "domain"), ("ex1", "domain"), ("other", "domain")]
    # Unicode typed, any case; the ASCII form, whole or as a prefix.
    assert await ids(ops, "MÜN") == [("uni", "domain")]
    assert await ids(ops, "xn--mnchen-3ya.de") == [("uni", "domain")]
    assert await ids(ops, "XN--MNCH") == [("uni", "domain")]
    # A domain stored in its ASCII form is found by its Unicode form too.
    assert await ids(ops, "Açor") == [("asc", "domain")]
    assert await ids(ops, "xn--aores") == [("asc", "domain")]
    # A session id; a ticket number, with or without #.
    assert await ids(ops, "other") == [("other", "session_id")]
    assert await ids(ops, f"#{ticket}") == [("ex1", "ticket")]
    found = await ops.get(SEARCH, q=str(ticket))
    assert found["items"][0] == {
        "session_id": "ex1",
        "domain": "Example.PT",
        "stage": "started",
        "status": "failed",
        "last_event_at": "2026-11-29T10:30:00.000Z",
        "ticket_id": ticket,
        "matched": "ticket",
    }
    assert await ids(ops, "nothing.here") == []


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({}, "q is required"),
        ({"q": "   "}, "q is required"),
        ({"q": "a" * 254}, "at most 253"),
        ({"q": "ex\u202eample"}, "must not contain"),
        ({"q": "ex\x01"}, "must not contain"),
        ({"q": "ex", "limit": "3"}, "unknown query parameter: limit"),
    ],
)
async def test_bad_queries_are_400(ops: Ops, params: dict[str, str], reason: str) -> None:
    response = await ops.client.get(SEARCH, params=params, headers=AUTH)
    assert response.status_code == 400
    assert response.json()["ok"] is False and reason in str(response.json()["error"])


async def test_domain_search_reads_an_index_range(ops: Ops) -> None:
    await ops.send("onboarding.started", "p1", NOW - HOUR)

    def plans(conn: sqlite3.Connection) -> dict[str, str]:
        found: dict[str, str] = {}
        params: dict[str, Any] = {"prefix": "a", "prefix_end": "b", "limit": 20}
        for name in ("sessions_by_domain_key", "sessions_by_domain_ascii"):
            rows = conn.execute("explain query plan " + QUERIES[name], params).fetchall()
            found[name] = " | ".join(str(row["detail"]) for row in rows)
        return found

    found = await ops.db.read(plans)
    assert (
        "USING INDEX onboard_sessions_by_domain_key (domain_key>? AND domain_key<?)"
        in (found["sessions_by_domain_key"])
    )
    assert (
        "onboard_sessions_by_domain_ascii (domain_ascii>? AND domain_ascii<?)"
        in (found["sessions_by_domain_ascii"])
    )
    for plan in found.values():
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan


async def test_finds_any_part_of_a_domain_and_the_contact(ops: Ops) -> None:
    """Issue 27: "clinica porto" and the contact geral@m365-clinica-porto.pt found
    nothing (prefix only); any part of a domain (both IDN forms) and of the contact."""
    await ops.send("onboarding.started", "clin", NOW - 4 * HOUR, domain="m365-clinica-porto.pt")
    await ops.send(
        "account.created",
        "clin",
        NOW - 3.5 * HOUR,
        domain="m365-clinica-porto.pt",
        contact="geral@m365-clinica-porto.pt",
    )
    await ops.send("onboarding.started", "seg", NOW - 3 * HOUR, domain="porto-seguro.pt")
    await ops.send("onboarding.started", "bak", NOW - 2 * HOUR, domain="münchen-bäckerei.de")
    await ops.send("onboarding.started", "loja", NOW - HOUR, domain="loja.pt")
    assert await ids(ops, "clinica porto") == [("clin", "domain")]
    assert await ids(ops, "Clínica") == []  # an accent is another character
    assert await ids(ops, "geral@m365-clinica-porto.pt") == [("clin", "contact")]
    assert await ids(ops, "geral@") == [("clin", "contact")]
    # Newest session first among substring matches (both contain "porto").
    assert await ids(ops, "porto") == [("seg", "domain"), ("clin", "domain")]
    # Both forms of an internationalised name: a Unicode part, an ASCII (punycode) part.
    assert await ids(ops, "BÄCKER") == [("bak", "domain")]
    assert await ids(ops, "mnchen-bckerei-dib09a") == [("bak", "domain")]
    assert await ids(ops, "xn--mnchen-bckerei-dib09a.de") == [("bak", "domain")]
    # Under three characters only the prefix search answers (no trigram).
    assert await ids(ops, "ja") == []
    assert await ids(ops, "lo") == [("loja", "domain")]
    # A contact learnt later is found from then on.
    await ops.send(
        "account.created", "loja", NOW - 0.5 * HOUR, domain="loja.pt", contact="ana@loja.pt"
    )
    assert await ids(ops, "ana@loja") == [("loja", "contact")]


async def test_substring_search_reads_the_trigram_index(ops: Ops) -> None:
    await ops.send("onboarding.started", "s", NOW - HOUR, domain="m365-clinica-porto.pt")
    with sqlite3.connect(ops.db_path) as conn:
        plan = conn.execute(
            "explain query plan " + QUERIES["sessions_by_substring"],
            {"match": '("porto")', "limit": 20},
        ).fetchall()
    details = " ".join(row[3] for row in plan)
    assert "VIRTUAL TABLE INDEX" in details and "session_search" in details, details
    assert "SEARCH s USING PRIMARY KEY (session_id=?)" in details, details  # no scan
    assert "SCAN onboard_sessions" not in details and "SCAN d" not in details, details


async def test_finds_a_session_by_its_support_reference(ops: Ops) -> None:
    """The support reference the Portal gives the customer (onboarding.started's
    data.reference, 8 characters of A-Z and 2-9: vm112_portal/support.py) finds its
    session, typed as a customer reads it out: any case, with spaces or hyphens."""
    await ops.send(
        "onboarding.started", "ref", NOW - 2 * HOUR, domain="loja.pt", reference="K7Q2M9XP"
    )
    await ops.send(
        "onboarding.started", "twin", NOW - HOUR, domain="k7q2m9xp.pt", reference="ABCDEFGH"
    )
    found = await ops.get(SEARCH, q="K7Q2M9XP")
    assert found["items"][0] == {
        "session_id": "ref",
        "domain": "loja.pt",
        "stage": "started",
        "status": "active",
        "last_event_at": "2026-11-29T10:00:00.000Z",
        "ticket_id": None,
        "matched": "reference",
    }
    # The exact match first, then the domain that starts with the same letters.
    assert await ids(ops, "K7Q2M9XP") == [("ref", "reference"), ("twin", "domain")]
    for typed in ("k7q2m9xp", "K7Q2-M9XP", "k7q2 m9xp", "K7Q2.M9XP", " k7q2 - m9xp "):
        assert (await ids(ops, typed))[0] == ("ref", "reference"), typed
    assert await ids(ops, "abcd-efgh") == [("twin", "reference")]
    assert await ids(ops, "K7Q2M9XQ") == []  # one character off: nothing
    assert await ids(ops, "K7Q2M9") == [("twin", "domain")]  # a part is no reference


async def test_a_malformed_reference_is_not_kept(ops: Ops) -> None:
    for n, value in enumerate(("k7q2m9xp", "K7Q2M9X", "K7Q2M9XP1", "K7Q2-M9XP", 12345678)):
        await ops.send(
            "onboarding.started", f"bad{n}", NOW - HOUR, domain=f"b{n}.pt", reference=value
        )
    with sqlite3.connect(ops.db_path) as conn:
        kept = conn.execute("select count(*) from onboard_sessions where reference is not null")
        assert kept.fetchone() == (0,)
    assert await ids(ops, "K7Q2M9XP") == []


async def test_reference_search_reads_an_index(ops: Ops) -> None:
    await ops.send("onboarding.started", "r", NOW - HOUR, reference="K7Q2M9XP")
    with sqlite3.connect(ops.db_path) as conn:
        plan = conn.execute(
            "explain query plan " + QUERIES["sessions_by_reference"],
            {"reference": "K7Q2M9XP", "limit": 20},
        ).fetchall()
    details = " ".join(row[3] for row in plan)
    assert "USING INDEX onboard_sessions_by_reference (reference=?)" in details, details
    assert "SCAN" not in details, details


def test_the_reference_migration_gives_stored_sessions_their_reference(tmp_path: Path) -> None:
    """Sessions stored before the reference was kept get it from their retained
    onboarding.started events: the first well-formed one by row id."""
    files = sorted((SQL_DIR / "schema").glob("*.sql"))
    [number] = [n for n, file in enumerate(files) if file.name.endswith("_session_reference.sql")]
    older = tmp_path / "before"
    older.mkdir()
    for file in files[:number]:
        shutil.copy(file, older / file.name)
    path = tmp_path / "ops.db"
    with sqlite3.connect(path) as conn:
        assert migrate(conn, older) == number
        session = (
            "insert into onboard_sessions (session_id, domain, first_event_at, last_event_at,"
            " last_event_type, last_event_row, furthest_stage, status, event_count)"
            " values (?, 'velho.pt', 1, 3, 'onboarding.started', 3, 0, 'active', 1)"
        )
        for sid in ("kept", "twice", "bad", "other-type", "purged"):
            conn.execute(session, (sid,))
        insert = (
            "insert into webhook_events (event_id, session_id, event_type, domain,"
            " occurred_at, received_at, payload) values (?, ?, ?, 'velho.pt', ?, ?, ?)"
        )
        rows = [
            ("kept", "onboarding.started", '"reference": "K7Q2M9XP"'),
            ("twice", "onboarding.started", '"reference": "ABCDEFGH"'),
            ("twice", "onboarding.started", '"reference": "HGFEDCBA"'),
            ("bad", "onboarding.started", '"reference": "k7q2m9xp"'),
            ("bad", "onboarding.started", '"reference": 12345678'),
            ("other-type", "domain.validated", '"reference": "ZZZZZZZZ"'),
        ]
        for n, (sid, kind, data) in enumerate(rows, start=1):
            body = f'{{"type": "{kind}", "data": {{"session_id": "{sid}", {data}}}}}'
            conn.execute(insert, (f"w{n}", sid, kind, n, n, body))
    with sqlite3.connect(path) as conn:
        assert migrate(conn, SQL_DIR / "schema") == len(files)
        found = dict(conn.execute("select session_id, reference from onboard_sessions"))
    assert found == {
        "kept": "K7Q2M9XP",
        "twice": "ABCDEFGH",
        "bad": None,
        "other-type": None,
        "purged": None,
    }


async def test_the_session_and_its_ticket_give_the_support_reference(ops: Ops) -> None:
    """The session's timeline and its ticket (GET and a stale change's 409) carry the
    reference the customer reads out on the phone; null for a session without one."""
    for session_id, reference in (("ref", "K7Q2M9XP"), ("bare", None)):
        extra = {} if reference is None else {"reference": reference}
        await ops.send(
            "onboarding.started", session_id, NOW - 2 * HOUR, domain=f"{session_id}.pt", **extra
        )
        await ops.send("account.created", session_id, NOW - HOUR, domain=f"{session_id}.pt")
    found: dict[str, list[Any]] = {}
    for session_id in ("ref", "bare"):
        timeline = await ops.get(f"/api/v1/onboard/sessions/{session_id}/timeline")
        listing = await ops.get("/api/v1/desk/tickets", session_id=session_id)
        ticket_id = listing["tickets"][0]["id"]
        ticket = await ops.get(f"/api/v1/desk/tickets/{ticket_id}")
        stale = await ops.client.patch(
            f"/api/v1/desk/tickets/{ticket_id}",
            json={"version": ticket["version"] + 5, "status": "pending"},
            headers=AUTH,
        )
        assert stale.status_code == 409, stale.text
        found[session_id] = [
            timeline["reference"],
            ticket["reference"],
            stale.json()["ticket"]["reference"],
        ]
    assert found == {"ref": ["K7Q2M9XP"] * 3, "bare": [None] * 3}
    # The OpenAPI document says so for both answers (closed objects: an undocumented
    # field would fail the schema checks).
    schemas = (await ops.get("/openapi.json"))["components"]["schemas"]
    for name in ("Timeline", "Ticket"):
        assert schemas[name]["properties"]["reference"] == {
            "type": "string",
            "pattern": "^[A-Z2-9]{8}$",
            "nullable": True,
        }, name


async def test_a_refused_session_is_found_as_refused(ops: Ops) -> None:
    """A session whose attempts were all refused is `active` in the store with a refusal
    code; the search says `refused` (as the funnel, the drill-down and the timeline do)
    whichever way it finds it, in JSON and CSV. One that got a domain validated after a
    refusal is active again."""
    gmail = {"code": "mailbox_provider", "status": 422}
    await ops.send(
        "onboarding.started",
        "ref",
        NOW - 2 * HOUR,
        domain="(rejected)",
        reference="K7Q2M9XP",
        refusal=gmail,
    )
    await ops.send(
        "onboarding.started", "retry", NOW - 2 * HOUR, domain="(rejected)", refusal=gmail
    )
    await ops.send("domain.validated", "retry", NOW - HOUR, domain="loja.pt")
    refused = {
        "session_id": "ref",
        "domain": "(rejected)",
        "stage": "started",
        "status": "refused",
        "last_event_at": "2026-11-29T10:00:00.000Z",
        "ticket_id": None,
    }
    for q, matched in (
        ("ref", "session_id"),
        ("k7q2-m9xp", "reference"),
        ("(rejected", "domain"),
        ("jected", "domain"),
    ):
        found = await ops.get(SEARCH, q=q)
        assert found["items"] == [{**refused, "matched": matched}], q
    [retry] = (await ops.get(SEARCH, q="retry"))["items"]
    assert (retry["stage"], retry["status"]) == ("domain_validated", "active")
    response = await ops.client.get(f"{SEARCH}.csv", params={"q": "K7Q2M9XP"}, headers=AUTH)
    assert response.status_code == 200
    assert response.text.splitlines()[1] == (
        "ref,(rejected),started,refused,2026-11-29T10:00:00.000Z,,reference"
    )
