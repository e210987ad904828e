"""Database files readable by their owner only.

A SQLite file is created with mode 0666 minus the umask (0644 under the usual 022), so
anyone on the host could read sessions, customer domains and tickets. ``private_file``
creates the file 0600 before SQLite opens it; SQLite then gives the -wal and -shm files
the database file's own mode (unixOpen/findCreateFileMode in sqlite3.c). A file left
group- or world-readable by an older release is tightened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MODE = 0o600


def private_file(path: Path) -> None:
    """Make sure ``path`` exists with mode 0600 (its -wal and -shm too, when present)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, MODE)
    os.close(fd)
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if stat.S_IMODE(candidate.stat().st_mode) != MODE:
                candidate.chmod(MODE)
        except FileNotFoundError:
            continue
