"""The stream limits (vm122_ops/desk/stream_slots.py): per Desk login, per account, for
the API token and in all; a slot is given back once, and refusals are counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicekit.errors import ConfigError
from tests.support.apps import ops_settings
from tests.support.credentials import SECRET, TOKEN
from tests.support.runner import in_process
from vm122_ops.app import create_app
from vm122_ops.desk.stream_slots import StreamLimits, StreamRefused, StreamSlots
from vm122_ops.settings import Settings as OpsSettings


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


def test_the_api_token_limit_is_a_setting() -> None:
    env = {"OPS_WEBHOOK_SECRET": SECRET, "OPS_API_TOKEN": TOKEN}
    assert OpsSettings.from_env(env).streams_api_token == 32
    assert OpsSettings.from_env({**env, "OPS_STREAMS_API_TOKEN": "500"}).streams_api_token == 500
    for wrong in ("0", "1025", "many"):
        with pytest.raises(ConfigError, match="OPS_STREAMS_API_TOKEN"):
            OpsSettings.from_env({**env, "OPS_STREAMS_API_TOKEN": wrong})


async def test_the_app_counts_the_api_tokens_streams_by_the_setting(tmp_path: Path) -> None:
    app = create_app(ops_settings(tmp_path / "ops.db", streams_api_token=3))
    async with in_process(app, base_url="http://ops.test"):
        slots = app.state.ops.broker.slots
        assert slots.limits == StreamLimits(program=3)
        taken = [slots.take(None, None) for _ in range(3)]
        with pytest.raises(StreamRefused, match="the API token has 3"):
            slots.take(None, None)
        for give_back in taken:
            give_back()
