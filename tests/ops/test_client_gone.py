"""A sender that gives up before Ops has read its request: nothing is stored, and Ops
records 499 (the client closed the request), never a 500.

How it happened: the storm test (tests/reliability/test_storm.py, Portals with a 2 s
delivery timeout) once saw one ingest answered 500 at load average ~11. A request that
waits in Ops longer than the sender's timeout is closed by the sender; when the handler
then reads the body, uvicorn's ``receive`` answers ``http.disconnect`` (it does so as soon
as the connection is gone, even with the whole body buffered: uvicorn
protocols/http/httptools_impl.py, ``RequestResponseCycle.receive``), Starlette's
``Request.stream`` raises ``ClientDisconnect``, and that fell through to the catch-all
handler: "unexpected error" in the log and 500 in the access line.
"""

from __future__ import annotations

import socket
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx

from tests.ops.conftest import NOW, Ops
from tests.support.apps import ops_process
from tests.support.runner import free_port
from tests.support.signer import INGEST, event_body, signed_headers


def _request_head(body: bytes, port: int) -> bytes:
    headers = signed_headers("msg_gone", body, timestamp=time.time())
    lines = [f"POST {INGEST} HTTP/1.1", f"host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_sender_that_hangs_up_mid_body_is_499_and_nothing_is_stored(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ops_process(tmp_path / "ops.db", port, tmp_path / "ops.log").start()
    try:
        process.wait_ready_sync(url)
        body = event_body("onboarding.started", "gone-1", at=time.time() - 5)
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(_request_head(body, port) + body[: len(body) // 2])
            time.sleep(0.2)  # Ops has the head and half the body, and waits for the rest
        # The sender gave up; a later delivery of the same event is new, not a duplicate.
        deadline = time.monotonic() + 5
        while not _ingest_lines(process.json_lines()) and time.monotonic() < deadline:
            time.sleep(0.05)
        again = httpx.post(f"{url}{INGEST}", content=body, headers=signed_headers("msg_gone", body))
    finally:
        process.stop()
    lines = process.json_lines()
    assert [line["status"] for line in _ingest_lines(lines)] == [499, 202]
    assert again.status_code == 202
    assert not [line for line in lines if line["level"] == "error"]


def _ingest_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line.get("msg") == "request" and line["path"] == INGEST]


async def test_a_request_whose_sender_left_before_it_was_read_stores_nothing(
    ops: Ops,
) -> None:
    """The whole body arrived, but the sender was gone when the handler read it: what
    uvicorn's receive answers then is ``http.disconnect``."""
    assert ops.app is not None
    body = ops.body("onboarding.started", "gone-2", NOW - 5)
    headers = ops.headers("msg_gone_2", body)
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": INGEST,
        "raw_path": INGEST.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await ops.app(scope, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 499
    assert await ops.count() == 0
    # The sender's retry is the first delivery.
    assert (await ops.post_raw(body, headers)).status_code == 202
