"""A minimal HTTP/1.1 client over asyncio streams: keep-alive requests and SSE streams.

The load generator shares two cores with the services it measures, so its own cost per
request must stay far below the figures: httpx spends about as much CPU per request as
GET /healthz takes to serve. This client writes the request bytes and parses only the
status line, the headers and a content-length or chunked body, so nearly all the time
measured is the server's. Only what the benchmarks send and receive is supported.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass

MAX_HEAD = 64 * 1024


class WireError(Exception):
    """The server answered something this client does not understand, or hung up."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


def encode_request(
    method: str, path: str, host: str, headers: Mapping[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: {host}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise WireError("the server closed the connection") from exc
    except asyncio.LimitOverrunError as exc:
        raise WireError("response head too large") from exc
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise WireError(f"bad status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body; b"" for the last one."""
    size_line = await reader.readuntil(b"\r\n")
    size = int(size_line.split(b";")[0].strip(), 16)
    data = await reader.readexactly(size + 2)
    if size == 0:
        # The terminating chunk: data holds the blank line (no trailers are sent to us).
        return b""
    return data[:-2]


class Connection:
    """One keep-alive connection; one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str):
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, host: str, port: int, within: float = 5.0) -> Connection:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD)
        return cls(reader, writer, f"{host}:{port}")

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Reply:
        self._writer.write(encode_request(method, path, self._host, headers or {}, body))
        await self._writer.drain()
        status, response_headers = await read_head(self._reader)
        if response_headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while chunk := await read_chunk(self._reader):
                chunks.append(chunk)
            payload = b"".join(chunks)
        else:
            length = int(response_headers.get("content-length", "0"))
            payload = await self._reader.readexactly(length) if length else b""
        if response_headers.get("connection", "").lower() == "close":
            await self.close()
        return Reply(status, response_headers, payload)

    async def timed(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> tuple[float, Reply]:
        """Seconds from writing the request to the last byte of the reply, and the reply."""
        start = time.perf_counter()
        reply = await self.request(method, path, headers, body)
        return time.perf_counter() - start, reply

    async def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


@dataclass(frozen=True, slots=True)
class SseMessage:
    event: str
    id: str | None
    data: str
    received: float  # time.perf_counter() when its last byte arrived


class SseStream:
    """A text/event-stream read chunk by chunk; messages are stamped on arrival."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._buffer = ""
        self._pending: list[SseMessage] = []

    @classmethod
    async def open(
        cls, host: str, port: int, path: str, headers: Mapping[str, str], within: float = 10.0
    ) -> SseStream:
        async with asyncio.timeout(within):
            reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD)
            writer.write(
                encode_request(
                    "GET", path, f"{host}:{port}", {**headers, "accept": "text/event-stream"}
                )
            )
            await writer.drain()
            status, response_headers = await read_head(reader)
        if status != 200:
            writer.close()
            raise WireError(f"GET {path} answered {status}")
        if response_headers.get("transfer-encoding", "").lower() != "chunked":
            writer.close()
            raise WireError("the event stream is not chunked")
        return cls(reader, writer)

    async def next(self) -> SseMessage:
        """The next message (comments skipped); WireError when the stream ends."""
        while not self._pending:
            try:
                chunk = await read_chunk(self._reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                raise WireError("the event stream ended") from exc
            if not chunk:
                raise WireError("the event stream ended")
            received = time.perf_counter()
            self._buffer += chunk.decode("utf-8").replace("\r\n", "\n")
            while "\n\n" in self._buffer:
                block, self._buffer = self._buffer.split("\n\n", 1)
                message = parse_block(block, received)
                if message is not None:
                    self._pending.append(message)
        return self._pending.pop(0)

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self._writer.wait_closed()


def parse_block(block: str, received: float) -> SseMessage | None:
    """One SSE block to a message; None for a comment-only block."""
    event, event_id, data = "message", None, []
    for line in block.split("\n"):
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "id":
            event_id = value
        elif name == "data":
            data.append(value)
    if not data and event_id is None and event == "message":
        return None
    return SseMessage(event, event_id, "\n".join(data), received)
