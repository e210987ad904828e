"""The Desk's search: find a session or ticket by any part of its domain or contact, a
domain prefix, its session id or its ticket number.

A domain is searched in both its forms, case-insensitively: the Unicode form (``xn--``
labels decoded, NFC, lower case) and the ASCII form (non-ASCII labels as ``xn--``
punycode, RFC 3492). Ingest keeps the two keys on each session (``search_keys``); a
query is turned into its Unicode form (so ``XN--MNCHEN-3YA.de`` finds ``münchen.de``)
and, when it is ASCII, also searched as typed on the ASCII keys (so the prefix
``xn--mnch`` finds it too: the punycode of a partial label is not a prefix of the whole
label's, so the Unicode query is not converted the other way). Each is a range read on an
index, at most ``LIMIT`` rows. A query that is a session id also matches that session; one
that is a ticket number (``12`` or ``#12``) matches that ticket's session. One that is a
support reference (the 8 characters the Portal gives the customer to quote, kept on the
session from onboarding.started: migration 0015) matches that reference's session, in any
case and with or without the spaces, hyphens or dots a customer reads it out with
(``k7q2-m9xp`` finds ``K7Q2M9XP``): an index lookup. The reference is kept out of the
trigram index on purpose: a part of it is no way to find a customer, and its random
letters would match ordinary words of other queries.

Any part: each word of the query (split on spaces, so "clinica porto" finds
``m365-clinica-porto.pt``) of three characters or more is looked up in the FTS5 trigram
index of each session's domain keys and contact (migration 0013), in its Unicode form or,
when different, its ASCII form; every word must match. The index returns the newest
sessions first (its rowid follows the sessions' arrival) and stops at the page, so the
cost follows the words' trigrams, not the number of sessions. ``matched`` says which:
``domain`` when every word is in the domain's keys, else ``contact``.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from servicekit.contract import REFERENCE
from servicekit.documents import fields_document
from servicekit.sqlfiles import Queries
from vm122_ops.errors import BadRequest
from vm122_ops.ingest.events import SESSION_ID, SPOOFING, STAGE_TYPES, STAGES, Event, format_ms
from vm122_ops.store.sql import QUERIES

LIMIT = 20
# What a result was found by: its ticket number, its session id, its support reference,
# its domain, or (a part of) its contact.
Matched = Literal["ticket", "session_id", "reference", "domain", "contact"]
MATCHED: tuple[Matched, ...] = ("ticket", "session_id", "reference", "domain", "contact")
MAX_QUERY = 253
STARTED = STAGE_TYPES[0]  # onboarding.started: the event that carries the reference
_TOP = "\U0010ffff"  # above every character: [p, p + _TOP) is "starts with p"


def _unicode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label[4:].encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            return label  # not valid punycode (or a partial label): as typed
    return label


def _ascii_label(label: str) -> str:
    if label.isascii():
        return label
    return "xn--" + label.encode("punycode").decode("ascii")


def unicode_form(text: str) -> str:
    """Lower case, NFC, ``xn--`` labels decoded."""
    lowered = unicodedata.normalize("NFC", text.strip().lower())
    return ".".join(
        unicodedata.normalize("NFC", _unicode_label(label)) for label in lowered.split(".")
    )


def ascii_form(text: str) -> str:
    """Lower case, non-ASCII labels as ``xn--`` punycode."""
    return ".".join(_ascii_label(label) for label in unicode_form(text).split("."))


def search_keys(domain: str) -> dict[str, str]:
    """A domain's two keys, as ingest writes them with its session's row (``upsert_session``,
    for a new session or a changed domain)."""
    return {"domain_key": unicode_form(domain), "domain_ascii": ascii_form(domain)}


def reference_of(event: Event) -> str | None:
    """The support reference an onboarding.started carries, when it is well formed."""
    value = event.data.get("reference")
    if event.event_type != STARTED or not isinstance(value, str) or not REFERENCE.match(value):
        return None
    return value


def record_reference(conn: sqlite3.Connection, queries: Queries, event: Event) -> None:
    """Keep an onboarding.started's reference on its session when it has none (ingest,
    after the session row is written): the first one stored stays."""
    reference = reference_of(event)
    if reference is not None:
        conn.execute(
            queries["set_session_reference"],
            {"session_id": event.session_id, "reference": reference},
        )


_SEPARATORS = re.compile(r"[\s.-]+")


def as_reference(query: str) -> str | None:
    """The support reference a query is, typed in any case and with any spaces, hyphens
    or dots between its characters (``k7q2-m9xp``), else None."""
    candidate = _SEPARATORS.sub("", query).upper()
    return candidate if REFERENCE.match(candidate) else None


def parse_query(raw: str | None) -> str:
    """?q=: 1-253 characters once trimmed, no control or invisible characters; else 400."""
    text = (raw or "").strip()
    if not text:
        raise BadRequest(
            "q is required: a domain, a contact, a support reference, a session id or a "
            "ticket number"
        )
    if len(text) > MAX_QUERY:
        raise BadRequest(f"q must be at most {MAX_QUERY} characters")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text) or SPOOFING.search(text):
        raise BadRequest("q must not contain control, bidi or zero-width characters")
    return text


@dataclass(frozen=True, slots=True)
class Found:
    session_id: str
    domain: str
    stage: int | None
    status: str
    last_event_at: int
    ticket_id: int | None
    matched: Matched

    def document(self) -> dict[str, Any]:
        return fields_document(
            self,
            stage=None if self.stage is None else STAGES[self.stage],
            last_event_at=format_ms(self.last_event_at),
        )


def _found(row: sqlite3.Row, matched: Matched) -> Found:
    return Found(
        session_id=row["session_id"],
        domain=row["domain"],
        stage=row["furthest_stage"],
        status=row["status"],
        last_event_at=row["last_event_at"],
        ticket_id=row["ticket_id"],
        matched=matched,
    )


def find(conn: sqlite3.Connection, query: str) -> list[Found]:
    """Read function: the sessions ``query`` finds, exact matches (ticket number, session
    id, support reference) first, then domains by key and newest activity, at most LIMIT."""
    found: dict[str, Found] = {}
    number = query[1:] if query.startswith("#") else query
    if number.isascii() and number.isdigit() and len(number) <= 18:
        row = conn.execute(QUERIES["session_by_ticket"], {"ticket_id": int(number)}).fetchone()
        if row is not None:
            found[row["session_id"]] = _found(row, "ticket")
    if SESSION_ID.match(query) and query not in found:
        row = conn.execute(QUERIES["session_by_id"], {"session_id": query}).fetchone()
        if row is not None:
            found[row["session_id"]] = _found(row, "session_id")
    reference = as_reference(query)
    if reference is not None:
        params = {"reference": reference, "limit": LIMIT}
        for row in conn.execute(QUERIES["sessions_by_reference"], params):
            if row["session_id"] not in found:
                found[row["session_id"]] = _found(row, "reference")
    exact = list(found.values())
    prefixes = [("sessions_by_domain_key", unicode_form(query))]
    if query.isascii():
        prefixes.append(("sessions_by_domain_ascii", query.lower()))
    by_domain: dict[str, tuple[str, int, Found]] = {}
    for name, prefix in prefixes:
        params = {"prefix": prefix, "prefix_end": prefix + _TOP, "limit": LIMIT}
        for row in conn.execute(QUERIES[name], params):
            if row["session_id"] not in found:
                key = (row["domain_key"] or "", -row["last_event_at"], _found(row, "domain"))
                by_domain[row["session_id"]] = key
    ordered = sorted(by_domain.values(), key=lambda item: (item[0], item[1], item[2].session_id))
    results = exact + [item[2] for item in ordered]
    if len(results) < LIMIT:
        seen = {item.session_id for item in results}
        results += [item for item in _by_substring(conn, query) if item.session_id not in seen]
    return results[:LIMIT]


MIN_WORD = 3  # a trigram index finds substrings of three characters or more


def match_expression(query: str) -> str | None:
    """The FTS5 MATCH expression of a query's words (each in its Unicode and ASCII forms,
    quoted as FTS5 strings), all required; None when a word is under three characters."""
    words = [word for word in query.split() if word]
    if not words or any(len(unicode_form(word)) < MIN_WORD for word in words):
        return None
    clauses = []
    for word in words:
        # As typed too: a partial xn-- label is not the punycode of anything whole.
        forms = dict.fromkeys([unicode_form(word), ascii_form(word), word.lower()])
        quoted = " OR ".join('"' + form.replace('"', '""') + '"' for form in forms)
        clauses.append(f"({quoted})")
    return " AND ".join(clauses)


def _by_substring(conn: sqlite3.Connection, query: str) -> list[Found]:
    expression = match_expression(query)
    if expression is None:
        return []
    rows = conn.execute(QUERIES["sessions_by_substring"], {"match": expression, "limit": LIMIT})
    words = [(unicode_form(word), ascii_form(word), word.lower()) for word in query.split()]
    found = []
    for row in rows:
        keys = f"{row['domain_key'] or ''} {row['domain_ascii'] or ''}"
        in_domain = all(any(form in keys for form in forms) for forms in words)
        found.append(_found(row, "domain" if in_domain else "contact"))
    return found
