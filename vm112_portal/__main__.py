"""python -m vm112_portal [serve | backup PATH | purge [--dry-run] | outbox redrive |
outbox drop-dead [--dry-run] | outbox replay --since TIME [--dry-run] [--force] |
domain grant SESSION_ID DOMAIN | check-providers | mail-check DOMAIN|SESSION |
dkim publish DOMAIN [--file F]]

``serve`` (the default) reads the whole configuration from the environment, and so does
``check-providers`` (read-only calls to Cloudflare and Carbonio, exit 0 or 2); the
maintenance commands need only ``PORTAL_DB`` (and ``purge`` PORTAL_RETENTION_DAYS) and
work while the portal runs. A bad configuration or command is one sentence on stderr and
exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn

from servicekit.serve import serve
from servicekit.sqlfiles import BackupError, SchemaTooNewError, backup_database
from vm112_portal import mail_commands, retention
from vm112_portal.app import create_app
from vm112_portal.db import Database
from vm112_portal.errors import ConfigError, RequestError, StorageUnavailable
from vm112_portal.outbox import replay
from vm112_portal.outbox.ops_webhook import dead_letters, drop_dead, redrive
from vm112_portal.ownership import NoTxt, Ownership
from vm112_portal.providers.provider_check import ProviderCheckFailed, check_providers
from vm112_portal.settings import Settings, database_path, read_retention_days

BACKED_UP_TABLES = ("sessions", "outbox", "infra", "domain_owners")
LISTED = 20  # dead letters shown by drop-dead --dry-run


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; see python -m vm112_portal --help.")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m vm112_portal",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.add_parser("serve", help="serve the wizard and its API (the default)")
    commands.add_parser(
        "check-providers",
        help="read-only calls to Cloudflare and Carbonio with the configured credentials",
    )
    backup = commands.add_parser("backup", help="copy the live database to PATH, verified")
    backup.add_argument("path", type=Path)
    purge = commands.add_parser(
        "purge", help="remove delivered events older than PORTAL_RETENTION_DAYS"
    )
    purge.add_argument("--dry-run", action="store_true", help="only say what would go")
    outbox = commands.add_parser("outbox", help="act on the outbox of events for Ops")
    actions = outbox.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions.add_parser("redrive", help="queue every dead letter that can be sent again")
    drop = actions.add_parser("drop-dead", help="delete every dead letter for good")
    drop.add_argument("--dry-run", action="store_true", help="only list what would go")
    domain = commands.add_parser("domain", help="domain ownership (live mode proof)")
    domain_actions = domain.add_subparsers(dest="action", required=True, parser_class=_Parser)
    grant = domain_actions.add_parser(
        "grant",
        help="count a session's domain as proven: a zone already in our Cloudflare account",
    )
    grant.add_argument("session_id")
    grant.add_argument("domain")
    mail_commands.add_parsers(commands, _Parser)
    again = actions.add_parser(
        "replay",
        help="send the events Ops acknowledged since TIME again (to rebuild a restored Ops)",
    )
    again.add_argument(
        "--since",
        required=True,
        metavar="TIME",
        help="ISO 8601 with a zone, e.g. 2026-12-01T17:00:00Z (Ops' restore prints it)",
    )
    again.add_argument("--dry-run", action="store_true", help="only say what would be sent")
    again.add_argument(
        "--force",
        action="store_true",
        help="replay even from before what Ops still knows (Ops-Webhook-Ids-Since), or "
        "without asking Ops: purged events are then stored as new",
    )
    return parser


async def _check_database(path: Path) -> None:
    """Open (and migrate) the database once, so a bad PORTAL_DB fails before serving."""
    db = Database(path)
    try:
        await db.open()
    except SchemaTooNewError as exc:
        raise ConfigError(f"PORTAL_DB {path}: {exc}.") from None
    except (sqlite3.Error, OSError) as exc:
        raise ConfigError(f"PORTAL_DB {path} cannot be opened: {exc}.") from None
    finally:
        await db.close()


async def _redrive(db: Database) -> str:
    result = await redrive(db)
    lines = [f"{result.queued} dead letter(s) queued again; the running portal delivers them."]
    if result.refused:
        lines.append(
            f"{len(result.refused)} refused (they can never be sent; drop-dead removes them):"
        )
        lines += [f"  {webhook_id!r}: {reason}" for webhook_id, reason in result.refused]
    return "\n".join(lines)


async def _drop_dead(db: Database, dry_run: bool) -> str:
    if not dry_run:
        count = await drop_dead(db)
        return f"dropped {count} dead letter(s) for good; they will never reach Ops."
    count, oldest = await dead_letters(db, LISTED)
    lines = [f"would drop {count} dead letter(s); nothing changed:"]
    lines += [
        f"  {row['webhook_id']} {row['event_type']} session {row['session_id']}: "
        f"{row['last_error']}"
        for row in oldest
    ]
    if count > len(oldest):
        lines.append(f"  ... and {count - len(oldest)} more")
    return "\n".join(lines)


async def _replay(db: Database, since: float, dry_run: bool) -> str:
    plan = await replay.plan_replay(db, since)
    if dry_run:
        return f"would queue {plan.describe()} again; nothing changed."
    queued = await replay.replay(db, plan)
    return (
        f"queued {queued} of {plan.describe()} again; the running portal delivers them "
        "in creation order and Ops stores the ones it lacks."
    )


async def _purge(db: Database, days: int, dry_run: bool) -> str:
    now = time.time()
    if dry_run:
        plan = await retention.plan_purge(db, days, now)
        dead, _ = await dead_letters(db, 0)
        return (
            f"would remove {plan.rows} event(s) delivered more than {days} days ago; "
            f"pending events and {dead} dead letter(s) stay"
        )
    removed = await retention.purge(db, days, now)
    state = await retention.purge_wizard_state(db, days, now)
    return (
        f"removed {removed} event(s) delivered more than {days} days ago; "
        "pending events and dead letters stay; "
        f"removed {state.sessions} session(s) and {state.infra} infrastructure record(s) "
        f"idle more than {days} days"
    )


def _maintain(path: Path, work: Callable[[Database], Awaitable[str]]) -> str:
    async def run() -> str:
        db = Database(path)
        await db.open()
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(run())


def _existing_database(purpose: str, env: dict[str, str]) -> Path:
    path = database_path(env)
    if not path.exists():
        raise ConfigError(f"PORTAL_DB {path} does not exist; nothing to {purpose}.")
    asyncio.run(_check_database(path))
    return path


def _backup(env: dict[str, str], target: Path) -> str:
    return backup_database(database_path(env), target, BACKED_UP_TABLES).describe()


async def _grant(db: Database, session_id: str, domain: str) -> str:
    ownership = Ownership(db, hold_seconds=3600.0, proof_required=True, resolver=NoTxt())
    await ownership.grant(session_id, domain.strip().lower().rstrip("."))
    return (
        f"session {session_id} may now apply DNS records and create the account of {domain}; "
        "grant only a zone already in our Cloudflare account whose owner you have checked"
    )


HEAD_LIMIT = 16 * 1024  # bytes of request line and headers (nginx: 4 x 8k buffers)


def main(argv: Sequence[str], env: dict[str, str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
        if args.command == "backup":
            print(_backup(env, args.path))
            return 0
        if args.command == "purge":
            days = read_retention_days(env)
            path = _existing_database("purge", env)
            print(_maintain(path, lambda db: _purge(db, days, args.dry_run)))
            return 0
        if args.command == "outbox" and args.action == "replay":
            since = replay.parse_since(args.since)
            path = _existing_database("replay", env)
            if not args.force:
                ops_url = env.get("OPS_URL", "").strip() or Settings().ops_url
                known_since, warning = replay.ops_knows_since(ops_url)
                if warning:
                    print(f"vm112_portal: {warning}; replaying anyway", file=sys.stderr)
                replay.refuse_forgotten(since, known_since)
            print(_maintain(path, lambda db: _replay(db, since, args.dry_run)))
            return 0
        if args.command == "domain":
            path = _existing_database("grant", env)
            print(_maintain(path, lambda db: _grant(db, args.session_id, args.domain)))
            return 0
        if args.command == "outbox" and args.action == "redrive":
            print(_maintain(_existing_database("redrive", env), _redrive))
            return 0
        if args.command == "outbox":
            path = _existing_database("drop", env)
            print(_maintain(path, lambda db: _drop_dead(db, args.dry_run)))
            return 0
        if args.command in ("mail-check", "dkim"):
            text, lookup_failed = mail_commands.run(args, env)
            print(text)
            if lookup_failed is not None:
                print(f"vm112_portal: {lookup_failed}", file=sys.stderr)
                return mail_commands.LOOKUP_FAILED
            return 0
        settings = Settings.from_env(env)
        if args.command == "check-providers":
            print("\n".join(asyncio.run(check_providers(settings))))
            return 0
        asyncio.run(_check_database(settings.db_path))
    except (
        ConfigError,
        BackupError,
        StorageUnavailable,
        RequestError,
        ProviderCheckFailed,
    ) as exc:
        print(f"vm112_portal: {exc}", file=sys.stderr)
        return 2
    except sqlite3.Error as exc:
        print(f"vm112_portal: the portal database failed: {exc}.", file=sys.stderr)
        return 2
    print(
        f"Portal on http://{settings.host}:{settings.port}/ "
        f"(providers: {settings.providers}, Ops: {settings.ops_url})",
        flush=True,
    )
    # The start-up configuration, secrets reduced to "set".
    serve(
        create_app(settings),
        settings,
        service="portal",
        logger="vm112_portal",
        ops_url=settings.ops_url,
        providers=settings.providers,
        carbonio_admin_user=settings.carbonio_admin_user,
        metrics="on (PORTAL_METRICS_TOKEN set)" if settings.metrics_token else "off",
        secrets="webhook secret, Carbonio password and Cloudflare token set (not shown)",
        max_connections=settings.max_connections,
        limits={
            # h11, not httptools: uvicorn bounds a request head only with h11 (with
            # httptools an endless head is read into memory). The wizard needs no more speed.
            "http": "h11",
            "h11_max_incomplete_event_size": HEAD_LIMIT,
            "timeout_keep_alive": 5,
            # Past this many connections uvicorn answers 503 instead of running out of
            # descriptors (the unit's LimitNOFILE is 8192).
            "limit_concurrency": settings.max_connections,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))
