"""The migration plan of a large run, built one asset at a time in bounded memory.

``plan_from_findings`` holds every asset, finding and step at once. ``PlanStream`` takes the
affected assets one by one, in the run's order, each with its findings, and gives the very
document ``plan_from_findings(...).to_dict()`` serialises to (``json.dumps``, text for text).

What it keeps in memory does not grow with the run: the planner's decision for each distinct
kind of asset (algorithm, usage, role, urgency, findings' rules and deadlines...), bounded by
``CACHE_SIZE``; per phase its priority and deadline; the distinct unknown algorithm names and
the labels of issuing CAs. The steps themselves, which the plan orders by priority, then
phase, then input order, wait in one spool per (priority, phase): a few kilobytes in memory,
then zlib-compressed blocks in an unnamed temporary file (``tempfile``: ``TMPDIR``, /tmp).
Compressed, a step takes some tens of bytes of disk.
"""

from __future__ import annotations

import json
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from typing import IO, Any

from qrap_core.crypto.policy import Profile
from qrap_core.discovery.types import CryptoAsset
from qrap_core.enums import RISK_ORDER, RiskLevel
from qrap_core.planning.planner import (
    _PHASE_ORDER,
    _PHASE_SPEC,
    DraftedStep,
    PlanInput,
    _input_for,
    _iso,
    _label,
    _phase_dependencies,
    _step_dict,
    draft_step,
)
from qrap_core.rules.base import FindingDraft

SPOOL_BYTES = 64 * 1024
CACHE_SIZE = 10_000
_NO_DEPENDENCIES = '"depends_on": [], '


