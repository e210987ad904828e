"""The benchmarks' HTTP/1.1 client: requests, chunked bodies and SSE parsing."""

from __future__ import annotations

import asyncio

import pytest

from bench.wire import Connection, SseStream, WireError, encode_request, parse_block


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


CHUNKED_SSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    + chunked(
        b": hello\r\nretry: 2000\r\n\r\n",
        b"event: onboard\r\nid: 7\r\n",  # a message split across two chunks
        b'data: {"id": 7}\r\n\r\n',
    )
)


def test_encode_request_adds_host_and_length() -> None:
    raw = encode_request("POST", "/x", "h:1", {"content-type": "application/json"}, b"{}")
    assert raw == (
        b"POST /x HTTP/1.1\r\nhost: h:1\r\ncontent-type: application/json\r\n"
        b"content-length: 2\r\n\r\n{}"
    )


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param("event: onboard\nid: 3\ndata: {}", ("onboard", "3", "{}"), id="event"),
        pytest.param("data: a\ndata: b", ("message", None, "a\nb"), id="multi-line"),
        pytest.param(": heartbeat", None, id="comment"),
        pytest.param(": hi\nretry: 2000", None, id="retry-hint"),
    ],
)
def test_parse_block(block: str, expected: tuple[str, str | None, str] | None) -> None:
    message = parse_block(block, 1.0)
    if expected is None:
        assert message is None
    else:
        assert message is not None
        assert (message.event, message.id, message.data) == expected


async def serve_once(payload: bytes) -> tuple[asyncio.Server, int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(payload)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, int(server.sockets[0].getsockname()[1])


async def test_a_chunked_reply_is_joined() -> None:
    payload = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + chunked(b"abc", b"de")
    server, port = await serve_once(payload)
    async with server:
        conn = await Connection.open("127.0.0.1", port)
        reply = await conn.request("GET", "/")
        await conn.close()
    assert (reply.status, reply.body) == (200, b"abcde")


async def test_an_event_stream_yields_messages_then_ends() -> None:
    server, port = await serve_once(CHUNKED_SSE)
    async with server:
        stream = await SseStream.open("127.0.0.1", port, "/api/v1/stream", {})
        message = await stream.next()
        assert (message.event, message.id, message.data) == ("onboard", "7", '{"id": 7}')
        with pytest.raises(WireError):
            await stream.next()
        await stream.close()
