"""Large Ops stores for the benchmarks, written straight into SQLite by Ops' own code.

Every event goes through the service's own path, minus HTTP and the writer thread:
``parse_event`` validates the body and ``vm122_ops.ingest.storing.store_event`` stores it with the
service's SQL files (event row, session state fold, rollups, tickets), on a plain sqlite3
connection like the service's writer thread. Transactions are large and synchronous=OFF
(seeding only; the service itself runs with FULL).

Most sessions start uniformly over the window before the seeding time, the rest over
the HISTORY_DAYS before it; ~5 events each, with the data the Portal sends, and a
realistic mix: most complete, some fail at the DNS or the account step with the Portal's
failure codes (a few twice), some are still in progress (moving, stuck or abandoned by
the time they are read); some domains have no Cloudflare zone (manual DNS), some are
internationalised; a few deliveries arrive late, out of order. Seeded stores are cached
under var/bench/ by size and are reused while they are less than MAX_AGE_HOURS old (the
funnel is then asked for a window that still covers every session seeded in the window:
see ``Store.window_hours``).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.progress import ProgressBar
from bench.services import ROOT
from servicekit.sqlfiles import migration_files
from vm112_portal.support import support_reference
from vm122_ops.ingest.events import FAILED as FAILED_TYPE
from vm122_ops.ingest.events import STAGE_TYPES, STAGES, format_ms, parse_event
from vm122_ops.ingest.storing import store_event
from vm122_ops.store.db import SQL_DIR, Database
from vm122_ops.tickets.search import ascii_form

CACHE_DIR = ROOT / "var" / "bench"
SEED_VERSION = 5
WINDOW_HOURS = 48
MAX_AGE_HOURS = 24 * 20  # the funnel's ?hours= tops out at 720
HOUR_MS = 3_600_000
COMMIT_EVERY = 20_000
SESSIONS_PER_BATCH = 2_000

FLOW = STAGE_TYPES  # a complete onboarding, in stage order
# Median seconds from each step to the next, drawn log-normally around it.
STEP_MEDIAN_S = (6.0, 35.0, 70.0, 12.0, 2.0)
STEP_SIGMA = 0.9


# --- the store as a file -------------------------------------------------------------


@dataclass(frozen=True)
class Store:
    path: Path
    events: int
    sessions: int
    seeded_at_ms: int

    def window_hours(self, now_ms: int | None = None) -> int:
        """A funnel window (hours) that holds every session seeded in the window (not the
        history before it) at ``now_ms``."""
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        age_hours = max(0.0, (now_ms - self.seeded_at_ms) / HOUR_MS)
        return min(720, WINDOW_HOURS + math.ceil(age_hours))


def store_path(size: int) -> Path:
    schema = len(migration_files(SQL_DIR / "schema"))
    return CACHE_DIR / f"ops-{size}-seed{SEED_VERSION}-schema{schema}.db"


async def cached_store(size: int, *, quiet: bool = False) -> Store:
    """The seeded store of ``size`` events, seeding it first (in a worker thread, with its
    own event loop) when missing or too old."""
    path = store_path(size)
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        age_hours = (time.time() * 1000 - meta["seeded_at_ms"]) / HOUR_MS
        if meta.get("events") == size and age_hours < MAX_AGE_HOURS:
            return Store(path, meta["events"], meta["sessions"], meta["seeded_at_ms"])
    store = await asyncio.to_thread(seed, path, size, quiet=quiet)
    meta_path.write_text(
        json.dumps(
            {
                "events": store.events,
                "sessions": store.sessions,
                "seeded_at_ms": store.seeded_at_ms,
                "seed_version": SEED_VERSION,
            }
        )
    )
    return store


def seed(path: Path, size: int, *, quiet: bool = False) -> Store:
    """Write a fresh store of exactly ``size`` events at ``path`` (replacing it).

    Synchronous, with event loops of its own: call it from a thread without one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    for leftover in (partial, *_sidecars(partial)):
        leftover.unlink(missing_ok=True)
    asyncio.run(_migrate(partial))  # the schema, through the service's own start-up path
    now_ms = int(time.time() * 1000)
    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB of page cache while seeding
        conn.execute("PRAGMA foreign_keys = ON")
        sessions = _fill(conn, size, now_ms, quiet=quiet)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    for sidecar in _sidecars(path):
        sidecar.unlink(missing_ok=True)
    partial.replace(path)
    for sidecar in _sidecars(partial):
        sidecar.unlink(missing_ok=True)
    return Store(path, size, sessions, now_ms)


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


