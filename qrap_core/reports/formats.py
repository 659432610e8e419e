"""Every export format by name: what the API's ``format`` and ``qrap assess --format`` accept."""

from __future__ import annotations

import json
from collections.abc import Callable

from qrap_core.reports import FORMATS, ExportFormat, cbom, csv_report, html, sarif
from qrap_core.reports.model import Report

__all__ = ["FORMATS", "ExportFormat", "render"]


def _json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)


RENDERERS: dict[str, tuple[Callable[[Report], str], str, str]] = {
    # format: (renderer, media type, file extension)
    "json": (_json, "application/json", "json"),
    "cbom": (cbom.render, cbom.MEDIA_TYPE, "cdx.json"),
    "sarif": (sarif.render, sarif.MEDIA_TYPE, "sarif"),
    "csv": (csv_report.render, csv_report.MEDIA_TYPE, "csv"),
    "html": (html.render, html.MEDIA_TYPE, "html"),
}


def render(report: Report, fmt: str) -> tuple[str, str, str]:
    """(text, media type, file extension) of ``report`` in ``fmt``."""
    renderer, media_type, extension = RENDERERS[fmt]
    return renderer(report), media_type, extension
