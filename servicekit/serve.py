"""Serving an app: JSON-lines logging, one "starting" line, then uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import uvicorn
from starlette.types import ASGIApp

import servicekit.logs
from servicekit.logs import log_event


def serve(
    app: ASGIApp,
    *,
    service: str,
    logger: str,
    host: str,
    port: int,
    graceful_shutdown: int | None = None,
    limits: Mapping[str, Any] | None = None,
    **configuration: Any,
) -> None:
    """Log the start-up ``configuration`` (the caller reduces secrets to "set" or a count
    first) and serve ``app`` until stopped. uvicorn's own access log is off: servicekit.logs'
    AccessLog middleware writes one JSON line per request. ``limits`` are uvicorn's own
    bounds (``http``, ``h11_max_incomplete_event_size``, ``timeout_keep_alive``,
    ``limit_concurrency``), so a client cannot hold a worker or memory with an endless
    request head or idle connections."""
    servicekit.logs.configure(service)
    log_event(logging.getLogger(logger), "starting", host=host, port=port, **configuration)
    uvicorn.run(
        app,
        host=host,
        port=port,
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=graceful_shutdown,
        **(limits or {}),
    )
