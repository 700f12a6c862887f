"""Compares croniter and cronsim on the cron syntax Kubernetes accepts (robfig/cron's
ParseStandard) and on the speed of next-time computation. Prints a table; asserts nothing.

Run: .venv/bin/python bench/cron_libraries.py   (both libraries must be installed)
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

START = dt.datetime(2025, 1, 31, 23, 59, 30, tzinfo=dt.UTC)
# schedule -> the next time robfig/cron gives after START (UTC), None where it refuses
CASES: dict[str, dt.datetime | None] = {
    "*/1 * * * *": dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC),
    "@hourly": dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC),
    "@midnight": dt.datetime(2025, 2, 1, 0, 0, tzinfo=dt.UTC),
    "@weekly": dt.datetime(2025, 2, 2, 0, 0, tzinfo=dt.UTC),
    "@annually": dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC),
    "0 0 29 2 *": dt.datetime(2028, 2, 29, 0, 0, tzinfo=dt.UTC),
    "0 9 * * MON-FRI": dt.datetime(2025, 2, 3, 9, 0, tzinfo=dt.UTC),
    # day-of-month and day-of-week both restricted: either matches (Vixie cron, robfig)
    "0 0 13 * 5": dt.datetime(2025, 2, 7, 0, 0, tzinfo=dt.UTC),
    "0 0 ? * SUN": dt.datetime(2025, 2, 2, 0, 0, tzinfo=dt.UTC),
    "5-10/2 1 * JAN-MAR *": dt.datetime(2025, 2, 1, 1, 5, tzinfo=dt.UTC),
    # refused by robfig's standard parser: seconds field, L, #
    "0 0 0 1 * *": None,
    "0 0 L * *": None,
    "0 0 * * 1#2": None,
    "61 * * * *": None,
}


def _croniter(expr: str, start: dt.datetime) -> dt.datetime:
    from croniter import croniter
    return croniter(expr, start).get_next(dt.datetime)  # type: ignore[no-any-return]


def _cronsim(expr: str, start: dt.datetime) -> dt.datetime:
    from cronsim import CronSim
    return next(CronSim(expr, start))


def _check(fn: Callable[[str, dt.datetime], dt.datetime]) -> tuple[int, list[str]]:
    ok, wrong = 0, []
    for expr, want in CASES.items():
        try:
            got: dt.datetime | None = fn(expr, START)
        except Exception:
            got = None
        if got == want:
            ok += 1
        else:
            wrong.append(f"{expr!r}: {got} (robfig: {want})")
    return ok, wrong


def _speed(fn: Callable[[str, dt.datetime], dt.datetime]) -> float:
    t0 = time.perf_counter()
    n = 2000
    tz = ZoneInfo("Europe/Berlin")
    for i in range(n):
        fn("*/5 9-17 * * MON-FRI", START.astimezone(tz) + dt.timedelta(minutes=i))
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    for name, fn in (("croniter", _croniter), ("cronsim", _cronsim)):
        ok, wrong = _check(fn)
        print(f"{name:9} {ok}/{len(CASES)} as robfig/cron, {_speed(fn):7.1f} us per parse+next")
        for w in wrong:
            print(f"          differs: {w}")


if __name__ == "__main__":
    main()
