"""Authentication: JWT HS256 with exp/iss/sub required, API keys; everything else is 401."""

from __future__ import annotations

import base64
import json
import time

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey

from qrap_api.app import create_app
from qrap_core.errors import ConfigurationError
from qrap_core.settings import Settings
from tests.conftest import JWT_SECRET, VIEWER_KEY


def _token(claims: dict[str, object], secret: str = JWT_SECRET, alg: str = "HS256") -> str:
    return jwt.encode({"alg": alg}, claims, OctKey.import_key(secret), algorithms=[alg])


def _claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "alice",
        "iss": "qrap-test",
        "exp": now + 600,
        "iat": now,
        "role": "admin",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestAuthentication:
    URL = "/api/v1/organizations"

    def test_valid_token_is_accepted(self, client: TestClient) -> None:
        response = client.get(self.URL, headers={"Authorization": f"Bearer {_token(_claims())}"})
        assert response.status_code == 200

    def test_missing_header_is_401(self, client: TestClient) -> None:
        response = client.get(self.URL, headers={"Authorization": ""})
        assert response.status_code == 401
        assert response.json()["error"]

    @pytest.mark.parametrize(
        "header",
        [
            "Bearer",
            "Bearer not.a.jwt",
            "Bearer a.b",
            "Basic dXNlcjpwYXNz",
            "Token abc",
            "Bearer " + "x" * 10_000,
        ],
    )
    def test_malformed_credentials_are_401(self, client: TestClient, header: str) -> None:
        assert client.get(self.URL, headers={"Authorization": header}).status_code == 401

    @pytest.mark.parametrize(
        ("case", "claims"),
        [
            ("expired", _claims(exp=int(time.time()) - 3600)),
            ("wrong issuer", _claims(iss="someone-else")),
            ("missing issuer", _claims(iss=None)),
            ("missing exp", _claims(exp=None)),
            ("missing sub", _claims(sub=None)),
            ("not yet valid", _claims(nbf=int(time.time()) + 3600)),
            ("unknown role", _claims(role="root")),
        ],
    )
    def test_bad_claims_are_401(
        self, client: TestClient, case: str, claims: dict[str, object]
    ) -> None:
        response = client.get(self.URL, headers={"Authorization": f"Bearer {_token(claims)}"})
        assert response.status_code == 401, case

    def test_wrongly_signed_token_is_401(self, client: TestClient) -> None:
        token = _token(_claims(), secret="another-secret-of-sufficient-length-0123456789")
        assert client.get(self.URL, headers={"Authorization": f"Bearer {token}"}).status_code == 401

    def test_tampered_payload_is_401(self, client: TestClient) -> None:
        header, _, signature = _token(_claims(role="viewer")).split(".")
        payload = _b64(json.dumps(_claims(role="admin")).encode())
        token = f"{header}.{payload}.{signature}"
        assert client.get(self.URL, headers={"Authorization": f"Bearer {token}"}).status_code == 401

    def test_alg_none_is_401(self, client: TestClient) -> None:
        header = _b64(json.dumps({"alg": "none"}).encode())
        token = f"{header}.{_b64(json.dumps(_claims()).encode())}."
        assert client.get(self.URL, headers={"Authorization": f"Bearer {token}"}).status_code == 401

    def test_other_hmac_algorithm_is_401(self, client: TestClient) -> None:
        token = _token(_claims(), alg="HS512")
        assert client.get(self.URL, headers={"Authorization": f"Bearer {token}"}).status_code == 401

    def test_known_api_key_is_accepted(self, client: TestClient) -> None:
        response = client.get(self.URL, headers={"Authorization": f"ApiKey {VIEWER_KEY}"})
        assert response.status_code == 200

    def test_api_key_header_is_accepted(self, client: TestClient) -> None:
        response = client.get(self.URL, headers={"Authorization": "", "X-API-Key": VIEWER_KEY})
        assert response.status_code == 200

    @pytest.mark.parametrize("key", ["nope", VIEWER_KEY + "x", VIEWER_KEY[:-1], ""])
    def test_unknown_api_key_is_401(self, client: TestClient, key: str) -> None:
        response = client.get(self.URL, headers={"Authorization": f"ApiKey {key}"})
        assert response.status_code == 401


class TestRoles:
    def test_viewer_cannot_create(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/organizations",
            json={"name": "viewer-made"},
            headers={"Authorization": f"ApiKey {VIEWER_KEY}"},
        )
        assert response.status_code == 403
        assert "admin" in response.json()["error"]

    def test_token_bound_to_other_org_sees_404(self, client: TestClient, org_id: str) -> None:
        other = "00000000-0000-4000-8000-000000000001"
        token = _token(_claims(org_ids=[other]))
        response = client.get(
            f"/api/v1/organizations/{org_id}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 404


class TestStartup:
    def test_refuses_to_start_without_auth(self, pg_url: str) -> None:
        with pytest.raises(ConfigurationError, match="QUANTUN_JWT_SECRET"):
            create_app(Settings(database_url=pg_url))

    def test_starts_when_auth_is_explicitly_disabled(self, pg_url: str) -> None:
        create_app(Settings(database_url=pg_url, auth_disabled=True))