async def _migrate(path: Path) -> None:
    db = Database(path)
    await db.open()
    await db.close()


def _fill(conn: sqlite3.Connection, size: int, now_ms: int, *, quiet: bool) -> int:
    bar = None if quiet else ProgressBar(f"seeding {size:,} events", size)
    rng = random.Random(size)
    stored = 0
    sessions = 0
    conn.execute("BEGIN")
    for batch in session_batches(rng, size, now_ms):
        sessions += len({event[2] for event in batch})
        for received_at, event_id, _session, body in batch:
            event = parse_event(event_id, body)
            store_event(conn, event, received_at)
            stored += 1
            if stored % COMMIT_EVERY == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN")
        if bar is not None:
            bar.advance(len(batch))
    conn.execute("COMMIT")
    if bar is not None:
        bar.finish()
    return sessions


# --- what the events are -------------------------------------------------------------

Delivery = tuple[int, str, str, bytes]  # received_at, webhook-id, session_id, body

# A share of the sessions is history: they started in the HISTORY_DAYS before the window,
# so the 90-day conversion trend (GET /api/v1/onboard/trend?hours=2160) reads rollup hours
# that hold sessions, as a service running for months has. HISTORY_DAYS + WINDOW_HOURS +
# MAX_AGE_HOURS stays under OPS_RETENTION_DAYS' default (90): Ops' purge never shrinks a
# cached store.
HISTORY_SHARE = 0.2
HISTORY_DAYS = 60
IDN_SHARE = 0.06
# Unicode first labels of internationalised names (the Portal sends the ASCII form,
# IDNA A-labels, with the Unicode form beside it: vm112_portal/wizard.py).
IDN_LABELS = ("açores", "münchen", "são-joão", "coração", "óbidos", "zürich")
MAIL_HOST = "mail.example.net"
# The steps whose failure the Portal reports, with the codes it sends and their weights
# (vm112_portal/errors.py ``event_code``, docs/webhook-funnel-events.md "Failure codes"):
# the DNS step fails on Cloudflare, the account step on Carbonio; either can time out.
FAILURES: dict[str, tuple[tuple[str, int, str], ...]] = {
    "dns_applied": (
        (
            "cloudflare:81053",
            5,
            "Cloudflare refused creating autodiscover.{domain} "
            "(81053: An A, AAAA, or CNAME record with that host already exists.)",
        ),
        (
            "cloudflare:10000",
            2,
            "Cloudflare refused looking up the zone {domain} (10000: Authentication error)",
        ),
        ("cloudflare:http_429", 2, "Cloudflare refused reading the records of {domain} (HTTP 429)"),
        (
            "portal:timeout",
            1,
            "Cloudflare did not answer in time while looking up the zone {domain}",
        ),
    ),
    "account_created": (
        (
            "carbonio:account.DOMAIN_EXISTS",
            6,
            "Carbonio fault account.DOMAIN_EXISTS: the "
            "domain {domain} already exists on the mail server and was not created by this "
            "onboarding session",
        ),
        (
            "carbonio:account.ACCOUNT_EXISTS",
            3,
            "Carbonio fault account.ACCOUNT_EXISTS: email address already exists: admin@{domain}",
        ),
        (
            "carbonio:service.FAILURE",
            2,
            "Carbonio fault service.FAILURE: system failure: unable to create account",
        ),
        (
            "portal:timeout",
            2,
            "the Carbonio admin API did not answer CreateAccountRequest within 10s",
        ),
        ("portal:unreachable", 1, "the Carbonio admin API could not be reached (ConnectError)"),
    ),
}


