"""The alert rules end to end: real Prometheus and Alertmanager (Debian's packages, which
./scripts/test installs when missing) against real Ops and Portal processes, everything
on 127.0.0.1, notifications caught by a small webhook receiver.

Two alerts are provoked and each notification's content asserted, then its resolution:
- OnboardingTargetDown for the Portal: the Portal stops while customers keep arriving;
  it resolves when the Portal is back.
- OnboardingFailureRateHigh: sessions failing through the sandbox's `fail…` domains;
  it resolves when enough sessions succeed.

deploy/prometheus/onboarding-rules.yml is used as written except its `for:` durations,
shortened to 1 s (the expressions and annotations are the real ones); scrapes and
evaluations every second, Alertmanager's group timers at one second, Prometheus' resend
delay at one second. Bounded: the whole test has a deadline.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no types
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.apps import ops_process, portal_process
from tests.support.credentials import TOKEN
from tests.support.poll import wait_until
from tests.support.runner import HOST, Loopback, ServiceProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "onboarding-rules.yml"
METRICS_TOKEN = "portal-metrics-token-0123456789"
DEADLINE = 240.0  # seconds for the whole test
WAIT = 45.0  # seconds for one notification


def binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed; ./scripts/test installs Debian's package")


@dataclass
class Receiver:
    """A webhook receiver: keeps every Alertmanager notification it is sent."""

    notifications: list[dict[str, Any]] = field(default_factory=list)
    server: Loopback = field(default_factory=Loopback)

    async def hook(self, request: Request) -> Response:
        self.notifications.append(await request.json())
        return Response(status_code=200)

    async def start(self) -> str:
        await self.server.start(Starlette(routes=[Route("/hook", self.hook, methods=["POST"])]))
        return f"{self.server.base_url}/hook"

    def find(self, alertname: str, status: str, **labels: str) -> dict[str, Any] | None:
        """The first alert of a notification with that name, status and labels."""
        for notification in self.notifications:
            for alert in notification["alerts"]:
                wanted = {"alertname": alertname, **labels}
                if alert["status"] == status and wanted.items() <= alert["labels"].items():
                    return {"notification": notification, "alert": alert}
        return None

    async def wait(self, alertname: str, status: str, **labels: str) -> dict[str, Any]:
        await wait_until(
            lambda: self.find(alertname, status, **labels) is not None,
            timeout=WAIT,
            interval=0.2,
            what=f"{status} notification of {alertname} {labels}",
        )
        found = self.find(alertname, status, **labels)
        assert found is not None
        return found


def write_short_rules(target: Path) -> None:
    """The real rules with every `for:` shortened to 1 s."""
    document = yaml.safe_load(RULES.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = "1s"
    target.write_text(yaml.safe_dump(document, sort_keys=False))


@dataclass
class Stack:
    tmp: Path
    ops_port: int = field(default_factory=free_port)
    portal_port: int = field(default_factory=free_port)
    prometheus_port: int = field(default_factory=free_port)
    alertmanager_port: int = field(default_factory=free_port)
    receiver: Receiver = field(default_factory=Receiver)
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def portal_url(self) -> str:
        return f"http://{HOST}:{self.portal_port}"

    def write_configs(self, hook: str) -> None:
        write_short_rules(self.tmp / "rules.yml")
        (self.tmp / "ops-token").write_text(TOKEN)
        (self.tmp / "portal-token").write_text(METRICS_TOKEN)
        prometheus = {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(self.tmp / "rules.yml")],
            "alerting": {
                "alertmanagers": [
                    {"static_configs": [{"targets": [f"{HOST}:{self.alertmanager_port}"]}]}
                ]
            },
            "scrape_configs": [
                {
                    "job_name": job,
                    "authorization": {"type": "Bearer", "credentials_file": str(self.tmp / token)},
                    "static_configs": [{"targets": [f"{HOST}:{port}"]}],
                }
                for job, port, token in (
                    ("ops", self.ops_port, "ops-token"),
                    ("portal", self.portal_port, "portal-token"),
                )
            ],
        }
        (self.tmp / "prometheus.yml").write_text(yaml.safe_dump(prometheus))
        alertmanager = {
            "route": {
                "receiver": "hook",
                "group_by": ["alertname", "job"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {"name": "hook", "webhook_configs": [{"url": hook, "send_resolved": True}]}
            ],
        }
        (self.tmp / "alertmanager.yml").write_text(yaml.safe_dump(alertmanager))

    def start(self, name: str, process: ServiceProcess) -> ServiceProcess:
        self.processes[name] = process.start()
        return process

    def stop_all(self) -> None:
        for process in reversed(self.processes.values()):
            process.stop()

    def logs(self) -> str:
        return "\n".join(f"== {n}\n{p.text()[-3000:]}" for n, p in self.processes.items())


async def ready(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1) as client:
            return (await client.get(url)).status_code == 200
    except httpx.TransportError:
        return False


async def targets_up(prometheus: str) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=2) as client:
        body = (await client.get(f"{prometheus}/api/v1/targets")).json()
    return {t["labels"]["job"]: t["health"] for t in body["data"]["activeTargets"]}


async def onboard(client: httpx.AsyncClient, session_id: str, domain: str) -> int:
    """The wizard's three calls for one customer; the last status (200 when complete)."""
    body = {"session_id": session_id, "domain": domain}
    status = 0
    for path, extra in (
        ("validate-domain", {}),
        ("dns/cloudflare/apply", {}),
        (
            "account/create",
            {"admin_local_part": "admin", "display_name": "Ana", "password": "Sup3r-secret-pw!"},
        ),
    ):
        response = await client.post(f"/api/v1/onboarding/{path}", json={**body, **extra})
        status = response.status_code
        if status != 200:
            break
    return status


