"""What a finished analysis records on its run: the summary and one entry per target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qrap_core.discovery.types import TargetResult
from qrap_core.finding.rows import jsonable

if TYPE_CHECKING:
    from qrap_core.analysis import Analysis


@dataclass(frozen=True, slots=True)
class RunResults:
    """The JSON and figures an analysis leaves on its run (and its assessment, on completion)."""

    summary: dict[str, Any]
    target_results: list[dict[str, Any]]
    model_version: str
    risk_score: float
    overall_risk: str
    pqc_readiness: float
    assets_scanned: int

    @classmethod
    def of(cls, analysis: Analysis) -> RunResults:
        return cls(
            summary=summary_dict(analysis),
            target_results=[target_result_dict(result) for result in analysis.results],
            model_version=analysis.model_version,
            risk_score=analysis.summary.risk_score,
            overall_risk=analysis.summary.overall_risk,
            pqc_readiness=analysis.summary.pqc_readiness,
            assets_scanned=analysis.summary.assets_scanned,
        )


def summary_dict(analysis: Analysis) -> dict[str, Any]:
    s = analysis.summary
    failed = sum(1 for r in analysis.results if r.status != "ok")
    return {
        "total_findings": s.total_findings,
        "critical_findings": s.critical_findings,
        "high_findings": s.high_findings,
        "medium_findings": s.medium_findings,
        "low_findings": s.low_findings,
        "info_findings": s.info_findings,
        "pqc_readiness_percentage": s.pqc_readiness,
        "assets_scanned": s.assets_scanned,
        "targets_total": len(analysis.results),
        "targets_failed": failed,
        # Some targets could not be assessed: the results cover only the others.
        "partial": 0 < failed < len(analysis.results),
        # risk_score is model_risk_score raised to the band floor of risk_floor, the worst
        # finding's level (null when the model's score already reached it).
        "model_risk_score": s.model_risk_score,
        "risk_floor": s.risk_floor.value if s.risk_floor else None,
    }


def target_result_dict(result: TargetResult) -> dict[str, Any]:
    out: dict[str, Any] = {"target": result.target, "type": result.type, "status": result.status}
    if result.error:
        out["error"] = result.error
    if result.details:
        out["details"] = jsonable(result.details)
    out["assets"] = len(result.assets)
    return out
