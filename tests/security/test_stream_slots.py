"""The stream limits (vm122_ops/desk/stream_slots.py): per Desk login, per account, for
the API token and in all; a slot is given back once, and refusals are counted."""

from __future__ import annotations

import pytest

from vm122_ops.desk.stream_slots import StreamLimits, StreamRefused, StreamSlots


def test_each_limit_refuses_past_its_count_and_slots_come_back() -> None:
    slots = StreamSlots(StreamLimits(per_session=2, per_account=3, program=2, total=7))
    first = [slots.take(1, 10), slots.take(1, 10)]
    with pytest.raises(StreamRefused, match="this login has 2"):
        slots.take(1, 10)
    slots.take(2, 10)  # another login of the same account
    with pytest.raises(StreamRefused, match="this account has 3"):
        slots.take(3, 10)
    slots.take(3, 11)
    slots.take(None, None)
    slots.take(None, None)
    with pytest.raises(StreamRefused, match="the API token has 2"):
        slots.take(None, None)
    slots.take(4, 12)
    assert slots.open == 7
    with pytest.raises(StreamRefused, match="all 7 streams"):
        slots.take(5, 13)
    first[0]()
    first[0]()  # given back once only
    assert slots.open == 6
    slots.take(1, 10)  # the login's slot is free again
    assert slots.refused == 4


def test_the_defaults_are_the_documented_ones() -> None:
    assert StreamLimits() == StreamLimits(per_session=6, per_account=12, program=32, total=1024)
