"""python -m vm112_portal [serve | backup PATH | outbox redrive]

``serve`` (the default) reads the whole configuration from the environment; the
maintenance commands need only ``PORTAL_DB``. A bad configuration or command is one
sentence on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import uvicorn

import jsonlogs
from jsonlogs import log_event
from sqlfiles import BackupError, SchemaTooNewError, backup_database
from vm112_portal.app import create_app
from vm112_portal.db import Database
from vm112_portal.errors import ConfigError
from vm112_portal.ops_webhook import redrive
from vm112_portal.settings import Settings, database_path

BACKED_UP_TABLES = ("sessions", "outbox", "infra")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"{message}; see python -m vm112_portal --help.")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m vm112_portal", description=__doc__,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    commands.add_parser("serve", help="serve the wizard and its API (the default)")
    backup = commands.add_parser("backup", help="copy the live database to PATH, verified")
    backup.add_argument("path", type=Path)
    outbox = commands.add_parser("outbox", help="act on the outbox of events for Ops")
    actions = outbox.add_subparsers(dest="action", required=True, parser_class=_Parser)
    actions.add_parser("redrive", help="queue every dead letter again")
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


async def _redrive(path: Path) -> str:
    db = Database(path)
    await db.open()
    try:
        count = await redrive(db)
    finally:
        await db.close()
    return f"{count} dead letter(s) queued again; the running portal delivers them."


def _existing_database(purpose: str, env: dict[str, str]) -> Path:
    path = database_path(env)
    if not path.exists():
        raise ConfigError(f"PORTAL_DB {path} does not exist; nothing to {purpose}.")
    asyncio.run(_check_database(path))
    return path


def _backup(env: dict[str, str], target: Path) -> str:
    report = backup_database(database_path(env), target, BACKED_UP_TABLES)
    counts = ", ".join(f"{n} {table}" for table, n in report.tables.items())
    return f"backup verified: {report.path} ({report.bytes} bytes; {counts})"


def main(argv: Sequence[str], env: dict[str, str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
        if args.command == "backup":
            print(_backup(env, args.path))
            return 0
        if args.command == "outbox":
            print(asyncio.run(_redrive(_existing_database("redrive", env))))
            return 0
        settings = Settings.from_env(env)
        asyncio.run(_check_database(settings.db_path))
    except (ConfigError, BackupError) as exc:
        print(f"vm112_portal: {exc}", file=sys.stderr)
        return 2
    jsonlogs.configure("portal")
    # The start-up configuration, secrets reduced to "set".
    log_event(
        logging.getLogger("vm112_portal"), "starting", host=settings.host, port=settings.port,
        db=str(settings.db_path), ops_url=settings.ops_url, providers=settings.providers,
        carbonio_admin_user=settings.carbonio_admin_user,
        metrics="on (PORTAL_METRICS_TOKEN set)" if settings.metrics_token else "off",
        secrets="webhook secret, Carbonio password and Cloudflare token set (not shown)",
    )
    app = create_app(settings)
    print(
        f"Portal on http://{settings.host}:{settings.port}/ "
        f"(providers: {settings.providers}, Ops: {settings.ops_url})",
        flush=True,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        access_log=False,  # vm112_portal.access_log writes one JSON line per request
        log_config=None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], dict(os.environ)))
