"""schemathesis (CLI, 4.x) against each service's published GET /openapi.json, served by
uvicorn on a loopback port: examples, coverage and fuzzing phases, a bounded number of
examples per operation, checks that answers are never 5xx and match the document
(status codes, content types, response schemas).

SCHEMATHESIS_EXAMPLES (default 50) and SCHEMATHESIS_SEED (default 20261129) tune it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from tests.support.apps import ops_in_thread, portal_in_thread
from tests.support.credentials import TOKEN

EXAMPLES = os.environ.get("SCHEMATHESIS_EXAMPLES", "50")
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261129")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
CLI = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"


def _ops(tmp_path: Path) -> AbstractContextManager[str]:
    return ops_in_thread(tmp_path / "ops.db")


def _portal(tmp_path: Path) -> AbstractContextManager[str]:
    return portal_in_thread(tmp_path / "portal.db")


@pytest.mark.parametrize(
    ("server", "extra"),
    [
        # The stream is endless (tested in tests/desk and the fuzz test, status only).
        pytest.param(
            _ops,
            ["-H", f"Authorization: Bearer {TOKEN}", "--exclude-path", "/api/v1/stream"],
            id="ops",
        ),
        pytest.param(_portal, [], id="portal"),
    ],
)
def test_schemathesis_finds_nothing(
    tmp_path: Path, server: Callable[[Path], AbstractContextManager[str]], extra: list[str]
) -> None:
    with server(tmp_path) as url:
        result = subprocess.run(
            [
                CLI,
                "run",
                f"{url}/openapi.json",
                "--checks",
                CHECKS,
                "-n",
                EXAMPLES,
                "--seed",
                SEED,
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "1",
                "--request-timeout",
                "10",
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=240,
            cwd=tmp_path,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", result.stdout)
    assert cases is not None, result.stdout[-3000:]
    print(f"schemathesis {url}: {cases.group(0)}")
    assert cases.group(1) == cases.group(2) and int(cases.group(1)) > 100
