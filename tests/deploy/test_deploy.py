"""The deploy files (deploy/, docs/deploy.md): checked with the real tools, the environment
templates complete, and both services started the way the units start them."""

from __future__ import annotations

import ast
import base64
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.poll import wait_until_sync
from tests.support.runner import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHECK = ROOT / "scripts" / "check-deploy"
INSTALL_DIR = "/opt/onboard-funnel"  # where docs/deploy.md puts the release
# uvicorn re-raises SIGTERM after its graceful shutdown; systemd counts death by SIGTERM
# after `systemctl stop` as a clean exit, so Restart=on-failure does not fire.
CLEAN_STOP = (0, -signal.SIGTERM)

# Documented in a template although the service does not read them itself.
EXTERNAL = {
    "SSL_CERT_FILE": "read by the Portal's HTTP client (httpx) for an internal CA",
}


# -- the real tools -----------------------------------------------------------------------


def check_deploy(deploy: Path = DEPLOY) -> subprocess.CompletedProcess[str]:
    # Generous timeout: the first run on a bare Debian installs systemd, nginx and openssl.
    return subprocess.run(
        [str(CHECK), str(deploy)], capture_output=True, text=True, timeout=600, check=False
    )


def test_check_deploy_passes_on_the_deploy_files() -> None:
    result = check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok: vm122-ops.service vm112-portal.service vm122-litestream.service" in result.stdout
    assert "Overall exposure level for vm122-ops.service" in result.stdout
    assert "Overall exposure level for vm112-portal.service" in result.stdout
    assert "Overall exposure level for vm122-litestream.service" in result.stdout
    assert "ok: nginx-vm122-ops.conf" in result.stdout
    assert "ok: nginx-vm112-portal.conf" in result.stdout
    assert "ok: LimitNOFILE in vm122-ops.service vm112-portal.service" in result.stdout
    assert "ok: litestream.yml keys, durations, database and replica paths" in result.stdout
    assert "ok: litestream.yml (v0.3.13: 150 of 150 rows restored from the replica)" in (
        result.stdout
    )
    assert "ok: onboarding-rules.yml (9 alerts, each firing and quiet in its unit tests)" in (
        result.stdout
    )
    assert "ok: prometheus.yml, alertmanager.yml" in result.stdout


