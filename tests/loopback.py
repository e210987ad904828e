"""An ASGI app under uvicorn in the test's own event loop, on 127.0.0.1: for tests that
need a real server (streams, a service going down and coming back). stop() and start()
again keep the port, so clients can reconnect to the same address."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port nothing listens on, below the ephemeral range.

    bind(0) hands out a port from the ephemeral range, which the kernel also gives to
    outgoing connections: a test making thousands of deliveries can take it before the
    service it was meant for binds it ("address already in use", seen in the storm test).
    """
    high = min(_ephemeral_low(), 32768)
    chooser = random.Random()
    for _ in range(500):
        port = chooser.randrange(20000, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


@dataclass
class LoopbackServer:
    port: int = 0  # 0: a free port, kept from the first start on
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _socket: socket.socket | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, app: ASGIApp) -> None:
        # Out of the ephemeral range, so a restart on the same port finds it free.
        self.port = self.port or free_port()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            lifespan="on",
            ws="none",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
        )
        self._socket = sock
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.wait_for(self._task, timeout=15)
        if self._socket is not None:
            self._socket.close()
        self._server = self._task = self._socket = None
