"""Dispatch targets to their analyzers; network probes run concurrently.

The pipeline calls ``analyze_all`` and gets one TargetResult per target, in target order;
``on_result`` is called as each one finishes (the pipeline extends its lease there).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime

from qrap_core.assessment.targets import CertificateTarget, InventoryTarget, Target, TlsTarget
from qrap_core.discovery import certificate, inventory, tls
from qrap_core.discovery.types import TargetResult
from qrap_core.logging import get_logger
from qrap_core.netpolicy import NetworkPolicy

log = get_logger(__name__)

MAX_PROBE_THREADS = 32
ResultCallback = Callable[[int, TargetResult], None]


@dataclass(frozen=True, slots=True)
class DiscoveryContext:
    policy: NetworkPolicy
    timeout: float
    now: datetime


def analyze_one(target: Target, ctx: DiscoveryContext) -> TargetResult:
    """Analyze one target; an analyzer bug becomes a target error, logged with its trace."""
    try:
        if isinstance(target, TlsTarget):
            return tls.probe(target, policy=ctx.policy, timeout=ctx.timeout, now=ctx.now)
        if isinstance(target, CertificateTarget):
            return certificate.analyze(target, now=ctx.now)
        if isinstance(target, InventoryTarget):
            return inventory.analyze(target)
    except Exception as exc:
        log.exception("target.analyzer_error", target=target.label())
        return TargetResult.failed(target.label(), target.type, f"analyzer error: {exc}")
    raise AssertionError(f"unhandled target type {target.type}")


def analyze_all(
    targets: Sequence[Target], ctx: DiscoveryContext, on_result: ResultCallback | None = None
) -> list[TargetResult]:
    """Every target's result, in the order given; ``on_result(index, result)`` as each ends."""
    results: list[TargetResult | None] = [None] * len(targets)
    workers = max(1, min(MAX_PROBE_THREADS, len(targets)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qrap-probe") as pool:
        futures = {pool.submit(analyze_one, t, ctx): i for i, t in enumerate(targets)}
        for future in as_completed(futures):
            index = futures[future]
            result = future.result()
            results[index] = result
            if on_result is not None:
                on_result(index, result)
    return [r for r in results if r is not None]
