"""No leaks and no 500s at the door: every spelling of a URL or host the API cannot use is a 400
naming the field; refusals do not tell what a name resolves to; an Idempotency-Key replay is
only for the role and organizations that produced the answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qrap_api.auth import issue_token
from qrap_core.settings import Settings

PUBLIC_HOOK = "https://93.184.216.34/hook"  # an address literal: vetting needs no DNS lookup

# Webhook URLs that are not usable (docs/reliability.md T14), each once per place a URL is taken.
BAD_URLS = {
    "octal": "http://0177.0.0.1/",
    "short-form": "http://127.1/",
    "integer": "http://2130706433/",
    "hex": "http://0x7f.0.0.1/",
    "fullwidth-digits": "http://\uff11\uff12\uff17.0.0.1/",
    "arabic-indic-digits": "http://\u0661\u0662\u0667.0.0.1/",
    "crlf-in-host": "http://a\r\nb.example/",
    "crlf-header-injection": "http://hooks.example/in\r\nX-Injected: 1",
    "lf-in-path": "http://hooks.example/a\nb",
    "tab": "http://hooks.example/\tx",
    "escape": "http://hooks\x1b.example/",
    "space-in-host": "http://exa mple.com/",
    "label-too-long": "http://" + "a" * 64 + ".example/",
    "name-too-long": "http://" + ".".join(["abcdefghi"] * 30) + ".example/",
    "over-long": "https://hooks.example/" + "a" * 2100,
    "unclosed-ipv6": "http://[::1/",
    "bad-ipv6": "http://[::g]/",
    "port-too-large": "http://hooks.example:99999/",
    "port-not-a-number": "http://hooks.example:http/",
    "port-zero": "http://hooks.example:0/",
    "non-network-scheme": "file:///etc/passwd",
    "gopher": "gopher://hooks.example/",
    "no-host": "http:///path",
    "credentials": "https://user:pass@hooks.example/",
    "unicode-name": "http://b\u00fccher.example/",
    "underscore-name": "http://bad_name.example/",
    "trailing-hyphen": "http://bad-.example/",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "scoped-ipv6": "http://[fe80::1%25eth0]/",
}
# Hosts of typed targets, refused exactly as their string forms are.
BAD_HOSTS = {
    "octal": "0177.0.0.1",
    "short-form": "127.1",
    "integer": "2130706433",
    "hex": "0x7f.0.0.1",
    "fullwidth-digits": "\uff11\uff12\uff17.0.0.1",
    "crlf": "a\r\nb.example",
    "escape": "host\x1b[31m.example",
    "space": "exa mple.com",
    "underscore": "bad_name.example",
    "label-too-long": "a" * 64 + ".example",
    "path": "example.com/admin",
    "metadata": "169.254.169.254",
}


def _field_of(body: dict[str, Any]) -> set[str]:
    return {detail["field"] for detail in body.get("details", [])}


class TestWebhookUrlVetting:
    @pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
    def test_webhook_endpoint_url(self, client: TestClient, org_id: str, url: str) -> None:
        response = client.post("/api/v1/webhooks", json={"organization_id": org_id, "url": url})

        assert response.status_code == 400, response.text
        assert _field_of(response.json()) == {"url"}

    @pytest.mark.parametrize("url", BAD_URLS.values(), ids=BAD_URLS.keys())
    def test_assessment_webhook_url(self, client: TestClient, org_id: str, url: str) -> None:
        response = client.post(
            "/api/v1/assessments",
            json={"name": "hooked", "organization_id": org_id, "webhook_url": url},
        )

        assert response.status_code == 400, response.text
        assert _field_of(response.json()) == {"webhook_url"}

    def test_a_good_url_is_still_accepted(self, client: TestClient, org_id: str) -> None:
        response = client.post(
            "/api/v1/webhooks", json={"organization_id": org_id, "url": PUBLIC_HOOK}
        )

        assert response.status_code == 201, response.text


class TestTypedTargetHosts:
    @pytest.mark.parametrize("kind", ["tls", "ssh"])
    @pytest.mark.parametrize("host", BAD_HOSTS.values(), ids=BAD_HOSTS.keys())
    def test_typed_host_is_refused(
        self, client: TestClient, org_id: str, kind: str, host: str
    ) -> None:
        response = client.post(
            "/api/v1/assessments",
            json={
                "name": "typed",
                "organization_id": org_id,
                "targets": [{"type": kind, "host": host}],
            },
        )

        assert response.status_code == 400, response.text
        assert _field_of(response.json()) == {f"targets[0].{kind}.host"}

    @pytest.mark.parametrize("host", BAD_HOSTS.values(), ids=BAD_HOSTS.keys())
    def test_the_string_form_is_refused_too(
        self, client: TestClient, org_id: str, host: str
    ) -> None:
        response = client.post(
            "/api/v1/assessments",
            json={"name": "string", "organization_id": org_id, "target_assets": [host]},
        )

        assert response.status_code == 400, response.text
        assert _field_of(response.json()) == {"target_assets[0]"}

    @pytest.mark.parametrize("kind", ["tls", "ssh"])
    def test_a_good_typed_host_is_accepted(
        self, client: TestClient, org_id: str, kind: str
    ) -> None:
        response = client.post(
            "/api/v1/assessments",
            json={
                "name": "typed",
                "organization_id": org_id,
                "targets": [{"type": kind, "host": "scan-me.example"}],
            },
        )

        assert response.status_code == 201, response.text


class TestRefusalsDoNotEchoAddresses:
    def test_webhook_to_a_name_of_the_server_network(self, client: TestClient, org_id: str) -> None:
        # "localhost" resolves from /etc/hosts: no DNS query leaves the machine.
        response = client.post(
            "/api/v1/webhooks", json={"organization_id": org_id, "url": "http://localhost:9/x"}
        )

        assert response.status_code == 400, response.text
        body = response.json()
        assert _field_of(body) == {"url"}
        assert "127.0.0.1" not in response.text
        assert "::1" not in response.text
        assert "loopback address" in body["details"][0]["message"]
        assert "QRAP_WEBHOOK_ALLOW_PRIVATE" in body["details"][0]["message"]


def _org_for(client: TestClient) -> str:
    response = client.post("/api/v1/organizations", json={"name": f"leaks-{uuid.uuid4()}"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class TestIdempotentReplayRechecksTheCaller:
    def _post(self, client: TestClient, token: str, key: str, body: dict[str, Any]) -> Any:
        return client.post(
            "/api/v1/assessments",
            json=body,
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        )

    def test_a_demoted_caller_does_not_get_the_analysts_answer(
        self, client: TestClient, settings: Settings
    ) -> None:
        org = _org_for(client)
        analyst = issue_token(settings, subject="dana", role="analyst", org_ids=[org])
        viewer = issue_token(settings, subject="dana", role="viewer", org_ids=[org])
        key = f"leak-{uuid.uuid4()}"
        body = {"name": "with hook", "organization_id": org, "webhook_url": PUBLIC_HOOK}

        first = self._post(client, analyst, key, body)
        assert first.status_code == 201, first.text
        secret = first.json()["webhook_secret"]
        assert secret

        replay = self._post(client, viewer, key, body)

        assert replay.status_code == 403, replay.text
        assert secret not in replay.text
        assert "idempotent-replayed" not in replay.headers

    def test_the_same_caller_still_gets_the_replay(
        self, client: TestClient, settings: Settings
    ) -> None:
        org = _org_for(client)
        analyst = issue_token(settings, subject="erin", role="analyst", org_ids=[org])
        key = f"leak-{uuid.uuid4()}"
        body = {"name": "with hook", "organization_id": org, "webhook_url": PUBLIC_HOOK}

        first = self._post(client, analyst, key, body)
        again = self._post(client, analyst, key, body)

        assert again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["webhook_secret"] == first.json()["webhook_secret"]

    def test_a_caller_moved_out_of_the_organization_gets_no_replay(
        self, client: TestClient, settings: Settings
    ) -> None:
        org, other = _org_for(client), _org_for(client)
        before = issue_token(settings, subject="finn", role="analyst", org_ids=[org])
        after = issue_token(settings, subject="finn", role="analyst", org_ids=[other])
        key = f"leak-{uuid.uuid4()}"
        body = {"name": "with hook", "organization_id": org, "webhook_url": PUBLIC_HOOK}

        first = self._post(client, before, key, body)
        assert first.status_code == 201, first.text

        replay = self._post(client, after, key, body)

        assert replay.status_code == 404, replay.text
        assert first.json()["webhook_secret"] not in replay.text
