"""A worker's hold on a run: who holds it, for how long, and the thread that keeps it held.

The conditional UPDATEs that take and extend a lease are transitions of the run and live in
``lifecycle``; this module holds what a worker needs around them.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from qrap_core.logging import get_logger
from qrap_core.settings import Settings

log = get_logger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's claim on runs: each claim or renewal holds the run ``seconds`` longer."""

    owner: str
    seconds: float

    def expires(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.seconds)


class LostLease(Exception):
    """The run was cancelled or another worker took it over."""


def heartbeat_interval(settings: Settings) -> float:
    # At least three beats per lease, so one late beat never lets the lease lapse.
    return min(settings.run_heartbeat_seconds, settings.run_lease_seconds / 3)


class LeaseKeeper:
    """Calls ``renew`` every ``interval`` seconds from a thread of its own until it says False.

    Progress heartbeats come only when a target finishes; one slow probe would otherwise let the
    lease lapse and hand a live run to a second worker. An error in ``renew`` (the database) is
    logged and retried at the next beat: the lease is long enough to ride out a short outage.
    """

    def __init__(self, renew: Callable[[], bool], interval: float, run_id: uuid.UUID) -> None:
        self.interval = interval
        self._renew = renew
        self._run_id = run_id
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"qrap-lease-{run_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if not self._renew():
                    log.info("run.lease_lost", run_id=str(self._run_id))
                    return
            except Exception:
                log.warning("run.heartbeat_failed", run_id=str(self._run_id), exc_info=True)
