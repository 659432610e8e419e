"""deploy/nginx/qrap.conf and deploy/caddy/Caddyfile in front of a real uvicorn of the API.

nginx runs the shipped file with only its deployment values swapped (listen ports, upstream
port, certificate paths: each must occur exactly once, so an edit that moves them fails here);
Caddy runs the shipped Caddyfile with its environment placeholders set. Through each proxy:
/healthz and /ui reach the API, /metrics is refused to a client outside the private ranges,
everything else is the proxy's own 404, an SSE event arrives while its stream is still open,
and the X-Forwarded-* headers reach the API. nginx also refuses a body over the 50 MiB upload
limit by its Content-Length.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY
from tests.reliability.harness import Process, free_port, reliability_env, wait_until

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONF = ROOT / "deploy" / "nginx" / "qrap.conf"
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
UPLOAD_LIMIT = 50 * 1024 * 1024  # QRAP_CBOM_MAX_UPLOAD_SIZE's default
SITE = "qrap.example.com"
CERTS = ROOT / "qrap_core" / "examples" / "certs"


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        pytest.skip(f"{name} is not installed (`make test-deps` installs it)")
    return found


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Proxy:
    name: str
    base_url: str
    verify: ssl.SSLContext | bool
    api_port: int

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            verify=self.verify,
            headers={"Host": SITE, "Authorization": f"ApiKey {ADMIN_KEY}"},
            timeout=httpx.Timeout(30.0),
        )


@pytest.fixture(scope="module")
def api_port(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """uvicorn as the images run it, believing X-Forwarded-* from 127.0.0.1 (the proxies)."""
    assert settings.api_keys_raw is not None
    env = reliability_env(
        settings.sqlalchemy_url,
        settings.celery_broker_url,
        QRAP_AUTH_DISABLED="false",
        QUANTUN_API_KEYS=settings.api_keys_raw.get_secret_value(),
    )
    port = free_port()
    api = Process(
        [
            os.fspath(ROOT / ".venv" / "bin" / "python"), "-m", "uvicorn",
            "qrap_api.app:create_app", "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
        ],
        env, tmp_path_factory.mktemp("api") / "api.log",
    )  # fmt: skip
    api.start()
    try:
        api.wait_log("Application startup complete", 60)
        yield port
    finally:
        api.stop(timeout=15)


def _substitute(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        assert text.count(old) == 1, f"{old!r} should occur once in {NGINX_CONF.name}"
        text = text.replace(old, new)
    return text


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "site.crt", folder / "site.key"
    subprocess.run(
        [
            _binary("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", f"/CN={SITE}", "-addext", f"subjectAltName=DNS:{SITE},IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _nginx_main(folder: Path, site_conf: Path) -> Path:
    """A main nginx.conf that includes the site file, with every path inside ``folder``."""
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;\n" if os.geteuid() == 0 else ""  # temp files in a root-only folder
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}daemon off;\nworker_processes 1;\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n    access_log off;\n{temp}\n    include {site_conf};\n}}\n"
    )
    return main


@pytest.fixture(scope="module")
def nginx(api_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    binary = _binary("nginx")
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = _self_signed(folder)
    port = free_port()
    site = folder / "qrap.conf"
    site.write_text(
        _substitute(
            NGINX_CONF.read_text(),
            {
                "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl http2;",
                "listen 80;": f"listen 127.0.0.1:{free_port()};",
                "server 127.0.0.1:8083;": f"server 127.0.0.1:{api_port};",
                f"/etc/ssl/certs/{SITE}.crt": str(cert),
                f"/etc/ssl/private/{SITE}.key": str(key),
            },
        )
    )
    main = _nginx_main(folder, site)
    argv = [binary, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(main)]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = Process(argv, dict(os.environ), folder / "nginx.out")
    process.start()
    try:
        wait_until(lambda: _listening(port), 30, "nginx to listen")
        yield Proxy("nginx", f"https://127.0.0.1:{port}", ssl.create_default_context(
            cafile=str(cert)), api_port)  # fmt: skip
    finally:
        process.stop(timeout=15)


@pytest.fixture(scope="module")
def caddy(api_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    binary = _binary("caddy")
    folder = tmp_path_factory.mktemp("caddy")
    port = free_port()
    env = {
        **os.environ,
        "HOME": str(folder),
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "CADDY_ADMIN": f"127.0.0.1:{free_port()}",
        # A plain-HTTP site: no certificate to obtain on a machine without the Internet.
        "QRAP_SITE": f"http://{SITE}:{port}",
        "QRAP_API_UPSTREAM": f"127.0.0.1:{api_port}",
    }
    argv = [binary, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    process = Process(argv, env, folder / "caddy.log")
    process.start()
    try:
        wait_until(lambda: _listening(port), 30, "caddy to listen")
        yield Proxy("caddy", f"http://127.0.0.1:{port}", False, api_port)
    finally:
        process.stop(timeout=15)


@pytest.fixture(params=["nginx", "caddy"])
def proxy(request: pytest.FixtureRequest) -> Proxy:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]  # a Proxy


def _queued_assessment(client: httpx.Client) -> str:
    org = client.post("/api/v1/organizations", json={"name": f"proxy-{uuid.uuid4()}"})
    assert org.status_code == 201, org.text
    target = {"type": "certificate", "pem": (CERTS / "rsa1024.pem").read_text()}
    created = client.post(
        "/api/v1/assessments",
        json={"name": "behind a proxy", "organization_id": org.json()["id"],
              "targets": [target], "run": True},
    )  # fmt: skip
    assert created.status_code == 202, created.text
    return str(created.json()["id"])


def _next_event(lines: Iterator[str]) -> dict[str, object]:
    data = ""
    for line in lines:
        if line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            event: dict[str, object] = json.loads(data)
            return event
    raise AssertionError("the stream ended before the next event")


class TestConfigurationFiles:
    def test_nginx_accepts_the_file(self, nginx: Proxy) -> None:
        """The fixture ran ``nginx -t`` on it; here the SSE location keeps its settings."""
        block = re.search(r"location ~ \^/api/v1/assessments/.*?events\$ \{(.*?)\}",
                          NGINX_CONF.read_text(), re.S)  # fmt: skip
        assert block is not None
        assert "proxy_buffering off;" in block.group(1)
        assert "proxy_read_timeout 1h;" in block.group(1)
        assert "client_max_body_size 50m;" in NGINX_CONF.read_text()

    def test_caddy_validates_and_adapts_the_file(self, tmp_path: Path) -> None:
        binary = _binary("caddy")
        env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path)}
        validated = subprocess.run(
            [binary, "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert validated.returncode == 0, validated.stderr
        adapted = subprocess.run(
            [binary, "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
            capture_output=True, text=True, env=env, check=True,
        )  # fmt: skip
        config = json.loads(adapted.stdout)
        handlers = re.findall(r'"max_size":\s*(\d+)', json.dumps(config))
        assert handlers == [str(UPLOAD_LIMIT)]
        assert '"flush_interval": -1' in json.dumps(config)


class TestThroughTheProxy:
    def test_healthz_reaches_the_api(self, proxy: Proxy) -> None:
        with proxy.client() as client:
            response = client.get("/healthz")
        assert response.status_code == 200, response.text
        assert "x-request-id" in response.headers  # the API's answer, not the proxy's

    def test_ui_is_routed_to_the_api(self, proxy: Proxy) -> None:
        # The same credentials both ways: the dashboard accepts the API's headers too.
        direct = httpx.get(
            f"http://127.0.0.1:{proxy.api_port}/ui/",
            headers={"Authorization": f"ApiKey {ADMIN_KEY}"},
        )
        with proxy.client() as client:
            response = client.get("/ui/")
        assert (response.status_code, "x-request-id" in response.headers) == (
            direct.status_code,
            True,
        )

    def test_metrics_are_refused_outside_the_private_ranges(self, proxy: Proxy) -> None:
        with proxy.client() as client:
            response = client.get("/metrics")
        assert response.status_code == 403
        assert "x-request-id" not in response.headers  # refused by the proxy itself

    def test_other_paths_are_not_routed(self, proxy: Proxy) -> None:
        with proxy.client() as client:
            response = client.get("/flower/")
        assert response.status_code == 404
        assert "x-request-id" not in response.headers

    def test_forwarded_headers_reach_the_api(self, proxy: Proxy) -> None:
        """The API builds its redirect from the forwarded scheme and host."""
        with proxy.client() as client:
            response = client.get("/api/v1/organizations/", follow_redirects=False)
        scheme = "https" if proxy.name == "nginx" else "http"
        assert response.status_code == 307, response.text
        location = response.headers["location"]
        assert re.match(rf"{scheme}://{re.escape(SITE)}(:\d+)?/api/v1/organizations$", location)

    def test_sse_event_arrives_while_the_stream_is_open(self, proxy: Proxy) -> None:
        with proxy.client() as client, proxy.client() as other:
            assessment_id = _queued_assessment(client)
            url = f"/api/v1/assessments/{assessment_id}/events"
            with client.stream("GET", url) as stream:
                assert stream.status_code == 200
                lines = stream.iter_lines()
                # Nothing ends this stream until the cancel below: a buffering proxy would hold
                # the event back and the read would time out.
                first = _next_event(lines)
                assert first["status"] == "QUEUED"
                cancel = other.post(f"/api/v1/assessments/{assessment_id}/cancel")
                assert cancel.status_code == 200, cancel.text
                while (event := _next_event(lines))["type"] != "assessment.cancelled":
                    assert event["status"] == "QUEUED"
                assert list(lines) == []  # the stream ends after the terminal event


class TestUploadLimit:
    def test_nginx_refuses_a_body_over_the_limit_by_its_length(self, nginx: Proxy) -> None:
        port = int(nginx.base_url.rsplit(":", 1)[1])
        assert isinstance(nginx.verify, ssl.SSLContext)
        head = (
            f"POST /api/v1/assessments/{uuid.uuid4()}/artifacts HTTP/1.1\r\nHost: {SITE}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {UPLOAD_LIMIT + 1}\r\n\r\n"
        )
        with (
            socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
            nginx.verify.wrap_socket(raw, server_hostname=SITE) as tls,
        ):
            tls.sendall(head.encode())
            status_line = tls.recv(4096).split(b"\r\n", 1)[0]
        assert status_line == b"HTTP/1.1 413 Request Entity Too Large"

    def test_a_large_upload_under_the_limit_reaches_the_api(self, nginx: Proxy) -> None:
        with nginx.client() as client:
            assessment_id = _queued_assessment(client)
            response = client.post(
                f"/api/v1/assessments/{assessment_id}/artifacts",
                files={"file": ("cbom.json", b" " * (2 * 1024 * 1024), "application/json")},
            )
        assert "x-request-id" in response.headers, response.text
        assert response.status_code == 400, response.text  # the API read it: not a CBOM
