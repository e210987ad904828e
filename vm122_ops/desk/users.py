"""python -m vm122_ops users add NAME [--admin] [--first] | list | disable NAME |
enable NAME | reset-password NAME

Passwords are read from a prompt (twice) on a terminal, or from the first line of stdin
otherwise; never from the command line, where other users and the shell history see
them. Disabling an account and resetting its password end its Desk sessions at once: the
running Ops refuses them on their next request, and closes their streams within seconds.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from typing import TextIO

from vm122_ops.desk import accounts
from vm122_ops.desk.accounts import AccountExists, Passwords
from vm122_ops.errors import ConfigError, Unprocessable
from vm122_ops.settings import Settings
from vm122_ops.store.db import Database


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="operator accounts of the Desk")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create an account (password from prompt or stdin)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="an administrator")
    add.add_argument(
        "--first",
        action="store_true",
        help="only when no account exists yet (scripts/run's first admin); else do nothing",
    )
    actions.add_parser("list", help="every account, its role, state and live sessions")
    for action, text in (
        ("disable", "disable an account and end its sessions"),
        ("enable", "enable a disabled account"),
        ("reset-password", "set a new password (prompt or stdin) and end its sessions"),
    ):
        actions.add_parser(action, help=text).add_argument("name")


def read_password(stdin: TextIO) -> str:
    """Twice from a prompt on a terminal; else the first line of stdin."""
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ConfigError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def _when(ms: int | None) -> str:
    return "-" if ms is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))


async def run(
    settings: Settings,
    args: argparse.Namespace,
    *,
    stdin: TextIO = sys.stdin,
    passwords: Passwords | None = None,
) -> str:
    """Do one ``users`` action; returns what to print. ConfigError for a refusal."""
    db = Database(settings.db_path)
    await db.open()
    try:
        return await _run(db, settings, args, stdin, passwords or Passwords())
    finally:
        await db.close()


async def _run(
    db: Database, settings: Settings, args: argparse.Namespace, stdin: TextIO, pw: Passwords
) -> str:
    now = int(time.time() * 1000)
    if args.action == "list":
        found = await db.read(accounts.list_all, now)
        lines = [f"{'name':<24} {'role':<6} {'state':<9} {'created':<17} live sessions"]
        for a in found:
            state = "active" if a.disabled_at is None else "disabled"
            role = "admin" if a.is_admin else "agent"
            lines.append(
                f"{a.name:<24} {role:<6} {state:<9} {_when(a.created_at):<17} {a.live_sessions}"
            )
        return "\n".join(lines) if found else "no accounts yet"
    try:
        name = accounts.parse_name(args.name)
    except Unprocessable as exc:
        raise ConfigError(exc.message) from None
    if args.action == "add":
        password = read_password(stdin)
        _check(password, settings)
        hashed = await pw.hash_async(password)
        try:
            created = await db.write(
                lambda conn: accounts.create(
                    conn,
                    name,
                    hashed,
                    is_admin=args.admin,
                    now_ms=now,
                    only_if_first=args.first,
                )
            )
        except AccountExists:
            raise ConfigError(f"an account named {name} already exists") from None
        if created is None:
            return "accounts exist already; nothing created"
        return f"created {'admin' if args.admin else 'agent'} {name}"
    row = await db.read(accounts.get_by_name, name)
    if row is None:
        raise ConfigError(f"no account named {name}")
    account_id = int(row["id"])
    if args.action == "disable":
        ended = await db.write(lambda conn: accounts.disable(conn, account_id, now))
        return f"disabled {name}; ended {ended} session(s)"
    if args.action == "enable":
        await db.write(lambda conn: accounts.enable(conn, account_id))
        return f"enabled {name}"
    password = read_password(stdin)
    _check(password, settings)
    hashed = await pw.hash_async(password)
    await db.write(
        lambda conn: accounts.set_password(conn, account_id, hashed, now_ms=now, reset=True)
    )
    return f"new password set for {name}; its sessions ended"


def _check(password: str, settings: Settings) -> None:
    try:
        accounts.check_password(password, settings.api_tokens)
    except Unprocessable as exc:
        raise ConfigError(exc.message) from None
