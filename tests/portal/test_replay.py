"""`python -m vm112_portal outbox replay --since TIME [--dry-run]` (vm112_portal/outbox/replay.py)
against the real Ops in-process: the dry run changes nothing, a replay re-sends in creation
order with the original webhook-ids and bodies signed afresh, twice in a row it stores
nothing new, and into an Ops that lost everything it rebuilds the same funnel, timelines
and tickets."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from standardwebhooks import Webhook

from tests.portal.conftest import FakeOps, Portal, make_settings, running_portal
from tests.support.apps import ops_in_process
from tests.support.credentials import KEY
from tests.support.peek import outbox as read_outbox
from tests.support.peek import stored_events
from tests.support.poll import wait_until
from tests.support.views import ops_view
from vm112_portal.__main__ import main
from vm112_portal.settings import Settings

SESSIONS = {"r-ok": "replay-ok.pt", "r-fail": "fail-replay.pt", "r-nocf": "nocf-replay.pt"}


@dataclass
class Switch(httpx.AsyncBaseTransport):
    """The Portal's way to Ops: records each delivery, and can be pointed at another Ops."""

    target: httpx.AsyncBaseTransport
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = await self.target.handle_async_request(request)
        self.sent.append(
            {
                "webhook_id": request.headers["webhook-id"],
                "timestamp": int(request.headers["webhook-timestamp"]),
                "signature": request.headers["webhook-signature"],
                "body": body,
                "status": response.status_code,
            }
        )
        return response


def patient_settings(tmp_path: Path) -> Settings:
    """The suite's Portal settings with a delivery timeout that a loaded machine does not
    reach: with 0.5 s, an Ops answer that came back just as the timeout fired was recorded
    by the Switch and then sent again as a retry, so counting sends by position failed."""
    return replace(make_settings(tmp_path), ops_timeout=30.0)


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")


async def cli(capsys: pytest.CaptureFixture[str], db_path: Path, *args: str) -> tuple[int, str]:
    """The command as an operator runs it next to the running portal (its own event loop)."""
    code = await asyncio.to_thread(main, ["outbox", "replay", *args], {"PORTAL_DB": str(db_path)})
    out, err = capsys.readouterr()
    # No Ops listens here: replay says it could not ask it (tests/security/
    # test_replay_memory.py tests the asking) and goes ahead.
    err = "".join(line for line in err.splitlines(True) if "could not ask Ops" not in line)
    return code, out + err


async def run_wizards(portal: Portal) -> None:
    for session_id, domain in SESSIONS.items():
        await portal.wizard(session_id, domain)
    await wait_until(portal.drained)


async def test_dry_run_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with ops_in_process(tmp_path / "ops.db") as (ops_app, _):
        switch = Switch(httpx.ASGITransport(app=ops_app))
        settings = patient_settings(tmp_path)
        async with running_portal(settings, FakeOps(), transport=switch) as portal:
            started = time.time()
            await run_wizards(portal)
            outbox, sent = read_outbox(settings.db_path), len(switch.sent)
            stored = stored_events(tmp_path / "ops.db")
            # 6 + 4 + 6: the nocf session's dns.applied says mode manual (issue 11)
            assert len(outbox) == len(stored) == 16

            code, out = await cli(capsys, settings.db_path, "--since", iso(started), "--dry-run")
            await asyncio.sleep(10 * settings.outbox_poll)  # the dispatcher had its chances

            assert code == 0
            assert out.startswith(
                f"would queue 16 delivered event(s) acknowledged by Ops since {iso(started)[:19]}"
            )
            assert f"(outbox ids 1 to 16, created {iso(outbox[0]['created_at'])[:19]}" in out
            assert out.rstrip().endswith("again; nothing changed.")
            assert read_outbox(settings.db_path) == outbox  # every column of every row
            assert len(switch.sent) == sent
    assert stored_events(tmp_path / "ops.db") == stored


