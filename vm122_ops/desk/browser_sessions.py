"""Browser sessions of the Desk, stored server-side in SQLite.

The cookie ``ops_desk`` (``__Host-ops_desk`` over TLS) holds 32 random bytes (43
characters of base64url) and nothing else; the database keeps only their SHA-256 with
the account, the expiry and, once it ended, when and why. So a session is revocable
(logout, disabling the account and a password reset end it at once, in this process or
from the CLI), survives an Ops restart, and a copy of the database opens nothing. A
cookie of any other shape (non-ASCII, overlong, wrong structure) is simply not a
session.

Streams opened with a session close as soon as it ends or expires: logout closes them at
once; ``SessionWatch`` checks the open streams' sessions every few seconds for the rest
(expiry, or an account disabled by the CLI from another process).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field

import orjson

from servicekit.background import stop
from servicekit.sqlfiles import Queries
from vm122_ops.desk.broker import Broker
from vm122_ops.store.db import Database
from vm122_ops.store.sql import QUERIES

log = logging.getLogger("vm122_ops.desk_sessions")

COOKIE_NAME = "ops_desk"
# Over TLS the cookie is named with the __Host- prefix: browsers then accept it only when
# Secure, for Path=/ and without Domain, so a sibling subdomain cannot plant a session
# cookie of its choosing (RFC 6265bis, "Cookie Name Prefixes"). The plain name is then
# not read at all.
TLS_COOKIE_NAME = "__Host-" + COOKIE_NAME


def cookie_name(scheme: str) -> str:
    """The session cookie's name for a request made over ``scheme``."""
    return TLS_COOKIE_NAME if scheme in ("https", "wss") else COOKIE_NAME


SESSION_SECONDS = 12 * 3600
_COOKIE = re.compile(r"^[A-Za-z0-9_-]{43}\Z")
PURGE_AFTER_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class DeskUser:
    """Who a valid session belongs to."""

    session_id: int
    account_id: int
    name: str
    is_admin: bool
    expires_at_ms: int


def secret_hash(cookie: str) -> bytes | None:
    """The stored hash of a cookie value, or None when the value is not a session cookie."""
    if not isinstance(cookie, str) or not _COOKIE.fullmatch(cookie):
        return None
    return hashlib.sha256(cookie.encode("ascii")).digest()


def _lookup(
    conn: sqlite3.Connection, queries: Queries, digest: bytes, now_ms: int
) -> DeskUser | None:
    row = conn.execute(
        queries["get_desk_session"], {"secret_hash": digest, "now": now_ms}
    ).fetchone()
    if row is None:
        return None
    return DeskUser(
        session_id=int(row["id"]),
        account_id=int(row["account_id"]),
        name=str(row["name"]),
        is_admin=bool(row["is_admin"]),
        expires_at_ms=int(row["expires_at"]),
    )


def _live(conn: sqlite3.Connection, queries: Queries, ids: list[int], now_ms: int) -> set[int]:
    rows = conn.execute(
        queries["live_desk_sessions"], {"ids": orjson.dumps(ids).decode(), "now": now_ms}
    ).fetchall()
    return {int(row[0]) for row in rows}


@dataclass(frozen=True, eq=False)
class DeskSessions:
    """Opens, looks up and ends the Desk's server-side sessions. Its repr shows only the
    ``lifetime`` (seconds): the database and the clock say nothing in a log."""

    db: Database = field(repr=False)
    _: KW_ONLY
    clock: Callable[[], float] = field(default=time.time, repr=False)
    lifetime: int = SESSION_SECONDS

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    async def open(self, account_id: int) -> str:
        """A new session for the account; returns the cookie value (shown once)."""
        cookie = secrets.token_urlsafe(32)
        digest = secret_hash(cookie)
        assert digest is not None
        now = self.now_ms()
        params = {
            "secret_hash": digest,
            "account_id": account_id,
            "now": now,
            "expires_at": now + self.lifetime * 1000,
        }
        queries = QUERIES
        await self.db.write(
            lambda conn: conn.execute(queries["insert_desk_session"], params).fetchone()
        )
        return cookie

    async def lookup(self, cookie: str | None) -> DeskUser | None:
        digest = secret_hash(cookie or "")
        if digest is None:
            return None
        return await self.db.read(_lookup, QUERIES, digest, self.now_ms())

    async def end(self, session_id: int) -> None:
        params = {"session_id": session_id, "now": self.now_ms()}
        queries = QUERIES
        await self.db.write(lambda conn: conn.execute(queries["end_desk_session"], params).rowcount)

    async def live(self, session_ids: list[int]) -> set[int]:
        if not session_ids:
            return set()
        return await self.db.read(_live, QUERIES, session_ids, self.now_ms())

    async def purge(self) -> None:
        cutoff = self.now_ms() - PURGE_AFTER_MS
        queries = QUERIES
        await self.db.write(
            lambda conn: conn.execute(queries["purge_desk_sessions"], {"cutoff": cutoff}).rowcount
        )


class SessionWatch:
    """Closes the streams of sessions that ended elsewhere or expired."""

    def __init__(self, sessions: DeskSessions, broker: Broker, interval: float = 2.0) -> None:
        self.sessions = sessions
        self.broker = broker
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="ops-session-watch")

    async def close(self) -> None:
        await stop(self._task)
        self._task = None

    async def check(self) -> int:
        """Close the streams of sessions that are no longer live; returns how many."""
        open_ids = sorted(self.broker.desk_session_ids())
        if not open_ids:
            return 0
        live = await self.sessions.live(open_ids)
        ended = [sid for sid in open_ids if sid not in live]
        for session_id in ended:
            self.broker.end_desk_session(session_id)
        return len(ended)

    async def _loop(self) -> None:
        purged_at = 0.0
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
                if time.monotonic() - purged_at > 3600:
                    purged_at = time.monotonic()
                    await self.sessions.purge()
            except Exception:
                log.exception("checking the streams' sessions failed; will retry")
