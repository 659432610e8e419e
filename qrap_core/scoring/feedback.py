"""Analysts' triage as training examples for ``qrap model train --feedback``.

A verdict is about one asset in the situation its run saw: the asset's feature row is rebuilt
from the stored asset, all its findings of that run, its assessment's data profile and the
run's date. The score a verdict stands for: the middle of the analyst's risk level's band
(LOW 15, MEDIUM 45, HIGH 70, CRITICAL 90, INFO 5; the bands of the original thresholds), the
highest when several findings of the asset were judged; a false positive with no level means
the asset carries no risk (0). Accepted risk or fixed without a level says nothing about the
size of the risk and teaches nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from qrap_core.crypto.crqc import CrqcSurvey
from qrap_core.enums import RiskLevel
from qrap_core.rules.stored import StoredAsset, StoredFinding, from_stored
from qrap_core.scoring.features import FeatureContext, extract
from qrap_core.scoring.training import FeedbackExample

VERDICT_SCORES: dict[RiskLevel, float] = {
    RiskLevel.CRITICAL: 90.0,
    RiskLevel.HIGH: 70.0,
    RiskLevel.MEDIUM: 45.0,
    RiskLevel.LOW: 15.0,
    RiskLevel.INFO: 5.0,
}
FALSE_POSITIVE_SCORE = 0.0


class JudgedFinding(StoredFinding, Protocol):
    @property
    def id(self) -> Any: ...
    @property
    def triage_status(self) -> str: ...
    @property
    def analyst_risk_level(self) -> str | None: ...


Verdict = tuple[StoredAsset, Sequence[JudgedFinding], dict[str, Any], datetime]


def verdict_score(findings: Sequence[JudgedFinding]) -> float | None:
    """The score the analysts' verdicts on one asset stand for, or None when they say none."""
    levels = [RiskLevel(f.analyst_risk_level) for f in findings if f.analyst_risk_level]
    if levels:
        return max(VERDICT_SCORES[level] for level in levels)
    if findings and any(f.triage_status == "false_positive" for f in findings):
        return FALSE_POSITIVE_SCORE
    return None


def examples(
    verdicts: Sequence[Verdict],
    *,
    threat_model: str,
    survey: CrqcSurvey,
    default_shelf_life_years: float,
    default_migration_years: float,
    survey_edition: str | None = None,
) -> list[FeedbackExample]:
    """One training example per judged asset (assets whose verdicts say nothing are left out)."""
    out: list[FeedbackExample] = []
    for asset, findings, profile, when in verdicts:
        target = verdict_score(findings)
        if target is None:
            continue
        live, drafts = from_stored([asset], findings)
        threat = _text(profile.get("threat_model")) or threat_model
        timeline = survey.timeline(threat, survey_edition)
        ctx = FeatureContext(
            now=when,
            shelf_life_years=_number(profile.get("shelf_life_years"), default_shelf_life_years),
            migration_years=_number(profile.get("migration_years"), default_migration_years),
            threat_model=threat,
            survey_year=timeline.survey_year,
            sensitivity=_text(profile.get("sensitivity")),
            exposure=_text(profile.get("exposure")),
            timeline=timeline,
        )
        row = extract(live, drafts, ctx)[0]
        judged = sorted(
            str(f.id) for f in findings if f.analyst_risk_level or f.triage_status != "open"
        )
        out.append(
            FeedbackExample(
                row=tuple(float(v) for v in row),
                target_score=target,
                source=",".join(judged[:5]),
            )
        )
    return out


def _number(value: object, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
