"""Rate limits (qrap_api/ratelimit.py): a moving window in Redis shared by every API process,
per principal, per client address for failed authentication (stricter), health exempt, and
what happens when Redis is down.

Each test uses an API key and subject and a client address of its own, so that tests sharing
the session's Redis database never share counters.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from qrap_api.app import create_app
from qrap_api.auth import issue_token
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import RecordingDispatcher

PATH = "/api/v1/organizations"
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def _address() -> str:
    number = uuid.uuid4().int
    return f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"


@pytest.fixture
def api_key() -> str:
    return uuid.uuid4().hex


def _limited(settings: Settings, api_key: str, **update: object) -> Settings:
    """The suite's settings with a small limit and one API key (and subject) of this test's."""
    subject = f"rl-{uuid.uuid4().hex[:12]}"
    return settings.model_copy(
        update={
            "rate_limit": 10,
            "api_keys_raw": SecretStr(f"{api_key}:{subject}:admin"),
            **update,
        }
    )


@pytest.fixture
def clients(
    settings: Settings, database: Database, api_key: str
) -> Iterator[tuple[TestClient, TestClient]]:
    """Two API replicas sharing one Redis database, as two processes behind a balancer would."""
    limited = _limited(settings, api_key)
    address = _address()  # one client, whichever replica the balancer picks
    with ExitStack() as stack:
        pair = tuple(
            stack.enter_context(
                TestClient(
                    create_app(limited, database=database, dispatcher=RecordingDispatcher()),
                    client=(address, 50000),
                )
            )
            for _ in range(2)
        )
        yield pair[0], pair[1]


def test_limit_is_shared_across_replicas(
    clients: tuple[TestClient, TestClient], api_key: str
) -> None:
    answers = [clients[i % 2].get(PATH, headers={"X-API-Key": api_key}) for i in range(30)]
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 20
    assert statuses[:10] == [200] * 10  # the first ten, whichever replica answered
    now = time.time()
    for refused in (a for a in answers if a.status_code == 429):
        assert refused.json() == {
            "error": "rate limit exceeded",
            "code": "RateLimited",
            "details": [],
        }
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-ratelimit-limit"] == "10"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert now < int(refused.headers["x-ratelimit-reset"]) <= now + 61
        assert refused.headers["x-request-id"]  # still inside the security headers


def test_headers_count_down_on_success(
    clients: tuple[TestClient, TestClient], api_key: str
) -> None:
    answers = [
        clients[0].get(PATH, headers={"Authorization": f"ApiKey {api_key}"}) for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["9", "8", "7"]
    assert {a.headers["x-ratelimit-limit"] for a in answers} == {"10"}
    resets = {int(a.headers["x-ratelimit-reset"]) for a in answers}
    assert all(time.time() < reset <= time.time() + 61 for reset in resets)
    assert "retry-after" not in answers[0].headers


def test_the_limit_is_per_principal_not_per_address(
    clients: tuple[TestClient, TestClient], api_key: str, settings: Settings
) -> None:
    for _ in range(10):
        assert clients[0].get(PATH, headers={"X-API-Key": api_key}).status_code == 200
    assert clients[1].get(PATH, headers={"X-API-Key": api_key}).status_code == 429
    # Another principal calling from the same address has a counter of its own.
    token = issue_token(
        settings, subject=f"rl-{uuid.uuid4().hex[:12]}", role="viewer", org_ids=[str(uuid.uuid4())]
    )
    other = clients[1].get(PATH, headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 200
    assert other.headers["x-ratelimit-remaining"] == "9"


def test_failed_authentication_is_limited_harder_per_address(
    clients: tuple[TestClient, TestClient], api_key: str
) -> None:
    guesses = [clients[i % 2].get(PATH, headers={"X-API-Key": uuid.uuid4().hex}) for i in range(5)]
    # A fifth of the limit: two failures a minute from this address, then 429s.
    assert [g.status_code for g in guesses] == [401, 401, 429, 429, 429]
    assert guesses[0].headers["x-ratelimit-limit"] == "2"
    assert guesses[2].json()["code"] == "RateLimited"
    assert "retry-after" in guesses[2].headers
    # The valid key is not held back by the guesses made from its address.
    assert clients[0].get(PATH, headers={"X-API-Key": api_key}).status_code == 200
    # Another address still gets its own failures answered with 401.
    with TestClient(clients[0].app, client=(_address(), 50000)) as elsewhere:
        assert elsewhere.get(PATH, headers={"X-API-Key": "bad"}).status_code == 401


def test_health_is_exempt(clients: tuple[TestClient, TestClient]) -> None:
    for _ in range(15):
        answer = clients[0].get("/healthz")
        assert answer.status_code == 200
        assert "x-ratelimit-limit" not in answer.headers
    assert clients[0].get("/health").status_code != 429


@pytest.mark.parametrize(("fail_open", "expected"), [(True, 200), (False, 503)])
def test_redis_down(
    settings: Settings,
    database: Database,
    api_key: str,
    fail_open: bool,
    expected: int,
) -> None:
    broken = _limited(
        settings, api_key, redis_url=CLOSED_PORT_REDIS, rate_limit_fail_open=fail_open
    )
    app = create_app(broken, database=database, dispatcher=RecordingDispatcher())
    with TestClient(app, client=(_address(), 50000)) as client:
        answers = [client.get(PATH, headers={"X-API-Key": api_key}) for _ in range(12)]
    assert [a.status_code for a in answers] == [expected] * 12
    assert not any(h in answers[0].headers for h in HEADERS)
    if not fail_open:
        body = answers[0].json()
        assert (body["code"], body["error"]) == ("ServiceUnavailable", "rate limiter unavailable")
