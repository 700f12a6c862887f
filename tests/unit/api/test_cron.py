"""Cron schedules as Kubernetes (robfig/cron ParseStandard) accepts them: next times."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from kubelite.api.cron import Schedule, ScheduleError, normalize

START = dt.datetime(2025, 1, 31, 23, 59, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(("schedule", "expected"), [
    ("*/1 * * * *", dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC)),
    ("*/15 * * * *", dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC)),
    ("@hourly", dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC)),
    ("@weekly", dt.datetime(2025, 2, 2, 0, 0, tzinfo=dt.UTC)),
    ("@monthly", dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC)),
    ("@yearly", dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)),
    ("@annually", dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC)),
    ("0 0 29 2 *", dt.datetime(2028, 2, 29, 0, 0, tzinfo=dt.UTC)),
    ("0 9 * * MON-FRI", dt.datetime(2025, 2, 3, 9, 0, tzinfo=dt.UTC)),
    ("0 0 13 * 5", dt.datetime(2025, 2, 7, 0, 0, tzinfo=dt.UTC)),  # either day field matches
    ("0 0 ? * SUN", dt.datetime(2025, 2, 2, 0, 0, tzinfo=dt.UTC)),
    ("5-10/2 1 * JAN-MAR *", dt.datetime(2025, 2, 1, 1, 5, tzinfo=dt.UTC)),
])
def test_next_time_matches_robfig_cron(schedule: str, expected: dt.datetime) -> None:
    assert Schedule(schedule).next(START) == expected


@pytest.mark.parametrize("schedule", [
    "0 0 0 1 * *",  # a seconds field
    "0 0 L * *", "0 0 * * 1#2", "0 0 15W * *",  # Quartz extensions
    "61 * * * *", "* * * *", "@fortnightly", "TZ=UTC * * * * *", "? * * * *",
])
def test_refused_as_robfig_refuses(schedule: str) -> None:
    with pytest.raises(ScheduleError):
        normalize(schedule)


def test_time_zone_follows_daylight_saving() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    before_dst = dt.datetime(2025, 3, 29, 12, 0, tzinfo=berlin)
    nxt = Schedule("0 9 * * *").next(before_dst)
    assert nxt.astimezone(dt.UTC) == dt.datetime(2025, 3, 30, 7, 0, tzinfo=dt.UTC)  # CEST


def test_prev_or_equal_includes_the_minute_itself() -> None:
    at = dt.datetime(2025, 2, 1, 10, 0, 40, tzinfo=dt.UTC)
    assert Schedule("*/5 * * * *").prev_or_equal(at) == dt.datetime(2025, 2, 1, 10, 0, tzinfo=dt.UTC)
