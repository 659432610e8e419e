"""Request headers are bounded (T21): 431 before anything, authentication included, reads
them; the production command has uvicorn's h11 refuse them before it buffers them."""

from __future__ import annotations

import json
import re
import select
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_api.middleware import KEEP_ALIVE_SECONDS, MAX_HEADER_SIZE, SECURITY_HEADERS
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher
from tests.reliability.harness import ROOT, Process, free_port, reliability_env, start_api

MEGABYTE = 1024 * 1024


def image_command() -> list[str]:
    """The API image's CMD (docker/Dockerfile), as argv."""
    text = (ROOT / "docker" / "Dockerfile").read_text()
    commands = re.findall(r"^CMD (\[.*\])$", text, re.MULTILINE)
    argv = next(json.loads(c) for c in commands if "qrap_api.app:create_app" in c)
    return [str(word) for word in argv]


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)[1])  # type: ignore[index]  # Linux always reports VmRSS


def send_big_header(port: int, size: int) -> bytes:
    """Send a request with one header of ``size`` bytes, a slice at a time, stopping as soon
    as the server answers; return what it answered (b"" if it only closed)."""
    # Connection: close, so that an answered request ends the read (keep-alive lasts 75 s).
    request = (
        b"GET /api/v1/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Big: "
    )
    payload = request + b"a" * size + b"\r\n\r\n"
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        for start in range(0, len(payload), 16 * 1024):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(payload[start : start + 16 * 1024])
            except (BrokenPipeError, ConnectionResetError):
                break
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    return answer


class TestTheImageCommand:
    def test_uses_h11_with_the_limit(self) -> None:
        argv = image_command()

        assert option(argv, "--http") == "h11"
        assert int(option(argv, "--h11-max-incomplete-event-size")) == MAX_HEADER_SIZE

    def test_keeps_idle_connections_longer_than_a_proxy(self) -> None:
        # nginx's upstream keepalive_timeout and AWS ALB's idle timeout are 60 s; the server
        # must not close first, or a request sent as it closes is lost (a 502, a reset).
        assert int(option(image_command(), "--timeout-keep-alive")) == KEEP_ALIVE_SECONDS > 60
        compose = (ROOT / "docker" / "compose.yml").read_text()
        assert '"--timeout-keep-alive", "75"' in compose


@pytest.fixture
def api(pg_url: str, broker_url: str, tmp_path: Path) -> Iterator[tuple[Process, int]]:
    """uvicorn with the image's options (host and port made local), against the test database."""
    port = free_port()
    argv = image_command()
    argv[argv.index("--host") + 1] = "127.0.0.1"
    argv[argv.index("--port") + 1] = str(port)
    env = reliability_env(
        pg_url,
        broker_url,
        QRAP_AUTH_DISABLED="false",
        QUANTUN_API_KEYS=f"{ADMIN_KEY}:ci-admin:admin",
    )
    process = Process([sys.executable, "-m", *argv], env, tmp_path / "api.log")
    start_api(process)
    try:
        yield process, port
    finally:
        process.stop(timeout=20)


class TestRealServer:
    def test_megabyte_header_is_refused_unread(self, api: tuple[Process, int]) -> None:
        process, port = api
        assert send_big_header(port, 100).startswith(b"HTTP/1.1 401")  # warm, and the control
        before = rss_kib(process.pid)

        answers = [send_big_header(port, MEGABYTE) for _ in range(5)]

        grown = rss_kib(process.pid) - before
        for answer in answers:
            # h11 answers its parse errors with 400 and closes; a reset may cut the answer.
            assert answer == b"" or answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 431"))
        assert "Invalid HTTP request received." in process.text()
        assert b"401" not in b"".join(answers)  # never reached authentication
        assert grown < 8 * 1024, f"RSS grew by {grown} KiB"


@pytest.fixture
def app_client(
    settings: Settings, database: Database, dispatched: RecordingDispatcher
) -> Iterator[TestClient]:
    app = create_app(settings, database=database, dispatcher=dispatched)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


class TestMiddleware:
    """The same limit in the app, for servers that buffer headers of any size."""

    def test_oversized_headers_answer_431_before_authentication(
        self, app_client: TestClient
    ) -> None:
        response = app_client.get("/api/v1/organizations", headers={"X-Big": "a" * MAX_HEADER_SIZE})

        assert response.status_code == 431, response.text
        assert response.json()["code"] == "RequestHeadersTooLarge"
        assert response.json()["details"][0]["field"] == "headers"
        assert response.headers["x-content-type-options"] == "nosniff"

    def test_many_small_headers_add_up(self, app_client: TestClient) -> None:
        headers = {f"X-H{n}": "b" * 200 for n in range(100)}

        response = app_client.get("/healthz", headers=headers)

        assert response.status_code == 431

    def test_ordinary_headers_pass(self, app_client: TestClient) -> None:
        response = app_client.get(
            "/api/v1/organizations",
            headers={"Authorization": f"ApiKey {ADMIN_KEY}", "X-Pad": "c" * 4096},
        )

        assert response.status_code == 200, response.text


class TestServerErrors:
    """An unhandled exception's 500 carries the security headers of every other answer."""

    def test_500_has_security_headers(
        self, settings: Settings, database: Database, dispatched: RecordingDispatcher
    ) -> None:
        app = create_app(settings, database=database, dispatcher=dispatched)
        app.include_router(_boom_router())
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/test-boom", headers={"X-Request-Id": "boom-1"})

        assert response.status_code == 500
        assert response.json() == {
            "error": "internal server error", "code": "InternalError", "details": [],
        }  # fmt: skip
        for name, value in SECURITY_HEADERS:
            assert response.headers[name.decode()] == value.decode()
        assert response.headers["x-request-id"] == "boom-1"


def _boom_router() -> APIRouter:
    router = APIRouter()

    @router.get("/test-boom")
    def boom() -> None:
        raise RuntimeError("boom")

    return router