def session_batches(rng: random.Random, size: int, now_ms: int) -> Iterator[list[Delivery]]:
    """Exactly ``size`` deliveries, in batches sorted by arrival time."""
    span_ms = (WINDOW_HOURS * HOUR_MS) - 20 * 60_000
    first_start = now_ms - WINDOW_HOURS * HOUR_MS + 10 * 60_000
    history_ms = HISTORY_DAYS * 24 * HOUR_MS
    remaining = size
    index = 0
    while remaining > 0:
        starts = sorted(
            first_start - 1 - rng.randrange(history_ms)
            if rng.random() < HISTORY_SHARE
            else first_start + rng.randrange(span_ms)
            # ~5 events a session: a batch's sessions cover its whole span, also the last
            for _ in range(min(SESSIONS_PER_BATCH, remaining // 5 + 1))
        )
        batch: list[Delivery] = []
        for start in starts:
            if remaining <= 0:
                break
            events = session_events(rng, index, start, now_ms)[:remaining]
            remaining -= len(events)
            batch.extend(events)
            index += 1
        batch.sort(key=lambda delivery: delivery[0])
        yield batch


@dataclass(frozen=True, slots=True)
class Domain:
    name: str  # ASCII, as the Portal sends it
    unicode: str
    zone: bool  # a Cloudflare zone exists (else the DNS step is manual)


def domain_of(rng: random.Random, index: int) -> Domain:
    """A customer's domain: some without a Cloudflare zone (the sandbox's ``nocf``
    prefix), some of the others internationalised."""
    zone = rng.random() >= 0.08
    first = f"{'' if zone else 'nocf-'}cliente{index}"
    if zone and rng.random() < IDN_SHARE:
        first = f"{rng.choice(IDN_LABELS)}{index}"
    unicode = f"{first}.example.pt"
    return Domain(ascii_form(unicode), unicode, zone)


# The breakdowns' values (docs/webhook-funnel-events.md, "Breakdowns"): the Portal's
# releases over the seeded months, newest most common; the wizard's language; what a
# zone's MX named before. OLD_PORTAL_SHARE of sessions come from a Portal that sent none.
RELEASES = (
    ("0.9.0", 1),
    ("0.9.1", 1),
    ("0.9.2", 2),
    ("0.10.0", 2),
    ("0.10.1", 3),
    ("0.10.2", 3),
    ("0.11.0", 4),
    ("0.11.1", 5),
    ("0.12.0", 8),
    ("0.12.1+g3f2a9c1", 12),
    ("0.13.0rc1", 3),
    ("0.13.0", 20),
)
LANGUAGES = (("pt", 70), ("en", 30))
PREVIOUS_PROVIDERS = (("microsoft365", 35), ("google", 25), ("other", 15), ("none", 25))
OLD_PORTAL_SHARE = 0.05


def breakdown_values(index: int, zone: bool) -> dict[str, str]:
    """Session ``index``'s values, from a generator of its own (the seed's other draws
    stay as they were): language and release for onboarding.started, previous_provider
    for a zone's dns.applied; none for an old Portal's session."""
    rng = random.Random(index * 7_919 + 1)
    if rng.random() < OLD_PORTAL_SHARE:
        return {}

    def pick(choices: tuple[tuple[str, int], ...]) -> str:
        return rng.choices([v for v, _ in choices], weights=[w for _, w in choices])[0]

    values = {"language": pick(LANGUAGES), "release": pick(RELEASES)}
    if zone:
        values["previous_provider"] = pick(PREVIOUS_PROVIDERS)
    return values


def session_events(rng: random.Random, index: int, start_ms: int, now_ms: int) -> list[Delivery]:
    """One session's deliveries: a completed, failed or unfinished wizard run."""
    session_id = f"bench-{index:08d}"
    domain = domain_of(rng, index)
    roll = rng.random()
    failure: tuple[str, str, str] | None = None
    if roll < 0.58:  # completed
        steps = list(FLOW)
    elif roll < 0.75:  # failed at the DNS step (a zone's only) or the account step
        failed_step = "dns_applied" if domain.zone and rng.random() < 0.35 else "account_created"
        steps = list(FLOW[: STAGES.index(failed_step)])
        codes = FAILURES[failed_step]
        code, _, reason = rng.choices(codes, weights=[weight for _, weight, _ in codes])[0]
        failure = (failed_step, code, reason.format(domain=domain.name))
    else:  # in progress or abandoned
        steps = list(FLOW[: rng.randint(1, 5)])
    deliveries: list[tuple[str, int]] = []
    moment = start_ms
    for number, event_type in enumerate(steps):
        if number:
            step = FLOW.index(event_type) - 1
            moment += int(1000 * rng.lognormvariate(math.log(STEP_MEDIAN_S[step]), STEP_SIGMA))
        deliveries.append((event_type, moment))
    if failure is not None:  # one in five customers retries and fails the same way again
        for _ in range(2 if rng.random() < 0.2 else 1):
            moment += int(1000 * rng.lognormvariate(math.log(20.0), STEP_SIGMA))
            deliveries.append((FAILED_TYPE, moment))
    ids = (f"{rng.getrandbits(128):032x}", f"{rng.getrandbits(64):016x}")  # zone, account
    values = breakdown_values(index, domain.zone)
    out = []
    for number, (event_type, occurred) in enumerate(deliveries):
        occurred = min(occurred, now_ms - 1000)
        late = rng.random() < 0.03  # a retried delivery, arriving after later events
        received = occurred + (rng.randint(1_000, 120_000) if late else rng.randint(3, 60))
        body = orjson.dumps(
            {
                "type": event_type,
                "timestamp": format_ms(occurred),
                "data": event_data(event_type, session_id, domain, failure, ids, values),
            }
        )
        out.append((min(received, now_ms), f"evt_{index}_{number}", session_id, body))
    return out


def _beside(data: dict[str, Any], key: str, ascii_value: str, unicode_value: str) -> None:
    """The Portal's events carry ASCII, the Unicode form beside it where it differs."""
    data[key] = ascii_value
    if unicode_value != ascii_value:
        data[f"{key}_unicode"] = unicode_value


def mail_records(domain: str) -> list[dict[str, Any]]:
    """What the Portal's dns.applied lists (vm112_portal/providers/dns_plan.py ``mail_records``):
    MX, SPF, DMARC and autodiscover. No DKIM record: Carbonio's key is made by an operator
    with zmdkimkeyutil, so the event says ``dkim: pending`` instead (``dkim_pending``)."""
    return [
        {"type": "MX", "name": domain, "content": MAIL_HOST, "priority": 10},
        {"type": "TXT", "name": domain, "content": f"v=spf1 mx a:{MAIL_HOST} ~all"},
        {
            "type": "TXT",
            "name": f"_dmarc.{domain}",
            "content": f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}",
        },
        {"type": "CNAME", "name": f"autodiscover.{domain}", "content": MAIL_HOST},
    ]


def event_data(
    event_type: str,
    session_id: str,
    domain: Domain,
    failure: tuple[str, str, str] | None,
    ids: tuple[str, str] = ("0" * 32, "0" * 16),
    values: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The data the Portal sends with each event type (vm112_portal/wizard.py); ``values``
    the session's breakdown values (``breakdown_values``)."""
    values = values or {}
    data: dict[str, Any] = {"session_id": session_id}
    _beside(data, "domain", domain.name, domain.unicode)
    if event_type == STAGE_TYPES[0]:  # onboarding.started: the support reference
        data["reference"] = support_reference(session_id)
        data.update((k, values[k]) for k in ("language", "release") if k in values)
    elif event_type == "domain.validated":
        data.update(
            domain_unicode=domain.unicode,
            registrable_domain=domain.name,
            public_suffix="pt",
        )
    elif event_type == "dns.applied":
        records = mail_records(domain.name)
        if domain.zone:
            data.update(
                provider="cloudflare",
                mode="cloudflare",
                zone_id=ids[0],
                zone=domain.name,
                created=records,
                merged=[],
                replaced=[],
                kept=[],
                present=[],
            )
        else:
            purposes = ("mx", "spf", "dmarc", "autodiscover")
            data.update(
                provider="customer",
                mode="manual",
                records=[{"purpose": p, **r} for p, r in zip(purposes, records, strict=True)],
            )
        if "previous_provider" in values:
            data["previous_provider"] = values["previous_provider"]
        data["dkim"] = dkim_pending(domain.name)
    elif event_type == "account.created":
        _beside(data, "account", f"admin@{domain.name}", f"admin@{domain.unicode}")
        data.update(
            account_id=ids[1],
            display_name="Administrador",
            domain_created=True,
            contact=f"admin@{domain.name}",
        )
    elif event_type == "infra.synced":
        data.update(plan="starter", mailbox_quota_mb=5120, contact=f"admin@{domain.name}")
    elif event_type == "onboarding.completed":
        data.update(account=f"admin@{domain.name}", contact=f"admin@{domain.name}")
    elif event_type == FAILED_TYPE and failure is not None:
        step, code, reason = failure
        provider = "cloudflare" if step == "dns_applied" else "carbonio"
        data.update(stage=step, reason=reason, code=code, provider=provider)
        if step == "account_created":  # the address the customer typed is known from here
            data["contact"] = f"admin@{domain.name}"
    return data


def dkim_pending(domain: str) -> dict[str, Any]:
    """dns.applied's ``dkim`` (vm112_portal/wizard.py ``dkim_pending``)."""
    return {
        "status": "pending",
        "operations": [
            "as the zextras user on one MTA node: "
            f"/opt/zextras/libexec/zmdkimkeyutil -a -d {domain}",
            f"publish the TXT record it prints at <selector>._domainkey.{domain}",
        ],
    }
