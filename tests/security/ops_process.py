"""Ops as ``python -m vm122_ops`` on a loopback port with Desk accounts made by its own
CLI (production Argon2 parameters), and clients that log in from a chosen loopback
address (Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2 is "another address")."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.apps import ops_env, ops_process
from tests.support.credentials import PASSWORD
from tests.support.runner import HOST, ServiceProcess, free_port, python_module


def add_account(db_path: Path, name: str, password: str = PASSWORD) -> None:
    """``python -m vm122_ops users add NAME``, the password on stdin."""
    subprocess.run(
        [*python_module("vm122_ops"), "users", "add", name],
        env=ops_env(db_path),
        input=(password + "\n").encode(),
        check=True,
        capture_output=True,
        timeout=60,
    )


@contextmanager
def running_ops(
    tmp_path: Path, *accounts: str, **extra: str
) -> Iterator[tuple[str, ServiceProcess]]:
    """Ops with ``accounts`` (password PASSWORD); yields its base URL and process."""
    db_path = tmp_path / "ops.db"
    for name in accounts:
        add_account(db_path, name)
    port = free_port()
    process = ops_process(db_path, port, tmp_path / "ops.log", **extra)
    process.start()
    url = f"http://{HOST}:{port}"
    try:
        process.wait_ready_sync(url)
        yield url, process
    finally:
        process.stop()


def client_from(address: str, url: str, **kwargs: object) -> httpx.AsyncClient:
    """An async client whose connections come from ``address`` (127.x.y.z)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, base_url=url, **kwargs)  # type: ignore[arg-type]


async def login(
    client: httpx.AsyncClient, name: str, password: str = PASSWORD
) -> tuple[httpx.Response, float]:
    """POST /login; the answer and how long it took (seconds)."""
    started = time.perf_counter()
    response = await client.post(
        "/login",
        data={"name": name, "password": password, "next": "/"},
        headers={"sec-fetch-site": "same-origin"},
    )
    return response, time.perf_counter() - started


def outcome(response: httpx.Response) -> str:
    """What a login answer says: ok, invalid, throttled, busy, or the status."""
    location = str(response.headers.get("location", ""))
    if response.status_code == 303 and "error=" not in location:
        return "ok"
    if "error=" in location:
        return location.rsplit("error=", 1)[1]
    if response.status_code == 429:
        return "busy"
    return str(response.status_code)