@pytest.mark.parametrize(
    ("name", "old", "new", "message"),
    [
        pytest.param(
            "vm122-ops.service",
            "Restart=on-failure",
            "Restart=on-failur",
            "systemd-analyze verify reported problems",
            id="unit-bad-value",
        ),
        pytest.param(
            "vm112-portal.service",
            "PrivateTmp=yes",
            "PrivateTemp=yes",
            "systemd-analyze verify reported problems",
            id="unit-unknown-key",
        ),
        pytest.param(
            "vm112-portal.service",
            "NoNewPrivileges=yes\nProtectSystem=strict\nProtectHome=yes\n"
            "PrivateTmp=yes\nPrivateDevices=yes\n",
            "",
            "vm112-portal.service: exposure over 2.0",
            id="unit-less-hardening",
        ),
        pytest.param(
            "nginx-vm122-ops.conf",
            "proxy_buffering off;",
            "proxy_bufering off;",
            "nginx -t rejected",
            id="nginx-typo",
        ),
        # OCSP stapling cannot work with a self-signed certificate: nginx warns.
        pytest.param(
            "nginx-vm122-ops.conf",
            "ssl_session_tickets off;",
            "ssl_session_tickets off;\n    ssl_stapling on;",
            "nginx -t warned",
            id="nginx-warning",
        ),
        # Issue 17: both sites send HSTS and bound the request head; the Portal's site
        # limits connections per address; both units raise LimitNOFILE.
        pytest.param(
            "nginx-vm122-ops.conf",
            'add_header Strict-Transport-Security "max-age=31536000" always;',
            "",
            "nginx-vm122-ops.conf lacks Strict-Transport-Security",
            id="ops-site-without-hsts",
        ),
        pytest.param(
            "nginx-vm112-portal.conf",
            "client_header_timeout 10s;",
            "# client_header_timeout 10s;",
            "nginx-vm112-portal.conf lacks client_header_timeout",
            id="portal-site-without-header-timeout",
        ),
        pytest.param(
            "nginx-vm112-portal.conf",
            "limit_conn vm112_portal_conn 20;",
            "",
            "nginx-vm112-portal.conf lacks limit_conn ",
            id="portal-site-without-connection-limit",
        ),
        pytest.param(
            "nginx-vm112-portal.conf",
            "large_client_header_buffers 4 8k;",
            "large_client_header_buffer 4 8k;",
            "lacks large_client_header_buffers",
            id="portal-site-typo",
        ),
        pytest.param(
            "vm112-portal.service",
            "LimitNOFILE=8192\n",
            "",
            "vm112-portal.service has no LimitNOFILE=",
            id="portal-unit-without-nofile",
        ),
        # Litestream v0.3.13 itself ignores unknown keys: the script must not.
        pytest.param(
            "litestream.yml",
            "sync-interval: 1s",
            "sync-intervl: 1s",
            "litestream.yml: /var/lib/vm122-ops/ops.db: replica 1: unknown key 'sync-intervl'",
            id="litestream-unknown-key",
        ),
        pytest.param(
            "litestream.yml",
            "snapshot-interval: 1h",
            "snapshot-interval: 1d",
            "snapshot-interval: '1d' is not a duration like 1s, 1h",
            id="litestream-days-are-not-a-duration",
        ),
        pytest.param(
            "litestream.yml",
            "path: /srv/vm122-ops-replica/ops",
            "path: /var/backups/ops",
            "/var/backups/ops is outside vm122-litestream.service's ReadWritePaths=",
            id="litestream-replica-not-writable",
        ),
        pytest.param(
            "litestream.yml",
            "type: file",
            "type: fil",
            "replica 1: unknown type 'fil'",
            id="litestream-unknown-type",
        ),
        pytest.param(
            "litestream.yml",
            "  - path: /var/lib/vm122-ops/ops.db",
            "  - path: /var/lib/vm122-ops/other.db",
            "litestream.yml: dbs must be exactly OPS_DB of ops.env.example",
            id="litestream-not-ops-db",
        ),
        pytest.param(
            "prometheus/onboarding-rules.yml",
            "expr: portal_outbox_dead > 0",
            "expr: portal_outbox_dead >> 0",
            "promtool check rules rejected onboarding-rules.yml",
            id="rules-bad-expression",
        ),
        pytest.param(
            "prometheus/onboarding-rules.yml",
            "summary: Onboardings are stuck",
            "summary: Onboardings are slow",
            "promtool test rules failed",
            id="rules-test-fails",
        ),
        pytest.param(
            "prometheus/onboarding-rules.test.yml",
            "        eval_time: 4m\n        exp_alerts:",
            "        eval_time: 4m\n        exp_alerts_gone:",
            "onboarding-rules.test.yml lacks a firing or a quiet case for OnboardingTargetDown",
            id="rules-untested-firing",
        ),
        pytest.param(
            "prometheus/alertmanager.yml",
            "group_wait: 30s",
            "group_wait: 30 seconds",
            "amtool check-config rejected alertmanager.yml",
            id="alertmanager-bad-duration",
        ),
        pytest.param(
            "vm122-litestream.service",
            "IPAddressDeny=any",
            "IPAddressDeny=anywhere",
            "systemd-analyze verify reported problems",
            id="litestream-unit-bad-value",
        ),
    ],
)
def test_check_deploy_fails_on_a_broken_file(
    tmp_path: Path, name: str, old: str, new: str, message: str
) -> None:
    broken = tmp_path / "deploy"
    shutil.copytree(DEPLOY, broken)
    text = (broken / name).read_text()
    assert old in text
    (broken / name).write_text(text.replace(old, new, 1))
    result = check_deploy(broken)
    assert result.returncode == 1
    assert message in result.stderr


