"""Dispatch targets to their analyzers; network probes run concurrently on one event loop.

The pipeline calls ``analyze_all`` and gets one TargetResult per target, in target order;
``on_result`` is called as each one finishes, always on the caller's thread (the pipeline
touches its database there). TLS and SSH probes run as asyncio tasks on an event loop in a
helper thread, bounded by ``concurrency`` open connections in total, so a thousand endpoints
take seconds; documents (certificates, inventories, CBOMs) are analyzed on the caller's
thread meanwhile.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from qrap_core.discovery import cbom, certificate, inventory, ssh, tls
from qrap_core.discovery.cbom import ArtifactSource, SliceSource
from qrap_core.discovery.targets import (
    CbomTarget,
    CertificateTarget,
    InventoryTarget,
    SshTarget,
    Target,
    TlsTarget,
)
from qrap_core.discovery.types import TargetResult
from qrap_core.logging import get_logger
from qrap_core.netpolicy import NetworkPolicy

log = get_logger(__name__)

DEFAULT_CONCURRENCY = 256
ResultCallback = Callable[[int, TargetResult], None]
NetworkTarget = TlsTarget | SshTarget


@dataclass(frozen=True, slots=True)
class DiscoveryContext:
    """What every analyzer may use.

    ``timeout`` bounds each connect and each answer; ``target_timeout`` one whole target
    (default: ten times ``timeout``, at least 30 s). ``artifacts`` opens uploaded documents
    (CBOMs) by id; without it, a target naming one is a target error. ``slices`` holds what
    a run prepared for the slices of its big CBOMs (``cbom.prepare``).
    """

    policy: NetworkPolicy
    timeout: float
    now: datetime
    concurrency: int = DEFAULT_CONCURRENCY
    target_timeout: float | None = None
    artifacts: ArtifactSource | None = None
    slices: SliceSource | None = None

    @property
    def whole_target_timeout(self) -> float:
        return self.target_timeout or max(30.0, self.timeout * 10)


def analyze_one(target: Target, ctx: DiscoveryContext) -> TargetResult:
    """Analyze one target; an analyzer bug becomes a target error, logged with its trace."""
    if isinstance(target, TlsTarget | SshTarget):
        return asyncio.run(_probe_guarded(target, ctx, asyncio.Semaphore(ctx.concurrency)))
    try:
        if isinstance(target, CertificateTarget):
            return certificate.analyze(target, now=ctx.now)
        if isinstance(target, InventoryTarget):
            return inventory.analyze(target)
        if isinstance(target, CbomTarget):
            return cbom.analyze(target, artifacts=ctx.artifacts, now=ctx.now, slices=ctx.slices)
    except Exception as exc:
        log.exception("target.analyzer_error", target=target.label())
        return TargetResult.failed(target.label(), target.type, f"analyzer error: {exc}")
    raise AssertionError(f"unhandled target type {target.type}")


def analyze_all(
    targets: Sequence[Target], ctx: DiscoveryContext, on_result: ResultCallback | None = None
) -> list[TargetResult]:
    """Every target's result, in the order given; ``on_result(index, result)`` as each ends.

    If ``on_result`` raises (the run was cancelled), the probes still in flight are cancelled
    and the exception propagates.
    """
    results: list[TargetResult | None] = [None] * len(targets)
    network = [(i, t) for i, t in enumerate(targets) if isinstance(t, TlsTarget | SshTarget)]
    finished: queue.Queue[tuple[int, TargetResult]] = queue.Queue()
    stop = threading.Event()
    worker = None
    if network:
        worker = threading.Thread(
            target=_run_probes, args=(network, ctx, finished, stop), name="qrap-probes"
        )
        worker.start()

    def deliver(index: int, result: TargetResult) -> None:
        results[index] = result
        if on_result is not None:
            on_result(index, result)

    try:
        for index, target in enumerate(targets):
            if not isinstance(target, TlsTarget | SshTarget):
                deliver(index, analyze_one(target, ctx))
            while not finished.empty():
                deliver(*finished.get_nowait())
        for _ in range(sum(1 for r in results if r is None)):
            deliver(*finished.get())
    finally:
        stop.set()
        if worker is not None:
            worker.join()
    return [r for r in results if r is not None]


def _run_probes(
    network: list[tuple[int, NetworkTarget]],
    ctx: DiscoveryContext,
    finished: queue.Queue[tuple[int, TargetResult]],
    stop: threading.Event,
) -> None:
    async def main() -> None:
        limit = asyncio.Semaphore(ctx.concurrency)

        async def one(index: int, target: NetworkTarget) -> None:
            finished.put((index, await _probe_guarded(target, ctx, limit)))

        tasks = [asyncio.create_task(one(i, t)) for i, t in network]
        pending = set(tasks)
        while pending:
            _done, pending = await asyncio.wait(pending, timeout=0.2)
            if stop.is_set():
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return

    asyncio.run(main())


async def _probe_guarded(
    target: NetworkTarget, ctx: DiscoveryContext, limit: asyncio.Semaphore
) -> TargetResult:
    """One probe under the whole-target deadline; a bug becomes a target error."""
    budget = ctx.whole_target_timeout
    try:
        async with asyncio.timeout(budget):
            if isinstance(target, TlsTarget):
                return await tls.probe_async(
                    target, policy=ctx.policy, timeout=ctx.timeout, now=ctx.now, limit=limit
                )
            return await ssh.probe_async(
                target, policy=ctx.policy, timeout=ctx.timeout, limit=limit
            )
    except TimeoutError:
        return TargetResult.failed(
            target.label(), target.type, f"probe did not finish within {budget:g} s"
        )
    except Exception as exc:
        log.exception("target.analyzer_error", target=target.label())
        return TargetResult.failed(target.label(), target.type, f"analyzer error: {exc}")
