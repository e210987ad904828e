"""Litestream for scratch runs (the recovery benchmark and tests/reliability/test_recovery.py).

The binary comes from scripts/fetch-litestream (the npm package, cached under var/tools/);
the config is deploy/litestream.yml itself, with Ops' database and the replica directory
moved into a scratch folder, so what is measured and tested is the shipped config.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.services import ROOT

DEPLOY_CONFIG = ROOT / "deploy" / "litestream.yml"
OPS_STATE = "/var/lib/vm122-ops/"
REPLICA_DISK = "/srv/vm122-ops-replica/"


def litestream_binary() -> Path:
    """The pinned Litestream binary, fetched on first use (idempotent, a few seconds)."""
    result = subprocess.run(
        [str(ROOT / "scripts" / "fetch-litestream")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"scripts/fetch-litestream failed: {result.stderr.strip()}")
    return Path(result.stdout.strip())


@dataclass(frozen=True)
class ScratchReplication:
    """Where a scratch run keeps Ops' database, the replica and the config naming both."""

    folder: Path

    @property
    def db(self) -> Path:
        return self.folder / "state" / "ops.db"

    @property
    def replica(self) -> Path:
        return self.folder / "replica"

    @property
    def config(self) -> Path:
        return self.folder / "litestream.yml"

    def write_config(self) -> Path:
        text = DEPLOY_CONFIG.read_text()
        for installed in (OPS_STATE, REPLICA_DISK):
            if installed not in text:
                raise RuntimeError(f"{DEPLOY_CONFIG} no longer names {installed}")
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self.replica.mkdir(parents=True, exist_ok=True)
        text = text.replace(OPS_STATE, f"{self.db.parent}/").replace(
            REPLICA_DISK, f"{self.replica}/"
        )
        self.config.write_text(text)
        return self.config

    def database_files(self) -> list[Path]:
        """What losing the disk loses: the database, its -wal and -shm, Litestream's
        shadow WAL folder next to it (litestream.io/tips, "Deleting SQLite databases")."""
        db = self.db
        return [
            db,
            db.with_name(db.name + "-wal"),
            db.with_name(db.name + "-shm"),
            db.with_name(f".{db.name}-litestream"),
        ]
