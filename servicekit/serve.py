"""Serving an app: JSON-lines logging, one "starting" line, then uvicorn.

Both services listen where their settings say and keep one SQLite database; the
"starting" line names the address and the database first, then what the service adds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from starlette.types import ASGIApp

import servicekit.logs
from servicekit.logs import log_event


class Listening(Protocol):
    """What ``serve`` reads of a service's settings."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def db_path(self) -> Path: ...


def serve(
    app: ASGIApp,
    settings: Listening,
    *,
    service: str,
    logger: str,
    graceful_shutdown: int | None = None,
    limits: Mapping[str, Any] | None = None,
    **configuration: Any,
) -> None:
    """Log the start-up line (the address, the database, then ``configuration``, whose
    secrets the caller reduces to "set" or a count first) and serve ``app`` on the
    settings' host and port until stopped. uvicorn's own access log is off: servicekit.logs'
    AccessLog middleware writes one JSON line per request. ``limits`` are uvicorn's own
    bounds (``http``, ``h11_max_incomplete_event_size``, ``timeout_keep_alive``,
    ``limit_concurrency``), so a client cannot hold a worker or memory with an endless
    request head or idle connections."""
    servicekit.logs.configure(service)
    log_event(
        logging.getLogger(logger),
        "starting",
        host=settings.host,
        port=settings.port,
        db=str(settings.db_path),
        **configuration,
    )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        access_log=False,
        log_config=None,
        timeout_graceful_shutdown=graceful_shutdown,
        **(limits or {}),
    )
