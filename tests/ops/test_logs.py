"""Logs of a real Ops process: JSON lines, request ids, and no secret anywhere."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson

from tests.support.apps import ops_process
from tests.support.credentials import SECRET, TOKEN
from tests.support.runner import free_port


def test_logs_are_json_lines_without_secrets(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ops_process(tmp_path / "ops.db", port, tmp_path / "ops.log").start()
    try:
        process.wait_ready_sync(url)
        httpx.get(
            f"{url}/api/v1/desk/tickets",
            headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "trace-1"},
        )
        httpx.get(f"{url}/api/v1/desk/tickets", headers={"Authorization": "Bearer wrong"})
        httpx.post(
            f"{url}/api/v1/webhooks/onboard",
            content=b"{}",
            headers={
                "content-type": "application/json",
                "webhook-id": "x",
                "webhook-timestamp": str(int(time.time())),
                "webhook-signature": "v1,AAAA",
            },
        )
        httpx.post(f"{url}/login", data={"token": "not-the-token-but-long"})
    finally:
        process.stop()
    text = process.text()
    lines = [line for line in text.splitlines() if line.strip()]
    documents = [orjson.loads(line) for line in lines]  # every line is JSON
    assert all({"ts", "level", "service", "msg"} <= set(d) for d in documents)
    starting = next(d for d in documents if d["msg"] == "starting")
    # servicekit.serve: the address and the database from the settings, before the rest.
    assert list(starting)[list(starting).index("host") :][:4] == [
        "host",
        "port",
        "db",
        "window_hours",
    ]
    assert (starting["host"], starting["port"]) == ("127.0.0.1", port)
    assert starting["db"] == str(tmp_path / "ops.db")
    requests = [d for d in documents if d["msg"] == "request"]
    assert any(d["request_id"] == "trace-1" and d["status"] == 200 for d in requests)
    assert {401} <= {d["status"] for d in requests}
    for secret in (TOKEN, SECRET, SECRET.removeprefix("whsec_")):
        assert secret not in text