@asynccontextmanager
async def running(stack: Stack) -> AsyncIterator[Stack]:
    prometheus_bin = binary("prometheus")
    alertmanager_bin = binary("prometheus-alertmanager", "alertmanager")
    async with AsyncExitStack() as exits:
        hook = await stack.receiver.start()
        exits.push_async_callback(stack.receiver.server.stop)
        exits.callback(stack.stop_all)
        stack.write_configs(hook)
        tmp = stack.tmp
        ops = stack.start("ops", ops_process(tmp / "ops.db", stack.ops_port, tmp / "ops.log"))
        await ops.wait_ready(f"http://{HOST}:{stack.ops_port}")
        portal = stack.start(
            "portal",
            portal_process(
                tmp / "portal.db",
                stack.portal_port,
                stack.ops_port,
                tmp / "portal.log",
                PORTAL_METRICS_TOKEN=METRICS_TOKEN,
            ),
        )
        await portal.wait_ready(stack.portal_url)
        am_args = [
            alertmanager_bin,
            f"--config.file={tmp / 'alertmanager.yml'}",
            f"--storage.path={tmp / 'alertmanager'}",
            f"--web.listen-address={HOST}:{stack.alertmanager_port}",
            "--cluster.listen-address=",  # no clustering: a single instance
        ]
        stack.start("alertmanager", ServiceProcess(am_args, {}, tmp / "alertmanager.log"))
        prom_args = [
            prometheus_bin,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'prometheus'}",
            f"--web.listen-address={HOST}:{stack.prometheus_port}",
            "--rules.alert.resend-delay=1s",
        ]
        stack.start("prometheus", ServiceProcess(prom_args, {}, tmp / "prometheus.log"))
        prometheus = f"http://{HOST}:{stack.prometheus_port}"
        await wait_until(
            lambda: ready(f"http://{HOST}:{stack.alertmanager_port}/-/ready"),
            timeout=30,
            interval=0.2,
            what="alertmanager ready",
        )
        await wait_until(
            lambda: ready(f"{prometheus}/-/ready"), timeout=30, interval=0.2, what="prometheus"
        )

        async def both_up() -> bool:
            return await targets_up(prometheus) == {"ops": "up", "portal": "up"}

        await wait_until(both_up, timeout=30, interval=0.3, what="both targets up")
        yield stack


async def test_two_alerts_reach_the_receiver_and_resolve(tmp_path: Path) -> None:
    stack = Stack(tmp=tmp_path)
    try:
        async with asyncio.timeout(DEADLINE), running(stack):
            await provoke_and_resolve(stack)
    except BaseException:
        print(stack.logs())
        raise


async def provoke_and_resolve(stack: Stack) -> None:
    receiver = stack.receiver
    portal = stack.processes["portal"]
    async with httpx.AsyncClient(base_url=stack.portal_url, timeout=5) as client:
        # Customers arrive: two complete onboardings, then the Portal stops while more
        # keep trying (they cannot even connect).
        assert await onboard(client, "ok-1", "loja-um.pt") == 200
        assert await onboard(client, "ok-2", "loja-dois.pt") == 200
        portal.stop()
        refused = 0
        for index in range(3):
            try:
                await onboard(client, f"lost-{index}", f"perdida{index}.pt")
            except httpx.TransportError:
                refused += 1
        assert refused == 3
        down = await receiver.wait("OnboardingTargetDown", "firing", job="portal")
        alert = down["alert"]
        assert down["notification"]["status"] == "firing"
        assert alert["labels"]["instance"] == f"{HOST}:{stack.portal_port}"
        assert alert["labels"]["severity"] == "page"
        assert alert["annotations"]["summary"] == "portal cannot be scraped"
        assert alert["annotations"]["description"] == (
            f"Prometheus cannot scrape portal at {HOST}:{stack.portal_port}: the service is "
            "down, unreachable, or refusing its metrics token."
        )
        assert alert["annotations"]["desk_url"] == "https://vm122.example.lan/"
        assert receiver.find("OnboardingTargetDown", "firing", job="ops") is None

        portal.start()
        await portal.wait_ready(stack.portal_url)
        back = await receiver.wait("OnboardingTargetDown", "resolved", job="portal")
        assert back["alert"]["endsAt"] > back["alert"]["startsAt"]

        # Failures through the sandbox: `fail…` domains fail at the account step. With the
        # two complete ones, 5 failures for 7 started: over 50%, at least 5 started.
        for index in range(5):
            assert await onboard(client, f"fail-{index}", f"fail{index}.pt") != 200
        failing = await receiver.wait("OnboardingFailureRateHigh", "firing")
        alert = failing["alert"]
        assert alert["labels"]["job"] == "ops"
        assert alert["annotations"]["summary"] == "Onboardings are failing"
        assert alert["annotations"]["description"] == (
            "71.43% of the onboardings started in the last 15 minutes failed. The Desk "
            "banner links the failed sessions and their reasons."
        )
        assert receiver.find("OnboardingFailureRateHigh", "resolved") is None

        # Four more complete: 5 failures for 11 started, under 50%: it resolves.
        for index in range(4):
            assert await onboard(client, f"ok-more-{index}", f"loja-mais{index}.pt") == 200
        await receiver.wait("OnboardingFailureRateHigh", "resolved")
