"""Bounded work: deeply nested JSON bodies and CBOMs are refused (400) before anything walks
them recursively: never a RecursionError, a 500 or gigabytes of nested lists."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from qrap_api.app import create_app
from qrap_api.middleware import MAX_JSON_DEPTH
from qrap_core.db import Database
from qrap_core.discovery.cbom_reader import MAX_DEPTH, InvalidCbom, read_cbom
from qrap_core.settings import Settings
from qrap_core.validation import JsonDepth, json_too_deep
from tests.conftest import ADMIN_KEY, RecordingDispatcher

log = logging.getLogger(__name__)
DEEP = 100_000  # 200 KB of brackets


def timed(label: str, call: Any) -> Any:
    """``call()``, its time logged (shown with -o log_cli=true; never asserted)."""
    started = time.perf_counter()
    response = call()
    log.info("%s: %s in %.3f s", label, response.status_code, time.perf_counter() - started)
    return response


def nested_components(levels: int) -> dict[str, Any]:
    """A CBOM whose components nest ``levels`` deep (components inside components)."""
    component: dict[str, Any] = {"type": "library", "name": "leaf"}
    for level in range(levels):
        component = {"type": "library", "name": f"level {level}", "components": [component]}
    return {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [component]}


def nested_components_text(levels: int) -> bytes:
    """The same document as text, built without recursion (json.dumps would recurse)."""
    opening = b'{"type": "library", "name": "n", "components": [' * levels
    closing = b"]}" * levels
    return (
        b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ['
        + opening
        + b'{"type": "library", "name": "leaf"}'
        + closing
        + b"]}"
    )


@pytest.fixture
def assessment_id(client: TestClient, org_id: str) -> str:
    response = client.post(
        "/api/v1/assessments", json={"name": "bounded", "organization_id": org_id}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def upload(client: TestClient, assessment_id: str, data: bytes) -> Any:
    return client.post(
        f"/api/v1/assessments/{assessment_id}/artifacts",
        files={"file": ("deep.cdx.json", data, "application/json")},
    )


class TestJsonBodies:
    @pytest.mark.parametrize(
        "body",
        [
            b"[" * DEEP + b"]" * DEEP,
            b'{"a":' * DEEP + b"1" + b"}" * DEEP,
            b"[" * DEEP,  # never closed
            b'{"name": "x", "organization_id": "y", "targets": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        ],
        ids=["arrays", "objects", "unterminated", "inside-a-field"],
    )
    def test_deep_body_is_refused(self, client: TestClient, body: bytes) -> None:
        response = timed(
            "deep body",
            lambda: client.post(
                "/api/v1/assessments", content=body, headers={"Content-Type": "application/json"}
            ),
        )

        assert response.status_code == 400, response.text
        assert response.json()["code"] == "JsonTooDeep"
        assert response.json()["details"][0]["field"] == "body"

    def test_without_content_type(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/organizations",
            content=b"[" * DEEP + b"]" * DEEP,
            headers={"Content-Type": ""},
        )

        assert response.status_code == 400, response.text

    def test_brackets_inside_strings_do_not_count(self, client: TestClient) -> None:
        response = client.post(
            "/api/v1/organizations",
            json={"name": "[" * 100 + '\\"{' * 30, "description": "[" * 5_000 + "\\"},
        )

        assert response.status_code == 201, response.text

    def test_depth_at_the_limit_is_parsed(self, client: TestClient) -> None:
        body = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH

        response = client.post(
            "/api/v1/organizations", content=body, headers={"Content-Type": "application/json"}
        )

        assert response.status_code == 400
        assert response.json()["code"] != "JsonTooDeep"  # a list is not an organization

    @pytest.mark.parametrize(
        ("body", "deep"),
        [
            (b"[" * 3 + b"]" * 3, False),
            (b"[" * 4 + b"]" * 4, True),
            (b'[["[[[[[[", "\\"[[[["]]', False),
            (b'[[["\\\\"], [[]]]]', True),
            (b"[[]][[]][[]]", False),
            (b"[1, 2", False),
            (b"[[[[", True),
        ],
    )
    def test_scanner(self, body: bytes, deep: bool) -> None:
        assert json_too_deep(body, 3) is deep
        chunked = JsonDepth(3)
        assert (not all(chunked.feed(body[i : i + 2]) for i in range(0, len(body), 2))) is deep


class TestCbom:
    def test_deep_metadata_upload_is_refused(self, client: TestClient, assessment_id: str) -> None:
        data = (
            b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": '
            + b"[" * DEEP
            + b"]" * DEEP
            + b', "components": []}'
        )

        response = timed("deep metadata upload", lambda: upload(client, assessment_id, data))

        assert response.status_code == 400, response.text
        assert f"deeper than {MAX_DEPTH}" in response.json()["error"]

    def test_nested_components_upload_is_refused(
        self, client: TestClient, assessment_id: str
    ) -> None:
        response = timed(
            "3,000 nested components",
            lambda: upload(client, assessment_id, nested_components_text(3_000)),
        )

        assert response.status_code == 400, response.text
        assert f"deeper than {MAX_DEPTH}" in response.json()["error"]
        listed = client.get(f"/api/v1/assessments/{assessment_id}/artifacts").json()
        assert listed["total_count"] == 0

    def test_nested_components_inline_target_is_refused(
        self, client: TestClient, org_id: str
    ) -> None:
        """Shallow enough for the body limit (100), too deep for a CBOM (64)."""
        document = nested_components(40)

        response = client.post(
            "/api/v1/assessments",
            json={
                "name": "inline",
                "organization_id": org_id,
                "targets": [{"type": "cbom", "document": document}],
            },
        )

        assert response.status_code == 400, response.text
        assert response.json()["details"][0]["field"].startswith("targets[0]")
        assert f"deeper than {MAX_DEPTH}" in response.text

    def test_reader_stops_at_the_depth_limit(self) -> None:
        with pytest.raises(InvalidCbom, match="deeper than"):
            read_cbom(io.BytesIO(nested_components_text(3_000)))

    def test_reasonable_nesting_still_reads(self) -> None:
        parsed = read_cbom(io.BytesIO(json.dumps(nested_components(20)).encode()))

        assert parsed.other_components == 21


# Run in a child process under an address-space cap and a low recursion limit: a document
# that made the reader allocate gigabytes or recurse per level fails there, loudly.
_CAPPED_READER = """
import io, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
sys.setrecursionlimit(400)
from qrap_core.discovery.cbom_reader import InvalidCbom, read_cbom
data = sys.stdin.buffer.read()
try:
    read_cbom(io.BytesIO(data), max_components={limit})