def test_nginx_site_keeps_the_stream_unbuffered() -> None:
    site = (DEPLOY / "nginx-vm122-ops.conf").read_text()
    stream = site.split("location = /api/v1/stream {", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in stream
    assert "proxy_read_timeout 1h;" in stream
    assert "gzip off;" in stream
    assert re.search(r"listen 443 ssl http2;", site)
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "Host"):
        assert f"proxy_set_header {header} " in site


# -- environment templates ----------------------------------------------------------------

_ASSIGN = re.compile(r'([A-Z][A-Z0-9_]*)=("[^"\\$`]*"|[^\s"\'\\$`]*)')
_COMMENTED = re.compile(r"#([A-Z][A-Z0-9_]*)=")


@dataclass(frozen=True)
class EnvTemplate:
    values: dict[str, str]  # NAME=value lines, as systemd reads them
    commented: frozenset[str]  # "#NAME=default" lines: optional settings

    @property
    def documented(self) -> set[str]:
        return set(self.values) | self.commented


def read_env_template(path: Path) -> EnvTemplate:
    """Parse the subset of systemd's EnvironmentFile syntax the templates keep to (and that
    sh reads the same way): NAME=value or NAME="value", comments starting with #."""
    values: dict[str, str] = {}
    commented: set[str] = set()
    annotated = False  # the block of lines (up to a blank line) has a comment so far
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line:
            annotated = False
        elif line.startswith("#"):
            annotated = True
            if match := _COMMENTED.match(line):
                commented.add(match.group(1))
        else:
            match = _ASSIGN.fullmatch(line)
            assert match, f'{path.name}:{number}: not NAME=value or NAME="value": {line!r}'
            name, value = match.groups()
            assert name not in values, f"{path.name}:{number}: {name} is set twice"
            assert annotated, f"{path.name}:{number}: {name} has no comment above it"
            values[name] = value[1:-1] if value.startswith('"') else value
    return EnvTemplate(values=values, commented=frozenset(commented))


