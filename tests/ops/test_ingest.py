"""POST /api/v1/webhooks/onboard: acceptance, duplicates, and every class of bad input."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from tests.ops.conftest import AUTH, KEY, NOW, Ops, running_ops
from tests.support import peek
from tests.support.apps import ops_settings
from tests.support.signer import iso


async def test_first_delivery_is_stored_once_with_its_columns(ops: Ops) -> None:
    response = await ops.send(
        "onboarding.started", "sess-1", NOW - 60, webhook_id="msg_a", plan="pro"
    )
    assert response.status_code == 202
    assert response.json() == {"ok": True, "id": 1, "event_id": "msg_a"}
    row = peek.rows(
        ops.db_path,
        "select event_id, session_id, event_type, domain, occurred_at, received_at, payload"
        " from webhook_events",
    )[0]
    assert row[:5] == (
        "msg_a",
        "sess-1",
        "onboarding.started",
        "example.com",
        int((NOW - 60) * 1000),
    )
    assert row[5] == int(NOW * 1000)
    assert orjson.loads(row[6])["data"]["plan"] == "pro"


async def test_a_duplicate_webhook_id_changes_nothing(ops: Ops) -> None:
    first = await ops.send("onboarding.started", "sess-1", NOW - 60, webhook_id="msg_a")
    again = await ops.send("onboarding.started", "sess-1", NOW - 60, webhook_id="msg_a")
    # Same webhook-id with another body is still the same delivery: nothing changes.
    other = await ops.send("domain.validated", "sess-1", NOW - 30, webhook_id="msg_a")
    assert first.status_code == 202
    for response in (again, other):
        assert response.status_code == 200
        assert response.json() == {"ok": True, "duplicate": True, "id": 1, "event_id": "msg_a"}
    assert await ops.count() == 1
    timeline = await ops.get("/api/v1/onboard/sessions/sess-1/timeline")
    assert [e["event_type"] for e in timeline["events"]] == ["onboarding.started"]
    assert timeline["stage"] == "started"


async def test_concurrent_posts_of_one_webhook_id_store_one_row(ops: Ops) -> None:
    body = ops.body("account.created", "sess-c", NOW - 5)
    headers = ops.headers("msg_same", body)
    responses = await asyncio.gather(*(ops.post_raw(body, headers) for _ in range(40)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 39 + [202]
    assert {r.json()["id"] for r in responses} == {1}
    assert await ops.count() == 1
    assert await ops.count("tickets") == 1
    assert await ops.count("ticket_entries") == 1
    funnel = await ops.funnel()
    assert funnel["cohort"] == 1
    assert funnel["stages"]["account_created"] == 1


async def test_concurrent_distinct_events_are_all_stored(ops: Ops) -> None:
    sends = [ops.send("onboarding.started", f"s{i}", NOW - i) for i in range(60)]
    responses = await asyncio.gather(*sends)
    assert [r.status_code for r in responses] == [202] * 60
    assert await ops.count() == 60
    assert (await ops.funnel())["stages"]["started"] == 60


def _event(**overrides: object) -> bytes:
    document: dict[str, object] = {
        "type": "onboarding.started",
        "timestamp": "2026-11-29T11:00:00Z",
        "data": {"session_id": "s1", "domain": "example.com"},
    }
    document.update(overrides)
    return orjson.dumps(document)


BAD_BODIES = [
    pytest.param(b"{not json", 400, "not valid JSON", id="malformed-json"),
    pytest.param(b"", 400, "not valid JSON", id="empty-body"),
    pytest.param(b"\xff\xfe{}", 400, "UTF-8", id="invalid-utf8"),
    pytest.param(b"[" * 5000 + b"]" * 5000, 400, "not valid JSON", id="deeply-nested"),
    pytest.param(b"[1, 2]", 422, "JSON object", id="not-an-object"),
    pytest.param(_event(type=None), 422, "type is required", id="missing-type"),
    pytest.param(_event(type="onboarding.exploded"), 422, "unknown event type", id="unknown-type"),
    pytest.param(_event(timestamp="29/11/2026 11:00"), 422, "RFC 3339", id="bad-timestamp"),
    pytest.param(
        _event(timestamp="2026-11-29T11:00:00"), 422, "RFC 3339", id="timestamp-without-offset"
    ),
    pytest.param(
        _event(timestamp="2026-02-30T11:00:00Z"), 422, "not a valid date-time", id="impossible-date"
    ),
    pytest.param(_event(data="s1"), 422, "data is required", id="data-not-object"),
    pytest.param(_event(data={"domain": "example.com"}), 422, "session_id", id="no-session"),
    pytest.param(
        _event(data={"session_id": "a b", "domain": "example.com"}),
        422,
        "session_id",
        id="bad-session-chars",
    ),
    pytest.param(
        _event(data={"session_id": "x" * 129, "domain": "example.com"}),
        422,
        "session_id",
        id="session-too-long",
    ),
    pytest.param(_event(data={"session_id": "s1"}), 422, "data.domain", id="no-domain"),
    pytest.param(
        _event(data={"session_id": "s1", "domain": "a\nb.com"}),
        422,
        "control characters",
        id="domain-control-chars",
    ),
]


@pytest.mark.parametrize(("body", "status", "reason"), BAD_BODIES)
async def test_bad_bodies_are_refused_and_nothing_is_stored(
    ops: Ops, body: bytes, status: int, reason: str
) -> None:
    response = await ops.post_raw(body, ops.headers("msg_bad", body))
    assert response.status_code == status
    document = response.json()
    assert document["ok"] is False
    assert document["status"] == status
    assert reason in document["error"]
    assert await ops.count() == 0
    assert await ops.count("onboard_sessions") == 0


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({}, id="no-reason"),
        pytest.param({"reason": ""}, id="empty-reason"),
        pytest.param({"reason": None, "stage": 3}, id="null-reason-odd-stage"),
    ],
)
async def test_failed_without_a_reason_is_stored_and_opens_its_ticket(
    ops: Ops, data: dict[str, object]
) -> None:
    # The contract is data: {session_id, domain, ...}; a missing descriptive field must not
    # lose the one event operations most need (issue 11, item 8).
    document = {
        "type": "onboarding.failed",
        "timestamp": iso(NOW - 10),
        "data": {"session_id": "sess-nr", "domain": "example.com", **data},
    }
    body = orjson.dumps(document)
    response = await ops.post_raw(body, ops.headers("msg_no_reason", body))
    assert response.status_code == 202, response.text
    assert await ops.count() == 1
    timeline = await ops.get("/api/v1/onboard/sessions/sess-nr/timeline")
    assert [e["event_type"] for e in timeline["events"]] == ["onboarding.failed"]
    assert timeline["events"][0]["data"] == document["data"]


async def test_body_over_64_kib_is_413_with_or_without_content_length(ops: Ops) -> None:
    big = _event(data={"session_id": "s1", "domain": "example.com", "pad": "x" * 65536})
    declared = await ops.post_raw(big, ops.headers("msg_big", big))
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    streamed = await ops.client.post(
        "/api/v1/webhooks/onboard", content=chunks(), headers=ops.headers("msg_big", big)
    )
    assert streamed.status_code == 413
    assert "64 KiB" in streamed.json()["error"]
    assert await ops.count() == 0


async def test_body_of_exactly_64_kib_is_accepted(ops: Ops) -> None:
    base = _event(data={"session_id": "s1", "domain": "example.com", "pad": ""})
    body = _event(
        data={"session_id": "s1", "domain": "example.com", "pad": "x" * (65536 - len(base))}
    )
    assert len(body) == 65536
    response = await ops.post_raw(body, ops.headers("msg_edge", body))
    assert response.status_code == 202


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
async def test_non_json_content_type_is_415(ops: Ops, content_type: str) -> None:
    body = _event()
    headers = ops.headers("msg_ct", body)
    headers["content-type"] = content_type
    response = await ops.post_raw(body, headers)
    assert response.status_code == 415
    assert await ops.count() == 0


async def test_json_content_type_with_charset_is_accepted(ops: Ops) -> None:
    body = _event()
    headers = ops.headers("msg_cs", body)
    headers["content-type"] = "application/json; charset=utf-8"
    assert (await ops.post_raw(body, headers)).status_code == 202


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        pytest.param(lambda h: h.pop("webhook-signature"), "missing", id="no-signature"),
        pytest.param(
            lambda h: h.__setitem__("webhook-signature", "v1,AAAA"),
            "does not match",
            id="wrong-signature",
        ),
        pytest.param(
            lambda h: h.__setitem__("webhook-signature", "garbage"),
            "no v1",
            id="malformed-signature",
        ),
        pytest.param(
            lambda h: h.__setitem__("webhook-timestamp", str(int(NOW) - 301)), "old", id="stale"
        ),
    ],
)
async def test_bad_signatures_are_401_and_nothing_is_stored(
    ops: Ops, mutate: object, reason: str
) -> None:
    body = _event()
    headers = ops.headers("msg_sig", body)
    mutate(headers)  # type: ignore[operator]
    response = await ops.post_raw(body, headers)
    assert response.status_code == 401
    assert reason in response.json()["error"]
    assert await ops.count() == 0


async def test_signature_with_another_key_is_401(ops: Ops) -> None:
    body = _event()
    response = await ops.post_raw(body, ops.headers("msg_k", body, key=b"z" * 32))
    assert response.status_code == 401
    assert KEY != b"z" * 32
    assert await ops.count() == 0


async def test_replayed_signature_with_altered_body_is_401(ops: Ops) -> None:
    body = _event()
    headers = ops.headers("msg_r", body)
    assert (await ops.post_raw(body, headers)).status_code == 202
    altered = _event(type="onboarding.completed")
    assert (await ops.post_raw(altered, headers)).status_code == 401
    assert await ops.count() == 1


async def test_unknown_route_and_method_answer_with_the_envelope(ops: Ops) -> None:
    missing = await ops.client.get("/api/v1/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"ok": False, "error": "no such endpoint", "status": 404}
    wrong = await ops.client.get("/api/v1/webhooks/onboard")
    assert wrong.status_code == 405
    assert wrong.json()["ok"] is False


async def test_during_a_rotation_old_and_new_secrets_are_both_accepted(tmp_path: Path) -> None:
    new_key = b"n" * 32
    settings = ops_settings(tmp_path / "ops.db", webhook_secrets=(new_key, KEY))
    async with running_ops(settings) as ops:
        body = _event()
        old = await ops.post_raw(body, ops.headers("old", body, key=KEY))
        new = await ops.post_raw(body, ops.headers("new", body, key=new_key))
        other = await ops.post_raw(body, ops.headers("other", body, key=b"o" * 32))
    assert (old.status_code, new.status_code, other.status_code) == (202, 202, 401)


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        pytest.param("0001-01-01T00:00:00+01:00", "not a valid date-time", id="year-1-overflow"),
        pytest.param("9999-12-31T23:59:59-01:00", "not a valid date-time", id="year-9999"),
        pytest.param("٢٠٢٦-11-29T11:00:00Z", "RFC 3339", id="non-ascii-digits"),
        pytest.param("2026-11-29T12:06:00Z", "in the future", id="future-beyond-tolerance"),
        pytest.param("0001-01-01T00:00:00Z", "before 2000", id="year-1"),
        pytest.param("1999-12-31T23:59:59.999Z", "before 2000", id="just-before-2000"),
    ],
)
async def test_timestamps_out_of_range_are_422(ops: Ops, timestamp: str, reason: str) -> None:
    body = _event(timestamp=timestamp)
    response = await ops.post_raw(body, ops.headers("msg_ts", body))
    assert response.status_code == 422
    assert reason in response.json()["error"]
    assert await ops.count() == 0


async def test_a_timestamp_within_the_clock_tolerance_is_accepted(ops: Ops) -> None:
    body = _event(timestamp="2026-11-29T12:04:59Z")  # NOW is 12:00:00
    assert (await ops.post_raw(body, ops.headers("msg_near", body))).status_code == 202


@pytest.mark.parametrize(
    "levels",
    [
        pytest.param(300, id="300"),
        pytest.param(252, id="252-stored-then-500-on-its-timeline-before"),
        pytest.param(246, id="246"),
    ],
)
async def test_data_too_deep_to_serialise_is_422_not_500(ops: Ops, levels: int) -> None:
    deep = "[" * levels + '"x"' + "]" * levels  # orjson reads 1024 levels but writes 254
    body = (
        '{"type": "account.created", "timestamp": "2026-11-29T11:00:00Z", "data": '
        '{"session_id": "s1", "domain": "example.com", "deep": ' + deep + "}}"
    ).encode()
    response = await ops.post_raw(body, ops.headers("msg_deep", body))
    assert response.status_code == 422
    assert "nests too deeply" in response.json()["error"]
    assert await ops.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/onboard/funnel?hours=%C2%B2",
        "/api/v1/desk/tickets?limit=%C2%B2",
        "/api/v1/desk/tickets/%C2%B2",
        "/api/v1/desk/tickets?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OjE",
    ],
)
async def test_unicode_digits_and_huge_numbers_in_queries_are_400(ops: Ops, path: str) -> None:
    response = await ops.client.get(path, headers=AUTH)
    assert response.status_code == 400


async def test_data_just_shallow_enough_is_stored_and_shown(ops: Ops) -> None:
    """The deepest data accepted shows in the session's timeline and the ticket's."""
    deep = "[" * 245 + '"x"' + "]" * 245
    body = (
        '{"type": "account.created", "timestamp": "2026-11-29T11:00:00Z", "data": '
        '{"session_id": "s1", "domain": "example.com", "deep": ' + deep + "}}"
    ).encode()
    response = await ops.post_raw(body, ops.headers("msg_deep_ok", body))
    assert response.status_code == 202
    timeline = await ops.get("/api/v1/onboard/sessions/s1/timeline")
    value = timeline["events"][0]["data"]["deep"]
    for _ in range(244):
        value = value[0]
    assert value == ["x"]
    tickets = await ops.get("/api/v1/desk/tickets")
    ticket = await ops.get(f"/api/v1/desk/tickets/{tickets['tickets'][0]['id']}")
    entries = [e for e in ticket["timeline"] if e["kind"] == "event"]
    assert entries[0]["data"]["session_id"] == "s1"


async def test_an_event_on_a_ticketed_session_reads_session_and_ticket_once(ops: Ops) -> None:
    """Ingest reads a session and its ticket in one statement, and reads the ticket's work
    only when the event can change it (a failure, or a tag it adds)."""
    statements: list[str] = []
    await ops.send("onboarding.started", "sess-t", NOW - 50)
    await ops.send("account.created", "sess-t", NOW - 40)  # opens the ticket
    await ops.db.write(lambda conn: conn.set_trace_callback(statements.append))
    statements.clear()
    assert (await ops.send("infra.synced", "sess-t", NOW - 30)).status_code == 202
    await ops.db.write(lambda conn: conn.set_trace_callback(None))
    reads = [s for s in statements if s.lstrip().lower().startswith("select")]
    assert len([s for s in reads if "from onboard_sessions" in s]) == 1
    assert not [s for s in reads if "from tickets" in s]  # joined to the session's read
    # The event still joined the ticket's timeline, and nothing else moved its version.
    entries = peek.rows(
        ops.db_path, "select event_type from ticket_entries where kind = 'event' order by id"
    )
    assert [e[0] for e in entries] == ["onboarding.started", "account.created", "infra.synced"]
    assert peek.value(ops.db_path, "select version from tickets") == 1
    # A failure on it does read the ticket's work (it may reopen it) and tags it.
    statements.clear()
    await ops.db.write(lambda conn: conn.set_trace_callback(statements.append))
    assert (await ops.send("onboarding.failed", "sess-t", NOW - 20)).status_code == 202
    await ops.db.write(lambda conn: conn.set_trace_callback(None))
    assert [s for s in statements if "from tickets" in s]
    tags = peek.rows(ops.db_path, "select tag from ticket_tags order by tag")
    assert [t[0] for t in tags] == ["onboarding_failed"]
    assert peek.value(ops.db_path, "select version from tickets") == 2


async def test_a_tag_on_an_existing_ticket_moves_its_version_without_reading_it(
    ops: Ops,
) -> None:
    """Ops' own tag (ready_for_ops on completion) moves the ticket's version by one and
    leaves its status alone: no read of the ticket's work, no status write."""
    await ops.send("onboarding.started", "sess-r", NOW - 50)
    await ops.send("account.created", "sess-r", NOW - 40)  # opens the ticket, version 1
    statements: list[str] = []
    await ops.db.write(lambda conn: conn.set_trace_callback(statements.append))
    statements.clear()
    assert (await ops.send("onboarding.completed", "sess-r", NOW - 30)).status_code == 202
    await ops.db.write(lambda conn: conn.set_trace_callback(None))
    assert not [s for s in statements if "from tickets" in s]
    assert not [s for s in statements if "set status" in s]
    ticket = peek.rows(ops.db_path, "select status, version from tickets")
    assert ticket == [("open", 2)]
    tags = peek.rows(ops.db_path, "select tag from ticket_tags")
    assert [t[0] for t in tags] == ["ready_for_ops"]
    # The desk's view agrees: the tag, the version and the note.
    desk = await ops.get("/api/v1/desk/tickets/1")
    assert (desk["version"], desk["tags"], desk["status"]) == (2, ["ready_for_ops"], "open")


