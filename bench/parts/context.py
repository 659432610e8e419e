"""What the driver hands every part."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Context:
    logs: Path
    profiles: Path | None = None  # py-spy profiles of a, b and e when set
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # parts done in this run

    def profile(self, name: str) -> Path | None:
        return None if self.profiles is None else self.profiles / f"{name}.txt"
