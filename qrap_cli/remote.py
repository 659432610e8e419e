"""`qrap assess --api-url URL`: submit to a QRAP server, follow its live events, fetch the report.

The submission carries an Idempotency-Key, so a retry after a dropped connection never creates
a second assessment. Progress comes from the Server-Sent Events stream; if the stream breaks,
the client reconnects until the run ends or the deadline passes.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from pydantic import ValidationError

from qrap_core.assessment.schemas import DataProfile
from qrap_core.discovery.targets import Target
from qrap_core.errors import QrapError
from qrap_core.reports.model import Report

ProgressCallback = Callable[[int, int, str], None]
TERMINAL = frozenset({"assessment.completed", "assessment.failed", "assessment.cancelled"})
SUBMIT_RETRIES = 4


class RemoteError(QrapError):
    """The server refused the request or could not be reached."""


class RemoteClient:
    def __init__(
        self,
        api_url: str,
        *,
        token: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"user-agent": "qrap-cli"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        elif api_key:
            headers["authorization"] = f"ApiKey {api_key}"
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(timeout),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def _check(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text
            raise RemoteError(f"{response.request.method} {response.request.url.path}:"
                              f" HTTP {response.status_code}: {message}")  # fmt: skip
        body: dict[str, Any] = response.json()
        return body

    def _get(self, path: str, **params: str | int) -> dict[str, Any]:
        try:
            return self._check(self._http.get(path, params=params))
        except httpx.TransportError as exc:
            raise RemoteError(f"cannot reach the server: {exc}") from None

    def organization_id(self, name_or_id: str) -> str:
        """The id of the organization called ``name_or_id`` (created if missing), or the id."""
        try:
            return str(uuid.UUID(name_or_id))
        except ValueError:
            pass
        offset = 0
        while True:
            page = self._get("/api/v1/organizations", offset=offset, limit=100)
            for org in page.get("organizations", []):
                if org.get("name") == name_or_id:
                    return str(org["id"])
            offset += 100
            if offset >= int(page.get("total_count", 0)):
                break
        created = self._post("/api/v1/organizations", {"name": name_or_id})
        return str(created["id"])

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with an Idempotency-Key, retried on connection errors and 409 (in flight)."""
        key = str(uuid.uuid4())
        delay = 0.5
        for attempt in range(SUBMIT_RETRIES + 1):
            try:
                response = self._http.post(path, json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError as exc:
                if attempt == SUBMIT_RETRIES:
                    raise RemoteError(f"cannot reach the server: {exc}") from None
            else:
                if response.status_code != 409 or attempt == SUBMIT_RETRIES:
                    return self._check(response)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
        raise RemoteError("unreachable")  # the loop returns or raises

    def submit(
        self,
        *,
        organization_id: str,
        name: str,
        target_assets: list[str],
        targets: list[Target],
        data_profile: DataProfile,
    ) -> dict[str, Any]:
        return self._post(
            "/api/v1/assessments",
            {
                "name": name,
                "organization_id": organization_id,
                "target_assets": target_assets,
                "targets": [t.model_dump(mode="json", exclude_none=True) for t in targets],
                "data_profile": data_profile.model_dump(exclude_none=True),
                "run": True,
            },
        )

    def events(self, assessment_id: str) -> Iterator[dict[str, Any]]:
        """One pass over the SSE stream; yields each event's JSON data."""
        with self._http.stream(
            "GET",
            f"/api/v1/assessments/{assessment_id}/events",
            headers={"accept": "text/event-stream"},
            timeout=httpx.Timeout(30.0, read=60.0),
        ) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            yield from parse_sse(response.iter_lines())

    def wait(
        self, assessment_id: str, on_progress: ProgressCallback | None, deadline: float
    ) -> dict[str, Any]:
        """Follow the events until the terminal one; reconnect when the stream breaks."""
        while time.monotonic() < deadline:
            try:
                for event in self.events(assessment_id):
                    kind = event.get("type", "")
                    if on_progress is not None and "targets_total" in event:
                        on_progress(
                            int(event.get("targets_done") or 0),
                            int(event.get("targets_total") or 0),
                            str(event.get("target") or event.get("status") or ""),
                        )
                    if kind in TERMINAL:
                        return event
                    if time.monotonic() >= deadline:
                        break
            except httpx.TransportError:
                pass  # reconnect below
            time.sleep(1.0)
        raise RemoteError("timed out waiting for the assessment to finish")

    def report(self, assessment_id: str) -> Report:
        body = self._get(f"/api/v1/assessments/{assessment_id}/report", format="json")
        try:
            return Report.from_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise RemoteError(
                f"the server sent a report this client cannot read: {where}: {first['msg']}"
            ) from None


def parse_sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Server-Sent Events: ``data:`` lines up to a blank line make one event (JSON here)."""
    data: list[str] = []
    for line in _with_end(lines):
        if line == "":
            event = _json(data)
            data = []
            if event is not None:
                yield event
            continue
        if line.startswith(":"):
            continue  # a comment (keepalive)
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value[1:] if value.startswith(" ") else value)


def _with_end(lines: Iterator[str]) -> Iterator[str]:
    yield from lines
    yield ""  # a stream that ends without a blank line still ends its last event


def _json(data: list[str]) -> dict[str, Any] | None:
    if not data:
        return None
    try:
        value = json.loads("\n".join(data))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def assess_remote(
    client: RemoteClient,
    *,
    organization: str,
    name: str,
    target_assets: list[str],
    targets: list[Target],
    data_profile: DataProfile,
    on_progress: ProgressCallback | None,
    timeout: float,
) -> tuple[str, str, Report]:
    """Submit, wait, fetch: (final status, error or "", the report).

    A FAILED run (e.g. no target could be assessed) reports the run's error; the caller
    exits non-zero for any status but COMPLETED.
    """
    org_id = client.organization_id(organization)
    created = client.submit(
        organization_id=org_id,
        name=name,
        target_assets=target_assets,
        targets=targets,
        data_profile=data_profile,
    )
    assessment_id = str(created["id"])
    final = client.wait(assessment_id, on_progress, time.monotonic() + timeout)
    status = str(final.get("status") or final["type"].split(".")[-1].upper())
    report = client.report(assessment_id)
    error = final.get("error") or report.assessment.error or ""
    return status, str(error), report