except InvalidCbom as exc:
    print("refused:", exc.message)
else:
    print("accepted")
print("maxrss_kib:", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
MEMORY_CAP = 768 * 1024 * 1024


def read_capped(data: bytes, limit: int = 100_000) -> str:
    script = _CAPPED_READER.format(cap=MEMORY_CAP, limit=limit)
    done = subprocess.run(
        [sys.executable, "-c", script], input=data, capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert b"RecursionError" not in done.stderr
    log.info("capped reader: %s", done.stdout.decode().strip())
    return done.stdout.decode()


def flat_components(count: int) -> bytes:
    item = b'{"type": "library", "name": "c"}'
    return (
        b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": ['
        + b",".join([item] * count)
        + b"]}"
    )


class TestCbomUnderAMemoryCap:
    def test_deep_metadata(self) -> None:
        data = (
            b'{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": '
            + b"[" * DEEP
            + b"]" * DEEP
            + b', "components": []}'
        )
        assert 200_000 < len(data) < 201_000  # the 200 KB upload of the report

        assert f"refused: invalid CBOM: nested deeper than {MAX_DEPTH}" in read_capped(data)

    def test_components_nested_3000_deep(self) -> None:
        out = read_capped(nested_components_text(3_000))

        assert f"refused: invalid CBOM: nested deeper than {MAX_DEPTH}" in out

    def test_too_many_components(self) -> None:
        out = read_capped(flat_components(1_001), limit=1_000)

        assert "refused: invalid CBOM at /components: more than 1000 components" in out

    def test_nested_components_count_too(self) -> None:
        out = read_capped(nested_components_text(20), limit=10)

        assert "more than 10 components" in out

    def test_a_large_ordinary_document_reads(self) -> None:
        assert "accepted" in read_capped(flat_components(50_000))


class TestComponentLimitSetting:
    def test_upload_over_the_setting_is_400(
        self, settings: Settings, database: Database, assessment_id: str
    ) -> None:
        few = settings.model_copy(update={"cbom_max_components": 10})
        app = create_app(few, database=database, dispatcher=RecordingDispatcher())
        with TestClient(app, raise_server_exceptions=False) as other:
            other.headers["Authorization"] = f"ApiKey {ADMIN_KEY}"
            refused = upload(other, assessment_id, flat_components(11))
            accepted = upload(other, assessment_id, flat_components(10))

        assert refused.status_code == 400, refused.text
        assert refused.json()["details"][0]["field"] == "/components"
        assert "more than 10 components" in refused.json()["error"]
        assert accepted.status_code == 201, accepted.text
