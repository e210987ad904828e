"""Ops and the Portal wired for tests, with the credentials of tests.support.credentials,
through the runners of tests.support.runner: Ops built in-process, Ops under a loopback
uvicorn (``OpsServer``), either service under a uvicorn thread, or as a subprocess."""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from starlette.applications import Starlette

from tests.support.credentials import AUTH, KEY, PASSWORD, SECRET, TOKEN
from tests.support.runner import (
    HOST,
    InProcess,
    Loopback,
    ServiceProcess,
    free_port,
    in_process,
    python_module,
)
from tests.support.schema import migrated_ops, migrated_portal
from vm112_portal.app import create_app as create_portal
from vm112_portal.settings import Settings as PortalSettings
from vm122_ops.app import create_app as create_ops
from vm122_ops.desk import users
from vm122_ops.desk.accounts import Passwords
from vm122_ops.desk.broker import Broker, StreamConfig
from vm122_ops.desk.login_throttle import AuthThrottle
from vm122_ops.settings import Settings as OpsSettings

# Argon2id at its cheapest, so tests log in quickly (production: argon2-cffi's defaults).
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def ops_settings(db_path: Path, **overrides: Any) -> OpsSettings:
    return replace(
        OpsSettings(db_path=db_path, webhook_secrets=(KEY,), api_token=TOKEN), **overrides
    )


async def user_command(db_path: Path, *argv: str, password: str = PASSWORD) -> str:
    """Run ``python -m vm122_ops users ARGV`` in-process, the password on stdin; a new
    ``db_path`` starts from the migrated schema (tests/support/schema.py)."""
    migrated_ops(db_path)
    parser = argparse.ArgumentParser()
    users.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["users", *argv])
    stdin = io.StringIO(password + "\n")
    return await users.run(ops_settings(db_path), args, stdin=stdin, passwords=Passwords(CHEAP))


def ops_in_process(db_path: Path) -> AbstractAsyncContextManager[InProcess]:
    """Ops with its lifespan run, and a client authorised for its read API."""
    app = create_ops(ops_settings(migrated_ops(db_path)))
    return in_process(app, base_url="http://ops.test", headers=AUTH)


@dataclass
class OpsServer:
    """Ops under uvicorn in this event loop; stop() and start() again keep the port, and
    each start() builds a fresh app on the same database."""

    db_path: Path
    config: StreamConfig | None = None
    port: int = 0
    clock: Callable[[], float] = time.time
    app: Starlette | None = None
    session_check_seconds: float = 0.2
    session_lifetime: int = 12 * 3600
    # Desk accounts created (password PASSWORD) before the first start.
    accounts: tuple[str, ...] = ("ana",)
    # Other Settings fields, e.g. {"stuck_min_minutes": 5} (OPS_STUCK_MIN_MINUTES).
    settings: dict[str, Any] = field(default_factory=dict)
    _loopback: Loopback = field(default_factory=Loopback)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def broker(self) -> Broker:
        assert self.app is not None
        broker: Broker = self.app.state.ops.broker
        return broker

    async def start(self) -> None:
        migrated_ops(self.db_path)
        if self.app is None:
            existing = await user_command(self.db_path, "list")
            for name in self.accounts:
                if not any(line.split()[:1] == [name] for line in existing.splitlines()):
                    await user_command(self.db_path, "add", name)
        self._loopback.port = self.port
        settings = ops_settings(self.db_path, host=HOST, port=self._loopback.port, **self.settings)
        self.app = create_ops(
            settings,
            clock=self.clock,
            stream_config=self.config,
            passwords=Passwords(CHEAP),
            session_check_seconds=self.session_check_seconds,
            session_lifetime=self.session_lifetime,
        )
        await self._loopback.start(self.app)
        self.port = self._loopback.port

    async def stop(self) -> None:
        await self._loopback.stop()


# uvicorn in a thread, for sync clients (hypothesis, schemathesis): more connections than
# its default at once, and quiet about the garbage the fuzzers send.
_THREADED = {"limit_concurrency": 200, "log_level": "critical"}


@contextmanager
def ops_in_thread(db_path: Path) -> Iterator[str]:
    """Ops under uvicorn in a thread on a loopback port; yields its base URL. Fuzzers send
    wrong credentials on purpose from one address: the failure budget is large enough
    not to turn their later requests into 429s (tests/desk/test_login.py tests the real
    budget)."""
    many = 1_000_000
    throttle = AuthThrottle(per_address=many, per_account=many, global_limit=many)
    app = create_ops(ops_settings(migrated_ops(db_path)), throttle=throttle)
    with Loopback(options=_THREADED).threaded(app) as url:
        yield url


@contextmanager
def portal_in_thread(
    db_path: Path, ops_url: str = "http://127.0.0.1:9", **env: str
) -> Iterator[str]:
    """The Portal with its sandbox providers called over its own socket, as in production;
    ``env``: more PORTAL_* settings."""
    loopback = Loopback(port=free_port(), options=_THREADED)  # its providers need the port
    settings = replace(
        # Fuzzing sends far more than one address may (tests/portal/test_throttle.py).
        PortalSettings.from_env(
            portal_env(db_path, loopback.port, ops_url, PORTAL_RATE_LIMITS="off", **env)
        ),
        ops_timeout=0.5,
        backoff_max=0.5,
    )
    migrated_portal(db_path)
    with loopback.threaded(create_portal(settings)) as url:
        yield url


def ops_env(db_path: Path, port: int | None = None, **extra: str) -> dict[str, str]:
    """This process's environment plus what `python -m vm122_ops` needs (the port only
    for serving; the backup and purge commands take none)."""
    env = {
        **os.environ,
        "OPS_DB": str(db_path),
        "OPS_WEBHOOK_SECRET": SECRET,
        "OPS_API_TOKEN": TOKEN,
        **extra,
    }
    if port is not None:
        env["OPS_PORT"] = str(port)
    return env


def portal_env(db_path: Path, port: int, ops_url: str, **extra: str) -> dict[str, str]:
    """A clean environment for `python -m vm112_portal` (as systemd gives it one)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PORTAL_HOST": HOST,
        "PORTAL_PORT": str(port),
        "PORTAL_DB": str(db_path),
        "OPS_URL": ops_url,
        "OPS_WEBHOOK_SECRET": SECRET,
        **extra,
    }


def ops_process(db_path: Path, port: int, log: Path, **extra: str) -> ServiceProcess:
    return ServiceProcess(python_module("vm122_ops"), ops_env(db_path, port, **extra), log)


def portal_process(
    db_path: Path, port: int, ops_port: int, log: Path, **extra: str
) -> ServiceProcess:
    """A Portal delivering to Ops on ``ops_port`` with a short timeout and backoff."""
    env = portal_env(
        db_path,
        port,
        f"http://{HOST}:{ops_port}",
        PORTAL_OPS_TIMEOUT="2",
        PORTAL_OUTBOX_BACKOFF_MAX="0.3",
        # Storms send far more than one address may; the limits have their own tests
        # (tests/portal/test_throttle.py, tests/security/test_portal_server.py).
        PORTAL_RATE_LIMITS="off",
    )
    return ServiceProcess(python_module("vm112_portal"), {**env, **extra}, log)
