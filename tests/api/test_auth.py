"""Authentication: JWT HS256 with exp/iss/sub required, API keys; everything else is 401.
Principals are bound to organizations; production refuses unsafe settings."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey
from pydantic import SecretStr
from starlette.requests import HTTPConnection

from qrap_api.app import create_app
from qrap_api.auth import Authenticator, authenticate_request, authenticate_request_async
from qrap_core.audit.service import Actor
from qrap_core.db import Database
from qrap_core.errors import ConfigurationError, Unauthorized
from qrap_core.settings import Settings, load_settings
from tests.conftest import ADMIN_KEY, JWT_SECRET, VIEWER_KEY, RecordingDispatcher


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
        "platform_admin": True,
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
            ("sub over 255 characters", _claims(sub="s" * 256)),  # was a 500 from the column
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
        token = _token(_claims(org_ids=[other], platform_admin=None))
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


ORG_BOUND_ADMIN = "org-admin-key-0123456789abcdef0123"


@pytest.fixture
def bound_client(
    settings: Settings, database: Database, dispatched: RecordingDispatcher, org_id: str
) -> Iterator[TestClient]:
    """An app whose QUANTUN_API_KEYS also hold an admin key bound to ``org_id``."""
    keys = f"{ADMIN_KEY}:ci-admin:admin,{ORG_BOUND_ADMIN}:org-admin:admin:{org_id}"
    bound = Settings(**{**_fields(settings), "QUANTUN_API_KEYS": keys})
    with TestClient(create_app(bound, database=database, dispatcher=dispatched)) as test_client:
        yield test_client


def _fields(settings: Settings) -> dict[str, Any]:
    """``settings`` as constructor arguments (secrets revealed, aliases used)."""
    fields = {
        name: value.get_secret_value() if isinstance(value, SecretStr) else value
        for name, value in settings.model_dump().items()
    }
    for name, info in Settings.model_fields.items():
        if isinstance(info.validation_alias, str):
            fields[info.validation_alias] = fields.pop(name)
    return fields


class TestBinding:
    URL = "/api/v1/organizations"

    def test_token_without_organizations_or_platform_admin_is_refused(
        self, client: TestClient
    ) -> None:
        token = _token(_claims(platform_admin=None))
        response = client.get(self.URL, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401
        assert "org_ids" in response.json()["error"]

    @pytest.mark.parametrize(
        "claims",
        [
            _claims(platform_admin=True, role="viewer"),
            _claims(platform_admin="true"),
            _claims(platform_admin=None, org_ids=[]),
            _claims(platform_admin=None, org_ids="not-a-list"),
            _claims(platform_admin=None, org_ids=["not-a-uuid"]),
            _claims(sub="x" * 256),
        ],
    )
    def test_malformed_bindings_are_401(self, client: TestClient, claims: dict[str, Any]) -> None:
        response = client.get(self.URL, headers={"Authorization": f"Bearer {_token(claims)}"})
        assert response.status_code == 401

    def test_bound_token_lists_only_its_organizations(
        self, client: TestClient, org_id: str
    ) -> None:
        other = client.post(self.URL, json={"name": f"other-{uuid.uuid4()}"}).json()["id"]
        token = _token(_claims(platform_admin=None, role="viewer", org_ids=[org_id]))
        listed = client.get(
            self.URL, params={"limit": 100}, headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert [o["id"] for o in listed["organizations"]] == [org_id]
        assert listed["total_count"] == 1
        assert other not in str(listed)

    def test_only_a_platform_admin_creates_organizations(
        self, client: TestClient, org_id: str
    ) -> None:
        bound_admin = _token(_claims(platform_admin=None, org_ids=[org_id]))
        taken = client.get(f"{self.URL}/{org_id}").json()["name"]
        for name in (f"new-{uuid.uuid4()}", taken):  # a taken name must not answer 409
            response = client.post(
                self.URL, json={"name": name}, headers={"Authorization": f"Bearer {bound_admin}"}
            )
            assert response.status_code == 403, response.text
            assert "platform admin" in response.json()["error"]
        assert client.post(self.URL, json={"name": taken}).status_code == 409  # platform admin

    def test_a_bound_config_key_sees_its_organization_only(
        self, client: TestClient, bound_client: TestClient, org_id: str
    ) -> None:
        other = client.post(self.URL, json={"name": f"other-{uuid.uuid4()}"}).json()["id"]
        bound_client.headers["X-API-Key"] = ORG_BOUND_ADMIN
        assert bound_client.get(f"{self.URL}/{org_id}").status_code == 200
        assert bound_client.get(f"{self.URL}/{other}").status_code == 404
        listed = bound_client.get(self.URL, params={"limit": 100}).json()
        assert [o["id"] for o in listed["organizations"]] == [org_id]
        created = bound_client.post(self.URL, json={"name": f"mine-{uuid.uuid4()}"})
        assert created.status_code == 403


class TestApiKeySettings:
    ORG = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"

    @pytest.mark.parametrize(
        "entry",
        [
            "viewer-key-0123456789abcdef:v:viewer",
            "analyst-key-0123456789abcdef:a:analyst",
            "viewer-key-0123456789abcdef:v",
            "viewer-key-0123456789abcdef:v:viewer:not-a-uuid",
            "viewer-key-0123456789abcdef:v:viewer:" + ORG + ":extra",
            "short:v:admin",
        ],
    )
    def test_unbound_or_malformed_entries_are_refused_at_start(
        self, entry: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QUANTUN_API_KEYS", entry)
        with pytest.raises(ConfigurationError, match="QUANTUN_API_KEYS") as raised:
            load_settings()
        assert entry.split(":")[0] not in str(raised.value)  # the key itself is never shown

    def test_bound_and_platform_entries(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(
            "QUANTUN_API_KEYS",
            f"viewer-key-0123456789abcdef:v:viewer:{self.ORG},admin-key-0123456789abcdef:root:admin",
        )
        viewer, admin = load_settings().api_keys
        assert (viewer.role, viewer.organization_id, viewer.platform_admin) == (
            "viewer",
            uuid.UUID(self.ORG),
            False,
        )
        assert (admin.organization_id, admin.platform_admin) == (None, True)


class TestUnsafeSettings:
    @pytest.mark.parametrize("env", ["development", "production"])
    def test_a_short_jwt_secret_is_refused_in_every_mode(
        self, env: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QRAP_ENV", env)
        monkeypatch.setenv("QUANTUN_JWT_SECRET", "x" * 31)
        with pytest.raises(ConfigurationError, match="QUANTUN_JWT_SECRET"):
            load_settings()

    def test_an_empty_jwt_secret_does_not_count_as_authentication(self, pg_url: str) -> None:
        settings = Settings(database_url=pg_url, QUANTUN_JWT_SECRET="")
        assert settings.jwt_secret is None
        with pytest.raises(ConfigurationError, match="no authentication configured"):
            create_app(settings)

    @pytest.mark.parametrize(
        ("variable", "value"),
        [
            ("QRAP_AUTH_DISABLED", "true"),
            ("QRAP_DEBUG", "true"),
            ("QRAP_API_DOCS", "public"),
            ("QUANTUN_API_KEYS", "admin-key-0123456789abcdef:root:admin"),  # 26 characters
        ],
    )
    def test_production_refuses_unsafe_settings(
        self, variable: str, value: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QRAP_ENV", "production")
        monkeypatch.setenv("QUANTUN_JWT_SECRET", JWT_SECRET)
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigurationError, match=variable):
            load_settings()
        monkeypatch.setenv("QRAP_ENV", "development")
        load_settings()  # the same settings are fine on a developer's machine

    def test_production_refuses_auth_disabled_even_past_validation(self, pg_url: str) -> None:
        production = Settings(database_url=pg_url, env="production", QUANTUN_JWT_SECRET=JWT_SECRET)
        unsafe = production.model_copy(update={"auth_disabled": True})  # skips validation
        with pytest.raises(ConfigurationError, match="QRAP_AUTH_DISABLED"):
            create_app(unsafe)


class TestDocs:
    PAGES = ("/openapi.json", "/docs", "/redoc")

    def _client(self, settings: Settings, database: Database, **overrides: Any) -> TestClient:
        changed = Settings(
            **{**_fields(settings), "QUANTUN_API_KEYS": PRODUCTION_KEYS, **overrides}
        )
        return TestClient(create_app(changed, database=database), raise_server_exceptions=False)

    def test_production_docs_need_authentication(
        self, settings: Settings, database: Database
    ) -> None:
        with self._client(settings, database, env="production") as client:
            for page in self.PAGES:
                assert client.get(page).status_code == 401, page
                answer = client.get(page, headers={"X-API-Key": PRODUCTION_VIEWER})
                assert answer.status_code == 200, page
            spec = client.get(self.PAGES[0], headers={"X-API-Key": PRODUCTION_VIEWER}).json()
            assert "/api/v1/api-keys" in spec["paths"]

    def test_docs_can_be_turned_off(self, settings: Settings, database: Database) -> None:
        with self._client(settings, database, env="production", api_docs="off") as client:
            for page in self.PAGES:
                answer = client.get(page, headers={"X-API-Key": PRODUCTION_VIEWER})
                assert answer.status_code == 404, page

    def test_development_docs_stay_public(self, settings: Settings, database: Database) -> None:
        with self._client(settings, database) as client:
            for page in self.PAGES:
                assert client.get(page).status_code == 200, page


PRODUCTION_VIEWER = "production-viewer-key-0123456789abcdef"
PRODUCTION_KEYS = f"{PRODUCTION_VIEWER}:docs-reader:viewer:{uuid.UUID(int=1)}"


class TestAuthenticateOnce:
    def test_the_async_form_looks_keys_up_off_the_event_loop_once(self, settings: Settings) -> None:
        threads: list[int] = []

        def lookup(presented: str) -> Actor | None:
            threads.append(threading.get_ident())
            return Actor(subject="stored", kind="api_key", role="viewer", org_ids=frozenset())

        authenticator = Authenticator(settings, stored_keys=lookup)
        connection = HTTPConnection({"type": "http", "headers": [(b"x-api-key", b"qrap_x")]})
        actor = anyio.run(authenticate_request_async, connection, authenticator)
        assert actor.subject == "stored"
        assert authenticate_request(connection, authenticator) is actor  # the cached outcome
        assert len(threads) == 1
        assert threads[0] != threading.get_ident()

    def test_a_failure_is_cached_too(self, settings: Settings) -> None:
        authenticator = Authenticator(settings, stored_keys=lambda presented: None)
        connection = HTTPConnection({"type": "http", "headers": [(b"x-api-key", b"qrap_x")]})
        for _ in range(2):
            with pytest.raises(Unauthorized, match="invalid API key"):
                anyio.run(authenticate_request_async, connection, authenticator)
