"""Desk fixtures: a fresh SQLite per test behind a real uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.desk.harness import FAST, Ops
from tests.support.apps import OpsServer
from tests.support.credentials import TOKEN
from vm122_ops.desk.broker import StreamConfig


@pytest.fixture
def stream_config() -> StreamConfig:
    return FAST


@pytest.fixture
async def ops(tmp_path: Path, stream_config: StreamConfig) -> AsyncIterator[Ops]:
    server = OpsServer(db_path=tmp_path / "ops.db", config=stream_config)
    await server.start()
    try:
        async with httpx.AsyncClient(
            base_url=server.base_url,
            headers={"authorization": f"Bearer {TOKEN}"},
            timeout=10,
        ) as client:
            yield Ops(server=server, client=client)
    finally:
        await server.stop()
