"""Every form of the dashboard that changes something writes exactly the audit entries of the
API call it stands for, walked over the /ui sub-application's POST routes with the app
connected as the least-privilege application role.

Each step does one thing through a /ui form, signed in with a cookie, and the same thing
through the API (its twin); both must write the expected entries, with the same actions,
object types, actor and details (ids, names and run numbers aside). A new /ui POST route fails
``test_the_walk_covers_every_ui_form`` until WALK names it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from qrap_api.app import create_app
from qrap_core.audit.models import AuditLogEntry
from qrap_core.db import Database
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher
from tests.ui.forms import csrf, sign_in
from tests.ui.test_ui_tenancy import ui_routes

pytestmark = pytest.mark.ui
ADMIN_SUBJECT = "ci-admin"  # the subject of ADMIN_KEY in the settings fixture
API = {"Authorization": f"ApiKey {ADMIN_KEY}"}
INVENTORY = {"assets": [{"asset": "walk-vpn", "algorithm": "RSA-1024"}]}
CBOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [
    {"type": "cryptographic-asset", "name": "RSA-1024", "bom-ref": "alg:0",
     "cryptoProperties": {"assetType": "algorithm"}}]}  # fmt: skip
# Details that differ between the form's object and its twin's by nature.
VOLATILE = {"name", "run_id", "run_number", "artifact_id", "assessment_id", "rule_id", "sha256"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class World:
    browser: TestClient  # cookies only; API calls send their own header
    owner: Database
    app_db: Database
    settings: Settings
    dispatched: RecordingDispatcher
    ids: dict[str, str] = field(default_factory=dict)

    def form(self, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        """Post a /ui form with this session's CSRF token; a 303 is the form's success."""
        token = csrf(self.browser, "/ui/hndl")
        url = path.format(**self.ids)
        answer: httpx.Response = self.browser.post(
            url, data={"csrf_token": token, **data}, follow_redirects=False, **kwargs
        )
        assert answer.status_code == 303, f"POST {url}: {answer.status_code} {answer.text[:500]}"
        return answer

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer: httpx.Response = self.browser.request(
            method, path.format(**self.ids), headers=API, **kwargs
        )
        assert answer.is_success, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer

    def complete_runs(self) -> None:
        """The worker's part for every run sent so far (its entries are SYSTEM's)."""
        for task in self.dispatched.sent:
            RunExecutor(self.app_db, self.settings).execute(uuid.UUID(task.kwargs["run_id"]))
        self.dispatched.sent.clear()

    def first_finding(self, assessment_key: str) -> str:
        findings = self.api(
            "GET", "/api/v1/findings", params={"assessment_id": self.ids[assessment_key]}
        )
        return str(findings.json()["findings"][0]["id"])


def _created_id(answer: httpx.Response) -> str:
    return answer.headers["location"].split("?")[0].rstrip("/").split("/")[-1]


def _files(*, cbom: bool) -> list[tuple[str, tuple[str, bytes, str]]]:
    files = [("inventories", ("estate.json", json.dumps(INVENTORY).encode(), "application/json"))]
    if cbom:
        files.append(("cboms", ("estate.cdx.json", json.dumps(CBOM).encode(), "application/json")))
    return files


# -- the steps: (the form, its API twin), each returning the actions expected --------------


def _sign_in(w: World) -> list[str]:
    answer = sign_in(w.browser, ADMIN_KEY)
    assert answer.status_code == 303, answer.text
    return []


def _create_org(w: World) -> list[str]:
    answer = w.form("/ui/organizations", {"name": f"ui-walk-{uuid.uuid4()}"})
    w.ids["organization_id"] = answer.headers["location"].split("organization_id=")[1]
    return ["organization.create"]


def _create_org_twin(w: World) -> list[str]:
    w.api("POST", "/api/v1/organizations", json={"name": f"api-walk-{uuid.uuid4()}"})
    return ["organization.create"]


def _create_and_run(w: World) -> list[str]:
    """Hosts and an inventory file, run at once: one create that queues the run."""
    answer = w.form(
        "/ui/assessments",
        {"name": "walk", "organization_id": w.ids["organization_id"], "run": "true"},
        files=_files(cbom=False),
    )
    w.ids["assessment_id"] = _created_id(answer)
    return ["assessment.create", "assessment.run"]


def _create_and_run_twin(w: World) -> list[str]:
    body = w.api(
        "POST",
        "/api/v1/assessments",
        json={"name": "walk", "organization_id": w.ids["organization_id"], "run": True,
              "targets": [{"type": "inventory", "name": "estate.json", **INVENTORY}]},
    ).json()  # fmt: skip
    w.ids["twin_id"] = body["id"]
    return ["assessment.create", "assessment.run"]


def _create_with_cbom(w: World) -> list[str]:
    """With an uploaded CBOM: create, the upload, then the run, as an API client does them."""
    answer = w.form(
        "/ui/assessments",
        {"name": "walk", "organization_id": w.ids["organization_id"], "run": "true"},
        files=_files(cbom=True),
    )
    w.ids["cbom_assessment_id"] = _created_id(answer)
    return ["assessment.create", "assessment.artifact.add", "assessment.run"]


def _create_with_cbom_twin(w: World) -> list[str]:
    body = w.api(
        "POST",
        "/api/v1/assessments",
        json={"name": "walk", "organization_id": w.ids["organization_id"],
              "targets": [{"type": "inventory", "name": "estate.json", **INVENTORY}]},
    ).json()  # fmt: skip
    w.ids["twin_cbom_id"] = body["id"]
    document = json.dumps(CBOM).encode()
    w.api(
        "POST",
        "/api/v1/assessments/{twin_cbom_id}/artifacts",
        files={"file": ("estate.cdx.json", document, "application/json")},
    )
    w.api("POST", "/api/v1/assessments/{twin_cbom_id}/run")
    return ["assessment.create", "assessment.artifact.add", "assessment.run"]


def _complete_the_runs(w: World) -> None:
    """Between steps: the next ones triage a finding and run again."""
    w.complete_runs()
    w.ids["finding_id"] = w.first_finding("assessment_id")
    w.ids["twin_finding_id"] = w.first_finding("twin_id")


def _triage(w: World) -> list[str]:
    w.form(
        "/ui/findings/{finding_id}",
        {"triage_status": "accepted_risk", "analyst_risk_level": "LOW", "analyst_note": "ok"},
    )
    return ["finding.triaged"]


def _triage_twin(w: World) -> list[str]:
    w.api(
        "PATCH",
        "/api/v1/findings/{twin_finding_id}",
        json={"triage_status": "accepted_risk", "analyst_risk_level": "LOW", "analyst_note": "ok"},
    )
    return ["finding.triaged"]


def _run(w: World) -> list[str]:
    w.form("/ui/assessments/{assessment_id}/run", {})
    return ["assessment.run"]


def _run_twin(w: World) -> list[str]:
    w.api("POST", "/api/v1/assessments/{twin_id}/run")
    return ["assessment.run"]


def _cancel(w: World) -> list[str]:
    w.form("/ui/assessments/{assessment_id}/cancel", {})
    return ["assessment.cancel"]


def _cancel_twin(w: World) -> list[str]:
    w.api("POST", "/api/v1/assessments/{twin_id}/cancel")
    return ["assessment.cancel"]


def _sign_out(w: World) -> list[str]:
    w.form("/ui/logout", {})
    return []


Step = Callable[[World], list[str]]
# In order: each step may use what an earlier one created. A step without a twin changes
# nothing the API could (it sets or clears this browser's cookies).
WALK: list[tuple[str, str, Step, Step | None]] = [
    ("POST", "/ui/login", _sign_in, None),
    ("POST", "/ui/organizations", _create_org, _create_org_twin),
    ("POST", "/ui/assessments", _create_and_run, _create_and_run_twin),
    ("POST", "/ui/assessments", _create_with_cbom, _create_with_cbom_twin),
    ("POST", "/ui/findings/{finding_id}", _triage, _triage_twin),
    ("POST", "/ui/assessments/{assessment_id}/run", _run, _run_twin),
    ("POST", "/ui/assessments/{assessment_id}/cancel", _cancel, _cancel_twin),
    ("POST", "/ui/logout", _sign_out, None),
]
BETWEEN: dict[Step, Callable[[World], None]] = {_create_with_cbom_twin: _complete_the_runs}


@pytest.fixture
def world(
    settings: Settings, database: Database, app_db: Database, dispatched: RecordingDispatcher
) -> Iterator[World]:
    app = create_app(settings, database=app_db, dispatcher=dispatched)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as browser:
        yield World(browser, database, app_db, settings, dispatched)


def _entries_of(w: World, step: Step) -> tuple[list[str], list[tuple[Any, ...]]]:
    """What ``step`` expects, and the entries it wrote: comparable across form and twin."""
    with w.owner.unit_of_work() as uow:
        before = uow.session.scalar(select(func.max(AuditLogEntry.id))) or 0
    expected = step(w)
    with w.owner.unit_of_work() as uow:
        written = uow.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.id > before).order_by(AuditLogEntry.id)
        ).all()
        entries = sorted(
            (
                entry.action,
                entry.object_type,
                entry.actor,
                entry.actor_type,
                str(entry.organization_id) if entry.organization_id else None,
                json.dumps(
                    {k: v for k, v in (entry.details or {}).items() if k not in VOLATILE},
                    sort_keys=True,
                ),
            )
            for entry in written
        )
    return sorted(expected), entries


def test_the_walk_covers_every_ui_form(settings: Settings) -> None:
    """A new /ui route that may change something fails here until WALK names it."""
    routes = {
        (method, path)
        for method, path, _ in ui_routes(create_app(settings, database=None))
        if method in MUTATING
    }
    walked = {(method, path) for method, path, _, _ in WALK}
    assert routes - walked == set(), "/ui forms the audit walk does not cover"
    assert walked - routes == set(), "walk steps for /ui routes the app does not have"


def test_every_form_writes_the_entries_of_its_api_call(world: World) -> None:
    for method, path, step, twin in WALK:
        expected, entries = _entries_of(world, step)
        assert [entry[0] for entry in entries] == expected, f"{method} {path}"
        for action, _, actor, actor_type, organization_id, _ in entries:
            where = f"{method} {path}: {action}"
            assert (actor, actor_type) == (ADMIN_SUBJECT, "api_key"), where
            assert organization_id == world.ids["organization_id"], where
        if twin is not None:
            twin_expected, twin_entries = _entries_of(world, twin)
            assert twin_expected == expected, f"{method} {path}: the twin does another thing"
            if path != "/ui/organizations":  # its twin is another organization
                assert entries == twin_entries, f"{method} {path}: not what the API writes"
            else:
                assert [e[:4] for e in entries] == [e[:4] for e in twin_entries], path
            if twin in BETWEEN:
                BETWEEN[twin](world)
