"""The memo every kept answer uses (vm122_ops/kept/memo.py): one computation per key and
stamp for concurrent requests, shared also when it fails (and then not kept), not
cancelled by a waiter going away, and what it keeps under the cap: counted as what it
really holds in memory (tracemalloc), bytes, keys and entries."""

from __future__ import annotations

import asyncio
import functools
import gc
import sys
import tracemalloc
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any

import orjson
import pytest

from servicekit.envelope import ok_body
from vm122_ops.kept.memo import ENTRY_BYTES, Memo
from vm122_ops.tickets.ticket import TicketFilter, TicketPage


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
    answers = Memo(max_bytes=2000)

    async def body(n: int) -> bytes:
        return orjson.dumps({"n": n, "pad": "x" * 200})

    # One entry: the right-sized body, the key ("k", n), the stamp and the entry itself.
    body_bytes = sys.getsizeof(b"") + len(b'{"n":10,"pad":"' + b"x" * 200 + b'"}')
    one = body_bytes + (56 + 50 + 28) + 28 + ENTRY_BYTES
    for n in range(10, 40):
        assert orjson.loads(await answers.get(("k", n), 7, functools.partial(body, n)))["n"] == n
        assert answers.kept_bytes <= 2000
    assert answers.entries == 2000 // one == 3  # the newest kept, the oldest let go
    assert answers.kept_bytes == 3 * one
    before = answers.computations
    await answers.get(("k", 39), 7, lambda: body(39))
    assert answers.computations == before
    await answers.get(("k", 10), 7, lambda: body(10))
    assert answers.computations == before + 1
    # Without a stamp (the database did not answer one) nothing is kept.
    await answers.get(("k", 11), None, lambda: body(11))
    await answers.get(("k", 11), None, lambda: body(11))
    assert answers.computations == before + 3


async def test_an_answer_other_than_bytes_costs_what_its_size_says() -> None:
    answers = Memo()

    async def table() -> dict[str, int]:
        return {"a": 1}

    await answers.get(("t", 1), 7, table, lambda found: 1000)
    assert answers.kept_bytes == 1000 + (56 + 50 + 28) + 28 + ENTRY_BYTES
    # Without a size (which the type checker refuses) it is computed, not kept.
    await answers.get(("t", 2), 7, table)  # type: ignore[arg-type]
    assert answers.entries == 1


def _search_answer(n: int) -> tuple[tuple[str, str], Callable[[], Awaitable[bytes]]]:
    """A search's key and answer as routes/search.py keeps them: a long q, no items."""
    q = f"{n:06d} " + "mailbox-owner.example " * 11  # 249 characters, fresh per request

    async def read() -> bytes:
        return ok_body(q=q, items=[])

    return ("search", q), read


def _tickets_answer(n: int) -> tuple[tuple[object, ...], Callable[[], Awaitable[bytes]]]:
    """A ticket list's key and answer as routes/desk.py keeps them: a filter, an empty page."""
    where = TicketFilter(queue="needs_action", tag=f"tag_{n}", assignee=f"agent{n}")
    page = TicketPage(tickets=[], next=None, counts={"open": 0}, queues={"all": 0})

    async def read() -> bytes:
        return ok_body(**page.document())

    return ("tickets", where, 50, None), read


def _traced(run: Callable[[], Coroutine[Any, Any, None]]) -> int:
    """The bytes still allocated after ``run()`` (tracemalloc, after a collection)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        asyncio.run(run())
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("answer", [_search_answer, _tickets_answer], ids=["search", "tickets"])
def test_small_kept_answers_hold_no_more_than_the_memo_counts(
    answer: Callable[[int], tuple[Hashable, Callable[[], Awaitable[bytes]]]],
) -> None:
    """The memo's count of kept bytes is what its answers really hold: orjson's bytes
    right-sized, the key and the entry itself counted."""
    answers = Memo()

    async def keep() -> None:
        for n in range(2000):
            key, read = answer(n)
            await answers.get(key, 7, read)

    held = _traced(keep)
    assert answers.entries == 2000  # far under the cap: none let go
    assert answers.kept_bytes <= held * 1.5  # not counted far above what is held either
    assert held <= answers.kept_bytes * 1.5


def test_the_cap_bounds_what_small_answers_really_hold() -> None:
    """Many small answers are let go once what they really hold reaches the cap."""
    cap = 256 * 1024
    answers = Memo(max_bytes=cap)

    async def keep() -> None:
        for n in range(5000):
            key, read = _search_answer(n)
            await answers.get(key, 7, read)

    held = _traced(keep)
    assert answers.kept_bytes <= cap
    assert 0 < answers.entries < 1000  # each entry costs several hundred bytes
    assert held <= cap * 1.5
    assert answers.computations == 5000


async def test_the_number_of_entries_is_capped() -> None:
    answers = Memo(max_entries=100)
    for n in range(300):
        await answers.get(("k", n), 7, functools.partial(_small, n))
    assert answers.entries == 100
    assert answers.kept_bytes < 100 * 1024
    before = answers.computations
    assert await answers.get(("k", 299), 7, functools.partial(_small, 299)) == b'{"n":299}'
    assert await answers.get(("k", 0), 7, functools.partial(_small, 0)) == b'{"n":0}'
    assert answers.computations == before + 1  # the newest kept, the oldest let go


async def _small(n: int) -> bytes:
    return orjson.dumps({"n": n})


async def test_an_answer_kept_under_an_older_stamp_is_let_go_when_asked_again() -> None:
    answers = Memo()
    await answers.get(("k", 1), 7, functools.partial(_small, 1))
    await answers.get(("k", 2), 7, functools.partial(_small, 2))
    kept = answers.kept_bytes
    release = asyncio.Event()

    async def slow() -> bytes:
        await release.wait()
        return orjson.dumps({"n": 1})

    waiting = asyncio.ensure_future(answers.get(("k", 1), 8, slow))
    await asyncio.sleep(0)
    assert answers.entries == 1  # the stale answer is not held while the new one computes
    assert answers.kept_bytes < kept
    release.set()
    assert await waiting == b'{"n":1}'
    assert answers.entries == 2
    assert answers.kept_bytes == kept
