"""Operator accounts: names, Argon2id password hashes, admin flag, disabling.

Passwords are hashed with argon2-cffi's ``PasswordHasher`` and its default parameters,
which are RFC 9106's "low memory" recommendation (Argon2id, t=3, m=64 MiB, p=4; see
argon2-cffi's docs, "Choosing Parameters", and argon2/profiles.py). When those defaults
change in a newer argon2-cffi, a login with the right password stores a fresh hash
(``check_needs_rehash``). Hashing runs off the event loop on a bounded pool of its own
(``Passwords``: one hash at a time, 8 waiting, one per client; past them 429 at once).

The write units and read functions here take a plain connection; the routes and the CLI
run them with ``db.write`` and ``db.read``.
"""

from __future__ import annotations

import asyncio
import functools
import re
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vm122_ops.errors import Unprocessable
from vm122_ops.store.sql import QUERIES

_T = TypeVar("_T")
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}\Z")
NAME_RULE = "1-64 characters of a-z 0-9 . _ -, starting with a letter or digit"
MIN_PASSWORD = 12
MAX_PASSWORD = 1024


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    is_admin: bool
    created_at: int
    disabled_at: int | None
    live_sessions: int = 0

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Account:
        keys = row.keys()
        return cls(
            id=int(row["id"]),
            name=str(row["name"]),
            is_admin=bool(row["is_admin"]),
            created_at=int(row["created_at"]),
            disabled_at=row["disabled_at"],
            live_sessions=int(row["live_sessions"]) if "live_sessions" in keys else 0,
        )


def parse_name(raw: str) -> str:
    """An account name, lowercased; Unprocessable when it is not one."""
    name = raw.strip().lower()
    if not NAME.fullmatch(name):
        raise Unprocessable(f"an account name is {NAME_RULE}")
    return name


def check_password(password: str, api_tokens: tuple[str, ...] = ()) -> None:
    """Refuse passwords that are too short or long, or that are the API token."""
    if len(password) < MIN_PASSWORD:
        raise Unprocessable(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise Unprocessable(f"a password has at most {MAX_PASSWORD} characters")
    if password in api_tokens:
        raise Unprocessable("the API token cannot be a password: programs and people differ")


class HashingBusy(Exception):
    """The password-hashing queue is full, or this client already has a check waiting:
    the login is answered 429 at once instead of holding its connection."""


class Passwords:
    """Argon2id hashing through argon2-cffi on a small pool of its own; tests pass a
    cheaper hasher.

    At most ``workers`` hashes run at once (threads of this pool, not the event loop's
    default executor, which other work shares), at most ``queue`` more wait, and one
    client (its address key) has at most ``per_client`` running or waiting: past any of
    these ``HashingBusy`` is raised at once. A flood of logins thus holds at most
    ``workers + queue`` connections for a hash's time, and one address cannot stand in
    front of everyone else's logins."""

    def __init__(
        self,
        hasher: PasswordHasher | None = None,
        *,
        workers: int = 1,
        queue: int = 8,
        per_client: int = 1,
    ) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None
        self.workers, self.queue, self.per_client = workers, queue, per_client
        self._running = asyncio.Semaphore(workers)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._admitted = 0
        self._per_client: dict[str, int] = {}

    def __repr__(self) -> str:
        return (
            f"Passwords({self.hasher.time_cost=}, {self.hasher.memory_cost=}, "
            f"admitted={self._admitted})"
        )

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """True when ``password`` matches; an unknown account costs the same time."""
        if stored is None:
            if self._dummy is None:
                self._dummy = self.hasher.hash("no such account, same cost")
            stored = self._dummy
            password = password + "\x00never"
        try:
            return self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(stored)
        except (InvalidHashError, ValueError):
            return True

    async def verify_async(self, stored: str | None, password: str, client: str = "") -> bool:
        return await self._run(client, self.verify, stored, password)

    async def hash_async(self, password: str, client: str = "") -> str:
        return await self._run(client, self.hash, password)

    async def _run(self, client: str, work: Callable[..., _T], *args: Any) -> _T:
        if (
            self._admitted >= self.workers + self.queue
            or self._per_client.get(client, 0) >= self.per_client
        ):
            raise HashingBusy(client)
        self._admitted += 1
        self._per_client[client] = self._per_client.get(client, 0) + 1
        try:
            async with self._running:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._pool, functools.partial(work, *args))
        finally:
            self._admitted -= 1
            left = self._per_client[client] - 1
            if left:
                self._per_client[client] = left
            else:
                del self._per_client[client]


# --- units of work (writer thread) and reads ------------------------------------------


class AccountExists(Exception):
    pass


def create(
    conn: sqlite3.Connection,
    name: str,
    password_hash: str,
    *,
    is_admin: bool,
    now_ms: int,
    only_if_first: bool = False,
) -> int | None:
    """Insert an account; None when ``only_if_first`` and accounts already exist."""
    if only_if_first and int(conn.execute(QUERIES["count_accounts"]).fetchone()[0]) > 0:
        return None
    if conn.execute(QUERIES["get_account_by_name"], {"name": name}).fetchone() is not None:
        raise AccountExists(name)
    row = conn.execute(
        QUERIES["insert_account"],
        {"name": name, "password_hash": password_hash, "is_admin": int(is_admin), "now": now_ms},
    ).fetchone()
    return int(row[0])


def get_by_name(conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
    row: sqlite3.Row | None = conn.execute(
        QUERIES["get_account_by_name"], {"name": name}
    ).fetchone()
    return row


def list_all(conn: sqlite3.Connection, now_ms: int) -> list[Account]:
    rows = conn.execute(QUERIES["list_accounts"], {"now": now_ms}).fetchall()
    return [Account.from_row(row) for row in rows]


def list_agents(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(QUERIES["list_agents"]).fetchall()
    return [{"id": r["id"], "name": r["name"], "admin": bool(r["is_admin"])} for r in rows]


def set_password(
    conn: sqlite3.Connection,
    account_id: int,
    password_hash: str,
    *,
    now_ms: int,
    reset: bool,
) -> None:
    """Store a hash; a reset (not a rehash) also ends the account's sessions."""
    conn.execute(
        QUERIES["set_password_hash"],
        {"account_id": account_id, "password_hash": password_hash, "now": now_ms, "reset": reset},
    )
    if reset:
        conn.execute(
            QUERIES["end_account_sessions"],
            {"account_id": account_id, "now": now_ms, "reason": "password_reset"},
        )


def disable(conn: sqlite3.Connection, account_id: int, now_ms: int) -> int:
    """Disable an account and end its sessions; returns how many sessions ended."""
    conn.execute(QUERIES["disable_account"], {"account_id": account_id, "now": now_ms})
    ended = conn.execute(
        QUERIES["end_account_sessions"],
        {"account_id": account_id, "now": now_ms, "reason": "disabled"},
    )
    return ended.rowcount


def enable(conn: sqlite3.Connection, account_id: int) -> None:
    conn.execute(QUERIES["enable_account"], {"account_id": account_id})
