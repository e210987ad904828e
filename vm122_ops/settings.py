"""Ops configuration, read once from the environment into a frozen dataclass."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from servicekit.settings import env_int, webhook_secret
from vm122_ops.desk.banner_conditions import Thresholds
from vm122_ops.errors import ConfigError
from vm122_ops.funnel.session_states import StateRule

MIN_TOKEN = 32  # characters: the operator token must resist guessing at network speed


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    db_path: Path = Path("var/ops.db")
    window_hours: int = 48
    retention_days: int = 90
    # How long the webhook-ids of stored events are remembered (never less than the
    # events): a replay of a purged event is then a duplicate, not new history.
    webhook_id_days: int = 400
    # Session states (vm122_ops/funnel/session_states.py): stuck never before this idle time;
    # abandoned after.
    stuck_min_minutes: int = 15
    abandon_hours: int = 24
    # Streams the API token may hold open at once (vm122_ops/desk/stream_slots.py): a
    # program's dashboards, or a load test's subscribers; never over the 1024 in all.
    streams_api_token: int = 32
    # The banner's and the alert rules' thresholds (vm122_ops/desk/banner_conditions.py,
    # OPS_ALERT_*).
    thresholds: Thresholds = field(default_factory=Thresholds)
    # Several secrets are accepted during a rotation; the first is the current one.
    webhook_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    # The API token for programs; several separated by spaces while rotating.
    api_token: str = field(default="", repr=False)

    @property
    def state_rule(self) -> StateRule:
        """The session-state rule of these settings (vm122_ops/funnel/session_states.py)."""
        return StateRule(self.stuck_min_minutes, self.abandon_hours)

    @property
    def api_tokens(self) -> tuple[str, ...]:
        return tuple(self.api_token.split())

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            host=env.get("OPS_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=env_int(env, "OPS_PORT", 8080, 1, 65535),
            db_path=Path(env.get("OPS_DB", "var/ops.db")),
            window_hours=env_int(env, "OPS_WINDOW_HOURS", 48, 1, 720),
            retention_days=env_int(env, "OPS_RETENTION_DAYS", 90, 1, 3650),
            webhook_id_days=env_int(env, "OPS_WEBHOOK_ID_DAYS", 400, 1, 36500),
            stuck_min_minutes=env_int(env, "OPS_STUCK_MIN_MINUTES", 15, 1, 10080),
            abandon_hours=env_int(env, "OPS_ABANDON_HOURS", 24, 1, 8760),
            streams_api_token=env_int(env, "OPS_STREAMS_API_TOKEN", 32, 1, 1024),
            thresholds=Thresholds(
                silent_minutes=env_int(env, "OPS_ALERT_SILENT_MINUTES", 30, 1, 10080),
                failure_percent=env_int(env, "OPS_ALERT_FAILURE_PERCENT", 50, 1, 100),
                min_sessions=env_int(env, "OPS_ALERT_MIN_SESSIONS", 5, 1, 100000),
                code_failures=env_int(env, "OPS_ALERT_CODE_FAILURES", 5, 1, 100000),
                stuck_sessions=env_int(env, "OPS_ALERT_STUCK_SESSIONS", 5, 1, 100000),
            ),
            webhook_secrets=parse_webhook_secrets(env.get("OPS_WEBHOOK_SECRET", "")),
            api_token=parse_api_token(env.get("OPS_API_TOKEN", "")),
        )


def parse_webhook_secrets(raw: str) -> tuple[bytes, ...]:
    """``whsec_<base64>`` of 24-64 bytes; several separated by spaces while rotating."""
    parts = raw.split()
    if not parts:
        raise ConfigError(
            "OPS_WEBHOOK_SECRET is not set: give it a whsec_<base64> secret of 24 to 64 bytes."
        )
    return tuple(webhook_secret(part) for part in parts)


def parse_api_token(raw: str) -> str:
    """32-256 printable characters; several separated by spaces while rotating."""
    tokens = raw.split()
    token = " ".join(tokens)
    if not token:
        raise ConfigError(
            "OPS_API_TOKEN is not set: give the API token for programs (32+ characters)."
        )
    for part in tokens:
        printable = all("\x21" <= char <= "\x7e" for char in part)
        if not (printable and MIN_TOKEN <= len(part) <= 256):
            raise ConfigError(
                "OPS_API_TOKEN must be 32 to 256 printable characters without spaces."
            )
    return token
