"""T15 for the dashboard: no tenant reads or changes another tenant's data through /ui.

The /ui sub-application's routes are walked from the app itself, as tests/api/test_tenancy.py
walks the API's. Two organizations get one of every object; each organization-bound principal
of one (admin, analyst and viewer; a key of QUANTUN_API_KEYS, a key created through the API,
a token) signs in through the real sign-in form and, with its cookies only, requests every
/ui route with an id on the other's ids, in both directions: every GET answers 404 or 403
without any of the other tenant's names or ids in the page, every form is refused (404 or 403)
and no row changes. Every page without an id shows none of the other tenant's names or ids,
also when filtered by them. A new /ui route this module cannot fill fails
``test_every_ui_route_can_be_filled`` until it is added here.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr
from starlette.routing import Mount

from qrap_api.app import create_app
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.api.test_tenancy import (
    KINDS,
    ROLES,
    Snapshot,
    Tenant,
    _build_tenant,
    _config_keys,
    _fill,
    _ids,
    _path_params,
)
from tests.conftest import RecordingDispatcher
from tests.ui.forms import signed_in

pytestmark = pytest.mark.ui
KNOWN_IDS = {"organization_id", "assessment_id", "finding_id"}
# Forms that touch no tenant's data: they only set or clear this browser's cookies.
NO_TENANT_DATA = {("POST", "/ui/login"), ("POST", "/ui/logout")}
CBOM = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}


def ui_routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) of the sub-application mounted at /ui, with its prefix."""
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/ui")
    dashboard = mount.app
    assert isinstance(dashboard, FastAPI)
    found = [
        (method, mount.path + context.path, context.original_route)
        for context in iter_route_contexts(dashboard.routes)
        if isinstance(context.original_route, APIRoute) and context.path is not None
        for method in sorted(context.methods or ())
    ]
    assert found, "no routes under /ui"
    return found


# The form fields of each form with an id, so that the request reaches the object check.
FORMS: dict[tuple[str, str], dict[str, str]] = {
    ("POST", "/ui/assessments/{assessment_id}/run"): {},
    ("POST", "/ui/assessments/{assessment_id}/cancel"): {},
    ("POST", "/ui/findings/{finding_id}"): {"triage_status": "fixed", "analyst_note": "x"},
}


def creations(victim: Tenant) -> dict[tuple[str, str], dict[str, Any]]:
    """Forms without an id in the path: the caller's own form, aimed at the other tenant."""
    return {
        ("POST", "/ui/assessments"): {
            "data": {
                "name": "intruder",
                "organization_id": victim.org_id,
                "targets": "127.0.0.1:443",
                "run": "true",
            },
            "files": {"cboms": ("x.cdx.json", json.dumps(CBOM).encode(), "application/json")},
        },
        # Organization-bound principals, admins too, never create organizations.
        ("POST", "/ui/organizations"): {"data": {"name": f"intruder-{uuid.uuid4()}"}},
    }


@dataclass
class UiWorld:
    client: TestClient
    tenants: tuple[Tenant, Tenant]
    names: dict[str, set[str]]  # per tenant: names that only its pages may show
    snapshot: Snapshot
    failures: list[str] = field(default_factory=list)

    def secrets(self, victim: Tenant, sent: set[str]) -> set[str]:
        """What must not appear in a page: the victim's ids and names (an id the caller sent
        may be echoed, as in a filter link)."""
        return (set(victim.ids.values()) | self.names[victim.name]) - sent

    def check(self, where: str, status: int, body: str, victim: Tenant, sent: set[str]) -> None:
        if status >= 500:
            self.failures.append(f"{where} answered {status}")
        leaked = sorted(s for s in self.secrets(victim, sent) if s in body)
        if leaked:
            self.failures.append(f"{where} showed {victim.name}'s {leaked}")


def _credential(headers: dict[str, str]) -> tuple[str, str]:
    """The sign-in form's (credential, kind) for an API principal's headers."""
    if "X-API-Key" in headers:
        return headers["X-API-Key"], "apikey"
    return headers["Authorization"].removeprefix("Bearer "), "bearer"


def _names(client: TestClient, tenant: Tenant) -> set[str]:
    org = client.get(f"/api/v1/organizations/{tenant.org_id}")
    assert org.status_code == 200, org.text
    return {org.json()["name"], f"estate {tenant.name}", f"{tenant.name}-vpn"}


@pytest.fixture
def ui_world(
    client: TestClient, settings: Settings, database: Database, dispatched: RecordingDispatcher
) -> Iterator[UiWorld]:
    tenants = (
        _build_tenant(client, "a", database, settings, dispatched),
        _build_tenant(client, "b", database, settings, dispatched),
    )
    names = {tenant.name: _names(client, tenant) for tenant in tenants}
    bound = settings.model_copy(update={"api_keys_raw": SecretStr(_config_keys(tenants))})
    app = create_app(bound, database=database, dispatcher=dispatched)
    # A browser on http://127.0.0.1: cookies only, never an Authorization header.
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as browser:
        yield UiWorld(browser, tenants, names, Snapshot(database))


