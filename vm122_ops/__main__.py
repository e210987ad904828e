"""python -m vm122_ops [serve | backup PATH | purge [--dry-run] | verify PATH | users ...]

Configuration comes from the environment (README); ``verify`` needs none. A bad
configuration is one sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

from servicekit.serve import serve
from servicekit.sqlfiles import BackupError, SchemaTooNewError, backup_database
from vm122_ops.app import create_app
from vm122_ops.desk import users
from vm122_ops.errors import ConfigError
from vm122_ops.settings import Settings
from vm122_ops.store import retention
from vm122_ops.store.db import Database
from vm122_ops.store.recovery import RestoreError, verify_store

BACKED_UP_TABLES = (
    "webhook_events",
    "onboard_sessions",
    "tickets",
    "ticket_entries",
    "ticket_activity",
    "accounts",
    "webhook_ids_seen",
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vm122_ops", description=__doc__)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the API and the Desk (the default)")
    backup = commands.add_parser("backup", help="copy the live database to PATH, verified")
    backup.add_argument("path", type=Path)
    purge = commands.add_parser("purge", help="remove raw events past OPS_RETENTION_DAYS")
    purge.add_argument("--dry-run", action="store_true", help="only say what would go")
    verify = commands.add_parser(
        "verify",
        help="check a restored store's integrity and say up to which event it holds",
    )
    verify.add_argument("path", type=Path)
    users.add_parser(commands)
    return parser


async def _migrate(settings: Settings) -> None:
    db = Database(settings.db_path)
    await db.open()
    await db.close()


async def _purge(settings: Settings, dry_run: bool) -> str:
    db = Database(settings.db_path)
    await db.open()
    try:
        now_ms = int(time.time() * 1000)
        if dry_run:
            plan = await retention.plan_purge(db, settings.retention_days, now_ms)
            return (
                f"would remove {plan.rows} raw events received more than "
                f"{settings.retention_days} days ago; sessions and tickets stay"
            )
        removed = await retention.purge(db, settings.retention_days, now_ms)
        return f"removed {removed} raw events received more than {settings.retention_days} days ago"
    finally:
        await db.close()


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    command = args.command or "serve"
    if command == "verify":
        try:
            print(verify_store(args.path).describe())
        except RestoreError as exc:
            print(f"vm122_ops: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        settings = Settings.from_env(os.environ)
        if command == "backup":
            print(backup_database(settings.db_path, args.path, BACKED_UP_TABLES).describe())
            return 0
        # Migrate before anything else, so a schema problem is one clear line.
        asyncio.run(_migrate(settings))
        if command == "purge":
            print(asyncio.run(_purge(settings, args.dry_run)))
            return 0
        if command == "users":
            print(asyncio.run(users.run(settings, args)))
            return 0
    except (ConfigError, SchemaTooNewError, BackupError) as exc:
        print(f"vm122_ops: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"vm122_ops: cannot open the database: {exc}", file=sys.stderr)
        return 2
    # The start-up configuration, secrets masked: their count and length only.
    serve(
        create_app(settings),
        settings,
        service="ops",
        logger="vm122_ops",
        graceful_shutdown=5,
        # Past 4096 connections (Desk streams included) uvicorn answers 503 rather than
        # running out of descriptors (the unit's LimitNOFILE is 65536). Ops listens on the
        # loopback behind nginx, which bounds a request head's size and time.
        limits={"timeout_keep_alive": 5, "limit_concurrency": 4096},
        window_hours=settings.window_hours,
        retention_days=settings.retention_days,
        webhook_secrets=f"{len(settings.webhook_secrets)} configured",
        api_tokens=f"{len(settings.api_tokens)} configured",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
