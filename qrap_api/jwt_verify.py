"""Bearer tokens (RFC 8725): HS256 with QUANTUN_JWT_SECRET, RS256/ES256 with keys from a JWKS URL.

The token's header never supplies a key: ``jku``, ``x5u``, ``jwk`` and ``x5c`` are ignored, and
``kid`` only picks among the keys the JWKS URL published. Every key has exactly one algorithm
(the secret HS256, an RSA key RS256, a P-256 key ES256), so a token signed "HS256 with the RSA
public key" is checked against the secret and fails. ``iss``, ``exp`` and ``sub`` are required,
``aud`` when QUANTUN_JWT_AUDIENCE is set, with a small leeway for clock skew.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, Key, OctKey, RSAKey
from joserfc.jwt import JWTClaimsRegistry

from qrap_core.errors import Unauthorized
from qrap_core.logging import get_logger
from qrap_core.settings import Settings

log = get_logger(__name__)

LEEWAY_SECONDS = 30
MAX_TOKEN_LENGTH = 8192
# The JWKS document is fetched at most once a minute, whatever tokens arrive (an unknown kid
# must not make every request a fetch), and known keys are refreshed after ten minutes.
JWKS_MIN_INTERVAL_SECONDS = 60.0
JWKS_MAX_AGE_SECONDS = 600.0
_JWKS_TIMEOUT_SECONDS = 5.0
_JWKS_MAX_BYTES = 256 * 1024


@dataclass(frozen=True)
class _PublishedKey:
    kid: str | None
    key: Key
    alg: str  # the one algorithm this key verifies


def _algorithm_of(key: Key, declared: object) -> str | None:
    """The single algorithm a JWKS key may verify, or None for a key we do not accept."""
    if isinstance(key, RSAKey):
        alg = "RS256"
    elif isinstance(key, ECKey) and key.curve_name == "P-256":
        alg = "ES256"
    else:
        return None
    return alg if declared in (None, alg) else None


class JwksCache:
    """The keys a JWKS URL publishes, fetched lazily and at most once a minute."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = _JWKS_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url
        self._clock = clock
        self._timeout = timeout
        self._keys: list[_PublishedKey] = []
        self._fetched_at: float | None = None  # last fetch attempt, successful or not
        self._loaded_at: float | None = None  # last successful fetch
        self._lock = threading.Lock()

    def key_for(self, kid: object) -> _PublishedKey | None:
        """The published key ``kid`` names (the only key, when the token names none)."""
        with self._lock:
            now = self._clock()
            found = self._find(kid)
            stale = self._loaded_at is None or now - self._loaded_at >= JWKS_MAX_AGE_SECONDS
            may_fetch = self._fetched_at is None or (
                now - self._fetched_at >= JWKS_MIN_INTERVAL_SECONDS
            )
            if (found is None or stale) and may_fetch:
                self._fetched_at = now
                self._refresh(now)
                found = self._find(kid)
            return found

    def _find(self, kid: object) -> _PublishedKey | None:
        if kid is None:
            return self._keys[0] if len(self._keys) == 1 else None
        return next((k for k in self._keys if k.kid == kid), None)

    def _refresh(self, now: float) -> None:
        try:
            document = self._fetch()
            keys = self._parse(document)
        except (httpx.HTTPError, ValueError) as exc:
            # Keep the keys we had: a JWKS outage must not reject tokens signed by known keys.
            log.warning("jwks refresh failed", url=self.url, error=type(exc).__name__)
            return
        self._keys = keys
        self._loaded_at = now

    def _fetch(self) -> Any:
        with (
            httpx.Client(timeout=self._timeout, follow_redirects=False) as client,
            client.stream("GET", self.url, headers={"Accept": "application/json"}) as response,
        ):
            if response.status_code != 200:
                raise ValueError(f"JWKS answered {response.status_code}")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _JWKS_MAX_BYTES:
                    raise ValueError("JWKS document too large")
        return json.loads(body)

    @staticmethod
    def _parse(document: Any) -> list[_PublishedKey]:
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise ValueError("not a JWKS document")
        keys = []
        for entry in document["keys"]:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
                continue
            # Public members only: a private key published by mistake is not used as such.
            public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
            try:
                key = JWKRegistry.import_key(public)
            except (JoseError, ValueError, TypeError):
                continue
            alg = _algorithm_of(key, entry.get("alg"))
            kid = entry.get("kid")
            if alg is not None:
                keys.append(_PublishedKey(kid if isinstance(kid, str) else None, key, alg))
        return keys


class JwtVerifier:
    """Checks a bearer token and returns its claims, or raises Unauthorized."""

    def __init__(self, settings: Settings, *, jwks: JwksCache | None = None) -> None:
        secret = settings.jwt_secret
        self._hs256 = OctKey.import_key(secret.get_secret_value()) if secret else None
        if jwks is None and settings.jwt_jwks_url:
            jwks = JwksCache(settings.jwt_jwks_url)
        self._jwks = jwks
        self._claims: dict[str, Any] = {
            "iss": {"essential": True, "value": settings.jwt_issuer},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if settings.jwt_audience:
            self._claims["aud"] = {"essential": True, "value": settings.jwt_audience}

    @property
    def configured(self) -> bool:
        return self._hs256 is not None or self._jwks is not None

    def verify(self, token: str) -> dict[str, Any]:
        if not self.configured:
            raise Unauthorized("bearer tokens are not accepted: no JWT key is configured")
        if len(token) > MAX_TOKEN_LENGTH:
            raise Unauthorized("invalid token")
        header = _header(token)
        alg = header.get("alg")
        key: Key
        if alg == "HS256" and self._hs256 is not None:
            key = self._hs256
        elif alg in ("RS256", "ES256") and self._jwks is not None:
            published = self._jwks.key_for(header.get("kid"))
            if published is None or published.alg != alg:
                raise Unauthorized("invalid token: unknown signing key")
            key = published.key
        else:
            raise Unauthorized("invalid token: algorithm not accepted")
        try:
            decoded = jwt.decode(token, key, algorithms=[alg])
            JWTClaimsRegistry(leeway=LEEWAY_SECONDS, **self._claims).validate(decoded.claims)
        except JoseError as exc:
            raise Unauthorized(f"invalid token: {exc.error}") from None
        except (ValueError, TypeError):  # joserfc raises these on some garbage inputs
            raise Unauthorized("invalid token") from None
        return decoded.claims


def _header(token: str) -> dict[str, Any]:
    """The token's protected header, read only to choose the key; never trusted for one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise Unauthorized("invalid token")
    encoded = parts[0] + "=" * (-len(parts[0]) % 4)
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise Unauthorized("invalid token") from None
    if not isinstance(header, dict):
        raise Unauthorized("invalid token")
    return header
