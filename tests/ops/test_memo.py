"""The memo every kept answer uses (vm122_ops/kept/memo.py): one computation per key and
stamp for concurrent requests, shared also when it fails (and then not kept), not
cancelled by a waiter going away, and the bytes kept under the cap."""

from __future__ import annotations

import asyncio
import functools

import orjson
import pytest

from vm122_ops.kept.memo import Memo


def SIZE(value: int) -> int:
    return 8


async def test_a_failed_computation_is_shared_and_not_kept() -> None:
    answers = Memo()
    calls = 0

    async def broken() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("store unavailable")

    results = await asyncio.gather(
        *(answers.get("k", 1, broken, SIZE) for _ in range(5)), return_exceptions=True
    )
    assert calls == 1
    assert all(isinstance(result, RuntimeError) for result in results)

    async def works() -> int:
        nonlocal calls
        calls += 1
        return 7

    stamp = 1
    assert await answers.get("k", stamp, works, SIZE) == 7
    assert await answers.get("k", stamp, works, SIZE) == 7
    assert calls == 2
    stamp = 2  # the database changed
    assert await answers.get("k", stamp, works, SIZE) == 7
    assert calls == 3


async def test_a_waiter_going_away_does_not_cancel_the_shared_computation() -> None:
    answers = Memo()
    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 3

    first = asyncio.ensure_future(answers.get("k", 1, slow, SIZE))
    second = asyncio.ensure_future(answers.get("k", 1, slow, SIZE))
    await asyncio.sleep(0)
    first.cancel()
    release.set()
    assert await second == 3
    with pytest.raises(asyncio.CancelledError):
        await first
    assert answers.computations == 1


async def test_kept_bytes_stay_under_the_cap() -> None:
    answers = Memo(max_bytes=1000)

    async def body(n: int) -> bytes:
        return orjson.dumps({"n": n, "pad": "x" * 200})

    for n in range(40):
        assert (
            orjson.loads(await answers.get(("k", n), 7, functools.partial(body, n), len))["n"] == n
        )
        assert answers.kept_bytes <= 1000
    assert answers.kept_bytes > 700  # the newest kept, the oldest let go
    before = answers.computations
    await answers.get(("k", 39), 7, lambda: body(39), len)
    assert answers.computations == before
    await answers.get(("k", 0), 7, lambda: body(0), len)
    assert answers.computations == before + 1
    # Without a stamp (the database did not answer one) nothing is kept.
    await answers.get(("k", 1), None, lambda: body(1), len)
    await answers.get(("k", 1), None, lambda: body(1), len)
    assert answers.computations == before + 3
