"""An installed wheel works on its own: ``pip install`` of the tree into a fresh virtual
environment, then both services started from another folder serve their pages, scripts
and SQL (the top-level sql/ and frontend/ shipped inside the packages, setup.py).

This is the slowest test of the suite's process tests (a venv, a wheel build, the
dependencies from pip's configured index or cache: about a minute)."""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from pathlib import Path

import httpx
import orjson

from tests.support.credentials import AUTH, SECRET, TOKEN
from tests.support.poll import wait_until_sync
from tests.support.runner import ServiceProcess, free_port
from tests.support.signer import event_body, new_webhook_id, signed_headers

ROOT = Path(__file__).resolve().parents[2]
# What a checkout holds that is no part of the source.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "var",
    "build",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    "node_modules",
    "test-artifacts",
    "results*.json",
)


def _install(tmp: Path) -> Path:
    """A fresh venv in ``tmp`` with ``pip install <a copy of the tree>``; its python."""
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    venv.EnvBuilder(with_pip=True).create(tmp / "venv")
    python = tmp / "venv" / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    installed = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    shutil.rmtree(source)  # the services must not find the tree
    return python


def _service(python: Path, module: str, env: dict[str, str], run: Path) -> ServiceProcess:
    base = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(run)}
    return ServiceProcess(
        [str(python), "-m", module], {**base, **env}, run / f"{module}.log", cwd=run
    ).start()


def test_the_wheel_serves_pages_scripts_and_sql_from_another_folder(tmp_path: Path) -> None:
    python = _install(tmp_path)
    run = tmp_path / "run"  # neither the tree nor the venv: nothing found by accident
    run.mkdir()
    where = subprocess.run(
        [python, "-c", "import vm122_ops, vm112_portal; print(vm122_ops.__file__)"],
        cwd=run,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(tmp_path / "venv")) and "site-packages" in where, where

    ops_port, portal_port = free_port(), free_port()
    ops_url, portal_url = f"http://127.0.0.1:{ops_port}", f"http://127.0.0.1:{portal_port}"
    ops = _service(
        python,
        "vm122_ops",
        {
            "OPS_HOST": "127.0.0.1",
            "OPS_PORT": str(ops_port),
            "OPS_DB": str(run / "ops.db"),
            "OPS_WEBHOOK_SECRET": SECRET,
            "OPS_API_TOKEN": TOKEN,
        },
        run,
    )
    portal = _service(
        python,
        "vm112_portal",
        {
            "PORTAL_HOST": "127.0.0.1",
            "PORTAL_PORT": str(portal_port),
            "PORTAL_DB": str(run / "portal.db"),
            "PORTAL_PROVIDERS": "sandbox",
            "OPS_URL": ops_url,
            "OPS_WEBHOOK_SECRET": SECRET,
        },
        run,
    )
    try:
        ops.wait_ready_sync(ops_url, timeout=60)
        portal.wait_ready_sync(portal_url, timeout=60)
        with httpx.Client(timeout=10) as client:
            # The Desk's pages and files (frontend/ in the tree).
            login = client.get(f"{ops_url}/login")
            assert login.status_code == 200 and "text/html" in login.headers["content-type"]
            assert "<form" in login.text
            script = client.get(f"{ops_url}/js/main.js")
            assert script.status_code == 200 and "javascript" in script.headers["content-type"]
            style = client.get(f"{ops_url}/css/desk.css")
            assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")
            # The Portal's page and scripts (package data of vm112_portal).
            page = client.get(f"{portal_url}/")
            assert page.status_code == 200 and "<script" in page.text
            assert client.get(f"{portal_url}/static/js/main.js").status_code == 200
            assert client.get(f"{portal_url}/static/style.css").status_code == 200
            # The SQL (sql/ in the tree): migrated stores, named queries that answer.
            health = client.get(f"{portal_url}/healthz").json()
            assert health["database"] == "ok" and health["outbox"]["pending"] == 0
            body = event_body("onboarding.started", "wheel-1", domain="wheel-shop.pt")
            webhook_id = new_webhook_id()
            stored = client.post(
                f"{ops_url}/api/v1/webhooks/onboard",
                content=body,
                headers=signed_headers(webhook_id, body),
            )
            assert stored.status_code == 202, stored.text
            # And the Portal's outbox delivers a wizard step's event to Ops.
            step = client.post(
                f"{portal_url}/api/v1/onboarding/validate-domain",
                json={"session_id": "wheel-2", "domain": "wheel-two.pt"},
            )
            assert step.status_code == 200, step.text

            def delivered() -> list[str]:
                timeline = client.get(
                    f"{ops_url}/api/v1/onboard/sessions/wheel-2/timeline", headers=AUTH
                )
                if timeline.status_code == 404:
                    return []
                assert timeline.status_code == 200, timeline.text
                return [e["event_type"] for e in timeline.json()["events"]]

            wanted = ["onboarding.started", "domain.validated"]
            wait_until_sync(lambda: delivered() == wanted, timeout=30, interval=0.2, what="both")
            funnel = client.get(f"{ops_url}/api/v1/onboard/funnel", headers=AUTH)
            assert funnel.status_code == 200 and orjson.loads(funnel.content)["cohort"] == 2
    finally:
        portal.stop()
        ops.stop()
    assert b"Traceback" not in (run / "vm122_ops.log").read_bytes()
    assert b"Traceback" not in (run / "vm112_portal.log").read_bytes()


def test_a_checkout_reads_the_top_level_folders() -> None:
    """Without the shipped copies (a checkout, an editable install), the services read
    the design card's folders themselves."""
    from vm112_portal.db import SQL_DIR as PORTAL_SQL
    from vm122_ops.routes.pages import FRONTEND
    from vm122_ops.store.sql import SQL_DIR as OPS_SQL

    assert (OPS_SQL, PORTAL_SQL, FRONTEND) == (
        ROOT / "sql" / "ops",
        ROOT / "sql" / "portal",
        ROOT / "frontend",
    )
    assert not (ROOT / "vm122_ops" / "_files").exists()
