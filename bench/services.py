"""The real services as subprocesses on free loopback ports, and the stand-ins for Ops.

``Fleet`` starts ``python -m vm122_ops`` / ``python -m vm112_portal`` each in its own
process group, waits until GET /healthz answers, and on exit (also on failure or Ctrl-C)
stops every group it started: SIGTERM, then SIGKILL after a grace period. Each service
logs to a file under var/bench/logs/, whose tail is shown when a service fails to start.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from bench.wire import Connection, WireError

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench" / "logs"
HOST = "127.0.0.1"
START_TIMEOUT = 60.0
STOP_GRACE = 5.0


class ServiceError(Exception):
    """A service did not start, or died while it was being measured."""


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port nothing listens on, below the ephemeral range: bind(0) would hand
    out one the kernel also gives to the thousands of outgoing connections a benchmark
    (or a test) makes, which can take it before the service binds it. The tests use this
    one too (tests/support/runner.py)."""
    chooser = random.Random()
    high = min(_ephemeral_low(), 32768)
    for _ in range(500):
        port = chooser.randrange(20000, high)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


@dataclass(frozen=True)
class Credentials:
    """A fresh webhook secret and operator token for one run."""

    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def secret(self) -> str:
        return "whsec_" + base64.b64encode(self.key).decode()

    @property
    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ServiceError(f"no VmRSS for pid {pid}")


class Fleet:
    """Every service started in one benchmark; ``async with Fleet() as fleet:``."""

    def __init__(self) -> None:
        self.services: list[Service] = []

    async def __aenter__(self) -> Fleet:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def stop_all(self) -> None:
        for service in reversed(self.services):
            stop(service)
        self.services.clear()

    async def ops(
        self,
        creds: Credentials,
        db: Path,
        *,
        window_hours: int = 48,
        extra: dict[str, str] | None = None,
    ) -> Service:
        port = free_port()
        env = {
            "OPS_HOST": HOST,
            "OPS_PORT": str(port),
            "OPS_DB": str(db),
            "OPS_WEBHOOK_SECRET": creds.secret,
            "OPS_API_TOKEN": creds.token,
            "OPS_WINDOW_HOURS": str(window_hours),
            **(extra or {}),
        }
        return await self.start("ops", "vm122_ops", port, env)

    async def portal(
        self, creds: Credentials, db: Path, ops_url: str, *, extra: dict[str, str] | None = None
    ) -> Service:
        port = free_port()
        env = {
            "PORTAL_HOST": HOST,
            "PORTAL_PORT": str(port),
            "PORTAL_DB": str(db),
            "PORTAL_PROVIDERS": "sandbox",
            # The benchmark measures throughput from one address: the wizard's rate limits
            # (docs/portal.md) would measure the limiter instead.
            "PORTAL_RATE_LIMITS": "off",
            "OPS_URL": ops_url,
            "OPS_WEBHOOK_SECRET": creds.secret,
            **(extra or {}),
        }
        return await self.start("portal", "vm112_portal", port, env)

    async def start(self, name: str, module: str, port: int, env: dict[str, str]) -> Service:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / f"{name}-{port}.log"
        with log_path.open("wb") as log:
            # Popen returns at once; a plain Popen keeps stop() usable from sync cleanup.
            process = subprocess.Popen(  # noqa: ASYNC220
                [sys.executable, "-m", module],
                cwd=ROOT,
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed as a whole
            )
        service = Service(name, port, process, log_path)
        self.services.append(service)
        await wait_ready(service)
        return service


async def wait_ready(service: Service, within: float = START_TIMEOUT) -> None:
    """Until GET /healthz answers 200; ServiceError with the log tail otherwise."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if service.process.poll() is not None:
            raise ServiceError(
                f"{service.name} exited with {service.process.returncode} at start-up:\n"
                f"{service.log_tail()}"
            )
        try:
            conn = await Connection.open(HOST, service.port, within=1.0)
            try:
                reply = await conn.request("GET", "/healthz")
            finally:
                await conn.close()
            if reply.status == 200:
                return
        except (OSError, TimeoutError, WireError):
            pass
        await asyncio.sleep(0.05)
    raise ServiceError(f"{service.name} not ready after {within:.0f} s:\n{service.log_tail()}")


def stop(service: Service) -> None:
    """SIGTERM the service's process group, SIGKILL it if it outlives the grace period."""
    process = service.process
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Whatever the leader left behind in its group goes too.
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def kill(service: Service) -> None:
    """SIGKILL the service's process group at once (no graceful shutdown)."""
    with suppress(ProcessLookupError):
        os.killpg(service.process.pid, signal.SIGKILL)
    service.process.wait()


class HangingListener:
    """Ops 'hanging': accepts connections and never answers (nor closes them)."""

    def __init__(self) -> None:
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._closing = asyncio.Event()

    async def __aenter__(self) -> HangingListener:
        self._server = await asyncio.start_server(self._hold, HOST, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._closing.set()
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.append(writer)
        await self._closing.wait()  # hold the connection open, read nothing, say nothing
