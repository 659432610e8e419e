"""Prometheus metrics, defined once and incremented where things happen.

Multiprocess: prometheus_client chooses its storage when it is imported. With
``PROMETHEUS_MULTIPROC_DIR`` set in the environment before the process starts, every process
(uvicorn workers, Celery prefork children) writes its values into files in that directory, and
whoever serves ``/metrics`` merges them (``registry``). The directory must be empty when the
service starts and belong to one service instance (a pod's or container's own volume).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.registry import REGISTRY

from qrap_core.errors import ConfigurationError
from qrap_core.processes import alive

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def check_multiproc_dir(environ: Mapping[str, str]) -> None:
    """Refuse a ``PROMETHEUS_MULTIPROC_DIR`` that is not a writable directory, naming it.

    prometheus_client opens a file there for each metric as the metric is defined, so without
    this a missing directory surfaces as a ``FileNotFoundError`` from deep inside an import.
    """
    value = environ.get(MULTIPROC_VARIABLE) or environ.get(MULTIPROC_VARIABLE.lower())
    if not value:
        return
    directory = Path(value)
    if not directory.is_dir():
        problem = "does not exist" if not directory.exists() else "is not a directory"
    elif not os.access(directory, os.W_OK | os.X_OK):
        problem = "is not writable by this process"
    else:
        return
    raise ConfigurationError(
        f"{MULTIPROC_VARIABLE}={value} {problem}: create an empty directory of this instance's"
        f" own there before the API or worker starts (a pod's emptyDir, a container's tmpfs),"
        f" or unset {MULTIPROC_VARIABLE} for a single process"
    )


# prometheus_client itself reads the variable when this module defines the metrics below,
# before any Settings exist; so does this check, to fail first and clearly.
check_multiproc_dir(os.environ)

# Queue wait and run durations: seconds to an hour (the hard task time limit is 5 minutes, a
# run spans several tasks only when it is retried).
_RUN_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)

HTTP_REQUEST_DURATION = Histogram(
    "qrap_http_request_duration_seconds",
    "API request latency by route template (never the raw path), method and status code",
    ["method", "route", "status"],
)
HTTP_REQUESTS_IN_PROGRESS = Gauge(
    "qrap_http_requests_in_progress",
    "API requests being served now",
    multiprocess_mode="livesum",
)
RUNS_SUBMITTED = Counter(
    "qrap_runs_submitted",
    "Runs queued: new assessments, re-runs and scheduled runs",
)
RUN_CLAIMS = Counter(
    "qrap_run_claims",
    "Runs claimed by a worker; attempt=again: a lapsed lease taken over or a retried task",
    ["attempt"],
)
RUNS_FINISHED = Counter(
    "qrap_runs_finished",
    "Run attempts that ended: completed, failed, or lost (cancelled or taken over meanwhile)",
    ["outcome"],
)
RUN_DURATION = Histogram(
    "qrap_run_duration_seconds",
    "From a run's claim to its end, by outcome",
    ["outcome"],
    buckets=_RUN_BUCKETS,
)
ASSETS_SCORED = Counter(
    "qrap_assets_scored",
    "Crypto assets scored and written by completed runs (rate() gives assets per second)",
)
# One chunk of a fanned-out run: one slice of targets or of a CBOM's components.
CHUNK_DURATION = Histogram(
    "qrap_chunk_duration_seconds",
    "From a chunk's claim to its end, by outcome and by the scoring pool (cpu, gpu) of its worker",
    ["outcome", "pool"],
    buckets=_RUN_BUCKETS,
)
CHUNKS_FINISHED = Counter(
    "qrap_chunks_finished",
    "Chunk attempts that ended: completed (rows written and counted), failed (the run failed"
    " with it), or lost (cancelled, taken over, or the run ended meanwhile); by scoring pool",
    ["outcome", "pool"],
)
WEBHOOK_ATTEMPTS = Counter(
    "qrap_webhook_attempts",
    "Webhook delivery attempts by outcome: succeeded, http_error, redirect, timeout,"
    " connection_error, refused (network policy)",
    ["outcome"],
)

# Every metric name this module exports, without the suffixes Prometheus adds.
NAMES = (
    "qrap_http_request_duration_seconds",
    "qrap_http_requests_in_progress",
    "qrap_runs_submitted_total",
    "qrap_run_claims_total",
    "qrap_runs_finished_total",
    "qrap_run_duration_seconds",
    "qrap_assets_scored_total",
    "qrap_chunk_duration_seconds",
    "qrap_chunks_finished_total",
    "qrap_webhook_attempts_total",
)


def run_ended(outcome: str, started_at: datetime | None, now: datetime) -> None:
    """Count a run attempt that ended, and its duration when its claim time is known."""
    RUNS_FINISHED.labels(outcome).inc()
    if started_at is not None:
        if started_at.tzinfo is None:  # SQLite hands back naive datetimes, all UTC
            started_at = started_at.replace(tzinfo=UTC)
        RUN_DURATION.labels(outcome).observe(max(0.0, (now - started_at).total_seconds()))


def chunk_ended(outcome: str, pool: str, seconds: float) -> None:
    """Count a chunk attempt that ended (completed, failed or lost) and how long it took."""
    CHUNKS_FINISHED.labels(outcome, pool).inc()
    CHUNK_DURATION.labels(outcome, pool).observe(max(0.0, seconds))


def webhook_answered(status_code: int) -> None:
    """Count a webhook attempt the receiver answered."""
    if 200 <= status_code < 300:
        WEBHOOK_ATTEMPTS.labels("succeeded").inc()
    elif 300 <= status_code < 400:
        WEBHOOK_ATTEMPTS.labels("redirect").inc()
    else:
        WEBHOOK_ATTEMPTS.labels("http_error").inc()


_PROCESS_FILE = re.compile(r"_(\d+)\.db$")


def forget_dead_processes(directory: Path) -> list[int]:
    """Remove the live-gauge files of processes that are gone; return their pids.

    Counters and histograms of a dead process stay (removing them would make totals go back);
    a ``livesum`` gauge of one must not, or an in-progress count never drops.
    """
    dead: set[int] = set()
    for path in directory.glob("gauge_live*.db"):
        match = _PROCESS_FILE.search(path.name)
        if match and not alive(int(match[1])):
            dead.add(int(match[1]))
    for pid in sorted(dead):
        multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]  # unannotated upstream
    return sorted(dead)


def forget_process(pid: int, directory: Path) -> None:
    """A process is exiting: drop its live-gauge files (its counters stay)."""
    multiprocess.mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]  # unannotated upstream


def registry(multiproc_dir: Path | None) -> CollectorRegistry:
    """What to serve: every process's values merged from ``multiproc_dir``, or this process's."""
    if multiproc_dir is None:
        return REGISTRY
    forget_dead_processes(multiproc_dir)
    merged = CollectorRegistry()
    multiprocess.MultiProcessCollector(merged, path=str(multiproc_dir))  # type: ignore[no-untyped-call]  # unannotated upstream
    return merged
