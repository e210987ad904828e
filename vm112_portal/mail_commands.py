"""``python -m vm112_portal mail-check DOMAIN|SESSION`` and ``dkim publish DOMAIN``.

Both read the configuration from the environment like ``serve`` (PORTAL_DB,
PORTAL_DNS_RESOLVERS, PORTAL_MAIL_HOST, the Cloudflare settings), work while the Portal
runs (the events they queue go out with its dispatcher) and answer a few lines of text.

- ``mail-check``: exit 0 when the check ran, ready or not (the items are printed);
  3 when it ran but a lookup failed (SERVFAIL, timeout: the item says ``dns_error``), so
  its result says nothing about those records and a script should try again rather than
  read "not ready"; 2 when it could not run (no such onboarded session or domain, no
  database).
- ``dkim publish``: the key as ``zmdkimkeyutil -q -d DOMAIN`` (or ``-a``) prints it, from
  standard input or ``--file F`` (vm112_portal/dkim.py; the private key the query output
  holds is skipped, never stored or printed); exit 2 when the output is not that key or
  Cloudflare refused a call.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx
from cloudflare import AsyncCloudflare

from vm112_portal.db import Database
from vm112_portal.dkim import DkimOutputError, parse
from vm112_portal.dkim_publish import publish
from vm112_portal.errors import ConfigError, ProviderError
from vm112_portal.mail_check import MailChecker, ResolverDns, SessionNotOnboarded
from vm112_portal.outbox.ops_webhook import emit_event, emit_nothing
from vm112_portal.providers.cloudflare_dns import CloudflareDns
from vm112_portal.resolvers import resolver_for
from vm112_portal.settings import Settings


def add_parsers(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    check = commands.add_parser(
        "mail-check", help="check a domain's mail records in DNS now (sends mail.checked)"
    )
    check.add_argument("target", metavar="DOMAIN|SESSION")
    dkim = commands.add_parser("dkim", help="DKIM keys made by zmdkimkeyutil")
    actions = dkim.add_subparsers(dest="action", required=True, parser_class=parser_class)
    publish_cmd = actions.add_parser(
        "publish",
        help="publish DOMAIN's DKIM key from zmdkimkeyutil's output, raise DMARC, check",
    )
    publish_cmd.add_argument("domain")
    publish_cmd.add_argument("--file", type=Path, help="the output in a file (default: stdin)")
    publish_cmd.add_argument(
        "--wait", type=float, default=60.0, help="seconds to wait for DNS to show the key"
    )


def _checker(settings: Settings, db: Database) -> MailChecker:
    lookup = ResolverDns(
        resolver_for(settings.dns_resolvers, settings.dns_timeout), settings.dns_timeout
    )
    emit = emit_event if settings.emit else emit_nothing
    return MailChecker(db, lookup, settings.mail_host, emit)


LOOKUP_FAILED = 3  # mail-check's exit status when a lookup failed (module docstring)


async def _mail_check(settings: Settings, target: str) -> tuple[str, str | None]:
    db = Database(settings.db_path)
    await db.open()
    try:
        checker = _checker(settings, db)
        session_id = await checker.session_for(target)
        result = await checker.check(session_id, "command")
    except SessionNotOnboarded as exc:
        raise ConfigError(f"{exc}.") from None
    finally:
        await db.close()
    lines = [
        f"{result.domain} (session {result.session_id}, {result.mode}): "
        + ("ready" if result.ready else "not ready")
    ]
    for item in result.items:
        what = item.get("why") or ", ".join(item.get("found", [])) or ""
        lines.append(f"  {item['name']}: {item['status']} ({item['code']}) {what}".rstrip())
    doc = result.document()
    lines.append(
        "mail.checked queued" if result.emitted else "unchanged: no event (Ops has this result)"
    )
    if doc["next_check_at"]:
        lines.append(f"next scheduled check: {doc['next_check_at']}")
    failed = [item["name"] for item in result.items if item["code"] == "dns_error"]
    warning = None
    if failed:
        warning = (
            f"{len(failed)} lookup{'s' if len(failed) > 1 else ''} failed ({', '.join(failed)}): "
            "the result is incomplete; check PORTAL_DNS_RESOLVERS and run mail-check again."
        )
    return "\n".join(lines), warning


async def _dkim_publish(settings: Settings, domain: str, text: str, wait: float) -> str:
    try:
        key = parse(text, domain)
    except DkimOutputError as exc:
        raise ConfigError(f"dkim publish: {exc}.") from None
    db = Database(settings.db_path)
    await db.open()
    async with httpx.AsyncClient(timeout=settings.provider_timeout) as http:
        client = AsyncCloudflare(
            api_token=settings.cloudflare_api_token,
            base_url=settings.cloudflare_base_url,
            http_client=http,
            max_retries=1,
            timeout=settings.provider_timeout,
        )
        try:
            checker = _checker(settings, db)
            report = await publish(
                key,
                db=db,
                cloudflare=CloudflareDns(client),
                lookup=ResolverDns(
                    resolver_for(settings.dns_resolvers, settings.dns_timeout),
                    settings.dns_timeout,
                ),
                checker=checker,
                wait=wait,
            )
        except ProviderError as exc:
            raise ConfigError(f"dkim publish: Cloudflare: {exc.reason}.") from None
        finally:
            await db.close()
    return "\n".join(report.lines())


def run(args: argparse.Namespace, env: dict[str, str]) -> tuple[str, str | None]:
    """Run ``mail-check`` or ``dkim publish``: the text to print and, when a mail check's
    lookup failed, the line that says so (exit ``LOOKUP_FAILED``); ConfigError (exit 2)
    when it cannot run."""
    settings = Settings.from_env(env)
    if not settings.db_path.exists():
        raise ConfigError(f"PORTAL_DB {settings.db_path} does not exist; nothing to check.")
    if args.command == "mail-check":
        return asyncio.run(_mail_check(settings, args.target))
    if args.file is not None:
        try:
            text = args.file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"dkim publish: cannot read {args.file}: {exc.strerror}.") from None
    else:
        text = sys.stdin.read()
    return asyncio.run(_dkim_publish(settings, args.domain, text, args.wait)), None
