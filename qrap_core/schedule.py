"""Recurring assessments: validate a cron expression and compute when it is next due (UTC)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from croniter import CroniterBadCronError, CroniterError, croniter

from qrap_core.errors import InvalidInput

# Five fields (minute hour day month weekday) or a nickname such as @daily. A schedule that
# fires more often than this is refused: a run would still be going when the next one fell due.
MIN_INTERVAL_SECONDS = 5 * 60
_SAMPLE = 48
_NICKNAMES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def validate(expression: str, *, field: str = "schedule") -> str:
    """Return the normalized expression or raise InvalidInput naming ``field``."""
    text = " ".join(expression.split())
    problem = _problem(text)
    if problem is not None:
        raise InvalidInput(
            f"invalid {field}: {problem}", details=[{"field": field, "message": problem}]
        )
    return text


def _problem(text: str) -> str | None:
    if not text:
        return "empty cron expression"
    if text.startswith("@"):
        if text not in _NICKNAMES:
            return f"unknown nickname {text!r}; use one of {', '.join(_NICKNAMES)}"
    elif len(text.split(" ")) != 5:
        return "a cron expression has five fields: minute hour day-of-month month day-of-week"
    try:
        if not croniter.is_valid(text):
            return f"{text!r} is not a valid cron expression"
        it = croniter(text, datetime(2026, 1, 1, tzinfo=UTC))
        # The closest two firings among the next few dozen (a list like "0,1 * * * *" is
        # dense only inside each hour).
        times = [it.get_next(datetime) for _ in range(_SAMPLE)]
    except (CroniterBadCronError, CroniterError, ValueError) as exc:
        return f"{text!r} is not a valid cron expression ({exc})"
    if min((b - a).total_seconds() for a, b in itertools.pairwise(times)) < MIN_INTERVAL_SECONDS:
        return f"runs at most every {MIN_INTERVAL_SECONDS // 60} minutes"
    return None


def next_due(expression: str, after: datetime) -> datetime:
    """The first time strictly after ``after`` at which the schedule fires (UTC)."""
    base = after if after.tzinfo is not None else after.replace(tzinfo=UTC)
    result = croniter(expression, base.astimezone(UTC)).get_next(datetime)
    if not isinstance(result, datetime):  # croniter types get_next loosely
        raise TypeError("croniter returned no datetime")
    return result.astimezone(UTC)