async def test_a_new_session_writes_its_row_and_search_document_once(ops: Ops) -> None:
    """A new session's row is written once, with its search keys, so the trigram index
    gets its document once: no second write of the row, no document deleted and written
    again. A later event with another domain still moves the keys and the document."""
    statements: list[str] = []
    await ops.db.write(lambda conn: conn.set_trace_callback(statements.append))
    response = await ops.send("onboarding.started", "sess-k", NOW - 50, domain="XN--MNCHEN-3YA.De")
    await ops.db.write(lambda conn: conn.set_trace_callback(None))
    assert response.status_code == 202
    session_updates = [s for s in statements if s.startswith("update onboard_sessions")]
    assert session_updates == []
    # FTS5's own statements (traced as comments): one document size written, none deleted.
    sizes = [s for s in statements if "session_search_docsize" in s]
    assert sizes == ["-- REPLACE INTO 'main'.'session_search_docsize' VALUES(?,?)"]
    keys = "select domain_key, domain_ascii from onboard_sessions where session_id = 'sess-k'"
    assert peek.rows(ops.db_path, keys) == [("münchen.de", "xn--mnchen-3ya.de")]
    terms = "select terms from session_search_docs where session_id = 'sess-k'"
    assert peek.rows(ops.db_path, terms) == [("münchen.de xn--mnchen-3ya.de",)]
    found = await ops.get("/api/v1/desk/search", q="nchen")
    assert [r["session_id"] for r in found["items"]] == ["sess-k"]
    # The same domain again keeps the keys; another one moves keys and document.
    await ops.send("domain.validated", "sess-k", NOW - 40, domain="xn--mnchen-3ya.de")
    assert peek.rows(ops.db_path, keys) == [("münchen.de", "xn--mnchen-3ya.de")]
    await ops.send("dns.applied", "sess-k", NOW - 30, domain="example.org")
    assert peek.rows(ops.db_path, keys) == [("example.org", "example.org")]
    assert peek.rows(ops.db_path, terms) == [("example.org example.org",)]
    found = await ops.get("/api/v1/desk/search", q="example.or")
    assert [r["session_id"] for r in found["items"]] == ["sess-k"]
