"""Issue 26, finding 2, at the proxy: deploy/nginx-vm122-ops.conf under a real nginx in
front of ``python -m vm122_ops``. One client address gets at most 12 streams through
nginx (429 past them, from nginx itself) while webhook ingest and /healthz, which have
their own share, answer 2xx.

Before the fix the site had no connection limit at all: all 16 streams were proxied
(200)."""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from pathlib import Path

import httpx

from tests.deploy.test_deploy import nginx_site
from tests.support.apps import ops_process
from tests.support.credentials import TOKEN
from tests.support.runner import HOST, free_port
from tests.support.signer import post_event

PER_ADDRESS_STREAMS = 12


async def stream_status(client: httpx.AsyncClient, held: list[httpx.Response]) -> int:
    request = client.build_request(
        "GET", "/api/v1/stream", headers={"authorization": f"Bearer {TOKEN}"}
    )
    response = await client.send(request, stream=True)
    if response.status_code == 200:
        held.append(response)
    else:
        await response.aread()
        await response.aclose()
    return response.status_code


async def test_nginx_bounds_one_address_streams_and_keeps_ingest(tmp_path: Path) -> None:
    port = free_port()
    ops = ops_process(tmp_path / "ops.db", port, tmp_path / "ops.log")
    ops.start()
    try:
        ops.wait_ready_sync(f"http://{HOST}:{port}")
        with nginx_site(
            "nginx-vm122-ops.conf",
            tmp_path / "nginx",
            {"server 127.0.0.1:8080;": f"server 127.0.0.1:{port};"},
        ) as (base_url, cert, _):
            tls = ssl.create_default_context(cafile=str(cert))
            held: list[httpx.Response] = []
            # HTTP/1.1: one connection per stream, as an attacker's script opens them.
            limits = httpx.Limits(max_connections=32)
            async with httpx.AsyncClient(
                base_url=base_url, verify=tls, timeout=10, limits=limits
            ) as attacker:
                try:
                    statuses = Counter(
                        await asyncio.gather(*(stream_status(attacker, held) for _ in range(16)))
                    )
                    async with httpx.AsyncClient(
                        base_url=base_url, verify=tls, timeout=10
                    ) as portal:
                        ingest = await post_event(portal, "onboarding.started", "nginx-1")
                        health = await portal.get("/healthz")
                finally:
                    for response in held:
                        await response.aclose()
    finally:
        ops.stop()
    assert statuses == Counter({200: PER_ADDRESS_STREAMS, 429: 16 - PER_ADDRESS_STREAMS})
    assert ingest.status_code == 202, ingest.text
    assert health.status_code == 200
