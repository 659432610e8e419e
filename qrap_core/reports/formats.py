"""Every export format by name: what the API's ``format`` and ``qrap assess --format`` accept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from qrap_core.reports import cbom, csv_report, html, sarif

ExportFormat = Literal["json", "cbom", "sarif", "csv", "html"]
FORMATS: tuple[ExportFormat, ...] = ("json", "cbom", "sarif", "csv", "html")


def _json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str)


RENDERERS: dict[str, tuple[Callable[[dict[str, Any]], str], str, str]] = {
    # format: (renderer, media type, file extension)
    "json": (_json, "application/json", "json"),
    "cbom": (cbom.render, cbom.MEDIA_TYPE, "cdx.json"),
    "sarif": (sarif.render, sarif.MEDIA_TYPE, "sarif"),
    "csv": (csv_report.render, csv_report.MEDIA_TYPE, "csv"),
    "html": (html.render, html.MEDIA_TYPE, "html"),
}


def render(report: dict[str, Any], fmt: str) -> tuple[str, str, str]:
    """(text, media type, file extension) of ``report`` in ``fmt``."""
    renderer, media_type, extension = RENDERERS[fmt]
    return renderer(report), media_type, extension
