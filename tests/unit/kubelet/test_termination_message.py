"""termination_message: the termination log first, the log's tail only on a failed exit."""

from __future__ import annotations

from pathlib import Path

from kubelite.kubelet.records import ContainerRecord
from kubelite.kubelet.termination_message import MAX_TERMINATION_MESSAGE, termination_message


def record(tmp: Path, *, fallback: bool) -> ContainerRecord:
    return ContainerRecord(
        id="c1", pod_uid="uid-1", namespace="default", pod_name="web", name="main", attempt=0,
        init=False, image="busybox:1", image_ref="", image_name="busybox:1",
        log_path=str(tmp / "0.log"), termination_log=str(tmp / ".termination-0"),
        created_at=0.0, fallback_to_logs=fallback)


def test_the_termination_log_wins_and_is_capped(tmp_path: Path) -> None:
    rec = record(tmp_path, fallback=True)
    Path(rec.termination_log).write_text("x" * (MAX_TERMINATION_MESSAGE + 10))
    assert termination_message(rec, 1) == "x" * MAX_TERMINATION_MESSAGE


def test_fallback_to_logs_only_on_failure(tmp_path: Path) -> None:
    rec = record(tmp_path, fallback=True)
    Path(rec.termination_log).write_text("")
    Path(rec.log_path).write_text(
        "2024-01-01T00:00:00.000000000Z stdout F first\n"
        "2024-01-01T00:00:01.000000000Z stderr F boom\n")
    assert termination_message(rec, 1) == "first\nboom\n"
    assert termination_message(rec, 0) == ""
    assert termination_message(record(tmp_path, fallback=False), 1) == ""
