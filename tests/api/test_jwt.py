"""T16: bearer tokens against HS256 and a loopback JWKS server (RS256, ES256).

Every forged, confused, expired, premature or mis-addressed token is 401; valid controls are
200; the token header never supplies a key; the JWKS URL is fetched at most once a minute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, Key, KeySet, OctKey, RSAKey

from qrap_api.app import create_app
from qrap_api.jwt_verify import JWKS_MIN_INTERVAL_SECONDS, JwksCache
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, JWT_SECRET, RecordingDispatcher

ISSUER = "qrap-test"
AUDIENCE = "qrap-api"


@dataclass
class JwksServer:
    """A loopback HTTP server publishing ``document`` and counting the requests for it."""

    document: dict[str, Any]
    port: int = 0
    fetches: int = 0
    up: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/.well-known/jwks.json"


def _serve(jwks: JwksServer) -> Iterator[JwksServer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with jwks.lock:
                jwks.fetches += 1
                body = json.dumps(jwks.document).encode()
                status = 200 if jwks.up else 503
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # the stdlib names it format
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler, bind_and_activate=False)
    server.server_bind()
    server.socket.listen(16)
    jwks.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield jwks
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass(frozen=True)
class Keys:
    rsa: RSAKey
    ec: ECKey
    attacker: RSAKey

    def published(self) -> dict[str, Any]:
        return KeySet([self.rsa, self.ec]).as_dict(private=False)


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(
        rsa=RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig"}),
        ec=ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig"}),
        attacker=RSAKey.generate_key(2048, parameters={"kid": "attacker"}),
    )


@pytest.fixture
def jwks(keys: Keys) -> Iterator[JwksServer]:
    yield from _serve(JwksServer(keys.published()))


@pytest.fixture
def attacker_jwks(keys: Keys) -> Iterator[JwksServer]:
    yield from _serve(JwksServer(KeySet([keys.attacker]).as_dict(private=False)))


@dataclass(frozen=True)
class Api:
    client: TestClient
    org_id: str

    def status(self, token: str) -> int:
        response = self.client.get(
            f"/api/v1/organizations/{self.org_id}", headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code


@pytest.fixture
def api(
    jwks: JwksServer,
    settings: Settings,
    database: Database,
    dispatched: RecordingDispatcher,
) -> Iterator[Api]:
    configured = settings.model_copy(
        update={"jwt_jwks_url": jwks.url, "jwt_audience": AUDIENCE},
    )
    app = create_app(configured, database=database, dispatcher=dispatched)
    with TestClient(app, raise_server_exceptions=False) as client:
        created = client.post(
            "/api/v1/organizations",
            json={"name": f"jwt-{uuid.uuid4()}"},
            headers={"X-API-Key": ADMIN_KEY},
        )
        assert created.status_code == 201
        yield Api(client, created.json()["id"])


def _claims(org_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": "carol",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "role": "viewer",
        "org_ids": [org_id],
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(key: Key, alg: str, claims: dict[str, Any], **header: Any) -> str:
    return jwt.encode({"alg": alg, **header}, claims, key, algorithms=[alg])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hand_made(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A token built without a library's guards (alg none, HMAC with a public key)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    if secret is None:
        return signing_input + "."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


class TestValidTokens:
    def test_rs256_es256_and_hs256_controls_are_accepted(self, api: Api, keys: Keys) -> None:
        claims = _claims(api.org_id)
        assert api.status(_sign(keys.rsa, "RS256", claims, kid="rsa-1")) == 200
        assert api.status(_sign(keys.ec, "ES256", claims, kid="ec-1")) == 200
        assert api.status(_sign(OctKey.import_key(JWT_SECRET), "HS256", claims)) == 200

    def test_audience_may_be_a_list(self, api: Api, keys: Keys) -> None:
        claims = _claims(api.org_id, aud=["another-api", AUDIENCE])
        assert api.status(_sign(keys.rsa, "RS256", claims, kid="rsa-1")) == 200

    def test_a_little_clock_skew_is_tolerated(self, api: Api, keys: Keys) -> None:
        claims = _claims(api.org_id, exp=int(time.time()) - 5, nbf=int(time.time()) + 5)
        assert api.status(_sign(keys.rsa, "RS256", claims, kid="rsa-1")) == 200


class TestRejectedTokens:
    """T16: every case is 401."""

    @pytest.mark.parametrize(
        ("case", "overrides"),
        [
            ("expired", {"exp": int(time.time()) - 3600}),
            ("not yet valid", {"nbf": int(time.time()) + 3600}),
            ("missing exp", {"exp": None}),
            ("wrong issuer", {"iss": "https://evil.example"}),
            ("missing issuer", {"iss": None}),
            ("wrong audience", {"aud": "another-api"}),
            ("missing audience", {"aud": None}),
            ("missing sub", {"sub": None}),
        ],
    )
    def test_bad_claims(self, api: Api, keys: Keys, case: str, overrides: dict[str, Any]) -> None:
        claims = _claims(api.org_id, **overrides)
        assert api.status(_sign(keys.rsa, "RS256", claims, kid="rsa-1")) == 401, case
        assert api.status(_sign(keys.ec, "ES256", claims, kid="ec-1")) == 401, case
        hs256 = _sign(OctKey.import_key(JWT_SECRET), "HS256", claims)
        assert api.status(hs256) == 401, case

    def test_alg_none(self, api: Api) -> None:
        claims = _claims(api.org_id)
        for alg in ("none", "None", "NONE"):
            assert api.status(_hand_made({"alg": alg, "kid": "rsa-1"}, claims, None)) == 401

    def test_hs256_signed_with_the_rsa_public_key(self, api: Api, keys: Keys) -> None:
        claims = _claims(api.org_id)
        public_pem = keys.rsa.as_pem(private=False)
        public_jwk = json.dumps(keys.rsa.as_dict(private=False)).encode()
        for secret in (public_pem, public_jwk):
            token = _hand_made({"alg": "HS256", "kid": "rsa-1"}, claims, secret)
            assert api.status(token) == 401

    def test_keys_named_or_supplied_by_the_header_are_ignored(
        self, api: Api, keys: Keys, attacker_jwks: JwksServer
    ) -> None:
        claims = _claims(api.org_id)
        attacker_public = keys.attacker.as_dict(private=False)
        forged = [
            _sign(keys.attacker, "RS256", claims, kid="attacker", jku=attacker_jwks.url),
            _sign(keys.attacker, "RS256", claims, kid="rsa-1", jku=attacker_jwks.url),
            _sign(keys.attacker, "RS256", claims, kid="attacker", x5u=attacker_jwks.url),
            _sign(keys.attacker, "RS256", claims, kid="rsa-1", jwk=attacker_public),
            _sign(keys.attacker, "RS256", claims, jwk=attacker_public),
        ]
        assert [api.status(token) for token in forged] == [401] * len(forged)
        assert attacker_jwks.fetches == 0

    def test_one_algorithm_per_key(self, api: Api, keys: Keys) -> None:
        claims = _claims(api.org_id)
        mismatched = [
            _sign(keys.rsa, "RS512", claims, kid="rsa-1"),
            _sign(keys.rsa, "PS256", claims, kid="rsa-1"),
            _sign(keys.ec, "ES256", claims, kid="rsa-1"),  # the EC key under the RSA kid
            _sign(keys.rsa, "RS256", claims, kid="ec-1"),  # and the other way round
            _sign(OctKey.import_key(JWT_SECRET), "HS512", claims),
        ]
        assert [api.status(token) for token in mismatched] == [401] * len(mismatched)

    def test_garbage_and_truncated_tokens(self, api: Api, keys: Keys) -> None:
        valid = _sign(keys.rsa, "RS256", _claims(api.org_id), kid="rsa-1")
        header, payload, signature = valid.split(".")
        garbage = [
            valid[:-10],
            f"{header}.{payload}",
            f"{header}.{payload}.",
            f"{header}..{signature}",
            f"{header}.{payload}.{signature}.{signature}",
            "eyJhbGciOiJSUzI1NiJ9.%%%.abc",
            "not-a-token",
            "a.b.c",
            "." * 2,
            _b64(b"[1,2]") + f".{payload}.{signature}",
            _b64(b"\xff\xfe") + f".{payload}.{signature}",
        ]
        assert [api.status(token) for token in garbage] == [401] * len(garbage)


class TestJwksRefresh:
    def test_unknown_kids_do_not_make_every_request_a_fetch(
        self, api: Api, keys: Keys, jwks: JwksServer
    ) -> None:
        claims = _claims(api.org_id)
        assert api.status(_sign(keys.rsa, "RS256", claims, kid="rsa-1")) == 200
        for index in range(20):
            token = _sign(keys.attacker, "RS256", claims, kid=f"unknown-{index}")
            assert api.status(token) == 401
        assert jwks.fetches == 1

    def test_at_most_one_refresh_a_minute_then_rotated_keys_are_found(
        self, keys: Keys, jwks: JwksServer
    ) -> None:
        now = [1000.0]
        cache = JwksCache(jwks.url, clock=lambda: now[0])
        assert cache.key_for("rsa-1") is not None
        rotated = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
        jwks.document = KeySet([keys.rsa, rotated]).as_dict(private=False)
        for _ in range(10):
            assert cache.key_for("rsa-2") is None  # within the minute: no new fetch
        assert jwks.fetches == 1
        now[0] += JWKS_MIN_INTERVAL_SECONDS
        found = cache.key_for("rsa-2")
        assert found is not None
        assert found.alg == "RS256"
        assert jwks.fetches == 2

    def test_an_unreachable_jwks_keeps_the_known_keys(self, keys: Keys, jwks: JwksServer) -> None:
        now = [1000.0]
        cache = JwksCache(jwks.url, clock=lambda: now[0])
        assert cache.key_for("ec-1") is not None
        jwks.up = False
        now[0] += 3600  # the keys are stale and a refresh is due
        assert cache.key_for("ec-1") is not None
        assert jwks.fetches == 2

    def test_unsupported_and_private_members_are_not_used(self, keys: Keys) -> None:
        document = {
            "keys": [
                {**keys.rsa.as_dict(private=True), "kid": "with-private"},
                {"kty": "oct", "k": _b64(b"s" * 32), "kid": "oct"},
                {**keys.ec.as_dict(private=False), "kid": "enc", "use": "enc"},
                {**keys.rsa.as_dict(private=False), "kid": "rs512", "alg": "RS512"},
                {"kty": "RSA", "kid": "broken"},
            ]
        }
        published = JwksCache._parse(document)
        assert [(k.kid, k.alg) for k in published] == [("with-private", "RS256")]
        assert not published[0].key.is_private
