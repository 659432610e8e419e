"""Prometheus wiring of the deployments (docs/operations.md, "Metrics"): every API and worker
container has a PROMETHEUS_MULTIPROC_DIR on a volume of its own (the root filesystem is read
only), the workers' metrics port is open, and Prometheus (the ``monitoring`` namespace) is
told where to scrape and let through the NetworkPolicies."""

from __future__ import annotations

from typing import Any

import pytest

from qrap_api.ratelimit import EXEMPT_PATHS
from qrap_core.settings import Settings
from tests.deploy.test_manifests import (
    COMPOSE_FILES,
    PROD_ENV,
    _compose,
    _k8s,
    _k8s_objects,
    _service_env,
)

API_PORT = 8083
WORKER_PORT = Settings.model_fields["worker_metrics_port"].default
METRICS_PATH = "/metrics"
# Deployment name: (container name, port Prometheus scrapes)
K8S_SCRAPED = {"api": ("api", API_PORT), "worker-cpu": ("worker", WORKER_PORT)}
K8S_SCRAPED["worker-gpu"] = ("worker", WORKER_PORT)
COMPOSE_SCRAPED = {"api": API_PORT, "worker": WORKER_PORT, "worker-gpu": WORKER_PORT}


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {entry["name"]: entry["value"] for entry in container["env"] if "value" in entry}


def _container(deployment: dict[str, Any], name: str) -> dict[str, Any]:
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        if container["name"] == name:
            return container
    raise AssertionError(f"no container {name}")


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In", "only In expressions are read here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _monitoring_may_reach(labels: dict[str, str], port: int) -> bool:
    for _, doc in _k8s_objects():
        if doc["kind"] != "NetworkPolicy" or not _selects(doc["spec"]["podSelector"], labels):
            continue
        for rule in doc["spec"].get("ingress", []):
            from_monitoring = any(
                peer.get("namespaceSelector", {}).get("matchLabels", {})
                == {"kubernetes.io/metadata.name": "monitoring"}
                and "podSelector" not in peer
                for peer in rule.get("from", [])
            )
            ports = {p["port"] for p in rule.get("ports", [])}
            if from_monitoring and port in ports:
                return True
    return False


@pytest.mark.parametrize("name", sorted(K8S_SCRAPED))
def test_k8s_multiproc_dir_is_an_empty_dir_of_the_pod(name: str) -> None:
    deployment = _k8s("Deployment", name)
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment, K8S_SCRAPED[name][0])
    directory = _env(container)["PROMETHEUS_MULTIPROC_DIR"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert directory in mounts, f"{name}: {directory} is not a mounted volume"
    volume = next(v for v in pod["volumes"] if v["name"] == mounts[directory])
    assert "emptyDir" in volume, f"{name}: {directory} must be the pod's own emptyDir"
    # One instance per directory: no other container of the pod mounts it.
    others = [c for c in pod["containers"] if c is not container]
    assert all(
        mounts[directory] not in {m["name"] for m in c.get("volumeMounts", [])} for c in others
    )


@pytest.mark.parametrize("name", sorted(K8S_SCRAPED))
def test_k8s_pods_are_annotated_for_prometheus_and_reachable_from_monitoring(name: str) -> None:
    deployment = _k8s("Deployment", name)
    container_name, port = K8S_SCRAPED[name]
    container = _container(deployment, container_name)
    template = deployment["spec"]["template"]
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(port)
    assert annotations["prometheus.io/path"] == METRICS_PATH
    assert port in {p["containerPort"] for p in container["ports"]}
    if port == WORKER_PORT:
        assert _env(container)["QRAP_WORKER_METRICS_PORT"] == str(WORKER_PORT)
    assert _monitoring_may_reach(template["metadata"]["labels"], port), (
        f"no NetworkPolicy lets the monitoring namespace reach {name}:{port}"
    )


def test_monitoring_is_not_let_into_the_database() -> None:
    for port in (5432, 6379):
        for app in ("postgres", "redis"):
            assert not _monitoring_may_reach({"app": app}, port)


@pytest.mark.parametrize("file", COMPOSE_FILES)
@pytest.mark.parametrize("service_name", sorted(COMPOSE_SCRAPED))
def test_compose_multiproc_dir_is_a_tmpfs_of_the_container(file: str, service_name: str) -> None:
    service = _compose(file)["services"][service_name]
    env = _service_env(service, PROD_ENV)
    directory = env["PROMETHEUS_MULTIPROC_DIR"]
    assert service["read_only"] is True
    tmpfs = {entry.split(":", 1)[0] for entry in service["tmpfs"]}
    assert directory in tmpfs, f"{file}: {service_name}: {directory} is not a tmpfs"
    port = COMPOSE_SCRAPED[service_name]
    if port == WORKER_PORT:
        assert env["QRAP_WORKER_METRICS_PORT"] == str(WORKER_PORT)
        assert str(WORKER_PORT) in {str(p) for p in service["expose"]}


def test_scrapes_are_not_rate_limited() -> None:
    assert METRICS_PATH in EXEMPT_PATHS
