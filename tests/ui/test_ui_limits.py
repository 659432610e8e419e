"""The dashboard under the API's limits: failed sign-ins spend the failed-authentication budget
of the rate limiter, and the create form takes files up to the upload limit, streamed, with a
413 page naming the limit beyond it.

Each rate-limit test calls from a client address of its own, so that tests sharing the
session's Redis database never share counters.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_api.ui.session import SESSION_COOKIE, encode_session
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, RecordingDispatcher
from tests.ui.forms import csrf, signed_in

pytestmark = pytest.mark.ui
MIB = 1_048_576


def _address() -> str:
    number = uuid.uuid4().int
    return f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"


def _browser(settings: Settings, database: Database, address: str | None = None) -> TestClient:
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher())
    return TestClient(
        app,
        base_url="http://127.0.0.1",
        raise_server_exceptions=False,
        client=(address or _address(), 50000),
    )


class TestSignInThrottling:
    @pytest.fixture
    def limited(self, settings: Settings) -> Settings:
        """Ten requests a minute: two failed authentications a minute per address."""
        return settings.model_copy(update={"rate_limit": 10})

    def _guess(self, browser: TestClient, token: str) -> httpx.Response:
        answer: httpx.Response = browser.post(
            "/ui/login",
            data={"csrf_token": token, "credential": uuid.uuid4().hex, "kind": "apikey"},
            follow_redirects=False,
        )
        return answer

    def test_wrong_keys_are_refused_with_429_before_the_normal_limit(
        self, limited: Settings, database: Database
    ) -> None:
        with _browser(limited, database) as browser:
            token = csrf(browser)
            guesses = [self._guess(browser, token) for _ in range(4)]
            # The right key from the same address waits too: the form cannot tell it apart.
            right = browser.post(
                "/ui/login", data={"csrf_token": token, "credential": ADMIN_KEY, "kind": "apikey"},
                follow_redirects=False,
            )  # fmt: skip
        assert [g.status_code for g in guesses] == [401, 401, 429, 429]
        # Five requests of the ten the address may make: the normal limit is not reached.
        assert guesses[1].headers["x-ratelimit-limit"] == "10"
        assert int(guesses[1].headers["x-ratelimit-remaining"]) >= 5
        refused = guesses[2]
        assert refused.json()["code"] == "RateLimited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-ratelimit-limit"] == "2"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert right.status_code == 429

    def test_the_form_and_api_headers_share_one_budget(
        self, limited: Settings, database: Database
    ) -> None:
        address = _address()
        with _browser(limited, database, address) as browser:
            token = csrf(browser)
            assert self._guess(browser, token).status_code == 401
            api = browser.get("/api/v1/organizations", headers={"X-API-Key": uuid.uuid4().hex})
            assert api.status_code == 401
            assert self._guess(browser, token).status_code == 429
        with _browser(limited, database) as elsewhere:  # another address: its own budget
            assert self._guess(elsewhere, csrf(elsewhere)).status_code == 401

    def test_forged_session_cookies_are_guesses_too(
        self, limited: Settings, database: Database
    ) -> None:
        with _browser(limited, database) as browser:
            answers = []
            for _ in range(3):
                forged = encode_session(f"ApiKey {uuid.uuid4().hex}")
                browser.cookies.set(SESSION_COOKIE, forged, path="/ui")
                answers.append(browser.get("/ui/assessments", follow_redirects=False))
        assert [a.status_code for a in answers] == [303, 303, 429]
        assert "retry-after" in answers[2].headers
        # The refused session is dropped, so a browser does not keep sending it.
        dropped = answers[0].headers.get("set-cookie", "")
        assert f'{SESSION_COOKIE}="";' in dropped or f"{SESSION_COOKIE}=;" in dropped

    def test_successful_sign_ins_spend_nothing_of_it(
        self, limited: Settings, database: Database
    ) -> None:
        with _browser(limited, database) as browser:
            for _ in range(2):  # the whole failed budget, had they counted (3 requests each)
                signed_in(browser, ADMIN_KEY)
            token = csrf(browser)
            assert self._guess(browser, token).status_code == 401


def _cbom(size: int) -> bytes:
    """A valid CycloneDX 1.6 CBOM of at least ``size`` bytes (algorithm components)."""
    component = (
        '{{"type": "cryptographic-asset", "name": "RSA-2048", "bom-ref": "alg:{}",'
        ' "cryptoProperties": {{"assetType": "algorithm"}}}}'
    )
    parts: list[str] = []
    total = 0
    while total < size:
        parts.append(component.format(len(parts)))
        total += len(parts[-1]) + 2
    head = '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ['
    return (head + ", ".join(parts) + "]}").encode()


class TestUploadsInTheCreateForm:
    @pytest.fixture
    def browser(self, settings: Settings, database: Database) -> Iterator[TestClient]:
        with _browser(settings, database) as client:
            yield client

    @pytest.fixture
    def org(self, browser: TestClient) -> str:
        answer = browser.post(
            "/api/v1/organizations",
            json={"name": f"ui-limits-{uuid.uuid4()}"},
            headers={"Authorization": f"ApiKey {ADMIN_KEY}"},
        )
        assert answer.status_code == 201, answer.text
        return str(answer.json()["id"])

    def test_a_5_mb_cbom_is_accepted(self, browser: TestClient, org: str) -> None:
        document = _cbom(5 * 1_000_000)
        assert len(document) > 4 * MIB  # four times QRAP_MAX_BODY_SIZE
        token = signed_in(browser, ADMIN_KEY)
        answer = browser.post(
            "/ui/assessments",
            data={"csrf_token": token, "name": "big", "organization_id": org},
            files={"cboms": ("big.cdx.json", document, "application/json")},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text[:2000]
        assessment_id = answer.headers["location"].rsplit("/", 1)[-1]
        listed = browser.get(
            f"/api/v1/assessments/{assessment_id}/artifacts",
            headers={"Authorization": f"ApiKey {ADMIN_KEY}"},
        ).json()
        assert [a["size"] for a in listed["artifacts"]] == [len(document)]

    @pytest.mark.parametrize("chunked", [False, True])
    def test_a_form_over_the_upload_limit_is_a_413_page(
        self, settings: Settings, database: Database, chunked: bool
    ) -> None:
        small = settings.model_copy(update={"cbom_max_upload_size": 2 * MIB})
        with _browser(small, database) as browser:
            token = signed_in(browser, ADMIN_KEY)
            body, content_type = _multipart(
                {"csrf_token": token, "name": "too big", "organization_id": str(uuid.uuid4())},
                ("cboms", "big.cdx.json", _cbom(3 * MIB)),
            )
            content: bytes | Iterator[bytes] = _chunks(body) if chunked else body
            answer = browser.post(
                "/ui/assessments", content=content, headers={"content-type": content_type}
            )
        assert answer.status_code == 413
        assert answer.headers["content-type"].startswith("text/html")
        assert "2 MiB (2,097,152 bytes)" in answer.text
        assert "script-src 'self'" in answer.headers["content-security-policy"]

    def test_the_api_body_limit_still_holds_for_other_forms(self, browser: TestClient) -> None:
        token = signed_in(browser, ADMIN_KEY)
        answer = browser.post(
            "/ui/organizations",
            data={"csrf_token": token, "name": "x"},
            files={"extra": ("pad.bin", b"x" * (MIB + 1), "application/octet-stream")},
        )
        assert answer.status_code == 413
        assert "1 MiB (1,048,576 bytes)" in answer.text

    def test_inventories_stay_within_the_json_body_limit(
        self, browser: TestClient, org: str
    ) -> None:
        token = signed_in(browser, ADMIN_KEY)
        assets = [{"asset": f"host-{i:07d}", "algorithm": "RSA-2048"} for i in range(30_000)]
        inventory = json.dumps({"assets": assets}).encode()
        assert len(inventory) > MIB
        answer = browser.post(
            "/ui/assessments",
            data={"csrf_token": token, "name": "inv", "organization_id": org},
            files={"inventories": ("estate.json", inventory, "application/json")},
        )
        assert answer.status_code == 400
        assert "inventories[0]" in answer.text

    def test_a_deeply_nested_inventory_is_a_400_naming_the_field(
        self, browser: TestClient, org: str
    ) -> None:
        token = signed_in(browser, ADMIN_KEY)
        answer = browser.post(
            "/ui/assessments",
            data={"csrf_token": token, "name": "deep", "organization_id": org},
            files={"inventories": ("deep.json", b"[" * 200_000, "application/json")},
        )
        assert answer.status_code == 400
        assert "inventories[0]" in answer.text
        assert "nested deeper than" in answer.text


def _multipart(fields: dict[str, str], upload: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body, built here so that it can also be sent in chunks."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    name, filename, data = upload
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"'
        "\r\nContent-Type: application/json\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    """The body without a Content-Length: only counting what arrives can stop it."""
    for start in range(0, len(body), size):
        yield body[start : start + size]