class _Spool:
    """Lines kept in memory up to ``limit`` bytes, then in compressed blocks in a temporary
    file; read back in the order written, as often as needed."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lines: list[str] = []
        self._size = 0
        self._file: IO[bytes] | None = None

    def write(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line)
        if self._size >= self._limit:
            if self._file is None:
                self._file = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
            self._file.seek(0, 2)
            block = zlib.compress("\n".join(self._lines).encode(), 1)
            self._file.write(len(block).to_bytes(4, "big") + block)
            self._lines, self._size = [], 0

    def __iter__(self) -> Iterator[str]:
        if self._file is not None:
            self._file.seek(0)
            while header := self._file.read(4):
                block = self._file.read(int.from_bytes(header, "big"))
                yield from zlib.decompress(block).decode().split("\n")
        yield from self._lines

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class PlanStream:
    """Feed ``add`` every affected asset in the run's order, then read ``chunks`` (the JSON
    document) or ``steps``; ``close`` removes the spools. A context manager."""

    def __init__(self, profile: Profile = "nist", *, spool_bytes: int = SPOOL_BYTES) -> None:
        self.profile = profile
        self._spool_bytes = spool_bytes
        self._cache: dict[PlanInput, DraftedStep] = {}
        # (RISK_ORDER of the priority, phase order) -> "label JSON <TAB> step JSON" lines.
        self._buckets: dict[tuple[int, int], _Spool] = {}
        self._skipped = _Spool(spool_bytes)
        self._total = 0
        self._critical = 0
        self._phase_priority: dict[str, RiskLevel] = {}
        self._phase_deadline: dict[str, date] = {}
        self._unknown: set[str] = set()
        self._issuers: set[str] = set()

    def __enter__(self) -> PlanStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for spool in (*self._buckets.values(), self._skipped):
            spool.close()

    def add(self, asset: CryptoAsset, findings: Sequence[FindingDraft], issuer: str | None) -> None:
        """One affected asset and its findings (in the report's order, worst first).

        ``issuer`` is the label of the run's affected CA certificate at the same location
        whose subject is this certificate's issuer (the last one in the run's order), if any:
        ``plan_from_findings`` looks it up among the assets it holds.
        """
        label = _label(asset)
        details = asset.details
        if (
            issuer == label
            or asset.kind != "certificate"
            or not details.get("issuer")
            or details.get("self_signed")
        ):
            issuer = None
        item = _input_for(asset, list(findings), label, issuer, self.profile)
        drafted = self._draft(item)
        self._total += 1
        if drafted.unknown is not None:
            self._unknown.add(drafted.unknown)
        if drafted.skipped is not None:
            reason = drafted.skipped.reason
            self._skipped.write(
                json.dumps({"asset": label, "algorithm": item.algorithm, "reason": reason})
            )
            return
        if drafted.step is None:
            return
        step = replace(drafted.step, asset=label, depends_on=list(item.depends_on))
        if issuer is not None:
            self._issuers.add(issuer)
        self._note_phase(drafted.phase, step.priority, step.deadline)
        key = (RISK_ORDER[step.priority], _PHASE_ORDER[drafted.phase])
        if key not in self._buckets:
            self._buckets[key] = _Spool(self._spool_bytes)
        self._buckets[key].write(json.dumps(label) + "\t" + json.dumps(_step_dict(step)))

    def _draft(self, item: PlanInput) -> DraftedStep:
        # The decision depends on everything but the asset's label and dependencies.
        key = replace(item, asset="", depends_on=())
        drafted = self._cache.get(key)
        if drafted is None:
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            drafted = self._cache[key] = draft_step(key, self.profile)
        return drafted

    def _note_phase(self, phase: str, priority: RiskLevel, deadline: date | None) -> None:
        if priority is RiskLevel.CRITICAL:
            self._critical += 1
        known = self._phase_priority.get(phase)
        if known is None or RISK_ORDER[priority] < RISK_ORDER[known]:
            self._phase_priority[phase] = priority
        if deadline is not None and (
            phase not in self._phase_deadline or deadline < self._phase_deadline[phase]
        ):
            self._phase_deadline[phase] = deadline

    def _numbers(self) -> dict[str, int]:
        used = sorted(self._phase_priority, key=_PHASE_ORDER.__getitem__)
        return {key: index + 1 for index, key in enumerate(used)}

    def _planned_issuers(self) -> set[str]:
        """The issuers that are steps of the plan themselves (a dependency on anything else
        is dropped, as ``plan_migration`` drops it)."""
        if not self._issuers:
            return set()
        found: set[str] = set()
        for spool in self._buckets.values():
            for line in spool:
                label = json.loads(line.split("\t", 1)[0])
                if label in self._issuers:
                    found.add(label)
        return found

    def _ordered(self, phase_first: bool) -> Iterator[tuple[str, tuple[int, int]]]:
        """The phase keys and buckets in the plan's order: by priority, then phase (steps),
        or by phase, then priority (each phase's assets)."""
        numbers = self._numbers()
        order = sorted(self._buckets, key=lambda k: (k[1], k[0]) if phase_first else (k[0], k[1]))
        keys = {_PHASE_ORDER[key]: key for key in numbers}
        for bucket in order:
            yield keys[bucket[1]], bucket

    def milestones(self) -> list[tuple[int, str, date | None, str]]:
        """The plan's phases as (number, name, deadline, priority), in order: the timeline's."""
        return [
            (number, _PHASE_SPEC[key].name, self._phase_deadline.get(key),
             self._phase_priority[key].value)
            for key, number in self._numbers().items()
        ]  # fmt: skip

    def step_texts(self) -> Iterator[str]:
        """Each step's JSON text (``_step_dict``'s), in the plan's order."""
        numbers = self._numbers()
        planned = self._planned_issuers()
        for phase, bucket in self._ordered(phase_first=False):
            number = f'"phase": {numbers[phase]}, '
            for line in self._buckets[bucket]:
                text = line.split("\t", 1)[1].replace('"phase": 0, ', number, 1)
                if _NO_DEPENDENCIES not in text:
                    step = json.loads(text)
                    step["depends_on"] = [d for d in step["depends_on"] if d in planned]
                    text = json.dumps(step)
                yield text

    def steps(self) -> Iterator[dict[str, Any]]:
        """Each step (``MigrationPlan.to_dict()``'s form), in the plan's order."""
        for text in self.step_texts():
            yield json.loads(text)

    def chunks(self, batch: int = 500) -> Iterator[str]:
        """The plan as ``json.dumps(plan.to_dict())`` writes it, in pieces of about ``batch``
        entries."""
        numbers = self._numbers()
        yield '{"steps": ['
        yield from joined(self.step_texts(), batch)
        head = {
            "total_assets": self._total,
            "critical_count": self._critical,
            "estimated_phases": len(numbers),
        }
        yield "], " + json.dumps(head)[1:-1] + ', "phases": ['
        for position, key in enumerate(numbers):
            phase = {
                "number": numbers[key],
                "key": key,
                "name": _PHASE_SPEC[key].name,
                "description": _PHASE_SPEC[key].description,
                "priority": self._phase_priority[key].value,
                "deadline": _iso(self._phase_deadline.get(key)),
                "depends_on": _phase_dependencies(key, numbers),
                "assets": [],
            }
            yield (", " if position else "") + json.dumps(phase)[: -len("]}")]
            labels = (
                line.split("\t", 1)[0]
                for phase_key, bucket in self._ordered(phase_first=True)
                if phase_key == key
                for line in self._buckets[bucket]
            )
            yield from joined(labels, batch)
            yield "]}"
        yield '], "skipped": ['
        yield from joined(iter(self._skipped), batch)
        tail = {"profile": self.profile, "unknown_algorithms": sorted(self._unknown)}
        yield "], " + json.dumps(tail)[1:]


def joined(texts: Iterator[str], batch: int) -> Iterator[str]:
    """``", ".join(texts)`` in pieces of ``batch`` texts."""
    parts: list[str] = []
    first = True
    for text in texts:
        parts.append(text if first else ", " + text)
        first = False
        if len(parts) >= batch:
            yield "".join(parts)
            parts = []
    if parts:
        yield "".join(parts)