def _is_env(node: ast.expr) -> bool:
    """`env`, `environ` or `os.environ`: the mappings the services read settings from."""
    if isinstance(node, ast.Name):
        return node.id in ("env", "environ")
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name_of(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else None


def variables_read(package: str) -> set[str]:
    """Every environment variable a package reads: env.get("X"), env["X"], os.getenv("X"),
    and helpers called as helper(env, "X", ...)."""
    names: set[str] = set()
    for path in sorted((ROOT / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            found: str | None = None
            if isinstance(node, ast.Subscript) and _is_env(node.value):
                found = _literal(node.slice)
            elif isinstance(node, ast.Call) and node.args:
                func = node.func
                if isinstance(func, ast.Attribute) and func.attr in ("get", "pop"):
                    found = _literal(node.args[0]) if _is_env(func.value) else None
                elif _name_of(func) == "getenv":
                    found = _literal(node.args[0])
                else:
                    for first, second in zip(node.args, node.args[1:], strict=False):
                        if _is_env(first) and (found := _literal(second)):
                            break
            if found:
                names.add(found)
    return names


@pytest.mark.parametrize(
    ("package", "template", "core"),
    [
        pytest.param(
            "vm122_ops",
            "ops.env.example",
            {"OPS_DB", "OPS_WEBHOOK_SECRET", "OPS_API_TOKEN"},
            id="ops",
        ),
        pytest.param(
            "vm112_portal",
            "portal.env.example",
            {"PORTAL_DB", "OPS_URL", "CARBONIO_ADMIN_PASSWORD"},
            id="portal",
        ),
    ],
)
def test_env_template_documents_every_variable_the_service_reads(
    package: str, template: str, core: set[str]
) -> None:
    read = variables_read(package)
    assert core <= read, f"the scanner missed {sorted(core - read)} in {package}"
    documented = read_env_template(DEPLOY / template).documented
    assert sorted(read - documented) == [], f"undocumented in deploy/{template}"
    unknown = documented - read - set(EXTERNAL)
    assert sorted(unknown) == [], f"deploy/{template} documents what {package} never reads"


def test_env_templates_leave_the_secrets_empty() -> None:
    ops = read_env_template(DEPLOY / "ops.env.example").values
    portal = read_env_template(DEPLOY / "portal.env.example").values
    assert ops["OPS_WEBHOOK_SECRET"] == ops["OPS_API_TOKEN"] == ""
    assert portal["OPS_WEBHOOK_SECRET"] == portal["CARBONIO_ADMIN_PASSWORD"] == ""
    assert portal["CLOUDFLARE_API_TOKEN"] == portal["PORTAL_METRICS_TOKEN"] == ""


# -- the units, followed as docs/deploy.md does -------------------------------------------


@dataclass(frozen=True)
class Unit:
    exec_start: list[str]
    working_directory: str
    environment: dict[str, str]
    environment_file: str
    state_directory: str
    directives: dict[str, str]


def read_unit(name: str) -> Unit:
    directives: dict[str, str] = {}
    environment: dict[str, str] = {}
    for line in (DEPLOY / name).read_text().splitlines():
        if "=" not in line or line.startswith(("#", "[")):
            continue
        key, value = line.split("=", 1)
        if key == "Environment":
            for item in shlex.split(value):
                name, _, setting = item.partition("=")
                environment[name] = setting
        directives[key] = value
    return Unit(
        exec_start=shlex.split(directives["ExecStart"]),
        working_directory=directives["WorkingDirectory"],
        environment=environment,
        environment_file=directives["EnvironmentFile"],
        state_directory=directives["StateDirectory"],
        directives=directives,
    )


def webhook_secret() -> str:
    """As docs/deploy.md, "Install", step 4."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class Service:
    unit: Unit
    env: dict[str, str]
    state: Path
    process: subprocess.Popen[str] | None = None

    def argv(self) -> list[str]:
        """ExecStart with the release moved to this checkout and its venv's python to ours."""
        program, *args = self.unit.exec_start
        assert program == f"{INSTALL_DIR}/.venv/bin/python"
        return [sys.executable, *(arg.replace(INSTALL_DIR, str(ROOT)) for arg in args)]

    def start(self) -> subprocess.Popen[str]:
        assert self.unit.working_directory == INSTALL_DIR
        # systemd creates StateDirectory= (mode 0750) and starts with a clean environment.
        self.state.mkdir(mode=0o750, exist_ok=True)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **self.unit.environment}
        env.update(self.env)
        self.process = subprocess.Popen(
            self.argv(),
            cwd=ROOT,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        return self.process

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as systemctl stop; waits at most the unit's TimeoutStopSec."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        timeout = float(self.unit.directives["TimeoutStopSec"].removesuffix("s"))
        try:
            _, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
            pytest.fail(f"did not stop within {timeout} s: {err}")
        return self.process.returncode, err


def service(name: str, template: str, tmp_path: Path, **secrets_: str) -> Service:
    unit = read_unit(name)
    assert unit.environment_file == f"/etc/onboard-funnel/{template.removesuffix('.example')}"
    values = read_env_template(DEPLOY / template).values
    for key, value in secrets_.items():
        assert values[key] == "", f"{key} is to be generated, not shipped"
        values[key] = value
    state_dir = f"/var/lib/{unit.state_directory}"
    state = tmp_path / unit.state_directory
    values = {key: value.replace(state_dir, str(state)) for key, value in values.items()}
    return Service(unit=unit, env=values, state=state)


def wait_healthy(base_url: str, process: subprocess.Popen[str]) -> httpx.Response:
    def answer() -> httpx.Response | None:
        if process.poll() is not None:
            pytest.fail(f"exited with {process.returncode}: {process.communicate()[1]}")
        try:
            return httpx.get(f"{base_url}/healthz", timeout=2)
        except httpx.TransportError:
            return None

    return wait_until_sync(answer, timeout=15, interval=0.1, what=f"{base_url}/healthz")


@pytest.fixture
def ops(tmp_path: Path) -> Iterator[Service]:
    ops = service(
        "vm122-ops.service",
        "ops.env.example",
        tmp_path,
        OPS_WEBHOOK_SECRET=webhook_secret(),
        OPS_API_TOKEN=secrets.token_urlsafe(32),
    )
    assert ops.env["OPS_HOST"] == "127.0.0.1"
    ops.env["OPS_PORT"] = str(free_port())
    yield ops
    if ops.process is not None and ops.process.poll() is None:
        ops.stop()


def test_ops_starts_from_its_unit_and_answers_healthz(ops: Service) -> None:
    process = ops.start()
    response = wait_healthy(f"http://127.0.0.1:{ops.env['OPS_PORT']}", process)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": "ok"}
    # The database went where the environment file says, inside the StateDirectory.
    assert Path(ops.env["OPS_DB"]).parent == ops.state
    assert Path(ops.env["OPS_DB"]).is_file()
    code, err = ops.stop()
    assert code in CLEAN_STOP
    # journald keeps stderr: the secrets from the environment file must not be in it.
    assert ops.env["OPS_API_TOKEN"] not in err
    assert ops.env["OPS_WEBHOOK_SECRET"].removeprefix("whsec_") not in err


def test_ops_refuses_a_newer_schema_and_the_unit_does_not_restart_it(ops: Service) -> None:
    ops.state.mkdir(mode=0o750)
    with sqlite3.connect(ops.env["OPS_DB"]) as conn:
        conn.execute("PRAGMA user_version = 999")
    process = ops.start()
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert ops.unit.directives["RestartPreventExitStatus"] == "2"
    assert len(err.strip().splitlines()) == 1
    # docs/deploy.md quotes the message word for word (with other version numbers).
    message = re.sub(r"\d+", "N", err.strip())
    documented = re.sub(r"\d+", "N", (ROOT / "docs" / "deploy.md").read_text())
    assert message in documented


def portal_next_to(ops: Service, tmp_path: Path) -> tuple[Service, str]:
    """Ops started from its unit, and the Portal's unit (not started) with the same
    generated secret; the Portal and Ops' URL."""
    ops_url = f"http://127.0.0.1:{ops.env['OPS_PORT']}"
    wait_healthy(ops_url, ops.start())
    portal = service(
        "vm112-portal.service",
        "portal.env.example",
        tmp_path,
        OPS_WEBHOOK_SECRET=ops.env["OPS_WEBHOOK_SECRET"],
    )
    return portal, ops_url


def test_portal_starts_from_its_unit_next_to_ops(ops: Service, tmp_path: Path) -> None:
    """Both units side by side: the Portal with the same generated secret, on the sandbox
    providers (the template's trial setting), on the loopback and pointed at this Ops
    instead of VM122's nginx name."""
    portal, ops_url = portal_next_to(ops, tmp_path)
    portal.env.update(
        PORTAL_HOST="127.0.0.1",
        PORTAL_PORT=str(free_port()),
        OPS_URL=ops_url,
        PORTAL_PROVIDERS="sandbox",
    )
    process = portal.start()
    try:
        response = wait_healthy(f"http://127.0.0.1:{portal.env['PORTAL_PORT']}", process)
        assert response.status_code == 200
        assert response.json()["database"] == "ok"
        assert Path(portal.env["PORTAL_DB"]).parent == portal.state
    finally:
        code, err = portal.stop()
    assert code in CLEAN_STOP, err


# -- nginx in front of Ops, as on VM122 -----------------------------------------------------


def nginx_binary() -> str:
    # /usr/sbin is not on every user's PATH.
    found = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        pytest.fail("nginx is not installed; scripts/check-deploy installs it (package nginx)")
    return found


@pytest.fixture
def nginx(ops: Service, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The site as installed, in front of the running Ops: its listen ports moved to free
    loopback ports, its certificate to a self-signed one for 127.0.0.1, its logs to tmp."""
    with nginx_site(
        "nginx-vm122-ops.conf",
        tmp_path / "nginx",
        {"server 127.0.0.1:8080;": f"server 127.0.0.1:{ops.env['OPS_PORT']};"},
    ) as (base_url, cert, _):
        yield base_url, cert


@contextmanager
def nginx_site(
    name: str, conf: Path, replacements: dict[str, str]
) -> Iterator[tuple[str, Path, int]]:
    """Run deploy/``name`` under a real nginx: listen ports moved to free loopback ports,
    the certificate to a self-signed one for 127.0.0.1, logs to ``conf``; ``replacements``
    edit the site further (the upstream's port). Yields the https URL, the certificate
    and the plain-HTTP port."""
    binary = nginx_binary()
    site = (DEPLOY / name).read_text()
    cert_name = re.search(r"/etc/onboard-funnel/tls/([a-z0-9-]+)\.crt;", site)
    assert cert_name is not None
    (conf / "tls").mkdir(parents=True)
    cert = conf / "tls" / f"{cert_name.group(1)}.crt"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(conf / "tls" / f"{cert_name.group(1)}.key"),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    https, http = free_port(), free_port()
    for old, new in [
        ("/etc/onboard-funnel/tls/", f"{conf}/tls/"),
        ("/var/log/nginx/", f"{conf}/"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https} ssl http2;"),
        ("listen [::]:443 ssl http2;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http};"),
        ("listen [::]:80;\n", ""),
        *replacements.items(),
    ]:
        assert old in site, old
        site = site.replace(old, new)
    (conf / "site.conf").write_text(site)
    temp_paths = "".join(
        f"{kind}_temp_path {conf}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (conf / "nginx.conf").write_text(
        f"pid {conf}/nginx.pid;\nerror_log {conf}/error.log;\nevents {{}}\n"
        f"http {{\naccess_log {conf}/access.log;\n{temp_paths}include {conf}/site.conf;\n}}\n"
    )
    master = subprocess.Popen(
        [
            binary,
            "-p",
            f"{conf}/",
            "-e",
            f"{conf}/error.log",
            "-c",
            f"{conf}/nginx.conf",
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def listening() -> bool:
        if master.poll() is not None:
            pytest.fail(f"nginx exited with {master.returncode}: {master.communicate()[1]}")
        try:
            socket.create_connection(("127.0.0.1", https), timeout=1).close()
        except OSError:
            return False
        return True

    try:
        wait_until_sync(listening, timeout=10, interval=0.05, what="nginx listening")
        yield f"https://127.0.0.1:{https}", cert, http
    finally:
        master.send_signal(signal.SIGQUIT)  # graceful shutdown
        try:
            master.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            master.kill()
            master.communicate()


def test_nginx_serves_ops_over_http2_with_the_stream_unbuffered(
    ops: Service, nginx: tuple[str, Path]
) -> None:
    base_url, cert = nginx
    wait_healthy(f"http://127.0.0.1:{ops.env['OPS_PORT']}", ops.start())
    tls = ssl.create_default_context(cafile=str(cert))
    tls.set_alpn_protocols(["h2", "http/1.1"])
    host, port = base_url.removeprefix("https://").split(":")
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        tls.wrap_socket(raw, server_hostname=host) as conn,
    ):
        assert conn.selected_alpn_protocol() == "h2"

    token = ops.env["OPS_API_TOKEN"]
    with httpx.Client(base_url=base_url, verify=tls, timeout=5) as client:
        health = client.get("/healthz")
        assert health.json() == {"ok": True, "database": "ok"}
        assert health.headers["strict-transport-security"] == "max-age=31536000"  # issue 17
        # Forwarded https: the login's same-origin check passes and the cookie is Secure.
        password = secrets.token_urlsafe(16)
        subprocess.run(
            [sys.executable, "-m", "vm122_ops", "users", "add", "ana"],
            input=password + "\n",
            text=True,
            env={**os.environ, **ops.env},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        form = {"name": "ana", "password": password}
        login = client.post("/login", data=form, headers={"origin": base_url})
        assert login.status_code == 303
        assert "; secure" in login.headers["set-cookie"].lower()
        # The stream's first events arrive at once, not when a proxy buffer fills.
        started = time.monotonic()
        headers = {"authorization": f"Bearer {token}"}
        with client.stream("GET", "/api/v1/stream", headers=headers) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert "x-accel-buffering" not in stream.headers  # nginx consumes it
            lines = stream.iter_lines()
            assert any(line == "event: reset" for line, _ in zip(lines, range(20), strict=False))
        assert time.monotonic() - started < 3


# -- nginx in front of the Portal, as on VM112 (issue 17, finding 4) ------------------------


def test_nginx_in_front_of_the_portal_bounds_what_a_client_holds(
    ops: Service, tmp_path: Path
) -> None:
    """The Portal from its unit behind its site: HTTPS only with HSTS, a request head over
    4 x 8 KiB refused by nginx, a head trickled past client_header_timeout dropped (the
    site's 10 s shortened to 2 s here), /sandbox/ not published."""
    portal, ops_url = portal_next_to(ops, tmp_path)
    assert portal.env["PORTAL_HOST"] == "127.0.0.1"  # loopback only, nginx publishes it
    port = free_port()
    portal.env.update(PORTAL_PORT=str(port), OPS_URL=ops_url, PORTAL_PROVIDERS="sandbox")
    process = portal.start()
    try:
        wait_healthy(f"http://127.0.0.1:{port}", process)
        with nginx_site(
            "nginx-vm112-portal.conf",
            tmp_path / "nginx",
            {
                "server 127.0.0.1:8090;": f"server 127.0.0.1:{port};",
                "client_header_timeout 10s;": "client_header_timeout 2s;",
            },
        ) as (base_url, cert, http_port):
            tls = ssl.create_default_context(cafile=str(cert))
            with httpx.Client(base_url=base_url, verify=tls, timeout=10) as client:
                health = client.get("/healthz")
                assert health.status_code == 200
                assert health.headers["strict-transport-security"] == "max-age=31536000"
                big = client.get("/healthz", headers={"x-filler": "a" * 40_000})
                assert big.status_code in (400, 494)
                assert client.get("/sandbox/cloudflare/client/v4/zones").status_code == 404
            plain = httpx.get(f"http://127.0.0.1:{http_port}/", timeout=5)
            assert plain.status_code == 301
            assert plain.headers["location"].startswith("https://")
            host, https_port = base_url.removeprefix("https://").split(":")
            started = time.monotonic()
            with (
                socket.create_connection((host, int(https_port)), timeout=10) as raw,
                tls.wrap_socket(raw, server_hostname=host) as conn,
            ):
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never ends
                try:
                    answer = conn.recv(100)
                except (ConnectionResetError, ssl.SSLError):
                    answer = b""
            held = time.monotonic() - started
            assert not answer.startswith(b"HTTP/1.1 200"), answer
            assert 1.5 < held < 6, held
            print(f"nginx dropped a trickled head after {held:.1f} s (timeout 2 s)")
    finally:
        code, err = portal.stop()
    assert code in CLEAN_STOP, err
