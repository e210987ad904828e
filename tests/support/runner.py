"""The three ways a test runs a service:

- ``in_process(app)``: the ASGI app with its lifespan (asgi_lifespan) and an httpx client
  on ASGITransport; no socket. The default for tests of one service.
- ``Loopback``: the app under a real uvicorn on 127.0.0.1, for what ASGITransport cannot
  do (endless streams, a browser, a service going down and coming back). ``start()`` runs
  it in the test's event loop; ``threaded()`` in a thread, for sync clients. A stopped
  server started again keeps its port, so clients reconnect to the same address.
- ``ServiceProcess``: ``python -m <module>`` (``python_module``), or another program, with
  its environment, output to a log file, in its own process group, stopped (SIGTERM,
  then SIGKILL) or killed as a whole.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import orjson
import uvicorn
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp

from bench.services import free_port
from tests.support.poll import wait_until, wait_until_sync

HOST = "127.0.0.1"
__all__ = [
    "HOST",
    "InProcess",
    "Loopback",
    "ServiceProcess",
    "free_port",
    "in_process",
    "python_module",
]


class InProcess(NamedTuple):
    app: ASGIApp  # the app as the lifespan runs it (its state attached)
    client: httpx.AsyncClient


@asynccontextmanager
async def in_process(
    app: ASGIApp, *, base_url: str = "http://test", headers: dict[str, str] | None = None
) -> AsyncIterator[InProcess]:
    """``app`` with its lifespan run, and a client that calls it without a socket."""
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url=base_url, headers=headers
        ) as client,
    ):
        yield InProcess(manager.app, client)


@dataclass
class Loopback:
    """uvicorn on 127.0.0.1:``port`` (0: a free one, kept from the first start on)."""

    port: int = 0
    options: dict[str, Any] = field(default_factory=dict)  # more uvicorn.Config settings
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def _serving(self, app: ASGIApp) -> tuple[uvicorn.Server, socket.socket]:
        # Out of the ephemeral range, so a restart on the same port finds it free.
        self.port = self.port or free_port()
        settings: dict[str, Any] = {
            "lifespan": "on",
            "ws": "none",
            "log_level": "warning",
            "access_log": False,
            "timeout_graceful_shutdown": 1,
            **self.options,
        }
        server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=self.port, **settings))
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, self.port))
        return server, sock

    async def start(self, app: ASGIApp) -> None:
        """Serve ``app`` from a task of this event loop; returns once it listens."""
        self._server, self._socket = self._serving(app)
        task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        self._task = task
        server = self._server
        await wait_until(lambda: server.started or task.done(), timeout=10, what="uvicorn started")
        if task.done():
            task.result()  # its exception, if it raised one
            raise RuntimeError("uvicorn did not start")

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=15)
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None

    @contextmanager
    def threaded(self, app: ASGIApp) -> Iterator[str]:
        """Serve ``app`` from a thread of its own; yields the base URL."""
        server, sock = self._serving(app)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            wait_until_sync(
                lambda: server.started or not thread.is_alive(), timeout=15, what="uvicorn"
            )
            if not server.started:
                raise RuntimeError("uvicorn did not start")
            yield self.base_url
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            sock.close()


def python_module(module: str) -> list[str]:
    """The argv of ``python -m module`` with this interpreter."""
    return [sys.executable, "-m", module]


@dataclass
class ServiceProcess:
    """``argv`` (a service: ``python_module(...)``) with exactly ``env``; stdout and stderr
    appended to ``log``. start() again after a stop or a kill starts it anew."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return self.argv[2] if self.argv[1:2] == ["-m"] else Path(self.argv[0]).name

    def start(self) -> ServiceProcess:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, no flushing."""
        assert self.popen is not None
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        assert self.popen.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        """SIGTERM to the group, SIGKILL after 10 s; nothing when it already exited."""
        if self.popen is None or self.popen.poll() is not None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)

    def _healthy(self, base_url: str) -> bool:
        assert self.popen is not None
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.text()[-2000:]}")
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    async def wait_ready(self, base_url: str, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Until GET /healthz answers 200; fails at once, with the log, if it exits."""

        async def healthy() -> bool:
            return await asyncio.to_thread(self._healthy, base_url)

        await wait_until(healthy, timeout=timeout, interval=0.1, what=f"{self.name} ready")

    def wait_ready_sync(self, base_url: str, timeout: float = 20.0) -> None:
        """The same, for a test without an event loop."""
        wait_until_sync(
            lambda: self._healthy(base_url),
            timeout=timeout,
            interval=0.1,
            what=f"{self.name} ready",
        )

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def json_lines(self) -> list[dict[str, Any]]:
        """Every JSON line of the log (the print() banner lines are skipped)."""
        return [orjson.loads(line) for line in self.text().splitlines() if line.startswith("{")]
