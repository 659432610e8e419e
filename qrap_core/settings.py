"""Settings: the one place that reads the environment."""

from __future__ import annotations

import ipaddress
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote_plus

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qrap_core.errors import ConfigurationError

ApiKeyRole = Literal["admin", "analyst", "viewer"]
MIN_JWT_SECRET_BYTES = 32
MIN_PRODUCTION_KEY_LENGTH = 32


class ApiKeyEntry:
    """One `key:subject:role[:organization_id]` entry of QUANTUN_API_KEYS.

    With an organization id the key sees that organization only; a three-field ``admin`` entry
    is the platform admin (every organization, and the only one that creates organizations).
    """

    __slots__ = ("key", "organization_id", "role", "subject")

    def __init__(
        self, key: str, subject: str, role: ApiKeyRole, organization_id: uuid.UUID | None = None
    ) -> None:
        self.key = key
        self.subject = subject
        self.role = role
        self.organization_id = organization_id

    @property
    def platform_admin(self) -> bool:
        return self.organization_id is None and self.role == "admin"

    def __repr__(self) -> str:  # never print the key itself
        return (
            f"ApiKeyEntry(subject={self.subject!r}, role={self.role!r},"
            f" organization_id={self.organization_id!r})"
        )


class Settings(BaseSettings):
    """Every setting QRAP reads. Names keep the original deployment guide's variables."""

    model_config = SettingsConfigDict(env_prefix="QRAP_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = Field(
        default="development",
        description="`production`: JSON logs and the stricter checks (no auth bypass, no debug, "
        "long idempotency TTL).",
    )

    # Database: QRAP_DATABASE_URL wins over the parts kept from the original service.
    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgres://, postgresql:// or postgresql+psycopg2://) or "
        "sqlite:///path; wins over the QRAP_DB_* parts.",
    )
    db_host: str = Field(
        default="127.0.0.1", description="PostgreSQL host (when QRAP_DATABASE_URL is unset)."
    )
    db_port: int = Field(default=5432, ge=1, le=65535, description="PostgreSQL port.")
    db_name: str = Field(default="qrap", description="PostgreSQL database name.")
    db_user: str = Field(default="postgres", description="PostgreSQL user.")
    db_password: SecretStr | None = Field(default=None, description="PostgreSQL password (secret).")
    db_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = (
        Field(
            default="prefer",
            description="libpq sslmode; `require` or `verify-full` for a database across a "
            "network.",
        )
    )
    db_read_url: str | None = Field(
        default=None,
        description="A read replica for lists and reports (read-only transactions); unset:"
        " everything reads from the primary. Same URL forms as QRAP_DATABASE_URL.",
    )
    db_max_conns: int = Field(
        default=50,
        ge=1,
        le=1000,
        description="Most database connections per API process (pool size plus overflow).",
    )
    db_min_conns: int = Field(
        default=5,
        ge=0,
        le=1000,
        description="Database connections each API process keeps open at least; it keeps one"
        " per QRAP_API_THREADS thread when QRAP_DB_MAX_CONNS allows.",
    )
    api_threads: int = Field(
        default=40,
        ge=1,
        le=1000,
        description="Worker threads per API process that run the synchronous routes (AnyIO's"
        " default, 40); the pool keeps as many connections, so a busy API reuses them instead"
        " of opening one per request.",
    )
    # The least-privilege role the migrations grant to (docs/deployment.md): the API and the
    # workers connect as it; the migrations run as the owner of the tables.
    db_app_role: str = Field(
        default="qrap_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="The least-privilege role the migrations grant to; the API and workers connect"
        " as it.",
    )

    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Redis: the Celery broker, rate limits and live events.",
    )
    broker_url: str | None = Field(
        default=None, description="Celery broker URL when it differs from QRAP_REDIS_URL."
    )  # defaults to redis_url

    api_port: int = Field(default=8083, ge=1, le=65535, description="Port the API listens on.")
    log_level: Literal["debug", "info", "warn", "warning", "error"] = Field(
        default="info", description="Log level of every process."
    )
    # Prometheus (docs/operations.md): GET /metrics is internal-only; keep it off public routes.
    metrics_enabled: bool = Field(default=True, description="Serve GET /metrics (Prometheus).")
    metrics_require_auth: bool = Field(
        default=False, description="Only an admin's credentials may scrape GET /metrics."
    )  # true: only an admin's credentials may scrape
    worker_metrics_port: int = Field(
        default=9808,
        ge=0,
        le=65535,
        description="Port each worker serves its Prometheus metrics on; 0: none.",
    )  # 0: no worker endpoint
    # prometheus_client's own variable; set before the process starts: one directory per API or
    # worker instance, shared by its processes (uvicorn --workers, prefork children).
    prometheus_multiproc_dir: Path | None = Field(
        default=None,
        validation_alias="PROMETHEUS_MULTIPROC_DIR",
        description="Directory shared by the processes of one API container so /metrics adds them "
        "up (several uvicorn workers).",
    )
    rate_limit: int = Field(
        default=100,
        ge=1,
        description="Requests per minute per principal (failed authentication: a fifth of it, per "
        "client address), shared through Redis.",
    )
    # Redis down: serve (and log a warning) when true, answer 503 when false.
    rate_limit_fail_open: bool = Field(
        default=True,
        description="Redis down: serve unlimited and log a warning (true) or answer 503 (false).",
    )
    max_body_size: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest request body in bytes, except CBOM uploads.",
    )
    # Request headers, names and values in all: more answers 431 (uvicorn is started with the
    # same --h11-max-incomplete-event-size, which refuses them before they are buffered).
    max_header_size: int = Field(
        default=16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request headers in bytes in all; more answers 431.",
    )

    # HS256 secret (32+ bytes; empty counts as unset) and/or a JWKS URL for RS256/ES256 keys.
    jwt_secret: SecretStr | None = Field(
        default=None,
        validation_alias="QUANTUN_JWT_SECRET",
        description="HS256 secret for bearer tokens (secret, 32+ bytes; empty counts as unset).",
    )
    jwt_issuer: str = Field(
        default="qrap",
        validation_alias="QUANTUN_JWT_ISSUER",
        description="Issuer (iss) of accepted and issued tokens.",
    )
    jwt_audience: str | None = Field(
        default=None,
        validation_alias="QUANTUN_JWT_AUDIENCE",
        description="Audience (aud) required in tokens, if set.",
    )
    jwt_jwks_url: str | None = Field(
        default=None,
        validation_alias="QUANTUN_JWT_JWKS_URL",
        description="JWKS URL for RS256/ES256 tokens of an external identity provider.",
    )
    api_keys_raw: SecretStr | None = Field(
        default=None,
        validation_alias="QUANTUN_API_KEYS",
        description="API keys, comma-separated `key:subject:role[:organization_id]` (secret).",
    )
    auth_disabled: bool = Field(
        default=False,
        description="Turn authentication off (local development only; refused in production).",
    )
    # Signs the dashboard's CSRF tokens (qrap_api/ui); unset, each API process draws its own.
    ui_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the dashboard's CSRF tokens (secret; set it when several"
        " API processes serve /ui; unset, each process draws a random one).",
    )
    # FastAPI debug mode (tracebacks in answers); refused in production.
    debug: bool = Field(
        default=False,
        description="FastAPI debug mode, tracebacks in answers (refused in production).",
    )
    # /docs, /redoc and /openapi.json: public, behind authentication, or off. Unset: public in
    # development, authenticated in production (where public is refused).
    api_docs: Literal["public", "authenticated", "off"] | None = Field(
        default=None,
        description="/docs, /redoc and /openapi.json: public, authenticated or off; unset: public "
        "in development, authenticated in production.",
    )

    worker_device: Literal["cpu", "cuda"] = Field(
        default="cpu", description="Where workers score: cpu, or cuda in the GPU image."
    )
    worker_concurrency: int = Field(
        default=2, ge=1, le=64, description="Processes per worker container."
    )

    # Probes: loopback and private ranges are reached only when listed here.
    scan_allow_networks: str = Field(
        default="",
        description="Comma-separated private or loopback CIDRs that probes may reach (none by "
        "default).",
    )
    probe_timeout: float = Field(
        default=5.0, gt=0, le=120, description="Seconds for one network probe."
    )
    # Open probe connections across all endpoints of a run (the asyncio probe pool).
    probe_concurrency: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description="Open probe connections across all endpoints of a run.",
    )
    # Uploaded CBOM documents: their own body limit, above the generic max_body_size.
    cbom_max_upload_size: int = Field(
        default=50 * 1024 * 1024,
        ge=1024,
        description="Largest uploaded CBOM in bytes (its own limit, above QRAP_MAX_BODY_SIZE).",
    )
    # Components (nested ones included) in one CBOM, counted while it streams: a 50 MB upload
    # holds about 100,000 typical crypto components of ~500 bytes.
    cbom_max_components: int = Field(
        default=100_000, ge=1, description="Most components accepted in one CBOM."
    )

    # Runs: a claimed run's lease; an expired lease lets another worker take it over.
    run_lease_seconds: int = Field(
        default=60,
        ge=5,
        description="Lease of a claimed run; once expired, another worker may take it over.",
    )
    run_max_attempts: int = Field(
        default=3, ge=1, le=20, description="Attempts per run before it fails."
    )
    # Big runs fan out: more targets than this are cut into chunk tasks any worker may take.
    chunk_size: int = Field(
        default=200,
        ge=1,
        le=100_000,
        description="Targets per chunk: a run with more targets is cut into chunks that any "
        "worker may take.",
    )
    # A CBOM's crypto components per chunk: memory follows this, not the document's size.
    chunk_components: int = Field(
        default=5_000,
        ge=1,
        le=1_000_000,
        description="Crypto components per chunk: a CBOM target with more is cut into slices of "
        "at least this many (whole top-level components), one chunk each.",
    )
    # Scoring pools: chunks go to scoring.cpu, or to scoring.gpu when a GPU pool runs.
    gpu_pool: bool = Field(
        default=False,
        description="A GPU worker pool consumes scoring.gpu: send it the chunks of at least "
        "QRAP_GPU_MIN_BATCH targets or components.",
    )
    gpu_min_batch: int = Field(
        default=2_000,
        ge=1,
        description="Smallest chunk (targets or CBOM components) sent to scoring.gpu when "
        "QRAP_GPU_POOL is true; smaller ones go to scoring.cpu.",
    )
    # A run still QUEUED after this long had its message lost; the sweeper sends it again.
    run_requeue_after_seconds: int = Field(
        default=120,
        ge=1,
        description="A run still QUEUED after this long had its message lost; the sweeper sends it"
        " again.",
    )

    # The lease is extended by a heartbeat thread every run_heartbeat_seconds (at most a third
    # of the lease), also during one long probe, so only a dead worker lets it expire.
    run_heartbeat_seconds: float = Field(
        default=20.0,
        gt=0,
        le=3600,
        description="How often a worker renews its run's lease (at most a third of the lease).",
    )
    sweep_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often beat's sweeper looks for lost and expired runs.",
    )
    # Recurring assessments: how often beat looks for schedules that are due.
    schedule_interval_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often beat looks for recurring assessments that are due.",
    )

    # Celery (docs/reliability.md). Overridable so the fault tests can run with short limits; the
    # worker refuses a visibility timeout under twice the hard time limit (kombu restores a
    # message still running after the visibility timeout, which would run it twice).
    celery_visibility_timeout: int = Field(
        default=900,
        ge=10,
        description="Seconds before Redis redelivers an unacknowledged task; at least twice the "
        "hard time limit.",
    )
    celery_task_time_limit: int = Field(
        default=300,
        ge=2,
        description="Hard time limit of a task in seconds; the workers' stop grace period must "
        "exceed it.",
    )
    celery_task_soft_time_limit: int = Field(
        default=270, ge=1, description="Soft time limit of a task in seconds, below the hard one."
    )
    celery_reject_on_worker_lost: bool = Field(
        default=True, description="Requeue a task whose worker process died."
    )

    # Webhooks (Standard Webhooks). The schedule scale shrinks the retry schedule for tests.
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, le=60, description="Timeout of one webhook delivery attempt."
    )
    webhook_dispatch_interval_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="How often beat sends due webhook deliveries."
    )
    webhook_schedule_scale: float = Field(
        default=1.0, gt=0, le=1.0, description="Shrinks the webhook retry schedule (tests only)."
    )
    # Loopback and private addresses are reached only with this set.
    webhook_allow_private: bool = Field(
        default=False, description="Allow webhooks to loopback and private addresses."
    )

    # Idempotency-Key records live at least 24 h (tests shorten it); an in-flight record older
    # than the lock timeout belonged to a request that died before committing anything.
    idempotency_ttl_seconds: int = Field(
        default=86_400,
        ge=1,
        description="How long Idempotency-Key records are kept (at least 86400 in production).",
    )
    idempotency_lock_seconds: int = Field(
        default=60,
        ge=1,
        description="After this long an in-flight Idempotency-Key record is taken as abandoned.",
    )

    default_shelf_life_years: float = Field(
        default=10,
        ge=0,
        le=100,
        description="Data shelf life assumed when an assessment gives none.",
    )
    default_migration_years: float = Field(
        default=3, ge=0, le=50, description="Migration time assumed when an assessment gives none."
    )
    crqc_year: int = Field(
        default=2035,
        ge=2000,
        le=2100,
        description="Year a cryptographically relevant quantum computer is assumed when no survey "
        "applies.",
    )

    # Risk engine. The CRQC timeline is the expert survey table (Global Risk Institute), kept in a
    # JSON file a user may replace; the threat model picks its pessimistic, median or
    # optimistic column. Feedback-trained model versions live in model_dir; model_version
    # selects one of them (unset: the model shipped in the package).
    threat_model: Literal["pessimistic", "median", "optimistic"] = Field(
        default="median", description="Which column of the CRQC survey the risk engine uses."
    )
    crqc_survey_file: Path | None = Field(
        default=None, description="A JSON file replacing the shipped CRQC expert survey table."
    )
    crqc_survey_edition: str | None = Field(
        default=None, description="Edition of the survey to use from that file."
    )
    model_dir: Path | None = Field(
        default=None,
        description="Directory of feedback-trained model versions (a volume on the workers).",
    )
    model_version: str | None = Field(
        default=None,
        description="Model version to use from QRAP_MODEL_DIR; unset: the model shipped in the "
        "package.",
    )

    @field_validator("scan_allow_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for part in _split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a network: {part!r}") from exc
        return value

    @field_validator("database_url", "db_read_url")
    @classmethod
    def _database_url_driver(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else value

    @field_validator("api_keys_raw")
    @classmethod
    def _api_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # an empty variable (compose, k8s) means no keys
        _parse_api_keys(value.get_secret_value())
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_strength(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # empty: no HS256 tokens, and it does not count as auth configured
        if len(value.get_secret_value().encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                f"must be at least {MIN_JWT_SECRET_BYTES} bytes for HS256"
                " (e.g. `openssl rand -hex 32`)"
            )
        return value

    @field_validator("jwt_jwks_url", "jwt_audience")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @field_validator("jwt_jwks_url")
    @classmethod
    def _jwks_url_form(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL")
        return value

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        """QRAP_ENV=production refuses what is only safe on a developer's machine."""
        if self.env != "production":
            return self
        if self.auth_disabled:
            raise ValueError("QRAP_AUTH_DISABLED=true is refused when QRAP_ENV=production")
        if self.debug:
            raise ValueError("QRAP_DEBUG=true is refused when QRAP_ENV=production")
        if self.api_docs == "public":
            raise ValueError("QRAP_API_DOCS=public is refused when QRAP_ENV=production")
        if any(len(entry.key) < MIN_PRODUCTION_KEY_LENGTH for entry in self.api_keys):
            raise ValueError(
                f"QUANTUN_API_KEYS: keys must have {MIN_PRODUCTION_KEY_LENGTH}+ characters"
                " when QRAP_ENV=production"
            )
        return self

    @model_validator(mode="after")
    def _check_pool(self) -> Settings:
        if self.db_min_conns > self.db_max_conns:
            raise ValueError("QRAP_DB_MIN_CONNS must not exceed QRAP_DB_MAX_CONNS")
        return self

    @model_validator(mode="after")
    def _check_celery_limits(self) -> Settings:
        if self.celery_task_soft_time_limit >= self.celery_task_time_limit:
            raise ValueError(
                "QRAP_CELERY_TASK_SOFT_TIME_LIMIT must be below QRAP_CELERY_TASK_TIME_LIMIT"
            )
        if self.celery_visibility_timeout < 2 * self.celery_task_time_limit:
            raise ValueError(
                "QRAP_CELERY_VISIBILITY_TIMEOUT must be at least twice"
                " QRAP_CELERY_TASK_TIME_LIMIT, or a running task is redelivered"
            )
        if self.env == "production" and self.idempotency_ttl_seconds < 86_400:
            raise ValueError("QRAP_IDEMPOTENCY_TTL_SECONDS must be at least 86400 in production")
        return self

    def api_pool(self) -> tuple[int, int]:
        """The API's pool as (connections kept, overflow): one kept per thread, at least
        QRAP_DB_MIN_CONNS, at most QRAP_DB_MAX_CONNS in all."""
        kept = min(self.db_max_conns, max(self.db_min_conns, self.api_threads))
        return kept, self.db_max_conns - kept

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        password = f":{quote_plus(self.db_password.get_secret_value())}" if self.db_password else ""
        return (
            f"postgresql+psycopg2://{quote_plus(self.db_user)}{password}@{self.db_host}:"
            f"{self.db_port}/{self.db_name}?sslmode={self.db_sslmode}"
        )

    @property
    def celery_broker_url(self) -> str:
        return self.broker_url or self.redis_url

    @property
    def allowed_networks(self) -> list[str]:
        return _split(self.scan_allow_networks)

    @property
    def api_keys(self) -> list[ApiKeyEntry]:
        if self.api_keys_raw is None:
            return []
        return _parse_api_keys(self.api_keys_raw.get_secret_value())

    @property
    def auth_configured(self) -> bool:
        return self.jwt_secret is not None or self.jwt_jwks_url is not None or bool(self.api_keys)

    @property
    def docs_mode(self) -> Literal["public", "authenticated", "off"]:
        if self.api_docs is not None:
            return self.api_docs
        return "authenticated" if self.env == "production" else "public"


# The URL forms operators write (Heroku, libpq, docker images): without a driver SQLAlchemy 2.1
# picks psycopg 3, which QRAP does not ship, so they are given the psycopg2 driver we do ship.
_POSTGRES_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg2", "postgres+psycopg2")
_SHIPPED_POSTGRES = "postgresql+psycopg2"


def normalize_database_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` become ``postgresql+psycopg2://``; SQLite stays.

    Raises ValueError for a scheme QRAP cannot connect with, naming what it accepts.
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not rest:
        raise ValueError("must be a URL such as postgresql://user@host:5432/qrap")
    scheme = scheme.lower()
    if scheme in _POSTGRES_SCHEMES:
        return f"{_SHIPPED_POSTGRES}://{rest}"
    if scheme == "sqlite" or scheme.startswith("sqlite+"):
        return url.strip()
    raise ValueError(
        f"unsupported scheme {scheme!r}: use postgresql:// (driver psycopg2) or sqlite:///path"
    )


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _parse_api_keys(raw: str) -> list[ApiKeyEntry]:
    entries = []
    for index, item in enumerate(_split(raw)):
        # The messages name the position, never the key itself.
        fields = item.split(":")
        if len(fields) not in (3, 4) or len(fields[0]) < 16 or not fields[1]:
            raise ValueError(
                f"entry {index + 1} must be key:subject:role[:organization_id]"
                " with a key of 16+ characters"
            )
        key, subject, role = fields[:3]
        if role not in ("admin", "analyst", "viewer"):
            raise ValueError(f"entry {index + 1} has unknown role {role!r}")
        organization_id = None
        if len(fields) == 4:
            try:
                organization_id = uuid.UUID(fields[3])
            except ValueError:
                raise ValueError(
                    f"entry {index + 1}: the fourth field must be an organization id (UUID)"
                ) from None
        elif role != "admin":
            # Only the platform admin sees every organization; any other key names its own.
            raise ValueError(
                f"entry {index + 1}: a {role} key must be bound to an organization:"
                f" key:subject:{role}:organization_id"
            )
        entries.append(ApiKeyEntry(key, subject, role, organization_id))  # type: ignore[arg-type]  # role checked above
    return entries


def load_settings() -> Settings:
    """Build settings, turning validation errors into one message that names the variables."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            if not error["loc"]:  # a check across fields: its message names the variables
                problems.append(error["msg"].removeprefix("Value error, "))
                continue
            field = str(error["loc"][0])
            name = _ENV_NAMES.get(field, f"QRAP_{field.upper()}")
            problems.append(f"{name}: {error['msg']}")
        raise ConfigurationError("invalid configuration: " + "; ".join(problems)) from None


_ENV_NAMES = {
    "jwt_secret": "QUANTUN_JWT_SECRET",
    "QUANTUN_JWT_SECRET": "QUANTUN_JWT_SECRET",
    "jwt_issuer": "QUANTUN_JWT_ISSUER",
    "QUANTUN_JWT_ISSUER": "QUANTUN_JWT_ISSUER",
    "api_keys_raw": "QUANTUN_API_KEYS",
    "QUANTUN_API_KEYS": "QUANTUN_API_KEYS",
    "jwt_audience": "QUANTUN_JWT_AUDIENCE",
    "QUANTUN_JWT_AUDIENCE": "QUANTUN_JWT_AUDIENCE",
    "jwt_jwks_url": "QUANTUN_JWT_JWKS_URL",
    "QUANTUN_JWT_JWKS_URL": "QUANTUN_JWT_JWKS_URL",
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
