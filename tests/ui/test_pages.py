"""The dashboard over HTTP, without a browser: sign-in, cookies, CSRF, roles, tenants, the
Content-Security-Policy and the error page when the database is down."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_api.auth import issue_token
from qrap_api.ui.session import CSRF_COOKIE, SESSION_COOKIE
from qrap_core.db import Database
from qrap_core.settings import Settings
from tests.conftest import ADMIN_KEY, VIEWER_KEY, RecordingDispatcher

pytestmark = pytest.mark.ui
_TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


def _client(settings: Settings, database: Database, base_url: str) -> TestClient:
    app = create_app(settings, database=database, dispatcher=RecordingDispatcher())
    return TestClient(app, base_url=base_url, raise_server_exceptions=False)


@pytest.fixture
def browser(settings: Settings, database: Database) -> Iterator[TestClient]:
    """A client like a browser on http://127.0.0.1: cookies only, no Authorization header."""
    with _client(settings, database, "http://127.0.0.1") as client:
        yield client


def _csrf(client: TestClient, path: str = "/ui/login") -> str:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    match = _TOKEN.search(answer.text)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


def _sign_in(client: TestClient, credential: str, kind: str = "apikey") -> httpx.Response:
    token = _csrf(client)
    answer: httpx.Response = client.post(
        "/ui/login",
        data={"csrf_token": token, "credential": credential, "kind": kind, "next": "/ui/"},
        follow_redirects=False,
    )
    return answer


