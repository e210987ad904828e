"""``python -m vm112_portal`` serves the portal; ``... outbox redrive`` resends dead letters.

Bad configuration prints one sentence on stderr and exits with code 2 (no traceback).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

import jsonlogs
from jsonlogs import log_event
from sqlfiles import SchemaTooNewError
from vm112_portal.app import create_app
from vm112_portal.db import Database
from vm112_portal.errors import ConfigError
from vm112_portal.ops_webhook import redrive
from vm112_portal.settings import Settings

USAGE = "usage: python -m vm112_portal [outbox redrive]"


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


async def _redrive(path: Path) -> int:
    db = Database(path)
    await db.open()
    try:
        return await redrive(db)
    finally:
        await db.close()


def main(argv: Sequence[str], env: dict[str, str]) -> int:
    try:
        if list(argv) == ["outbox", "redrive"]:
            path = Path(env.get("PORTAL_DB", "").strip() or "var/portal.db")
            if not path.exists():
                raise ConfigError(f"PORTAL_DB {path} does not exist; nothing to redrive.")
            asyncio.run(_check_database(path))
            count = asyncio.run(_redrive(path))
            print(f"{count} dead letter(s) queued again; the running portal delivers them.")
            return 0
        if argv:
            raise ConfigError(f"unknown command {' '.join(argv)!r}; {USAGE}.")
        settings = Settings.from_env(env)
        asyncio.run(_check_database(settings.db_path))
    except ConfigError as exc:
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
