"""Exports of an assessment's results.

The format names live here, apart from the renderers, so that the CLI can check ``--format``
without loading them.
"""

from typing import Literal

ExportFormat = Literal["json", "cbom", "sarif", "csv", "html"]
FORMATS: tuple[ExportFormat, ...] = ("json", "cbom", "sarif", "csv", "html")
