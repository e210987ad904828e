"""Benchmark 2: the Desk dashboard's first render with the big store.

What a browser fetches, in its order, before the funnel shows (frontend/pages/index.html
in frontend/layout.html, and frontend/js/views/dashboard.js): the page; its stylesheet and
main.js; the module graph of main.js level by level (a module's imports are known once it
has arrived); then together GET /api/v1/onboard/funnel and GET
/api/v1/desk/tickets?limit=10, whose answers the funnel card waits for (Promise.all). Up
to six connections at once, as a browser opens per host over HTTP/1.1, new ones for every
load (a fresh tab), logged in with the Desk's session cookie. JavaScript execution and
painting are not included.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.budgets import Figure, Section, budget
from bench.funnel import label
from bench.latency import Summary
from bench.plan import Plan
from bench.seed import cached_store
from bench.services import HOST, Credentials, Fleet, ServiceError
from bench.wire import Connection

BUDGET_MS = 500.0
BROWSER_CONNECTIONS = 6
RECENT_TICKETS = 10
_ASSET = re.compile(r"""<(?:script|link)\b[^>]*?(?:src|href)="(/[^"]+\.(?:js|css))\"""")
_IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+["'](\.{1,2}/[^"']+)["']""", re.MULTILINE)


def resolve(base: str, relative: str) -> str:
    """A module specifier relative to the module path ``base``."""
    parts = base.split("/")[:-1]
    for piece in relative.split("/"):
        if piece == "..":
            parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


def imports_of(path: str, source: str) -> list[str]:
    return [resolve(path, spec) for spec in _IMPORT.findall(source)]


class Browser:
    """A pool of up to six keep-alive connections sharing one cookie."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port = port
        self.headers = {"cookie": cookie, "accept": "*/*"}
        self._idle: list[Connection] = []
        self._open = 0
        self._free = asyncio.Semaphore(BROWSER_CONNECTIONS)
        self.fetched: list[tuple[str, int, int]] = []

    async def get(self, path: str) -> bytes:
        async with self._free:
            conn = self._idle.pop() if self._idle else await Connection.open(HOST, self.port)
            reply = await conn.request("GET", path, self.headers)
            self._idle.append(conn)
        self.fetched.append((path, reply.status, len(reply.body)))
        if reply.status != 200:
            raise ServiceError(f"GET {path} answered {reply.status}")
        return reply.body

    async def get_all(self, paths: Sequence[str]) -> list[bytes]:
        return list(await asyncio.gather(*(self.get(path) for path in paths)))

    async def close(self) -> None:
        for conn in self._idle:
            await conn.close()


BENCH_ACCOUNT = "bench"


def add_account(creds: Credentials, db: Path, password: str) -> None:
    """The Desk account the benchmark logs in with (``users add``, password on stdin)."""
    env = {**os.environ, "OPS_DB": str(db), "OPS_WEBHOOK_SECRET": creds.secret}
    env["OPS_API_TOKEN"] = creds.token
    for action in ("add", "reset-password"):  # the cached store may have it already
        done = subprocess.run(
            [sys.executable, "-m", "vm122_ops", "users", action, BENCH_ACCOUNT],
            input=password + "\n",
            text=True,
            env=env,
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            return
        if "already exists" not in done.stderr:
            break
    raise ServiceError(f"cannot create the benchmark's Desk account: {done.stderr.strip()}")


async def login(port: int, password: str) -> str:
    """The Desk session cookie ("name=value") of the benchmark's account."""
    conn = await Connection.open(HOST, port)
    try:
        body = urlencode({"name": BENCH_ACCOUNT, "password": password, "next": "/"}).encode()
        reply = await conn.request(
            "POST", "/login", {"content-type": "application/x-www-form-urlencoded"}, body
        )
    finally:
        await conn.close()
    cookie = reply.headers.get("set-cookie", "")
    if reply.status != 303 or not cookie:
        raise ServiceError(f"POST /login answered {reply.status} without a session cookie")
    return cookie.split(";", 1)[0]


async def first_render(port: int, cookie: str, hours: int) -> tuple[float, list[Any]]:
    browser = Browser(port, cookie)
    start = time.perf_counter()
    try:
        page = (await browser.get("/")).decode()
        assets = _ASSET.findall(page)
        level = [path for path in assets if path.endswith(".js")]
        seen = set(level)
        sources = await browser.get_all(assets)
        by_path = dict(zip(assets, sources, strict=True))
        while level:
            following = []
            for path in level:
                for module in imports_of(path, by_path[path].decode()):
                    if module not in seen:
                        seen.add(module)
                        following.append(module)
            by_path.update(zip(following, await browser.get_all(following), strict=True))
            level = following
        await browser.get_all(
            [
                f"/api/v1/onboard/funnel?hours={hours}",
                f"/api/v1/desk/tickets?limit={RECENT_TICKETS}",
            ]
        )
        seconds = time.perf_counter() - start
    finally:
        await browser.close()
    return seconds, list(browser.fetched)


async def run(plan: Plan) -> Section:
    section = Section("2 desk")
    store = await cached_store(plan.big)
    creds = Credentials()
    hours = store.window_hours()
    async with Fleet() as fleet:
        password = secrets.token_urlsafe(16)
        add_account(creds, store.path, password)
        ops = await fleet.ops(creds, store.path)
        cookie = await login(ops.port, password)
        fetched: list[Any] = []
        for _ in range(plan.desk.warmup):
            await first_render(ops.port, cookie, hours)
        samples = []
        deadline = time.monotonic() + plan.desk.seconds
        for _ in range(plan.desk.count):
            seconds, fetched = await first_render(ops.port, cookie, hours)
            samples.append(seconds)
            if time.monotonic() >= deadline:
                break
    summary = Summary.of(samples)
    name = label(plan.big)
    section.add(
        Figure("desk.first_render_p50_ms", f"first render p50 at {name}", summary.p50, "ms"),
        Figure(
            "desk.first_render_p95_ms",
            f"first render p95 at {name}",
            summary.p95,
            "ms",
            budget(BUDGET_MS),
        ),
    )
    section.details.update(
        {
            "events": store.events,
            "loads": summary.as_dict(),
            "requests_per_load": len(fetched),
            "requests": [{"path": p, "status": s, "bytes": n} for p, s, n in fetched],
        }
    )
    return section
