"""The worker's log setup: beat's periodic wake-ups are debug lines; other task lines stay info."""

from __future__ import annotations

import logging

import pytest

from qrap_core.settings import Settings
from qrap_worker.app import periodic_tasks
from qrap_worker.runtime import QuietWakeUps


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("celery.app.trace", logging.INFO, __file__, 1, message, args, None)


class TestQuietWakeUps:
    @pytest.mark.parametrize(
        ("message", "args"),
        [
            ("Task %s[%s] succeeded in 0.01s: 0", ("qrap.webhook.dispatch", "abc")),
            ("Scheduler: Sending due task %s (%s)", ("sweep-runs", "qrap.maintenance.sweep")),
            ("Task %s[%s] received", ("qrap.maintenance.schedules", "abc")),
        ],
    )
    def test_periodic_tasks_go_to_debug(self, message: str, args: tuple[object, ...]) -> None:
        record = _record(message, *args)
        QuietWakeUps(periodic_tasks(Settings())).filter(record)
        assert (record.levelno, record.levelname) == (logging.DEBUG, "DEBUG")

    @pytest.mark.parametrize(("level", "shown"), [(logging.INFO, False), (logging.DEBUG, True)])
    def test_a_demoted_line_shows_only_at_debug(self, level: int, shown: bool) -> None:
        logger = logging.getLogger("celery.app.trace")
        before = logger.level
        logger.setLevel(level)
        try:
            record = _record("Task %s[%s] received", "qrap.webhook.dispatch", "abc")
            assert QuietWakeUps(periodic_tasks(Settings())).filter(record) is shown
        finally:
            logger.setLevel(before)

    def test_a_run_stays_info(self) -> None:
        record = _record("Task %s[%s] succeeded in 1s: 'COMPLETED'", "qrap.assessment.run", "x")
        assert QuietWakeUps(periodic_tasks(Settings())).filter(record)
        assert record.levelno == logging.INFO
