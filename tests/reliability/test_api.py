"""API process faults: Idempotency-Key races against a real uvicorn (T11) and a SIGTERM with
requests in flight (T19)."""

from __future__ import annotations

import signal
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select, text

from qrap_api.auth import issue_token
from qrap_core.assessment.models import Assessment
from qrap_core.settings import Settings
from tests.reliability.conftest import FaultEnv
from tests.reliability.harness import (
    LEDGER,
    RSA1024,
    free_port,
    make_org,
    start_api,
    uvicorn,
    wait_until,
)

pytestmark = [pytest.mark.reliability, pytest.mark.timeout(180)]

JWT_SECRET = "fault-suite-secret-that-is-long-enough-0123456789"
ISSUER = "qrap-faults"


def _count(env: FaultEnv, name: str) -> int:
    with env.db.unit_of_work() as uow:
        return int(
            uow.session.scalar(
                select(func.count()).select_from(Assessment).where(Assessment.name == name)
            )
            or 0
        )


def test_idempotency_key(fresh_queues: FaultEnv, tmp_path: Path) -> None:
    """T11: 10 concurrent POSTs with one key create one assessment and send one task."""
    env = fresh_queues
    row = LEDGER.row("T11", "Idempotency-Key: 10 concurrent, other body, org B, TTL")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_api(
        uvicorn(
            env.env(
                QRAP_AUTH_DISABLED="false",
                QUANTUN_JWT_SECRET=JWT_SECRET,
                QUANTUN_JWT_ISSUER=ISSUER,
                QRAP_IDEMPOTENCY_TTL_SECONDS="2",
            ),
            tmp_path / "api.log",
            port,
        )
    )
    settings = Settings(QUANTUN_JWT_SECRET=JWT_SECRET, QUANTUN_JWT_ISSUER=ISSUER)
    org_a, org_b = make_org(env.db), make_org(env.db)
    auth_a = {
        "Authorization": "Bearer "
        + issue_token(settings, subject="alice", role="analyst", org_ids=[str(org_a)])
    }
    auth_b = {
        "Authorization": "Bearer "
        + issue_token(settings, subject="bob", role="analyst", org_ids=[str(org_b)])
    }
    name = f"t11-{uuid.uuid4()}"
    key = str(uuid.uuid4())

    def body(org: uuid.UUID, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "organization_id": str(org),
            "targets": [{"type": "certificate", "pem": RSA1024}],
            "run": True,
            **extra,
        }

    def post(payload: dict[str, Any], headers: dict[str, str], idem: str) -> httpx.Response:
        return httpx.post(
            f"{base}/api/v1/assessments",
            json=payload,
            headers={**headers, "Idempotency-Key": idem},
            timeout=30,
        )

    responses: list[httpx.Response] = []
    barrier = threading.Barrier(10)

    def racer() -> None:
        barrier.wait()
        responses.append(post(body(org_a), auth_a, key))

    try:
        threads = [threading.Thread(target=racer) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(r.status_code for r in responses)
        created = [r for r in responses if r.status_code == 202]
        ids = {r.json()["id"] for r in created}
        rows_after_race = _count(env, name)
        tasks_after_race = env.redis.client().llen("assessments")

        replay = post(body(org_a), auth_a, key)
        mismatch = post(body(org_a, name=name + "-other"), auth_a, key)
        other_org = post(body(org_b), auth_b, key)
        key2 = str(uuid.uuid4())
        invalid = post({**body(org_a), "targets": "not a list"}, auth_a, key2)
        corrected = post(body(org_a), auth_a, key2)
        time.sleep(2.5)  # past the 2 s TTL of the test configuration
        after_ttl = post(body(org_a), auth_a, key)
        rows = _count(env, name)
        tasks = env.redis.client().llen("assessments")
    finally:
        api.stop(timeout=15)

    assert set(codes) <= {202, 409}, codes
    assert len(ids) == 1
    assert (rows_after_race, tasks_after_race) == (1, 1)
    assert replay.status_code == 202
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == created[0].json()
    assert mismatch.status_code == 422
    assert mismatch.json()["details"][0]["field"] == "Idempotency-Key"
    assert other_org.status_code == 202
    assert other_org.json()["id"] not in ids
    assert invalid.status_code == 400
    assert corrected.status_code == 202  # the failed validation was not stored
    assert after_ttl.status_code == 202
    assert after_ttl.json()["id"] not in ids
    assert (rows, tasks) == (4, 4)
    row.injected = len(responses) + 5
    row.submitted = 4  # assessments the client meant to create: race, org B, corrected, TTL
    row.completed = rows
    row.duplicated = max(0, rows - 4)
    row.lost = max(0, 4 - rows)
    row.note = (
        f"10 concurrent: codes {codes.count(202)}x202 {codes.count(409)}x409 -> 1 row, 1 task;"
        " other body 422; org B own row; after TTL a new row"
    )


def test_uvicorn_sigterm(fault_env: FaultEnv, tmp_path: Path) -> None:
    """T19: TERM with 20 two-second requests and one 30 s request in flight."""
    env = fault_env
    row = LEDGER.row("T19", "uvicorn SIGTERM with 20 in-flight requests + 1 long")
    app_name = f"qrap-t19-{uuid.uuid4().hex[:8]}"
    # The server checks every second whether the client went away, so the connection of the
    # request cancelled at shutdown ends with the process instead of with its pg_sleep.
    options = quote("-c client_connection_check_interval=1000")
    url = f"{env.database_url}?application_name={app_name}&options={options}"
    port = free_port()
    api = start_api(
        uvicorn(
            env.env(QRAP_DATABASE_URL=url, QRAP_DB_MAX_CONNS="30"),
            tmp_path / "api.log",
            port,
            app="tests.reliability.faulty_api:create",
            graceful=10,
        )
    )
    results: dict[int, int | str] = {}

    def call(index: int, seconds: float) -> None:
        try:
            response = httpx.get(
                f"http://127.0.0.1:{port}/test/slow", params={"seconds": seconds}, timeout=40
            )
            results[index] = response.status_code
        except httpx.HTTPError as exc:
            results[index] = type(exc).__name__

    threads = [threading.Thread(target=call, args=(i, 2.0)) for i in range(20)]
    threads.append(threading.Thread(target=call, args=(20, 30.0)))
    for thread in threads:
        thread.start()

    def sleeping() -> int:
        with env.db.unit_of_work() as uow:
            return int(
                uow.session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE application_name = :n AND query LIKE 'SELECT pg_sleep%'"
                        " AND state = 'active'"
                    ),
                    {"n": app_name},
                )
                or 0
            )

    # TERM only once every request is in flight (each holds a pg_sleep on the database).
    wait_until(lambda: sleeping() == 21 or bool(results), 20, "21 requests in flight", poll=0.05)
    assert api.process is not None
    process = api.process
    terminated = time.monotonic()
    api.signal(signal.SIGTERM)
    row.injected = 1
    wait_until(lambda: "Shutting down" in api.log.read_text(), 10, "uvicorn to begin shutdown")
    with socket.socket() as probe:
        probe.settimeout(2)
        refused = probe.connect_ex(("127.0.0.1", port)) != 0
    process.wait(timeout=20)
    exited = time.monotonic() - terminated
    for thread in threads:
        thread.join(timeout=30)

    def connections() -> int:
        with env.db.unit_of_work() as uow:
            return int(
                uow.session.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": app_name},
                )
                or 0
            )

    wait_until(lambda: connections() == 0, 10, "the API's database connections to close")
    log = api.log.read_text()
    row.submitted = 20  # the 30 s request is cancelled by design, so not counted
    row.completed = sum(1 for i in range(20) if results.get(i) == 200)
    row.lost = 20 - row.completed
    row.note = f"exit {exited:.1f} s after TERM (graceful 10 s); 30 s request: {results.get(20)}"
    assert [results.get(i) for i in range(20)] == [200] * 20
    assert results.get(20) != 200
    assert refused, "a new connection was accepted after TERM"
    # Exited by itself (wait above) because the graceful timeout cut the 30 s request short.
    assert "timeout graceful shutdown exceeded" in log
    assert "Application shutdown complete" in log
