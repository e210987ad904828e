"""A request body read with a limit: refused (413) before more than ``limit`` bytes are
buffered, whatever Content-Length says (a chunked body has none)."""

from __future__ import annotations

from starlette.requests import Request

from servicekit.errors import BadRequest, PayloadTooLarge


async def read_body(request: Request, limit: int, too_large: str | None = None) -> bytes:
    """The body; PayloadTooLarge past ``limit`` bytes (``too_large`` says so, by default
    "the body is over the N KiB limit"), BadRequest when
    Content-Length is not a number (uvicorn refuses that before the app; ASGI callers
    in-process may not)."""
    too_large = too_large or f"the body is over the {limit // 1024} KiB limit"
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise BadRequest("content-length must be a number of bytes")
        # Past 18 digits it is over any limit, and int() of more than 4,300 raises.
        if len(declared) > 18 or int(declared) > limit:
            raise PayloadTooLarge(too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large)
        chunks.append(chunk)
    return b"".join(chunks)


def media_type(request: Request) -> str:
    """The request's media type without parameters, lowercased ("" when absent)."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