def _check_routes_with_ids(w: UiWorld, own: Tenant, victim: Tenant, token: str, who: str) -> None:
    for method, path, _ in ui_routes(w.client.app):  # type: ignore[arg-type]  # a FastAPI app
        if not _path_params(path):
            continue
        for ids in _ids(own, victim, path):
            url = _fill(path, ids)
            where = f"{who}: {method} {url} ({path})"
            before = w.snapshot.take()
            if method == "GET":
                response = w.client.get(url, follow_redirects=False)
            else:
                form = {"csrf_token": token, **FORMS[method, path]}
                response = w.client.post(url, data=form, follow_redirects=False)
            if response.status_code not in (403, 404):
                w.failures.append(f"{where} answered {response.status_code}")
            if w.snapshot.take() != before:
                w.failures.append(f"{where} changed rows")
            w.check(where, response.status_code, response.text, victim, set(ids.values()))


def _check_creations(w: UiWorld, victim: Tenant, token: str, who: str) -> None:
    for (method, path), request in creations(victim).items():
        before = w.snapshot.take()
        response = w.client.post(
            path,
            data={"csrf_token": token, **request["data"]},
            files=request.get("files"),
            follow_redirects=False,
        )
        where = f"{who}: {method} {path} for {victim.name}'s organization"
        if response.status_code not in (403, 404):
            w.failures.append(f"{where} answered {response.status_code}")
        if w.snapshot.take() != before:
            w.failures.append(f"{where} changed rows")
        w.check(where, response.status_code, response.text, victim, {victim.org_id})


def _check_pages(w: UiWorld, own: Tenant, victim: Tenant, who: str) -> None:
    """GET pages without a path id, unfiltered and filtered by either tenant's ids."""
    for _, path, route in (r for r in ui_routes(w.client.app) if r[0] == "GET"):  # type: ignore[arg-type]  # a FastAPI app
        if _path_params(path):
            continue
        id_queries = [q.name for q in route.dependant.query_params if q.name in KNOWN_IDS]
        variants: list[dict[str, str]] = [{}]
        variants += [{q: victim.ids[q]} for q in id_queries]
        variants += [{q: own.ids[q]} for q in id_queries]
        for params in variants:
            response = w.client.get(path, params={**params, "limit": 100}, follow_redirects=False)
            where = f"{who}: GET {path} {params}"
            if response.status_code in (301, 302, 303, 307):
                w.failures.append(f"{where} sent the signed-in browser to sign in")
            w.check(where, response.status_code, response.text, victim, set(params.values()))


@pytest.mark.parametrize("kind", KINDS)
def test_no_tenant_reaches_another_through_the_dashboard(ui_world: UiWorld, kind: str) -> None:
    a, b = ui_world.tenants
    for own, victim in ((b, a), (a, b)):
        for role in ROLES:
            who = f"{kind} {role} of {own.name} (cookie)"
            token = signed_in(ui_world.client, *_credential(own.principals[kind, role]))
            _check_routes_with_ids(ui_world, own, victim, token, who)
            _check_creations(ui_world, victim, token, who)
            _check_pages(ui_world, own, victim, who)
    assert ui_world.failures == []


def test_own_objects_are_shown(ui_world: UiWorld) -> None:
    """The control: the same principals, signed in the same way, do see their own objects, so
    the 404s above are the tenant check and not ids that lead nowhere."""
    a, _ = ui_world.tenants
    for kind in KINDS:
        signed_in(ui_world.client, *_credential(a.principals[kind, "viewer"]))
        for path in ("/ui/assessments/{assessment_id}", "/ui/findings/{finding_id}"):
            response = ui_world.client.get(_fill(path, a.ids))
            assert response.status_code == 200, f"{kind}: {path}"
            assert "estate a" in response.text, f"{kind}: {path}"
        listed = ui_world.client.get("/ui/assessments").text
        assert a.ids["assessment_id"] in listed, kind
        assert "a-vpn" in ui_world.client.get("/ui/findings").text, kind


def test_every_ui_route_can_be_filled(settings: Settings) -> None:
    """A new /ui route whose id or form this module cannot fill fails here, naming it."""
    routes = ui_routes(create_app(settings, database=None))
    unknown = {(m, p, param) for m, p, _ in routes for param in _path_params(p)} - {
        (m, p, param) for m, p, _ in routes for param in KNOWN_IDS
    }
    assert unknown == set(), "give the tenants an object for these ids"
    posts = {(m, p) for m, p, _ in routes if m != "GET"}
    with_ids = {(m, p) for m, p in posts if _path_params(p)}
    assert with_ids - set(FORMS) == set(), "give FORMS the form fields of these routes"
    without = posts - with_ids
    covered = set(creations(Tenant("x", {"organization_id": "o"}))) | NO_TENANT_DATA
    assert without - covered == set(), "give creations() a form aimed at the other tenant"
