"""The XGBoost risk model: the shipped artifact (or a feedback-trained version), scoring and
explanations from XGBoost's own SHAP values.

The artifact is loaded once per process (``get_risk_model`` caches it). Identical feature rows
are scored once: a large estate repeats the same algorithm under the same assumptions, so a
million assets come down to the distinct rows among them. The SHAP values are XGBoost's
path-dependent TreeSHAP, computed by ``shap.TreeExplainer`` (the same values as
``pred_contribs``, to about 1e-4 points, at a small fraction of its cost).
``QRAP_WORKER_DEVICE=cuda`` makes XGBoost predict on the GPU; a build without CUDA falls back to
the CPU with a warning rather than failing the worker.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import xgboost as xgb

from qrap_core.discovery.types import CryptoAsset
from qrap_core.errors import ConfigurationError
from qrap_core.logging import get_logger
from qrap_core.rules.base import FindingDraft
from qrap_core.scoring.base import AssetScore, ScoringContext
from qrap_core.scoring.features import (
    FEATURE_NAMES,
    FEATURES,
    FeatureContext,
    Matrix,
    display_value,
    extract,
)
from qrap_core.scoring.hndl import DEFAULT_THREAT_MODEL, CrqcSurvey, CrqcTimeline, load_survey
from qrap_core.scoring.shap import TreeExplainer, distinct
from qrap_core.scoring.training import (
    MODEL_SERIES,
    SHIPPED_VERSION,
    artifact_paths,
    dmatrix,
    shipped_directory,
)
from qrap_core.settings import Settings, get_settings

log = get_logger(__name__)

Device = Literal["cpu", "cuda"]
TOP_CONTRIBUTIONS = 5
INPLACE_ROWS = 1024  # batches up to this size skip the DMatrix (see predict_raw)
OTHER = "(other features)"
BASELINE = "(baseline)"


@dataclass(frozen=True, slots=True)
class Explained:
    """Scores (clipped to 0-100) and SHAP contributions (one column per feature + bias)."""

    scores: npt.NDArray[np.float64]
    raw: npt.NDArray[np.float64]
    contributions: npt.NDArray[np.float32] | None


class XGBoostRiskModel:
    """Scores assets with the trained booster; implements ``RiskModel``."""

    def __init__(
        self,
        booster: xgb.Booster,
        meta: dict[str, Any],
        *,
        device: Device = "cpu",
        threat_model: str = DEFAULT_THREAT_MODEL,
        survey: CrqcSurvey | None = None,
        survey_edition: str | None = None,
        nthread: int = 0,
    ) -> None:
        names = [feature["name"] for feature in meta["features"]]
        if tuple(names) != FEATURE_NAMES:
            raise ConfigurationError(
                f"model {meta.get('version')} was trained on other features than this QRAP "
                "version computes: retrain it with `qrap model train`"
            )
        self.booster = booster
        self.meta = meta
        self.version: str = str(meta.get("model_id") or f"{MODEL_SERIES}-{meta['version']}")
        self.threat_model = threat_model
        self.survey = survey or load_survey()
        self.survey_edition = survey_edition
        self.timeline: CrqcTimeline = self.survey.timeline(threat_model, survey_edition)
        self.device: Device = _usable_device(device)
        # nthread 0 lets XGBoost use every core for prediction (training fixes its own count).
        booster.set_param({"device": self.device, "nthread": nthread})
        self.explainer = TreeExplainer(booster)

    # -- RiskModel ------------------------------------------------------------------------

    def score_assets(
        self,
        assets: Sequence[CryptoAsset],
        findings: Sequence[FindingDraft],
        ctx: ScoringContext,
    ) -> list[AssetScore]:
        """One AssetScore per asset, in order, with its top SHAP contributions."""
        if not assets:
            return []
        with _collection_paused():
            rows = extract(assets, findings, self.feature_context(ctx))
            # Score and explain each distinct row once; assets with equal rows share the result
            # (the pipeline serialises each asset's explanation, so sharing the list is safe).
            unique, inverse = unique_rows(rows)
            # Rows in the same split classes take the same way at every split, so they get the
            # same prediction and SHAP values: those are computed once per class.
            classes = self.explainer.split_classes(unique)
            first, of_class = distinct(classes)
            raw = self.predict_raw(unique[first])
            scores = rounded(np.clip(raw, 0.0, 100.0), 2).tolist()
            contributions = self.explainer.explain_classes(classes[first])[of_class]
            per_row = [
                AssetScore(score=scores[code], explanation=items)
                for code, items in zip(
                    of_class.tolist(), explanations(unique, contributions), strict=True
                )
            ]
            return [per_row[j] for j in inverse.tolist()]

    # -- building blocks ------------------------------------------------------------------

    def feature_context(self, ctx: ScoringContext) -> FeatureContext:
        """The run's assumptions, with this model's threat model where the run names none."""
        threat = ctx.threat_model or self.threat_model
        timeline = (
            self.timeline
            if threat == self.threat_model
            else self.survey.timeline(threat, self.survey_edition)
        )
        return FeatureContext(
            now=ctx.now,
            shelf_life_years=ctx.shelf_life_years,
            migration_years=ctx.migration_years,
            threat_model=threat,
            survey_year=timeline.survey_year,
            sensitivity=ctx.sensitivity,
            exposure=ctx.exposure,
            timeline=timeline,
        )

    def explain_rows(self, rows: Matrix, *, contributions: bool = True) -> Explained:
        """Predict (and explain) feature rows; identical rows are computed once."""
        if len(rows) == 0:
            empty = np.zeros(0)
            return Explained(empty, empty, np.zeros((0, len(FEATURES) + 1), np.float32))
        unique, inverse = unique_rows(rows)
        raw = self.predict_raw(unique)
        contrib = None
        if contributions:
            contrib = self.explainer.contributions(unique)[inverse]
        raw = raw[inverse]
        return Explained(np.clip(raw, 0.0, 100.0), raw, contrib)

    def predict_raw(self, rows: Matrix) -> npt.NDArray[np.float64]:
        """The booster's unclipped predictions for feature rows.

        Up to ``INPLACE_ROWS`` rows are predicted in place from the numpy rows: building a
        ``DMatrix`` costs more than predicting a few rows (a one-asset run paid most of its
        scoring time there). The booster keeps the feature names and types it was trained
        with, so both ways give the same values; larger batches keep the ``DMatrix``.
        """
        if len(rows) <= INPLACE_ROWS:
            predicted = self.booster.inplace_predict(np.ascontiguousarray(rows, dtype=np.float32))
        else:
            predicted = self.booster.predict(dmatrix(rows))
        return np.asarray(predicted, dtype=np.float64)

    def predict_rows(self, rows: Matrix) -> npt.NDArray[np.float64]:
        """Scores (0-100) for feature rows, without explanations."""
        return self.explain_rows(rows, contributions=False).scores


def explanation(
    row: npt.NDArray[np.float32], contributions: npt.NDArray[np.float32]
) -> list[dict[str, Any]]:
    """Top features by |SHAP value|, then the rest and the baseline, so the list adds up."""
    per_feature = contributions[:-1]
    order = np.argsort(-np.abs(per_feature), kind="stable")
    top = [int(i) for i in order[:TOP_CONTRIBUTIONS] if abs(float(per_feature[i])) >= 0.005]
    items: list[dict[str, Any]] = [
        {
            "feature": FEATURES[i].name,
            "value": display_value(FEATURES[i], float(row[i])),
            "contribution": round(float(per_feature[i]), 3),
        }
        for i in top
    ]
    rest = float(per_feature.sum()) - sum(float(per_feature[i]) for i in top)
    if abs(rest) >= 0.005:
        items.append({"feature": OTHER, "value": None, "contribution": round(rest, 3)})
    items.append(
        {"feature": BASELINE, "value": None, "contribution": round(float(contributions[-1]), 3)}
    )
    return items


def explanations(
    rows: npt.NDArray[np.float32], contributions: npt.NDArray[np.float32]
) -> list[list[dict[str, Any]]]:
    """``explanation`` of every row, equal item for item: sorting, sums and rounding run over
    all rows at once, and each displayed value is computed once per distinct value."""
    per_feature = contributions[:, :-1]
    order = np.argsort(-np.abs(per_feature), axis=1, kind="stable")[:, :TOP_CONTRIBUTIONS]
    chosen = np.take_along_axis(per_feature, order, axis=1).astype(np.float64)
    # Sorted by size, the items shown (at least 0.005) come first.
    shown = np.abs(chosen) >= 0.005
    # The rest as explanation() sums it: the float32 row sum, less the shown values in order.
    taken = np.zeros(len(rows), dtype=np.float64)
    for k in range(order.shape[1]):
        taken = taken + np.where(shown[:, k], chosen[:, k], 0.0)
    rest = per_feature.sum(axis=1).astype(np.float64) - taken
    displayed: list[dict[float, Any]] = [{} for _ in FEATURES]
    result: list[list[dict[str, Any]]] = []
    for top, count, value, weight, left, show_left, bias in zip(
        order.tolist(),
        shown.sum(axis=1).tolist(),
        np.take_along_axis(rows, order, axis=1).tolist(),
        rounded(chosen, 3).tolist(),
        rounded(rest, 3).tolist(),
        (np.abs(rest) >= 0.005).tolist(),
        rounded(contributions[:, -1].astype(np.float64), 3).tolist(),
        strict=True,
    ):
        items: list[dict[str, Any]] = []
        for k in range(count):
            i, v = top[k], value[k]
            known = displayed[i]
            if v not in known:
                known[v] = display_value(FEATURES[i], v)
            items.append(
                {"feature": FEATURE_NAMES[i], "value": known[v], "contribution": weight[k]}
            )
        if show_left:
            items.append({"feature": OTHER, "value": None, "contribution": left})
        items.append({"feature": BASELINE, "value": None, "contribution": bias})
        result.append(items)
    return result


def rounded(values: npt.NDArray[np.float64], digits: int) -> npt.NDArray[np.float64]:
    """``round(value, digits)`` of each value, as Python rounds it (to the nearest, half to
    even, on the exact binary value), computed with numpy."""
    scale = 10.0**digits
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = values * scale
        result: npt.NDArray[np.float64] = np.rint(scaled) / scale
        # numpy rounds the product, then the quotient correctly; it differs from Python only
        # where the product's own rounding could cross a half (within 1e-6 of one, or too
        # large for its error to stay below that): there Python decides.
        doubtful = ~(np.abs(scaled) < 2.0**30) | (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6)
    for index in np.flatnonzero(doubtful).tolist():
        result.flat[index] = round(float(values.flat[index]), digits)
    return result


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while scoring allocates its many small objects.

    Scoring makes no reference cycles, but its allocations trigger collections that walk
    every object the caller holds (a large run's assets and findings): half the time of a
    100,000-asset call went there.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def unique_rows(rows: Matrix) -> tuple[Matrix, npt.NDArray[np.intp]]:
    """The distinct rows and, for each input row, the index of its distinct row."""
    # NaN never equals NaN: compare the rows' bytes instead, where equal NaNs match.
    view = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1])))
    _, first, inverse = np.unique(view.ravel(), return_index=True, return_inverse=True)
    return rows[first], inverse.ravel()


def _usable_device(device: Device) -> Device:
    if device == "cuda" and not _cuda_built():
        log.warning("model.cuda_unavailable", detail="this XGBoost has no CUDA: scoring on CPU")
        return "cpu"
    return device


def _cuda_built() -> bool:
    info = xgb.build_info()
    return bool(info.get("USE_CUDA"))


# --- loading ----------------------------------------------------------------------------------


def load_artifact(directory: Path, version: str) -> tuple[xgb.Booster, dict[str, Any]]:
    """Booster and metadata of ``version``; checks the file against its recorded sha256."""
    model_path, meta_path, _ = artifact_paths(directory, version)
    try:
        raw = model_path.read_bytes()
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigurationError(
            f"QRAP_MODEL_VERSION: cannot load risk model {version} from {directory}: {exc}"
        ) from None
    recorded = meta.get("artifact", {}).get("sha256")
    if recorded and hashlib.sha256(raw).hexdigest() != recorded:
        raise ConfigurationError(f"risk model {model_path} does not match its recorded sha256")
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster, meta


def load_model(
    *,
    version: str | None = None,
    model_dir: Path | None = None,
    device: Device = "cpu",
    threat_model: str = DEFAULT_THREAT_MODEL,
    survey_file: Path | None = None,
    survey_edition: str | None = None,
) -> XGBoostRiskModel:
    """The shipped model, or ``version`` from ``model_dir`` (feedback-trained versions)."""
    chosen = version or SHIPPED_VERSION
    directory = shipped_directory()
    if chosen != SHIPPED_VERSION:
        if model_dir is None:
            raise ConfigurationError(
                f"QRAP_MODEL_VERSION={chosen} needs QRAP_MODEL_DIR (where feedback versions live)"
            )
        directory = model_dir
    booster, meta = load_artifact(directory, chosen)
    return XGBoostRiskModel(
        booster,
        meta,
        device=device,
        threat_model=threat_model,
        survey=load_survey(survey_file),
        survey_edition=survey_edition,
    )


@lru_cache(maxsize=4)
def cached_model(
    version: str | None,
    model_dir: str | None,
    device: Device,
    threat_model: str,
    survey_file: str | None,
    survey_edition: str | None,
) -> XGBoostRiskModel:
    """``load_model`` once per process and configuration."""
    return load_model(
        version=version,
        model_dir=Path(model_dir) if model_dir else None,
        device=device,
        threat_model=threat_model,
        survey_file=Path(survey_file) if survey_file else None,
        survey_edition=survey_edition,
    )


def get_risk_model(settings: Settings | None = None) -> XGBoostRiskModel:
    """The model the pipeline scores with, as configured (loaded once per process).

    The shipped artifact unless QRAP_MODEL_VERSION names a feedback-trained version in
    QRAP_MODEL_DIR; on the GPU with QRAP_WORKER_DEVICE=cuda; QRAP_THREAT_MODEL and
    QRAP_CRQC_SURVEY_FILE choose the CRQC timeline.
    """
    settings = settings or get_settings()
    return cached_model(
        settings.model_version,
        str(settings.model_dir) if settings.model_dir else None,
        settings.worker_device,
        settings.threat_model,
        str(settings.crqc_survey_file) if settings.crqc_survey_file else None,
        settings.crqc_survey_edition,
    )
