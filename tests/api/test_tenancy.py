"""T15: no tenant reads or changes another tenant's data, on every route, present and future.

The routes are walked from the app itself. Two organizations get one of every object; then
each organization-bound principal of one (admin, analyst and viewer; a key of
QUANTUN_API_KEYS, a key created through the API, a token) calls every route with an id on the
other's ids, in both directions: the answer is 404 or 403 and no row changes. Every list
answers without any of the other tenant's ids. A new route with an id that this module cannot
fill fails ``test_every_route_with_an_id_can_be_filled`` until its id is added to ``_ids``.
"""

from __future__ import annotations

import itertools
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select, text

from qrap_api.app import create_app
from qrap_api.auth import issue_token
from qrap_core.db import Database
from qrap_core.models import Base
from qrap_core.pipeline import RunExecutor
from qrap_core.settings import Settings
from qrap_core.webhook.models import WebhookDelivery
from tests.conftest import ADMIN_KEY, RecordingDispatcher

ROLES = ("admin", "analyst", "viewer")
KINDS = ("config", "stored", "token")
# Path parameters that are not object ids: the same value for both tenants.
SHARED = {"run_number": "1"}
_PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass
class Tenant:
    name: str
    ids: dict[str, str] = field(default_factory=dict)
    principals: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    @property
    def org_id(self) -> str:
        return self.ids["organization_id"]


def _routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    """Every (method, path, route) the app serves, included routers too."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and context.path is not None:
            found.extend((method, context.path, route) for method in sorted(context.methods or ()))
    return found


def _path_params(path: str) -> list[str]:
    return _PARAM.findall(path)


# A valid body for each route with an id that takes one, so that the request reaches the
# object check instead of failing validation first.
def _bodies() -> dict[tuple[str, str], dict[str, Any]]:
    cbom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
    return {
        ("PATCH", "/api/v1/findings/{finding_id}"): {"json": {"triage_status": "fixed"}},
        ("PUT", "/api/v1/assessments/{assessment_id}/schedule"): {
            "json": {"schedule": "0 3 * * *"}
        },
        ("POST", "/api/v1/assessments/{assessment_id}/artifacts"): {
            "files": {"file": ("x.cdx.json", json.dumps(cbom).encode(), "application/json")}
        },
    }


# Routes without a path id that name an organization in their body: the caller's own body,
# with the other tenant's organization.
def _creations(victim: Tenant) -> dict[tuple[str, str], dict[str, Any]]:
    org = victim.org_id
    return {
        ("POST", "/api/v1/assessments"): {
            "json": {"name": "intruder", "organization_id": org, "targets": []}
        },
        ("POST", "/api/v1/webhooks"): {
            "json": {"organization_id": org, "url": "https://93.184.216.34/h"}
        },
        ("POST", "/api/v1/api-keys"): {
            "json": {"name": "intruder", "role": "viewer", "organization_id": org}
        },
    }


def _fill(path: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: ids[m.group(1)], path)


class Snapshot:
    """A digest of every table's rows, to show that a refused request changed nothing."""

    # A key's last use is noted when it authenticates, before any object check.
    IGNORED = "last_used_at"

    def __init__(self, database: Database) -> None:
        self.database = database
        self.tables = [t.name for t in Base.metadata.sorted_tables]

    def take(self) -> dict[str, str]:
        digests = {}
        with self.database.engine.connect() as connection:
            for table in self.tables:
                digests[table] = connection.execute(
                    text(
                        "SELECT coalesce(md5(string_agg(r, ',' ORDER BY r)), '') FROM"  # noqa: S608  # table names from our own metadata
                        f" (SELECT (to_jsonb(t) - '{self.IGNORED}')::text AS r FROM {table} t) s"
                    )
                ).scalar_one()
        return digests


@dataclass
class World:
    client: TestClient
    database: Database
    tenants: tuple[Tenant, Tenant]
    snapshot: Snapshot
    failures: list[str] = field(default_factory=list)


