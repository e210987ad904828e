"""The shared service skeleton (servicekit/): what both services rely on, tested once."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass

import httpx
import pytest
from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from servicekit.background import stop
from servicekit.bearer import bearer_matches, token_matches
from servicekit.body import read_body
from servicekit.documents import fields_document
from servicekit.envelope import exception_handlers, ok
from servicekit.errors import ConfigError, NotFound, StorageUnavailable
from servicekit.headers import SecurityHeaders, content_security_policy
from servicekit.metrics import ServiceMetrics
from servicekit.purge import in_batches, run_periodically
from servicekit.settings import env_int, printable_token, webhook_secret

TOKEN = "operator-token-0123456789"
HEADERS = {"Content-Security-Policy": content_security_policy(form_action="'none'")}
log = logging.getLogger("tests.servicekit")


async def echo(request: Request) -> Response:
    body = await read_body(request, 16)
    return ok(size=len(body))


async def own_policy(request: Request) -> Response:
    return PlainTextResponse("x", headers={"Content-Security-Policy": "sandbox"})


async def missing(request: Request) -> Response:
    raise NotFound("no such thing")


async def broken_storage(request: Request) -> Response:
    raise StorageUnavailable("disk full")


def client() -> httpx.AsyncClient:
    app = Starlette(
        routes=[
            Route("/echo", echo, methods=["POST"], name="echo"),
            Route("/own", own_policy, name="own"),
            Route("/missing", missing, name="missing"),
            Route("/storage", broken_storage, name="storage"),
        ],
        middleware=[Middleware(SecurityHeaders, headers=HEADERS)],
        exception_handlers=exception_handlers(
            log,
            storage_message="try later",
            storage_headers={"Retry-After": "5"},
            http_messages={404: "no such endpoint"},
        ),
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        pytest.param(f"Bearer {TOKEN}", True, id="exact"),
        pytest.param(f"bearer   {TOKEN} ", True, id="scheme-case-and-spaces"),
        pytest.param(f"Basic {TOKEN}", False, id="other-scheme"),
        pytest.param("Bearer tökén-ünïcödé-0123456789", False, id="non-ascii"),
        pytest.param("Bearer \udcff", False, id="lone-surrogate"),
        pytest.param("Bearer ", False, id="empty"),
        pytest.param("", False, id="absent"),
    ],
)
def test_bearer_is_compared_as_bytes_and_never_raises(authorization: str, expected: bool) -> None:
    assert bearer_matches(authorization, TOKEN) is expected


def test_an_empty_token_matches_nothing() -> None:
    assert token_matches("", "") is False
    assert bearer_matches("Bearer ", "") is False


async def test_security_headers_are_added_once() -> None:
    async with client() as http:
        plain = await http.post("/echo", content=b"{}")
        own = await http.get("/own")
    assert plain.headers.get_list("content-security-policy") == [HEADERS["Content-Security-Policy"]]
    # A response with its own policy keeps it, alone: never a second CSP header.
    assert own.headers.get_list("content-security-policy") == ["sandbox"]


@pytest.mark.parametrize(
    ("headers", "body", "status", "error"),
    [
        pytest.param({}, b"x" * 17, 413, "the body is over the 0 KiB limit", id="streamed-over"),
        pytest.param({"content-length": "99"}, b"x", 413, None, id="declared-over"),
        pytest.param({"content-length": "abc"}, b"x", 400, None, id="declared-not-a-number"),
        # More digits than int() converts (4,300): still a number, and over the limit.
        pytest.param({"content-length": "9" * 5000}, b"x", 413, None, id="declared-huge"),
    ],
)
async def test_body_over_the_limit_is_refused(
    headers: dict[str, str], body: bytes, status: int, error: str | None
) -> None:
    async with client() as http:
        response = await http.post("/echo", content=body, headers=headers)
    assert response.status_code == status
    document = response.json()
    assert document["ok"] is False and document["status"] == status
    if error is not None:
        assert document["error"] == error


async def test_body_within_the_limit_is_read_whole() -> None:
    async with client() as http:
        response = await http.post("/echo", content=b"x" * 16)
    assert response.json() == {"ok": True, "size": 16}


async def test_errors_answer_the_envelope() -> None:
    async with client() as http:
        missing = await http.get("/missing")
        unknown = await http.get("/nowhere")
        storage = await http.get("/storage")
        wrong_method = await http.delete("/missing")
    assert missing.json() == {"ok": False, "error": "no such thing", "status": 404}
    assert unknown.json() == {"ok": False, "error": "no such endpoint", "status": 404}
    assert storage.json() == {"ok": False, "error": "try later", "status": 503}
    assert storage.headers["retry-after"] == "5"
    assert wrong_method.json() == {"ok": False, "error": "Method Not Allowed", "status": 405}
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "HEAD"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("", 7, id="unset"),
        pytest.param(" 12 ", 12, id="spaces"),
        pytest.param("1", 1, id="low"),
        pytest.param("20", 20, id="high"),
    ],
)
def test_env_int_in_range(raw: str, expected: int) -> None:
    assert env_int({"N": raw}, "N", 7, 1, 20) == expected


@pytest.mark.parametrize("raw", ["0", "21", "-3", "1.5", "١٢", "ten"])
def test_env_int_out_of_range_or_not_a_number(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^N must be a whole number from 1 to 20\.$"):
        env_int({"N": raw}, "N", 7, 1, 20)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("abc", "must start with whsec_", id="prefix"),
        pytest.param("whsec_!!!", "not valid base64", id="base64"),
        pytest.param("whsec_c2hvcnQ=", "decodes to 5 bytes", id="short"),
    ],
)
def test_webhook_secret_refused(raw: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        webhook_secret(raw)


def test_webhook_secret_decodes() -> None:
    assert webhook_secret("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=") == (
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef"
    )


@pytest.mark.parametrize("raw", ["short", "with a space 0123456789", "é" * 20, "x" * 257])
def test_printable_token_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match=r"^T must be 16 to 256 printable characters"):
        printable_token(raw, "T")


async def test_periodic_job_survives_storage_failures(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    third = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise sqlite3.OperationalError("database is locked")
        if len(runs) == 3:
            third.set()

    task = asyncio.create_task(run_periodically(job, first=0, every=0, log=log, what="purge"))
    async with asyncio.timeout(5):
        await third.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert runs[:3] == [0, 1, 2]
    assert [r.getMessage() for r in caplog.records] == [
        "purge failed, will retry: database is locked"
    ]


@pytest.mark.parametrize(
    ("backlog", "most", "removed", "calls"),
    [
        pytest.param(0, 10, 0, 1, id="nothing"),
        pytest.param(7, 10, 7, 2, id="exact-multiple-needs-one-empty-batch"),
        pytest.param(9, 10, 9, 2, id="short-last-batch"),
        pytest.param(100, 3, 21, 3, id="bounded"),
    ],
)
async def test_in_batches_stops_at_a_short_batch_or_the_bound(
    backlog: int, most: int, removed: int, calls: int
) -> None:
    left = [backlog]
    made: list[int] = []

    async def batch() -> int:
        count = min(7, left[0])
        left[0] -= count
        made.append(count)
        return count

    assert await in_batches(batch, 7, most) == removed
    assert len(made) == calls


@dataclass(frozen=True, slots=True)
class _Record:
    name: str
    seen_at: int
    internal: bool
    count: int = 0


def test_fields_document_keeps_field_order_shows_and_omits() -> None:
    record = _Record("a", 1_000, True, 3)
    document = fields_document(record, omit=("internal",), seen_at="1970-01-01T00:00:01Z")
    assert list(document.items()) == [
        ("name", "a"),
        ("seen_at", "1970-01-01T00:00:01Z"),
        ("count", 3),
    ]
    assert fields_document(record) == {"name": "a", "seen_at": 1_000, "internal": True, "count": 3}


@pytest.mark.parametrize(
    ("omit", "shown"),
    [
        pytest.param(("interna",), {}, id="omit-typo"),
        pytest.param((), {"seen": 1}, id="shown-typo"),
    ],
)
def test_fields_document_refuses_a_name_that_is_no_field(
    omit: tuple[str, ...], shown: dict[str, object]
) -> None:
    with pytest.raises(TypeError, match=r"_Record has no field (interna|seen)$"):
        fields_document(_Record("a", 1, False), omit=omit, **shown)


def test_known_label_values_are_series_from_the_start() -> None:
    metrics = ServiceMetrics("svc")
    metrics.counter("svc_sent", "Sent, by outcome.", "outcome", known=("ok", "retry"))
    metrics.histogram("svc_call_seconds", "Calls.", "peer", buckets=(0.1, 1.0), known=("a",))
    text = generate_latest(metrics.registry).decode()
    samples = [
        line for line in text.splitlines() if line.startswith("svc_") and "created" not in line
    ]
    assert samples == [
        'svc_sent_total{outcome="ok"} 0.0',
        'svc_sent_total{outcome="retry"} 0.0',
        'svc_call_seconds_bucket{le="0.1",peer="a"} 0.0',
        'svc_call_seconds_bucket{le="1.0",peer="a"} 0.0',
        'svc_call_seconds_bucket{le="+Inf",peer="a"} 0.0',
        'svc_call_seconds_count{peer="a"} 0.0',
        'svc_call_seconds_sum{peer="a"} 0.0',
    ]
    with pytest.raises(ValueError, match="known values need exactly one label, not 2"):
        metrics.counter("svc_two", "Two labels.", "a", "b", known=("x",))


async def test_stop_cancels_and_waits_until_the_task_has_ended() -> None:
    ended: list[str] = []

    async def loop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            await asyncio.sleep(0)  # cleanup that itself awaits
            ended.append("cleaned up")

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)
    await stop(task)
    assert (task.cancelled(), ended) == (True, ["cleaned up"])
    await stop(task)  # a second stop, and None, do nothing
    await stop(None)
    assert ended == ["cleaned up"]