async def test_replay_twice_in_a_row_stores_nothing_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with ops_in_process(tmp_path / "ops.db") as (ops_app, ops):
        switch = Switch(httpx.ASGITransport(app=ops_app))
        settings = patient_settings(tmp_path)
        async with running_portal(settings, FakeOps(), transport=switch) as portal:
            started = time.time()
            await run_wizards(portal)
            first = switch.sent[:]
            stored = stored_events(tmp_path / "ops.db")
            view = await ops_view(ops, list(SESSIONS))
            outbox = {row["webhook_id"]: row for row in read_outbox(settings.db_path)}

            for round_ in (1, 2):
                replayed_at = int(time.time())
                code, out = await cli(capsys, settings.db_path, "--since", iso(started))
                assert code == 0
                assert out.startswith("queued 16 of 16 delivered event(s)"), out
                await wait_until(portal.drained)
                again = switch.sent[round_ * 16 :]
                # Creation order, the same ids and bodies, every one a duplicate for Ops.
                assert [s["webhook_id"] for s in again] == [s["webhook_id"] for s in first]
                assert [s["body"] for s in again] == [s["body"] for s in first]
                assert {s["status"] for s in again} == {200}
                # Signed afresh at send time, and the signature is valid for that time.
                for sent in again:
                    assert sent["timestamp"] >= replayed_at
                    headers = {
                        "webhook-id": sent["webhook_id"],
                        "webhook-timestamp": str(sent["timestamp"]),
                        "webhook-signature": sent["signature"],
                    }
                    Webhook(KEY).verify(sent["body"], headers)
                assert stored_events(tmp_path / "ops.db") == stored
                assert await ops_view(ops, list(SESSIONS)) == view
            rows = read_outbox(settings.db_path)
            assert [row["state"] for row in rows] == ["delivered"] * 16
            assert [row["last_status"] for row in rows] == [200] * 16
            # The events themselves are untouched: the same id, body and creation time.
            assert [(r["webhook_id"], r["body"], r["created_at"]) for r in rows] == [
                (r["webhook_id"], r["body"], r["created_at"]) for r in outbox.values()
            ]
            assert len(switch.sent) == 48


async def test_replay_since_a_time_sends_only_what_ops_acknowledged_since(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with ops_in_process(tmp_path / "ops.db") as (ops_app, _):
        switch = Switch(httpx.ASGITransport(app=ops_app))
        settings = patient_settings(tmp_path)
        async with running_portal(settings, FakeOps(), transport=switch) as portal:
            await portal.wizard("r-early", "early.pt")
            await wait_until(portal.drained)
            await asyncio.sleep(0.05)
            middle = time.time()
            await portal.wizard("r-late", "late.pt")
            await wait_until(portal.drained)
            late = [row["webhook_id"] for row in read_outbox(settings.db_path)][6:]
            assert len(late) == 6

            code, out = await cli(capsys, settings.db_path, "--since", iso(middle))
            assert code == 0
            assert out.startswith("queued 6 of 6 delivered event(s) acknowledged by Ops since")
            await wait_until(portal.drained)
            assert [s["webhook_id"] for s in switch.sent[12:]] == late


async def test_replay_rebuilds_an_ops_that_lost_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        ops_in_process(tmp_path / "reference.db") as (reference_app, reference),
        ops_in_process(tmp_path / "fresh.db") as (fresh_app, fresh),
    ):
        switch = Switch(httpx.ASGITransport(app=reference_app))
        settings = patient_settings(tmp_path)
        async with running_portal(settings, FakeOps(), transport=switch) as portal:
            started = time.time()
            await run_wizards(portal)
            switch.target = httpx.ASGITransport(app=fresh_app)  # Ops' disk is gone
            code, out = await cli(capsys, settings.db_path, "--since", iso(started - 1))
            assert code == 0, out
            await wait_until(portal.drained)

        assert [s["status"] for s in switch.sent[16:]] == [202] * 16
        reference_events = stored_events(tmp_path / "reference.db")
        assert stored_events(tmp_path / "fresh.db") == reference_events
        view = await ops_view(reference, list(SESSIONS))
        assert await ops_view(fresh, list(SESSIONS)) == view
        # Not vacuous: the view holds the three sessions' outcomes and the failure's ticket.
        assert view["funnel"]["cohort"] == 3 and view["funnel"]["failed"] == 1
        assert [t["session_id"] for t in view["tickets"]] == ["r-fail", "r-nocf", "r-ok"]
        assert orjson.loads(switch.sent[16]["body"])["type"] == "onboarding.started"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--since", "yesterday"],
            "vm112_portal: --since 'yesterday' is not a time; give one like 2026-12-01T17:00:00Z.",
            id="not-a-time",
        ),
        pytest.param(
            ["--since", "2026-12-01T17:00:00"],
            "vm112_portal: --since '2026-12-01T17:00:00' has no time zone; add Z for UTC or an "
            "offset like +01:00.",
            id="no-zone",
        ),
        pytest.param(
            [],
            "vm112_portal: the following arguments are required: --since; see python -m "
            "vm112_portal --help.",
            id="no-since",
        ),
    ],
)
def test_a_bad_since_is_refused_with_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    env = {"PORTAL_DB": str(tmp_path / "portal.db")}
    assert main(["outbox", "replay", *args], env) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err.strip()) == ("", message)
    assert not (tmp_path / "portal.db").exists()


def test_replay_of_a_missing_database_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"PORTAL_DB": str(tmp_path / "none.db")}
    assert main(["outbox", "replay", "--since", "2026-12-01T17:00:00Z"], env) == 2
    assert capsys.readouterr().err.strip() == (
        f"vm112_portal: PORTAL_DB {tmp_path / 'none.db'} does not exist; nothing to replay."
    )