def _build_tenant(
    client: TestClient,
    name: str,
    database: Database,
    settings: Settings,
    dispatched: RecordingDispatcher,
) -> Tenant:
    """One organization with one of everything, made by the platform admin."""
    tenant = Tenant(name)
    org = client.post("/api/v1/organizations", json={"name": f"tenant-{name}-{uuid.uuid4()}"})
    assert org.status_code == 201, org.text
    tenant.ids["organization_id"] = org.json()["id"]
    hook = client.post(
        "/api/v1/webhooks",
        json={"organization_id": tenant.org_id, "url": "https://93.184.216.34/h",
              "events": ["assessment.completed"]},
    )  # fmt: skip
    assert hook.status_code == 201, hook.text
    tenant.ids["endpoint_id"] = hook.json()["id"]
    created = client.post(
        "/api/v1/assessments",
        json={"name": f"estate {name}", "organization_id": tenant.org_id, "run": True,
              "targets": [{"type": "inventory", "name": "estate",
                           "assets": [{"asset": f"{name}-vpn", "algorithm": "RSA-1024"}]}]},
    )  # fmt: skip
    assert created.status_code == 202, created.text
    tenant.ids["assessment_id"] = created.json()["id"]
    run_id = uuid.UUID(dispatched.sent[-1].kwargs["run_id"])
    assert RunExecutor(database, settings).execute(run_id).status == "COMPLETED"
    findings = client.get("/api/v1/findings", params={"assessment_id": tenant.ids["assessment_id"]})
    tenant.ids["finding_id"] = findings.json()["findings"][0]["id"]
    cbom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": []}
    artifact = client.post(
        f"/api/v1/assessments/{tenant.ids['assessment_id']}/artifacts",
        files={"file": ("estate.cdx.json", json.dumps(cbom).encode(), "application/json")},
    )
    assert artifact.status_code == 201, artifact.text
    tenant.ids["artifact_id"] = artifact.json()["id"]
    with database.unit_of_work() as uow:
        delivery = uow.session.scalars(
            select(WebhookDelivery.id).where(
                WebhookDelivery.endpoint_id == uuid.UUID(tenant.ids["endpoint_id"])
            )
        ).first()
    assert delivery is not None
    tenant.ids["delivery_id"] = str(delivery)
    for role in ROLES:
        key = client.post(
            "/api/v1/api-keys",
            json={"name": f"{name} {role}", "role": role, "organization_id": tenant.org_id},
        )
        assert key.status_code == 201, key.text
        tenant.ids.setdefault("api_key_id", key.json()["id"])
        tenant.principals["stored", role] = {"X-API-Key": key.json()["key"]}
        token = issue_token(settings, subject=f"{name}-{role}", role=role, org_ids=[tenant.org_id])
        tenant.principals["token", role] = {"Authorization": f"Bearer {token}"}
        config_key = f"{name}-{role}-config-key-{uuid.uuid4().hex}"
        tenant.principals["config", role] = {"X-API-Key": config_key}
    return tenant


def _config_keys(tenants: tuple[Tenant, Tenant]) -> str:
    entries = [f"{ADMIN_KEY}:ci-admin:admin"]
    for tenant in tenants:
        for role in ROLES:
            key = tenant.principals["config", role]["X-API-Key"]
            entries.append(f"{key}:{tenant.name}-{role}-config:{role}:{tenant.org_id}")
    return ",".join(entries)


@pytest.fixture
def world(
    client: TestClient, settings: Settings, database: Database, dispatched: RecordingDispatcher
) -> Iterator[World]:
    tenants = (
        _build_tenant(client, "a", database, settings, dispatched),
        _build_tenant(client, "b", database, settings, dispatched),
    )
    # The same database, now with QUANTUN_API_KEYS entries bound to the two organizations.
    bound = settings.model_copy(update={"api_keys_raw": SecretStr(_config_keys(tenants))})
    app = create_app(bound, database=database, dispatcher=dispatched)
    with TestClient(app, raise_server_exceptions=False) as tenant_client:
        tenant_client.headers.pop("Authorization", None)
        yield World(tenant_client, database, tenants, Snapshot(database))


def _ids(own: Tenant, victim: Tenant, path: str) -> Iterator[dict[str, str]]:
    """Every filling of ``path``'s ids with at least one of the victim's."""
    params = [p for p in _path_params(path) if p not in SHARED]
    for owners in itertools.product((own, victim), repeat=len(params)):
        if victim not in owners:
            continue
        ids = dict(SHARED)
        ids.update({p: tenant.ids[p] for p, tenant in zip(params, owners, strict=True)})
        yield ids


def _check_routes_with_ids(world: World, kind: str, own: Tenant, victim: Tenant) -> None:
    routes = [(m, p) for m, p, _ in _routes(world.client.app) if _path_params(p)]  # type: ignore[arg-type]  # a FastAPI app
    bodies = _bodies()
    for role in ROLES:
        headers = own.principals[kind, role]
        for method, path in routes:
            for ids in _ids(own, victim, path):
                url = _fill(path, ids)
                before = world.snapshot.take()
                response = world.client.request(
                    method, url, headers=headers, **bodies.get((method, path), {})
                )
                where = f"{kind} {role} of {own.name}: {method} {url} ({path})"
                if response.status_code not in (403, 404):
                    world.failures.append(f"{where} answered {response.status_code}")
                if world.snapshot.take() != before:
                    world.failures.append(f"{where} changed rows")


