"""The owner/app split in the deployment files: only the migrations connect as the owner of the
tables; the API and the workers connect as the least-privilege application role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
# Services that reach PostgreSQL (beat and Flower get broker settings only in production).
DB_SERVICES = ("api", "worker", "worker-gpu")
K8S_APP = {"api.yaml": "api", "worker-cpu.yaml": "worker-cpu", "worker-gpu.yaml": "worker-gpu"}


def _yaml_docs(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def _compose_services(name: str) -> dict[str, Any]:
    services: dict[str, Any] = _yaml_docs(ROOT / "docker" / name)[0]["services"]
    return services


@pytest.mark.parametrize(
    ("name", "owner", "app"),
    [
        ("compose.yml", "qrap", "qrap_app"),
        ("compose.prod.yml", "${QRAP_DB_USER:-qrap}", "${QRAP_DB_APP_ROLE:-qrap_app}"),
    ],
)
def test_compose_migrates_as_owner_and_serves_as_app_role(name: str, owner: str, app: str) -> None:
    services = _compose_services(name)
    assert services["migrate"]["environment"]["QRAP_DB_USER"] == owner
    for service in DB_SERVICES:
        assert services[service]["environment"]["QRAP_DB_USER"] == app, service


def test_production_compose_keeps_the_owner_password_from_the_services() -> None:
    services = _compose_services("compose.prod.yml")
    assert services["migrate"]["environment"]["QRAP_DB_PASSWORD"].startswith("${QRAP_DB_PASSWORD")
    for service in DB_SERVICES:
        password = services[service]["environment"]["QRAP_DB_PASSWORD"]
        assert password.startswith("${APP_DB_PASSWORD:?"), service
    postgres = services["postgres"]
    assert "./postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    assert (ROOT / "docker" / "postgres-init" / "app-role.sh").is_file()


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry.get("valueFrom", {}) for entry in container.get("env", [])}


def test_k8s_migration_job_is_the_only_owner() -> None:
    (job,) = _yaml_docs(ROOT / "k8s" / "migrate-job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = _env(container)
    assert "QRAP_DB_USER" not in env  # the ConfigMap's QRAP_DB_USER: the owner
    assert env["QRAP_DB_PASSWORD"]["secretKeyRef"]["key"] == "QRAP_DB_PASSWORD"
    (config,) = _yaml_docs(ROOT / "k8s" / "configmap.yaml")
    assert config["data"]["QRAP_DB_APP_ROLE"] != config["data"]["QRAP_DB_USER"]


@pytest.mark.parametrize(("file", "name"), K8S_APP.items())
def test_k8s_services_connect_as_the_app_role(file: str, name: str) -> None:
    deployments = [
        doc
        for doc in _yaml_docs(ROOT / "k8s" / file)
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == name
    ]
    assert deployments, f"no Deployment {name} in k8s/{file}"
    pod = deployments[0]["spec"]["template"]["spec"]
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        env = _env(container)
        if "QRAP_DB_PASSWORD" not in env:
            continue
        where = f"{file}: {container['name']}"
        assert env["QRAP_DB_USER"]["configMapKeyRef"]["key"] == "QRAP_DB_APP_ROLE", where
        assert env["QRAP_DB_PASSWORD"]["secretKeyRef"]["key"] == "APP_DB_PASSWORD", where
