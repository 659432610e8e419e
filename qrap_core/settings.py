"""Settings: the one place that reads the environment."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote_plus

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from qrap_core.errors import ConfigurationError

ApiKeyRole = Literal["admin", "analyst", "viewer"]


class ApiKeyEntry:
    """One `key:subject:role` entry of QUANTUN_API_KEYS."""

    __slots__ = ("key", "role", "subject")

    def __init__(self, key: str, subject: str, role: ApiKeyRole) -> None:
        self.key = key
        self.subject = subject
        self.role = role

    def __repr__(self) -> str:  # never print the key itself
        return f"ApiKeyEntry(subject={self.subject!r}, role={self.role!r})"


class Settings(BaseSettings):
    """Every setting QRAP reads. Names keep the original deployment guide's variables."""

    model_config = SettingsConfigDict(env_prefix="QRAP_", extra="ignore", populate_by_name=True)

    env: Literal["development", "production"] = "development"

    # Database: QRAP_DATABASE_URL wins over the parts kept from the original service.
    database_url: str | None = None
    db_host: str = "127.0.0.1"
    db_port: int = Field(default=5432, ge=1, le=65535)
    db_name: str = "qrap"
    db_user: str = "postgres"
    db_password: SecretStr | None = None
    db_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = (
        "prefer"
    )
    db_max_conns: int = Field(default=25, ge=1, le=1000)
    db_min_conns: int = Field(default=5, ge=0, le=1000)

    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str | None = None  # defaults to redis_url

    api_port: int = Field(default=8083, ge=1, le=65535)
    log_level: Literal["debug", "info", "warn", "warning", "error"] = "info"
    rate_limit: int = Field(default=100, ge=1)
    # Redis down: serve (and log a warning) when true, answer 503 when false.
    rate_limit_fail_open: bool = True
    max_body_size: int = Field(default=1_048_576, ge=1024)

    jwt_secret: SecretStr | None = Field(default=None, validation_alias="QUANTUN_JWT_SECRET")
    jwt_issuer: str = Field(default="qrap", validation_alias="QUANTUN_JWT_ISSUER")
    api_keys_raw: SecretStr | None = Field(default=None, validation_alias="QUANTUN_API_KEYS")
    auth_disabled: bool = False

    worker_device: Literal["cpu", "cuda"] = "cpu"
    worker_concurrency: int = Field(default=2, ge=1, le=64)

    # Probes: loopback and private ranges are reached only when listed here.
    scan_allow_networks: str = ""
    probe_timeout: float = Field(default=5.0, gt=0, le=120)
    # Open probe connections across all endpoints of a run (the asyncio probe pool).
    probe_concurrency: int = Field(default=256, ge=1, le=10_000)
    # Uploaded CBOM documents: their own body limit, above the generic max_body_size.
    cbom_max_upload_size: int = Field(default=50 * 1024 * 1024, ge=1024)

    # Runs: a claimed run's lease; an expired lease lets another worker take it over.
    run_lease_seconds: int = Field(default=60, ge=5)
    run_max_attempts: int = Field(default=3, ge=1, le=20)
    # A run still QUEUED after this long had its message lost; the sweeper sends it again.
    run_requeue_after_seconds: int = Field(default=120, ge=1)

    # The lease is extended by a heartbeat thread every run_heartbeat_seconds (at most a third
    # of the lease), also during one long probe, so only a dead worker lets it expire.
    run_heartbeat_seconds: float = Field(default=20.0, gt=0, le=3600)
    sweep_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Recurring assessments: how often beat looks for schedules that are due.
    schedule_interval_seconds: float = Field(default=30.0, gt=0, le=3600)

    # Celery (docs/reliability.md). Overridable so the fault tests can run with short limits; the
    # worker refuses a visibility timeout under twice the hard time limit (kombu restores a
    # message still running after the visibility timeout, which would run it twice).
    celery_visibility_timeout: int = Field(default=900, ge=10)
    celery_task_time_limit: int = Field(default=300, ge=2)
    celery_task_soft_time_limit: int = Field(default=270, ge=1)
    celery_reject_on_worker_lost: bool = True

    # Webhooks (Standard Webhooks). The schedule scale shrinks the retry schedule for tests.
    webhook_timeout_seconds: float = Field(default=15.0, gt=0, le=60)
    webhook_dispatch_interval_seconds: float = Field(default=2.0, gt=0, le=3600)
    webhook_schedule_scale: float = Field(default=1.0, gt=0, le=1.0)
    # Loopback and private addresses are reached only with this set.
    webhook_allow_private: bool = False

    # Idempotency-Key records live at least 24 h (tests shorten it); an in-flight record older
    # than the lock timeout belonged to a request that died before committing anything.
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1)
    idempotency_lock_seconds: int = Field(default=60, ge=1)

    default_shelf_life_years: float = Field(default=10, ge=0, le=100)
    default_migration_years: float = Field(default=3, ge=0, le=50)
    crqc_year: int = Field(default=2035, ge=2000, le=2100)

    # Risk engine. The CRQC timeline is the expert survey table (Global Risk Institute), kept in a
    # JSON file a user may replace; the threat model picks its pessimistic, median or
    # optimistic column. Feedback-trained model versions live in model_dir; model_version
    # selects one of them (unset: the model shipped in the package).
    threat_model: Literal["pessimistic", "median", "optimistic"] = "median"
    crqc_survey_file: Path | None = None
    crqc_survey_edition: str | None = None
    model_dir: Path | None = None
    model_version: str | None = None

    @field_validator("scan_allow_networks")
    @classmethod
    def _networks_parse(cls, value: str) -> str:
        for part in _split(value):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError as exc:
                raise ValueError(f"not a network: {part!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_driver(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else value

    @field_validator("api_keys_raw")
    @classmethod
    def _api_keys_parse(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _parse_api_keys(value.get_secret_value())
        return value

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
        return self.jwt_secret is not None or bool(self.api_keys)


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
        key, _, rest = item.partition(":")
        subject, _, role = rest.partition(":")
        role = role or "viewer"
        # The message names the position, never the key itself.
        if len(key) < 16 or not subject:
            raise ValueError(
                f"entry {index + 1} must be key:subject:role with a key of 16+ characters"
            )
        if role not in ("admin", "analyst", "viewer"):
            raise ValueError(f"entry {index + 1} has unknown role {role!r}")
        entries.append(ApiKeyEntry(key, subject, role))  # type: ignore[arg-type]  # checked above
    return entries


def load_settings() -> Settings:
    """Build settings, turning validation errors into one message that names the variables."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
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
}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
