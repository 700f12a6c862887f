"""Ages as Kubernetes' duration.HumanDuration writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from kubelite.api.tables import human_duration


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (dt.timedelta(seconds=-5), "<invalid>"),
        (dt.timedelta(seconds=-2), "<invalid>"),
        (dt.timedelta(seconds=-1.5), "0s"),  # clock skew under two seconds is "now"
        (dt.timedelta(0), "0s"),
        (dt.timedelta(seconds=5.9), "5s"),
        (dt.timedelta(seconds=119), "119s"),
        (dt.timedelta(seconds=120), "2m"),
        (dt.timedelta(minutes=3, seconds=12), "3m12s"),
        (dt.timedelta(minutes=9, seconds=59), "9m59s"),
        (dt.timedelta(minutes=10, seconds=30), "10m"),
        (dt.timedelta(minutes=179), "179m"),
        (dt.timedelta(hours=3), "3h"),
        (dt.timedelta(hours=5, minutes=30), "5h30m"),
        (dt.timedelta(hours=8, minutes=30), "8h"),
        (dt.timedelta(hours=47), "47h"),
        (dt.timedelta(hours=48), "2d"),
        (dt.timedelta(days=2, hours=3), "2d3h"),
        (dt.timedelta(days=7, hours=23), "7d23h"),
        (dt.timedelta(days=8, hours=5), "8d"),
        (dt.timedelta(days=729), "729d"),
        (dt.timedelta(days=730), "2y"),
        (dt.timedelta(days=800), "2y70d"),
        (dt.timedelta(days=365 * 9), "9y"),
    ],
)
def test_human_duration(delta: dt.timedelta, text: str) -> None:
    assert human_duration(delta) == text
