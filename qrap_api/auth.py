"""Authentication: bearer JWTs (qrap_api/jwt_verify.py) and API keys, from QUANTUN_API_KEYS or
created through /api/v1/api-keys. Every principal is bound to its organizations; only an
explicit platform-admin credential sees them all."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Callable
from typing import Any

from anyio import to_thread
from joserfc import jwt
from joserfc.jwk import OctKey
from starlette.requests import HTTPConnection

from qrap_api.jwt_verify import JwtVerifier
from qrap_core.apikey import service as apikey_service
from qrap_core.audit.service import Actor
from qrap_core.db import Database
from qrap_core.errors import ConfigurationError, Unauthorized
from qrap_core.settings import ApiKeyEntry, Settings

ROLES = ("viewer", "analyst", "admin")
# Who calls when QRAP_AUTH_DISABLED=true (local development only): a platform admin.
ANONYMOUS_ADMIN = Actor(subject="anonymous", kind="user", role="admin")
_OUTCOME = "qrap_authentication"  # request state: the Actor, or the Unauthorized raised
_MAX_SUBJECT_LENGTH = 255  # the audit log's actor column
StoredKeyLookup = Callable[[str], Actor | None]


class StoredKeys:
    """API keys created through the API, looked up by their hash in the database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __call__(self, presented: str) -> Actor | None:
        with self._db.unit_of_work() as uow:
            row = apikey_service.authenticate(uow, presented)
            if row is None:
                return None
            return Actor(
                subject=f"api-key:{row.id}",
                kind="api_key",
                role=row.role,
                org_ids=frozenset({row.organization_id}),
            )


class Authenticator:
    """Turns an Authorization (or X-API-Key) header into an Actor, or raises Unauthorized."""

    def __init__(
        self,
        settings: Settings,
        *,
        verifier: JwtVerifier | None = None,
        stored_keys: StoredKeyLookup | None = None,
    ) -> None:
        self._verifier = verifier or JwtVerifier(settings)
        self._api_keys: list[ApiKeyEntry] = settings.api_keys
        self._stored_keys = stored_keys

    def authenticate(self, authorization: str | None, api_key_header: str | None) -> Actor:
        if api_key_header:
            return self._api_key(api_key_header.strip())
        if not authorization:
            raise Unauthorized("missing Authorization header")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if not credential:
            raise Unauthorized("malformed Authorization header")
        if scheme.lower() == "bearer":
            return _actor_from_claims(self._verifier.verify(credential))
        if scheme.lower() == "apikey":
            return self._api_key(credential)
        raise Unauthorized("unsupported Authorization scheme; use Bearer or ApiKey")

    def _api_key(self, presented: str) -> Actor:
        match: ApiKeyEntry | None = None
        # Compare against every key so the time taken does not reveal which prefix matched.
        for entry in self._api_keys:
            if hmac.compare_digest(entry.key.encode(), presented.encode()):
                match = entry
        if match is not None:
            # Settings allow an entry without an organization for the admin role only.
            bound = match.organization_id
            org_ids = None if bound is None else frozenset({bound})
            return Actor(subject=match.subject, kind="api_key", role=match.role, org_ids=org_ids)
        stored = self._stored_keys(presented) if self._stored_keys is not None else None
        if stored is None:
            raise Unauthorized("invalid API key")
        return stored


def check_auth_settings(settings: Settings) -> None:
    """Refuse to build an app that would serve callers unauthenticated by mistake.

    Settings validate this when read from the environment; this also covers settings built by
    ``model_copy``, which skips validation.
    """
    if settings.env == "production":
        for refused, variable in (
            (settings.auth_disabled, "QRAP_AUTH_DISABLED=true"),
            (settings.debug, "QRAP_DEBUG=true"),
            (settings.api_docs == "public", "QRAP_API_DOCS=public"),
        ):
            if refused:
                raise ConfigurationError(f"{variable} is refused when QRAP_ENV=production")
    if not settings.auth_configured and not settings.auth_disabled:
        raise ConfigurationError(
            "no authentication configured: set QUANTUN_JWT_SECRET, QUANTUN_JWT_JWKS_URL or"
            " QUANTUN_API_KEYS (or QRAP_AUTH_DISABLED=true for local development only)"
        )


