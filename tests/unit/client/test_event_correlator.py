"""client-go's event correlators over a fake clock: counting, combining, spam, series."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.client.event_correlator import (
    COMBINED_PREFIX,
    EventCorrelator,
    EventSpamFilter,
    SeriesCorrelator,
    event_name,
    rfc3339,
)

START = dt.datetime(2025, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now

    def step(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def event(clock: FakeClock, message: str = "Back-off pulling image \"nope\"", *,
          reason: str = "BackOff", name: str = "web", **extra: Any) -> dict[str, Any]:
    now = clock()
    return {
        "metadata": {"name": event_name(name, now), "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": name, "namespace": "default", "uid": "u-" + name,
                           "apiVersion": "v1", "fieldPath": "spec.containers{app}"},
        "reason": reason, "message": message, "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": rfc3339(now), "lastTimestamp": rfc3339(now), "count": 1, **extra,
    }


def test_names_are_the_object_name_and_unix_nanoseconds_in_hex() -> None:
    t = dt.datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)
    name = event_name("web", t)
    assert name == "web." + format(int(t.timestamp()) * 10**9 + 123456000, "x")
    assert event_name("web", t + dt.timedelta(microseconds=1)) > name  # time-ordered


def test_the_same_event_again_patches_count_and_last_timestamp_of_the_first() -> None:
    clock = FakeClock()
    c = EventCorrelator(clock)
    first = c.correlate(event(clock))
    assert first is not None and first.patch is None
    first_name = first.event["metadata"]["name"]
    c.update_state(dict(first.event, metadata=dict(first.event["metadata"], resourceVersion="7")))
    clock.step(20)
    again = c.correlate(event(clock))
    assert again is not None
    assert again.event["metadata"]["name"] == first_name
    assert again.event["count"] == 2
    assert again.event["firstTimestamp"] == rfc3339(START)
    assert again.patch == {"count": 2, "lastTimestamp": rfc3339(START + dt.timedelta(seconds=20)),
                           "message": 'Back-off pulling image "nope"'}
    clock.step(20)
    third = c.correlate(event(clock))
    assert third is not None and third.patch is not None and third.patch["count"] == 3


def test_a_different_object_or_reason_is_a_new_event() -> None:
    clock = FakeClock()
    c = EventCorrelator(clock)
    assert c.correlate(event(clock)) is not None
    other = c.correlate(event(clock, name="db"))
    assert other is not None and other.patch is None
    pulled = c.correlate(event(clock, "Failed to pull", reason="Failed"))
    assert pulled is not None and pulled.patch is None


def test_ten_similar_events_in_ten_minutes_are_combined_under_one_message() -> None:
    clock = FakeClock()
    c = EventCorrelator(clock)
    results = []
    for n in range(12):
        clock.step(1)
        results.append(c.correlate(event(clock, f"Created pod: web-{n}", reason="SuccessfulCreate")))
    assert all(r is not None for r in results)
    plain = [r for r in results[:9] if r is not None]
    assert all(not r.event["message"].startswith(COMBINED_PREFIX) for r in plain)
    tenth, eleventh, twelfth = results[9], results[10], results[11]
    assert tenth is not None and tenth.event["message"] == COMBINED_PREFIX + "Created pod: web-9"
    assert tenth.patch is None and tenth.event["count"] == 1
    # later similar events update the combined one (count and message), not new objects
    assert eleventh is not None and eleventh.patch is not None
    assert eleventh.event["metadata"]["name"] == tenth.event["metadata"]["name"]
    assert eleventh.patch["message"] == COMBINED_PREFIX + "Created pod: web-10"
    assert twelfth is not None and twelfth.event["count"] == 3


def test_similar_events_spread_over_more_than_ten_minutes_are_not_combined() -> None:
    clock = FakeClock()
    c = EventCorrelator(clock)
    for n in range(15):
        clock.step(601)
        r = c.correlate(event(clock, f"Created pod: web-{n}", reason="SuccessfulCreate"))
        assert r is not None and not r.event["message"].startswith(COMBINED_PREFIX)


def test_spam_filter_allows_a_burst_of_25_then_one_per_five_minutes() -> None:
    clock = FakeClock()
    f = EventSpamFilter(clock)
    assert [f.filtered(event(clock)) for _ in range(26)] == [False] * 25 + [True]
    clock.step(299)
    assert f.filtered(event(clock))
    clock.step(2)
    assert not f.filtered(event(clock))
    assert f.filtered(event(clock))
    assert not f.filtered(event(clock, name="other"))  # per source and object


def test_the_correlator_drops_spam_but_counts_it() -> None:
    clock = FakeClock()
    c = EventCorrelator(clock)
    written = [c.correlate(event(clock, f"m{n % 3}")) for n in range(30)]
    assert sum(1 for w in written if w is not None) == 25
    clock.step(300)
    later = c.correlate(event(clock, "m0"))
    assert later is not None and later.event["count"] == 11  # the dropped ones were counted


def series_event(clock: FakeClock, note: str = "0/1 nodes are available") -> dict[str, Any]:
    return {
        "metadata": {"name": event_name("web", clock()), "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"},
        "reason": "FailedScheduling", "message": note, "type": "Warning", "action": "Scheduling",
        "reportingComponent": "default-scheduler", "eventTime": clock().isoformat(),
    }


def test_isomorphic_events_become_a_series_written_on_the_first_repeat() -> None:
    clock = FakeClock()
    s = SeriesCorrelator(clock)
    first = s.correlate(series_event(clock))
    assert first is not None and first.patch is None and "series" not in first.event
    clock.step(10)
    second = s.correlate(series_event(clock))
    assert second is not None and second.event["metadata"] == first.event["metadata"]
    assert second.patch == {"series": {"count": 2, "lastObservedTime": "2025-03-01T12:00:10.000000Z"}}
    clock.step(10)
    assert s.correlate(series_event(clock)) is None  # counted, written on heartbeat or finish
    assert [h.patch for h in s.heartbeat()] == [
        {"series": {"count": 3, "lastObservedTime": "2025-03-01T12:00:20.000000Z"}}]
    other = s.correlate(series_event(clock, "0/2 nodes are available"))
    assert other is not None and other.patch is None


def test_a_series_idle_for_six_minutes_is_finished_and_starts_afresh() -> None:
    clock = FakeClock()
    s = SeriesCorrelator(clock)
    s.correlate(series_event(clock))
    clock.step(1)
    s.correlate(series_event(clock))
    clock.step(5 * 60)
    assert s.finish() == []
    clock.step(61)
    done = s.finish()
    assert len(done) == 1 and done[0].patch is not None and done[0].patch["series"]["count"] == 2
    fresh = s.correlate(series_event(clock))
    assert fresh is not None and fresh.patch is None
