"""Ops and the Portal under uvicorn in a background thread on a loopback port, for tests
that drive them with a plain synchronous client (hypothesis, schemathesis)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp

from tests.reliability.harness import SECRET, TOKEN
from vm112_portal.app import create_app as create_portal
from vm112_portal.settings import Settings as PortalSettings
from vm122_ops.app import create_app as create_ops
from vm122_ops.settings import Settings as OpsSettings
from vm122_ops.settings import parse_webhook_secrets


@contextmanager
def serve(app: ASGIApp, sock: socket.socket) -> Iterator[str]:
    """Serve ``app`` on ``sock`` in a thread; yields the base URL."""
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="on",
        ws="none",
        log_level="critical",
        access_log=False,
        timeout_graceful_shutdown=1,
        limit_concurrency=200,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def ops_server(db_path: Path) -> Iterator[str]:
    settings = OpsSettings(
        db_path=db_path, webhook_secrets=parse_webhook_secrets(SECRET), api_token=TOKEN
    )
    with serve(create_ops(settings), _socket()) as url:
        yield url


@contextmanager
def portal_server(db_path: Path, ops_url: str = "http://127.0.0.1:9") -> Iterator[str]:
    """The Portal with its sandbox providers called over its own socket, as in production."""
    sock = _socket()
    port = sock.getsockname()[1]
    base = PortalSettings.from_env(
        {
            "PORTAL_PORT": str(port),
            "PORTAL_DB": str(db_path),
            "OPS_URL": ops_url,
            "OPS_WEBHOOK_SECRET": SECRET,
        }
    )
    settings = replace(base, ops_timeout=0.5, backoff_max=0.5)
    with serve(create_portal(settings), sock) as url:
        yield url


def status_of(client: httpx.Client, method: str, url: str, **kwargs: object) -> int:
    """Send a request and return its status without reading an endless body (the stream)."""
    with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            response.read()
        return response.status_code
