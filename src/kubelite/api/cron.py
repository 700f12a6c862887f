"""The cron schedules a CronJob accepts: robfig/cron's ParseStandard, as Kubernetes parses them.

Five fields (minute hour day-of-month month day-of-week) with ranges, steps, lists, names
(JAN, MON) and `?`, or a descriptor (@yearly, @annually, @monthly, @weekly, @daily,
@midnight, @hourly). croniter computes the times; it also knows extensions robfig refuses
(a seconds field, `L`, `W`, `#`), so those are refused here first. A `TZ=`/`CRON_TZ=` prefix
is refused by validation in favour of spec.timeZone (see api/validation/batch.py).
"""

from __future__ import annotations

import datetime as dt
import re

from croniter import croniter

DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELD = re.compile(r"[0-9A-Za-z*?,/\-]+")
_NAMES = re.compile(r"[A-Za-z]+")
_MONTHS = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
_DAYS = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}


class ScheduleError(ValueError):
    """A schedule robfig/cron would refuse (the message is the reason)."""


def normalize(schedule: str) -> str:
    """The five-field form of `schedule`, or ScheduleError."""
    text = schedule.strip()
    if text.startswith("@"):
        try:
            return DESCRIPTORS[text.lower()]
        except KeyError:
            raise ScheduleError(f"unrecognized descriptor: {text}") from None
    fields = text.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected exactly 5 fields, found {len(fields)}: {text}")
    for i, field in enumerate(fields):
        if not _FIELD.fullmatch(field):
            raise ScheduleError(f"failed to parse int from {field}")
        names = {n.upper() for n in _NAMES.findall(field)}
        allowed = _MONTHS if i == 3 else _DAYS if i == 4 else set()
        if names - allowed:  # L, W and other letters robfig does not know
            raise ScheduleError(f"failed to parse int from {field}")
        if "?" in field and (i < 2 or field != "?"):
            raise ScheduleError(f"failed to parse int from {field}")
    fields = ["*" if f == "?" else f for f in fields]
    expr = " ".join(fields)
    if not croniter.is_valid(expr):
        raise ScheduleError(f"invalid schedule: {text}")
    return expr


class Schedule:
    """A parsed schedule: `next(after)` is the first time strictly after `after`, in the
    zone of `after` (an aware datetime: the CronJob's timeZone, or the controller's UTC)."""

    def __init__(self, schedule: str) -> None:
        self.expr = normalize(schedule)

    def next(self, after: dt.datetime) -> dt.datetime:
        nxt: dt.datetime = croniter(self.expr, after).get_next(dt.datetime)
        return nxt

    def prev_or_equal(self, at: dt.datetime) -> dt.datetime:
        """The latest scheduled time at or before `at`."""
        probe = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        prev: dt.datetime = croniter(self.expr, probe).get_prev(dt.datetime)
        return prev