def _check_creations(world: World, kind: str, own: Tenant, victim: Tenant) -> None:
    for role in ROLES:
        headers = own.principals[kind, role]
        for (method, path), body in _creations(victim).items():
            before = world.snapshot.take()
            response = world.client.request(method, path, headers=headers, **body)
            where = f"{kind} {role} of {own.name}: {method} {path} for {victim.name}'s org"
            if response.status_code not in (403, 404):
                world.failures.append(f"{where} answered {response.status_code}")
            if world.snapshot.take() != before:
                world.failures.append(f"{where} changed rows")


def _check_lists(world: World, kind: str, own: Tenant, victim: Tenant) -> None:
    """GET routes without a path id, unfiltered and filtered by the victim's ids."""
    secrets = set(victim.ids.values())
    for _, path, route in (r for r in _routes(world.client.app) if r[0] == "GET"):  # type: ignore[arg-type]  # a FastAPI app
        if _path_params(path):
            continue
        id_queries = [q.name for q in route.dependant.query_params if q.name in victim.ids]
        variants: list[dict[str, str]] = [{}] if not id_queries else []
        variants += [{q: victim.ids[q]} for q in id_queries]
        variants += [{q: own.ids[q]} for q in id_queries]
        for role in ROLES:
            for params in variants:
                response = world.client.get(
                    path, params={**params, "limit": 100}, headers=own.principals[kind, role]
                )
                where = f"{kind} {role} of {own.name}: GET {path} {params}"
                if response.status_code >= 500:
                    world.failures.append(f"{where} answered {response.status_code}")
                # An error may echo the id the caller sent; any other of the victim's is a leak.
                leaked = [s for s in secrets - set(params.values()) if s in response.text]
                if leaked:
                    world.failures.append(f"{where} leaked {victim.name}'s {leaked}")


@pytest.mark.parametrize("kind", KINDS)
def test_no_tenant_reaches_another(world: World, kind: str) -> None:
    a, b = world.tenants
    for own, victim in ((a, b), (b, a)):
        _check_routes_with_ids(world, kind, own, victim)
        _check_creations(world, kind, own, victim)
        _check_lists(world, kind, own, victim)
    assert world.failures == []


def test_own_ids_are_reachable(world: World) -> None:
    """The control: the same principals do reach their own objects (the ids are real)."""
    a, _ = world.tenants
    for kind in KINDS:
        headers = a.principals[kind, "viewer"]
        for path in (
            "/api/v1/organizations/{organization_id}",
            "/api/v1/assessments/{assessment_id}",
            "/api/v1/findings/{finding_id}",
            "/api/v1/webhooks/{endpoint_id}",
            "/api/v1/webhooks/{endpoint_id}/deliveries",
            "/api/v1/assessments/{assessment_id}/artifacts",
        ):
            response = world.client.get(_fill(path, a.ids), headers=headers)
            assert response.status_code == 200, f"{kind}: {path}"
        admin = a.principals[kind, "admin"]
        key = world.client.get(_fill("/api/v1/api-keys/{api_key_id}", a.ids), headers=admin)
        assert key.status_code == 200, kind


def test_every_route_with_an_id_can_be_filled(settings: Settings) -> None:
    """A new route whose path id this module cannot fill fails here, naming it."""
    app = create_app(settings, database=None)
    known = {
        "organization_id", "assessment_id", "finding_id", "endpoint_id", "delivery_id",
        "artifact_id", "api_key_id", *SHARED,
    }  # fmt: skip
    unknown = {
        (method, path, param)
        for method, path, _ in _routes(app)
        for param in _path_params(path)
        if param not in known
    }
    assert unknown == set(), "give _build_tenant an object for these ids"
    body_routes = {
        (method, path)
        for method, path, route in _routes(app)
        if _path_params(path) and route.body_field is not None
    }
    assert body_routes - set(_bodies()) == set(), "give _bodies a valid body"
    creations = {
        (method, path)
        for method, path, route in _routes(app)
        if not _path_params(path)
        and route.body_field is not None
        and "organization_id" in getattr(route.body_field.field_info.annotation, "model_fields", {})
    }
    assert creations - set(_creations(Tenant("x", {"organization_id": "o"}))) == set()
