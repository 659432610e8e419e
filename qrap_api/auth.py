"""Authentication: HS256 JWTs (joserfc, algorithm pinned) and API keys from QUANTUN_API_KEYS."""

from __future__ import annotations

import hmac
import time
import uuid
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry
from starlette.requests import HTTPConnection

from qrap_core.audit.service import Actor
from qrap_core.errors import Unauthorized
from qrap_core.settings import ApiKeyEntry, Settings

ROLES = ("viewer", "analyst", "admin")
_LEEWAY_SECONDS = 30
_MAX_TOKEN_LENGTH = 8192
# Who calls when QRAP_AUTH_DISABLED=true (local development only).
ANONYMOUS_ADMIN = Actor(subject="anonymous", kind="user", role="admin")
_OUTCOME = "qrap_authentication"  # request state: the Actor, or the Unauthorized raised


class Authenticator:
    """Turns an Authorization header into an Actor, or raises Unauthorized."""

    def __init__(self, settings: Settings) -> None:
        self._issuer = settings.jwt_issuer
        self._key = (
            OctKey.import_key(settings.jwt_secret.get_secret_value())
            if settings.jwt_secret is not None
            else None
        )
        self._api_keys: list[ApiKeyEntry] = settings.api_keys

    def authenticate(self, authorization: str | None, api_key_header: str | None) -> Actor:
        if api_key_header:
            return self._api_key(api_key_header)
        if not authorization:
            raise Unauthorized("missing Authorization header")
        scheme, _, credential = authorization.strip().partition(" ")
        credential = credential.strip()
        if not credential:
            raise Unauthorized("malformed Authorization header")
        if scheme.lower() == "bearer":
            return self._jwt(credential)
        if scheme.lower() == "apikey":
            return self._api_key(credential)
        raise Unauthorized("unsupported Authorization scheme; use Bearer or ApiKey")

    def _api_key(self, presented: str) -> Actor:
        match: ApiKeyEntry | None = None
        # Compare against every key so the time taken does not reveal which prefix matched.
        for entry in self._api_keys:
            if hmac.compare_digest(entry.key.encode(), presented.encode()):
                match = entry
        if match is None:
            raise Unauthorized("invalid API key")
        return Actor(subject=match.subject, kind="api_key", role=match.role)

    def _jwt(self, token: str) -> Actor:
        if self._key is None:
            raise Unauthorized("bearer tokens are not accepted: no JWT secret is configured")
        if len(token) > _MAX_TOKEN_LENGTH:
            raise Unauthorized("invalid token")
        try:
            decoded = jwt.decode(token, self._key, algorithms=["HS256"])
            JWTClaimsRegistry(
                leeway=_LEEWAY_SECONDS,
                iss={"essential": True, "value": self._issuer},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except JoseError as exc:
            raise Unauthorized(f"invalid token: {exc.error}") from None
        except ValueError:  # joserfc raises ValueError on some garbage inputs
            raise Unauthorized("invalid token") from None
        return _actor_from_claims(decoded.claims)


def authenticate_request(connection: HTTPConnection, authenticator: Authenticator | None) -> Actor:
    """The caller of this request, or Unauthorized; worked out once per request.

    The idempotency middleware needs the caller before routing (keys are scoped to it) and the
    route's dependency needs it again: the second call gets the outcome of the first from the
    request's state, failure included, instead of checking the credentials twice.
    """
    state = connection.scope.setdefault("state", {})
    outcome: Actor | Unauthorized | None = state.get(_OUTCOME)
    if outcome is None:
        outcome = _authenticate(connection, authenticator)
        state[_OUTCOME] = outcome
    if isinstance(outcome, Unauthorized):
        raise outcome
    return outcome


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
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise Unauthorized("invalid token: sub must be a non-empty string")
    role = claims.get("role", "viewer")
    if role not in ROLES:
        raise Unauthorized(f"invalid token: unknown role {role!r}")
    org_ids: frozenset[uuid.UUID] | None = None
    if "org_ids" in claims:
        raw = claims["org_ids"]
        if not isinstance(raw, list):
            raise Unauthorized("invalid token: org_ids must be a list")
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
    now: int | None = None,
) -> str:
    """Sign an HS256 token with the configured secret (for `qrap token` and tests)."""
    if settings.jwt_secret is None:
        raise Unauthorized("QUANTUN_JWT_SECRET is not set")
    issued = int(time.time()) if now is None else now
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": settings.jwt_issuer,
        "iat": issued,
        "exp": issued + ttl_seconds,
        "role": role,
    }
    if org_ids is not None:
        claims["org_ids"] = org_ids
    key = OctKey.import_key(settings.jwt_secret.get_secret_value())
    return jwt.encode({"alg": "HS256", "typ": "JWT"}, claims, key)
