"""A test's new database starts with its service's schema already in place.

Each service's migrations run once per test run, by the service's own ``Database.open``,
into a template file; ``migrated_ops(path)`` and ``migrated_portal(path)`` then put a copy
of that template at ``path`` when nothing is there yet. Opening the copy finds its schema
at the latest version and runs no migration, where a fresh file would run every one,
each its own fsynced transaction: most of what starting a service in a test costs.

The template is the file the service leaves behind after its first open (journal mode
WAL, ``PRAGMA user_version`` the latest), so the copy is byte for byte what a first start
produces. A path that exists already is left alone: a test that builds an older schema
(tests/ops/test_migrations.py) or opens ``Database`` itself still runs the migrations.
"""

from __future__ import annotations

import asyncio
import functools
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vm112_portal.db import Database as PortalDatabase
from vm122_ops.store.db import Database as OpsDatabase

MODE = 0o600  # what the services give their database files (servicekit private_file)


async def _open_and_close(database: OpsDatabase | PortalDatabase) -> None:
    await database.open()
    await database.close()


def _template(make: type[OpsDatabase] | type[PortalDatabase]) -> bytes:
    """The bytes of a database that ``make`` opened (and so migrated) once, then closed.

    Run in a thread of its own with its own event loop: the first test to ask may be
    inside a running loop already."""
    with tempfile.TemporaryDirectory(prefix="schema-") as folder:
        path = Path(folder) / "template.db"
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(lambda: asyncio.run(_open_and_close(make(path)))).result()
        # Closing the last connection checkpoints the WAL into the file and removes it.
        assert not Path(f"{path}-wal").exists(), "the template's WAL was not checkpointed"
        return path.read_bytes()


@functools.cache
def _ops_template() -> bytes:
    return _template(OpsDatabase)


@functools.cache
def _portal_template() -> bytes:
    return _template(PortalDatabase)


def _copy(template: bytes, path: Path) -> Path:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, MODE)
        with os.fdopen(fd, "wb") as file:
            file.write(template)
    return path


def migrated_ops(path: Path) -> Path:
    """``path``, holding Ops' migrated empty database unless something is there already."""
    return _copy(_ops_template(), path)


def migrated_portal(path: Path) -> Path:
    """``path``, holding the Portal's migrated empty database unless something is there."""
    return _copy(_portal_template(), path)
