"""Settings.from_env (vm112_portal/settings.py): defaults, live mode, clear refusals."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.credentials import KEY, SECRET
from vm112_portal.errors import ConfigError
from vm112_portal.release import RELEASE
from vm112_portal.settings import Settings

LIVE = {
    "OPS_WEBHOOK_SECRET": SECRET,
    "PORTAL_PROVIDERS": "live",
    "CLOUDFLARE_API_TOKEN": "cf-token-value",
    "CARBONIO_ADMIN_URL": "https://mail.example.com:7071/service/admin/soap",
    "CARBONIO_ADMIN_USER": "admin@example.com",
    "CARBONIO_ADMIN_PASSWORD": "carbonio-password-value",
    "PORTAL_MAIL_HOST": "mail.example.com",
}


def test_sandbox_defaults() -> None:
    settings = Settings.from_env({"OPS_WEBHOOK_SECRET": SECRET})
    assert (settings.host, settings.port, settings.db_path) == (
        "127.0.0.1",
        8090,
        Path("var/portal.db"),
    )
    assert settings.ops_url == "http://127.0.0.1:8080"
    assert settings.webhook_secret == KEY
    assert settings.sandbox
    assert settings.cloudflare_base_url == "http://127.0.0.1:8090/sandbox/cloudflare/client/v4"
    assert settings.carbonio_admin_url == (
        "http://127.0.0.1:8090/sandbox/carbonio/service/admin/soap"
    )


def test_sandbox_urls_follow_the_port_and_a_wildcard_host() -> None:
    settings = Settings.from_env(
        {"OPS_WEBHOOK_SECRET": SECRET, "PORTAL_HOST": "0.0.0.0", "PORTAL_PORT": "9123"}  # noqa: S104
    )
    assert settings.cloudflare_base_url.startswith("http://127.0.0.1:9123/sandbox/")


def test_retention_days() -> None:
    assert Settings.from_env({"OPS_WEBHOOK_SECRET": SECRET}).retention_days == 90
    env = {"OPS_WEBHOOK_SECRET": SECRET, "PORTAL_RETENTION_DAYS": "1"}
    assert Settings.from_env(env).retention_days == 1


def test_metrics_token() -> None:
    assert Settings.from_env({"OPS_WEBHOOK_SECRET": SECRET}).metrics_token == ""
    settings = Settings.from_env(
        {"OPS_WEBHOOK_SECRET": SECRET, "PORTAL_METRICS_TOKEN": " metrics-token-0123456789 "}
    )
    assert settings.metrics_token == "metrics-token-0123456789"


def test_live_settings_and_secrets_out_of_repr() -> None:
    settings = Settings.from_env(
        {**LIVE, "OPS_URL": "https://ops.example.com/", "PORTAL_METRICS_TOKEN": "m" * 20}
    )
    assert settings.providers == "live" and not settings.sandbox
    assert settings.ops_url == "https://ops.example.com"
    assert settings.cloudflare_base_url == "https://api.cloudflare.com/client/v4"
    text = repr(settings)
    for secret in ("cf-token-value", "carbonio-password-value", str(KEY), "m" * 20):
        assert secret not in text


@pytest.mark.parametrize(
    ("env", "message"),
    [
        pytest.param({}, "OPS_WEBHOOK_SECRET is not set", id="no-secret"),
        pytest.param({"OPS_WEBHOOK_SECRET": "abc"}, "must start with whsec_", id="no-prefix"),
        pytest.param({"OPS_WEBHOOK_SECRET": "whsec_!!"}, "not valid base64", id="bad-base64"),
        pytest.param(
            {"OPS_WEBHOOK_SECRET": "whsec_" + base64.b64encode(b"short").decode()},
            "decodes to 5 bytes",
            id="short-secret",
        ),
        pytest.param({"PORTAL_PORT": "70000"}, "PORTAL_PORT must be", id="port"),
        pytest.param({"PORTAL_PROVIDERS": "prod"}, "sandbox or live", id="providers"),
        pytest.param({"OPS_URL": "ftp://x"}, "OPS_URL must be an http", id="ops-url"),
        pytest.param({"PORTAL_OPS_TIMEOUT": "0"}, "PORTAL_OPS_TIMEOUT", id="timeout"),
        pytest.param({"PORTAL_MAIL_HOST": "not a host"}, "PORTAL_MAIL_HOST", id="mail-host"),
        pytest.param({"PORTAL_DNS_RESOLVERS": "dns.google"}, "PORTAL_DNS_RESOLVERS", id="resolver"),
        pytest.param({"PORTAL_RELEASE": "v2.0"}, "PORTAL_RELEASE must be", id="release-letter"),
        pytest.param({"PORTAL_RELEASE": "2" * 33}, "PORTAL_RELEASE must be", id="release-33"),
        pytest.param({"PORTAL_RELEASE": "2.0 rc1"}, "PORTAL_RELEASE must be", id="release-space"),
        pytest.param({"PORTAL_RELEASE": "2.0_1"}, "PORTAL_RELEASE must be", id="release-under"),
        pytest.param(
            {"PORTAL_DNS_RESOLVERS": "127.0.0.1:99999"}, "PORTAL_DNS_RESOLVERS", id="resolver-port"
        ),
        pytest.param(
            {"PORTAL_METRICS_TOKEN": "short"},
            "PORTAL_METRICS_TOKEN must be 16 to 256",
            id="metrics-token-short",
        ),
        pytest.param(
            {"PORTAL_METRICS_TOKEN": "with a space 0123456789"},
            "without spaces",
            id="metrics-token-space",
        ),
        pytest.param(
            {"PORTAL_RETENTION_DAYS": "3651"},
            "PORTAL_RETENTION_DAYS must be a whole number from 1 to 3650",
            id="retention-days",
        ),
    ],
)
def test_bad_sandbox_settings(env: dict[str, str], message: str) -> None:
    base = {} if "OPS_WEBHOOK_SECRET" in env or not env else {"OPS_WEBHOOK_SECRET": SECRET}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**base, **env})
    assert message in str(caught.value)


@pytest.mark.parametrize(
    "missing",
    [
        "CLOUDFLARE_API_TOKEN",
        "CARBONIO_ADMIN_URL",
        "CARBONIO_ADMIN_USER",
        "CARBONIO_ADMIN_PASSWORD",
        "PORTAL_MAIL_HOST",
    ],
)
def test_live_requires_each_provider_setting(missing: str) -> None:
    env = {k: v for k, v in LIVE.items() if k != missing}
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    assert missing in str(caught.value)


def test_emission_switch() -> None:
    from vm112_portal.errors import ConfigError
    from vm112_portal.settings import Settings

    base = {"OPS_WEBHOOK_SECRET": "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="}
    assert Settings.from_env(base).emit is True
    assert Settings.from_env({**base, "PORTAL_EMIT": "OFF"}).emit is False
    import pytest

    with pytest.raises(ConfigError, match="PORTAL_EMIT must be on or off"):
        Settings.from_env({**base, "PORTAL_EMIT": "maybe"})


def test_dns_resolvers_are_parsed_with_ports() -> None:
    settings = Settings.from_env(
        {**LIVE, "PORTAL_DNS_RESOLVERS": " 9.9.9.9, 127.0.0.1:5353 ,[2620:fe::fe]:53,::1"}
    )
    assert settings.dns_resolvers == (
        ("9.9.9.9", 53),
        ("127.0.0.1", 5353),
        ("2620:fe::fe", 53),
        ("::1", 53),
    )
    assert Settings.from_env(LIVE).dns_resolvers == ()


@pytest.mark.parametrize(
    ("value", "release"),
    [
        pytest.param(None, RELEASE, id="unset: the package version"),
        pytest.param("", RELEASE, id="empty: the package version"),
        pytest.param("2.0.1+g1a2b3c", "2.0.1+g1a2b3c", id="a build"),
        pytest.param(" 7 ", "7", id="trimmed"),
        pytest.param("1" * 32, "1" * 32, id="32 characters"),
    ],
)
def test_release_setting(value: str | None, release: str | None) -> None:
    env = {"OPS_WEBHOOK_SECRET": SECRET}
    if value is not None:
        env["PORTAL_RELEASE"] = value
    assert RELEASE is not None
    assert Settings.from_env(env).release == release
    assert Settings().release == RELEASE
