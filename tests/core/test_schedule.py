"""Cron schedules: validation names the field; next_due is strictly after, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from qrap_core import schedule
from qrap_core.errors import InvalidInput


class TestValidate:
    @pytest.mark.parametrize(
        ("expression", "normalized"),
        [
            ("0 3 * * *", "0 3 * * *"),
            ("  */15   *  * * 1-5 ", "*/15 * * * 1-5"),
            ("@daily", "@daily"),
        ],
    )
    def test_accepts(self, expression: str, normalized: str) -> None:
        assert schedule.validate(expression) == normalized

    @pytest.mark.parametrize(
        ("expression", "problem"),
        [
            ("", "empty"),
            ("* * * * *", "at most every 5 minutes"),
            ("0,1 * * * *", "at most every 5 minutes"),
            ("61 * * * *", "not a valid cron expression"),
            ("0 3 * *", "five fields"),
            ("0 3 * * * *", "five fields"),
            ("@sometimes", "unknown nickname"),
        ],
    )
    def test_refuses_naming_the_field(self, expression: str, problem: str) -> None:
        with pytest.raises(InvalidInput) as caught:
            schedule.validate(expression, field="schedule")
        assert caught.value.details[0]["field"] == "schedule"
        assert problem in caught.value.details[0]["message"]


class TestNextDue:
    def test_strictly_after_and_utc(self) -> None:
        at = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
        assert schedule.next_due("0 3 * * *", at) == at + timedelta(days=1)
        local = datetime(2026, 11, 28, 4, 30, tzinfo=timezone(timedelta(hours=2)))  # 02:30 UTC
        assert schedule.next_due("0 3 * * *", local) == datetime(2026, 11, 28, 3, tzinfo=UTC)
