"""Issue 17, finding 4: the Portal's own server limits, against `python -m vm112_portal`.

The attack: the Portal (uvicorn with httptools) took a request with 100 MB of headers
(200 OK, the process 95 MB bigger), and 1,010 held connections exhausted the unit's
1,024 descriptors. Now the Portal runs uvicorn's h11 protocol with a 16 KiB limit on the
request head, and a connection limit (PORTAL_MAX_CONNECTIONS): past it uvicorn answers
503 instead of taking descriptors until the process cannot open its database. nginx in
front (deploy/nginx-vm112-portal.conf) adds the header timeout and the per-address
connection limit; scripts/check-deploy checks that site.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.apps import portal_process
from tests.support.poll import wait_until_sync
from tests.support.runner import ServiceProcess, free_port


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[tuple[str, ServiceProcess]]:
    port = free_port()
    process = portal_process(
        tmp_path / "portal.db",
        port,
        free_port(),
        tmp_path / "portal.log",
        PORTAL_MAX_CONNECTIONS="40",
    )
    process.start()
    url = f"http://127.0.0.1:{port}"
    try:
        process.wait_ready_sync(url)
        yield url, process
    finally:
        process.stop()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def status_line(port: int, head: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)  # the server may close before the whole head is sent
        try:
            return sock.recv(200).split(b"\r\n", 1)[0]
        except ConnectionResetError:
            return b"(reset)"


def test_a_huge_request_head_is_refused_without_growing(portal: tuple[str, ServiceProcess]) -> None:
    url, process = portal
    port = int(url.rsplit(":", 1)[1])
    before = rss_kib(process.pid)
    filler = b"X-Filler: " + b"a" * 8000 + b"\r\n"
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + filler * 1280 + b"\r\n"  # 10 MB
    answer = status_line(port, head)
    assert not answer.startswith(b"HTTP/1.1 200"), answer
    assert answer in (b"", b"(reset)") or answer.startswith(b"HTTP/1.1 4"), answer
    grown = rss_kib(process.pid) - before
    assert grown < 8 * 1024, f"grew {grown} KiB"
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200


def test_held_connections_get_503_past_the_limit_not_exhaustion(
    portal: tuple[str, ServiceProcess],
) -> None:
    url, _ = portal
    port = int(url.rsplit(":", 1)[1])
    held = []
    try:
        for _ in range(60):  # trickled heads that never finish
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)
        time.sleep(0.3)
        answer = httpx.get(f"{url}/healthz", timeout=5)
        assert answer.status_code == 503
    finally:
        for sock in held:
            sock.close()
    wait_until_sync(
        lambda: httpx.get(f"{url}/healthz", timeout=5).status_code == 200,
        timeout=5,
        interval=0.1,
        what="the Portal answers again",
    )