def _org(client: TestClient) -> str:
    answer = client.post(
        "/api/v1/organizations",
        json={"name": f"ui-{uuid.uuid4()}"},
        headers={"Authorization": f"ApiKey {ADMIN_KEY}"},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


class TestSignIn:
    def test_pages_send_an_anonymous_browser_to_the_sign_in_page(self, browser: TestClient) -> None:
        answer = browser.get("/ui/findings?sort=score", follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/ui/login?next=/ui/findings%3Fsort%3Dscore")

    def test_an_api_key_signs_in_with_a_strict_http_only_cookie(self, browser: TestClient) -> None:
        answer = _sign_in(browser, ADMIN_KEY)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if SESSION_COOKIE in c)
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/ui" in cookie
        assert "Secure" not in cookie  # plain http to 127.0.0.1 in development only
        assert browser.get("/ui/").status_code == 200

    def test_a_cookie_over_https_is_secure(self, settings: Settings, database: Database) -> None:
        with _client(settings, database, "https://qrap.example") as client:
            answer = _sign_in(client, ADMIN_KEY)
        cookies = answer.headers.get_list("set-cookie")
        assert cookies
        assert all("Secure" in cookie for cookie in cookies)

    def test_a_cookie_over_http_to_another_host_is_secure(
        self, settings: Settings, database: Database
    ) -> None:
        with _client(settings, database, "http://qrap.internal") as client:
            page = client.get("/ui/login")
        csrf = next(c for c in page.headers.get_list("set-cookie") if CSRF_COOKIE in c)
        assert "Secure" in csrf

    def test_a_jwt_signs_in_and_the_page_names_its_subject(
        self, browser: TestClient, settings: Settings
    ) -> None:
        token = issue_token(settings, subject="dana", role="analyst", org_ids=[str(uuid.uuid4())])
        assert _sign_in(browser, token, kind="bearer").status_code == 303
        assert "dana (analyst)" in browser.get("/ui/").text

    def test_a_wrong_key_is_refused_naming_the_field(self, browser: TestClient) -> None:
        answer = _sign_in(browser, "not-a-key")
        assert answer.status_code == 401
        assert 'id="credential-error"' in answer.text
        assert "invalid API key" in answer.text
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")

    def test_a_session_whose_token_expired_is_sent_to_sign_in(
        self, browser: TestClient, settings: Settings
    ) -> None:
        expired = issue_token(settings, subject="eve", role="admin", ttl_seconds=-120)
        browser.cookies.set(
            SESSION_COOKIE,
            base64.urlsafe_b64encode(f"Bearer {expired}".encode()).decode(),
        )
        answer = browser.get("/ui/", follow_redirects=False)
        assert answer.status_code == 303
        assert "session%20has%20ended" in answer.headers["location"]

    def test_sign_out_clears_the_session(self, browser: TestClient) -> None:
        _sign_in(browser, ADMIN_KEY)
        token = _csrf(browser, "/ui/")
        answer = browser.post("/ui/logout", data={"csrf_token": token}, follow_redirects=False)
        assert answer.status_code == 303
        assert browser.get("/ui/", follow_redirects=False).status_code == 303

    def test_next_never_leaves_the_dashboard(self, browser: TestClient) -> None:
        token = _csrf(browser)
        answer = browser.post(
            "/ui/login",
            data={"csrf_token": token, "credential": ADMIN_KEY, "next": "//evil.example/ui"},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/ui/"


class TestCsrf:
    def test_a_form_without_the_token_is_refused(self, browser: TestClient) -> None:
        browser.get("/ui/login")
        answer = browser.post("/ui/login", data={"credential": ADMIN_KEY})
        assert answer.status_code == 403
        assert "Form expired" in answer.text
        assert SESSION_COOKIE not in answer.headers.get("set-cookie", "")

    def test_a_token_from_another_browser_is_refused(
        self, browser: TestClient, settings: Settings, database: Database
    ) -> None:
        with _client(settings, database, "http://127.0.0.1") as other:
            foreign = _csrf(other)
        _csrf(browser)  # this browser's own nonce cookie
        answer = browser.post("/ui/login", data={"csrf_token": foreign, "credential": ADMIN_KEY})
        assert answer.status_code == 403

    def test_the_token_is_bound_to_the_session(self, browser: TestClient) -> None:
        before = _csrf(browser)
        _sign_in(browser, ADMIN_KEY)
        answer = browser.post(
            "/ui/organizations", data={"csrf_token": before, "name": "x"}, follow_redirects=False
        )
        assert answer.status_code == 403


class TestRolesAndTenants:
    def test_a_viewer_reads_but_cannot_triage_or_create(self, browser: TestClient) -> None:
        _sign_in(browser, VIEWER_KEY)
        token = _csrf(browser, "/ui/")
        answer = browser.post(
            f"/ui/findings/{uuid.uuid4()}",
            data={"csrf_token": token, "triage_status": "fixed"},
        )
        assert answer.status_code == 403
        assert "needs the analyst role" in answer.text
        assert browser.get("/ui/assessments/new").status_code == 403

    def test_an_org_bound_principal_sees_only_its_organizations(
        self, browser: TestClient, settings: Settings
    ) -> None:
        mine, theirs = _org(browser), _org(browser)
        token = issue_token(settings, subject="olga", role="analyst", org_ids=[mine])
        _sign_in(browser, token, kind="bearer")
        page = browser.get("/ui/organizations").text
        assert mine in page
        assert theirs not in page
        assert browser.get(f"/ui?organization_id={theirs}").status_code == 404

    def test_bad_form_input_is_a_400_naming_the_field(
        self, browser: TestClient, settings: Settings
    ) -> None:
        org = _org(browser)
        _sign_in(browser, ADMIN_KEY)
        token = _csrf(browser, "/ui/assessments/new")
        answer = browser.post(
            "/ui/assessments",
            data={"csrf_token": token, "name": "x", "organization_id": org,
                  "targets": "127.0.0.1:99999", "run": "true"},
        )  # fmt: skip
        assert answer.status_code == 400
        assert "target_assets[0]" in answer.text


class TestPages:
    @pytest.mark.parametrize(
        "path",
        ["/ui/", "/ui/login", "/ui/assessments", "/ui/assessments/new", "/ui/findings",
         "/ui/organizations", "/ui/hndl?algorithm=X25519&shelf_life_years=20"],
    )  # fmt: skip
    def test_no_inline_script_or_style_and_a_strict_policy(
        self, browser: TestClient, path: str
    ) -> None:
        _sign_in(browser, ADMIN_KEY)
        answer = browser.get(path)
        assert answer.status_code == 200
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self';" in policy
        assert "'unsafe-inline'" not in policy
        assert re.search(r"<script(?![^>]*\bsrc=)", answer.text) is None
        assert re.search(r"<style|\sstyle=|\son[a-z]+=", answer.text) is None
        assert answer.headers["cache-control"] == "no-store"

    def test_an_unknown_algorithm_in_the_calculator_names_the_field(
        self, browser: TestClient
    ) -> None:
        _sign_in(browser, ADMIN_KEY)
        answer = browser.get("/ui/hndl?algorithm=NOPE-9")
        assert answer.status_code == 400
        assert "algorithm" in answer.text
        assert "unknown algorithm" in answer.text

    def test_an_unreachable_database_is_a_503_page(self, settings: Settings) -> None:
        down = Database("postgresql+psycopg2://postgres@127.0.0.1:9/none?connect_timeout=2")
        with _client(settings, down, "http://127.0.0.1") as client:
            assert _sign_in(client, ADMIN_KEY).status_code == 303
            answer = client.get("/ui/assessments")
        down.dispose()
        assert answer.status_code == 503
        assert "database cannot be reached" in answer.text


class TestLiveEvents:
    def test_the_signed_in_browser_gets_the_api_event_stream(self, browser: TestClient) -> None:
        org = _org(browser)
        created = browser.post(
            "/api/v1/assessments",
            json={"name": "draft", "organization_id": org, "target_assets": ["127.0.0.1:443"]},
            headers={"Authorization": f"ApiKey {ADMIN_KEY}"},
        )
        assert created.status_code == 201, created.text
        path = f"/ui/assessments/{created.json()['id']}/events"
        assert browser.get(path, follow_redirects=False).status_code == 303  # not signed in
        _sign_in(browser, ADMIN_KEY)
        answer = browser.get(path)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert "event: assessment.status" in answer.text
        assert '"status": "DRAFT"' in answer.text
