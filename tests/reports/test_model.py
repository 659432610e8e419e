"""The typed report reads and writes exactly the Appendix B document."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from qrap_cli.remote import RemoteClient, RemoteError
from qrap_core.enums import AssessmentStatus, RiskLevel, TriageStatus
from qrap_core.reports.formats import render
from qrap_core.reports.model import Report, ReportTarget, json_time
from tests.reports.sample import report_document

REACHED = {"target": "a:443", "type": "tls", "status": "ok"}
FAILED = {"target": "b:443", "type": "tls", "status": "error", "error": "refused"}
PROBED = {**REACHED, "details": {"key_exchange": {"verdict": "hybrid-pq"}}}


def _document() -> dict[str, Any]:
    return report_document(
        summary={"total_findings": 1, "high_findings": 1, "partial": True, "risk_floor": "HIGH"},
        findings=[{}],
        targets=[REACHED, FAILED, PROBED],
        unrecognised=[
            {"asset_id": "a", "kind": "algorithm", "name": "x", "location": "l", "algorithm": None}
        ],
    )


class TestRoundTrip:
    def test_the_document_comes_back_unchanged(self) -> None:
        document = _document()

        again = Report.from_json(document).to_json()

        assert json.dumps(again) == json.dumps(document)  # same keys, order and values

    def test_the_json_export_is_the_document(self) -> None:
        document = _document()

        text = render(Report.from_json(document), "json")[0]

        assert text == json.dumps(document, indent=2)

    def test_summary_fields_default_to_zero(self) -> None:
        summary = Report.from_json(report_document()).to_json()["assessment"]["summary"]

        assert summary["targets_total"] == summary["targets_failed"] == 0
        assert (summary["partial"], summary["model_risk_score"], summary["risk_floor"]) == (
            False,
            None,
            None,
        )


class TestTargets:
    @pytest.mark.parametrize("entry", [REACHED, FAILED, PROBED])
    def test_absent_error_and_details_are_left_out(self, entry: dict[str, Any]) -> None:
        assert ReportTarget.model_validate(entry).model_dump(mode="json") == entry

    def test_an_unknown_status_is_refused(self) -> None:
        with pytest.raises(ValidationError):
            ReportTarget.model_validate({**REACHED, "status": "maybe"})


class TestTypes:
    def test_statuses_and_levels_are_enums(self) -> None:
        report = Report.from_json(_document())

        assert report.assessment.status is AssessmentStatus.COMPLETED
        assert report.findings[0].risk_level is RiskLevel.HIGH
        assert report.findings[0].triage_status is TriageStatus.OPEN
        assert report.assessment.summary.risk_floor == "HIGH"

    def test_an_unknown_assessment_status_is_refused(self) -> None:
        document = report_document(assessment={"status": "SOMEWHERE"})

        with pytest.raises(ValidationError):
            Report.from_json(document)

    def test_the_report_is_frozen(self) -> None:
        report = Report.from_json(_document())

        with pytest.raises(ValidationError):
            report.assessment.name = "other"  # type: ignore[misc]  # the point: it is frozen

    def test_times_are_spelled_as_the_json_spells_them(self) -> None:
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

        assert (json_time(when), json_time(None)) == ("2026-01-02T03:04:05Z", None)


def _client(body: object) -> RemoteClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    return RemoteClient("http://qrap.invalid", transport=httpx.MockTransport(answer))


class TestRemoteReport:
    def test_the_server_json_is_read_into_the_model(self) -> None:
        client = _client(_document())

        report = client.report("some-id")

        assert report.targets[1].error == "refused"
        assert report.unrecognised_algorithms[0]["name"] == "x"

    def test_a_report_this_client_cannot_read_is_a_remote_error(self) -> None:
        client = _client({**_document(), "findings": [{"title": "no other fields"}]})

        with pytest.raises(RemoteError, match=r"cannot read: findings\.0\."):
            client.report("some-id")
