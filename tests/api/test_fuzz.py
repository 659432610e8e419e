"""The API fuzzed from its own OpenAPI document (T18): schemathesis generates requests for
every operation, from a fixed seed and a bounded number of examples, as an admin; no answer
may be a 5xx and every answer must match the documented schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks

from qrap_api.app import create_app
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher

EXAMPLES_PER_OPERATION = 25
# Every answer is checked: no 5xx, and status, content type, headers and body as documented.
# Not checked: whether the validation is exactly as strict as the JSON Schema (the API refuses
# more than the schema can say, such as NUL characters or URLs that resolve to private
# addresses, and pydantic accepts "1.5" for a number), nor the Allow header of a 405.
NOT_CHECKED = [
    checks.positive_data_acceptance,
    checks.negative_data_rejection,
    checks.allow_header_conformance,
]
AUTH = {"Authorization": f"ApiKey {ADMIN_KEY}", "X-API-Key": ADMIN_KEY}


# The document is read once, at collection, from an app that is never started; the calls go
# to an app with the test database (below).
schema = schemathesis.openapi.from_dict(create_app(Settings(auth_disabled=True)).openapi())


@pytest.fixture
def api(
    settings: Settings, database: Database, dispatched: RecordingDispatcher
) -> Iterator[FastAPI]:
    app = create_app(settings, database=database, dispatcher=dispatched)
    with TestClient(app):  # runs the lifespan: the app's database and dispatcher
        yield app


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the fixed seed: the same requests on every run
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api(case: schemathesis.Case[Any], api: FastAPI) -> None:
    case.operation.schema.app = api  # calls go to this app, in process (ASGI)
    case.call_and_validate(app=api, headers=AUTH, excluded_checks=NOT_CHECKED)
