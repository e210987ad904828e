"""python -m vm122_ops: start the Ops service (configuration from the environment)."""

from __future__ import annotations

import asyncio
import os
import sys

import uvicorn

from sqlfiles import SchemaTooNewError
from vm122_ops.app import create_app
from vm122_ops.db import Database
from vm122_ops.errors import ConfigError
from vm122_ops.settings import Settings

USAGE = "usage: python -m vm122_ops [serve]"


async def _migrate(settings: Settings) -> None:
    db = Database(settings.db_path)
    await db.open()
    await db.close()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command != "serve" or len(argv) > 1:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env(os.environ)
        # Migrate before serving, so a schema problem is one clear line, not a traceback.
        asyncio.run(_migrate(settings))
    except (ConfigError, SchemaTooNewError) as exc:
        print(f"vm122_ops: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"vm122_ops: cannot open the database {settings.db_path}: {exc}", file=sys.stderr)
        return 2
    print(f"vm122_ops: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