def authenticate_request(connection: HTTPConnection, authenticator: Authenticator | None) -> Actor:
    """The caller of this request, or Unauthorized; worked out once per request.

    The middlewares need the caller before routing (rate limits and Idempotency-Keys are per
    principal) and the route's dependency needs it again: later calls get the outcome of the
    first from the request's state, failure included, instead of checking credentials twice.
    An API key created through the API is looked up in the database: async callers should use
    ``authenticate_request_async``, which does that in a worker thread.
    """
    state = connection.scope.setdefault("state", {})
    outcome: Actor | Unauthorized | None = state.get(_OUTCOME)
    if outcome is None:
        outcome = _authenticate(connection, authenticator)
        state[_OUTCOME] = outcome
    if isinstance(outcome, Unauthorized):
        raise outcome
    return outcome


async def authenticate_request_async(
    connection: HTTPConnection, authenticator: Authenticator | None
) -> Actor:
    """``authenticate_request`` for middlewares, off the event loop when it needs I/O."""
    if _OUTCOME not in connection.scope.get("state", {}):
        await to_thread.run_sync(lambda: _cache_outcome(connection, authenticator))
    return authenticate_request(connection, authenticator)


def _cache_outcome(connection: HTTPConnection, authenticator: Authenticator | None) -> None:
    connection.scope.setdefault("state", {})[_OUTCOME] = _authenticate(connection, authenticator)


def _authenticate(
    connection: HTTPConnection, authenticator: Authenticator | None
) -> Actor | Unauthorized:
    if authenticator is None:
        return ANONYMOUS_ADMIN
    headers = connection.headers
    try:
        return authenticator.authenticate(headers.get("authorization"), headers.get("x-api-key"))
    except Unauthorized as exc:
        return exc


def _actor_from_claims(claims: dict[str, Any]) -> Actor:
    """The principal a verified token names.

    ``platform_admin: true`` (with the admin role) sees every organization; any other token
    must name its organizations in ``org_ids``. A token with neither is refused: a missing
    claim never widens what a caller sees.
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > _MAX_SUBJECT_LENGTH:
        raise Unauthorized("invalid token: sub must be a string of 1-255 characters")
    role = claims.get("role", "viewer")
    if role not in ROLES:
        raise Unauthorized(f"invalid token: unknown role {role!r}")
    platform_admin = claims.get("platform_admin", False)
    if platform_admin is True:
        if role != "admin":
            raise Unauthorized("invalid token: platform_admin needs the admin role")
        return Actor(subject=subject, kind="user", role=role)
    if platform_admin is not False:
        raise Unauthorized("invalid token: platform_admin must be a boolean")
    raw = claims.get("org_ids")
    if not isinstance(raw, list) or not raw:
        raise Unauthorized("invalid token: it names no organization (org_ids)")
    try:
        org_ids = frozenset(uuid.UUID(str(item)) for item in raw)
    except ValueError:
        raise Unauthorized("invalid token: org_ids must hold UUIDs") from None
    return Actor(subject=subject, kind="user", role=role, org_ids=org_ids)


def issue_token(
    settings: Settings,
    *,
    subject: str,
    role: str = "admin",
    ttl_seconds: int = 3600,
    org_ids: list[str] | None = None,
    platform_admin: bool | None = None,
    now: int | None = None,
) -> str:
    """Sign an HS256 token with the configured secret (for `qrap token` and tests).

    Without ``org_ids`` an admin token is a platform admin's (``platform_admin: true``); any
    other token needs ``org_ids``.
    """
    if settings.jwt_secret is None:
        raise Unauthorized("QUANTUN_JWT_SECRET is not set")
    if platform_admin is None:
        platform_admin = role == "admin" and org_ids is None
    if not platform_admin and not org_ids:
        raise Unauthorized(f"a {role} token must name its organizations (org_ids)")
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": settings.jwt_issuer,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "role": role,
    }
    if settings.jwt_audience:
        claims["aud"] = settings.jwt_audience
    if platform_admin:
        claims["platform_admin"] = True
    if org_ids is not None:
        claims["org_ids"] = org_ids
    key = OctKey.import_key(settings.jwt_secret.get_secret_value())
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, key)
