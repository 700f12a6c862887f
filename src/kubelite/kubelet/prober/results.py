"""What one probe run says (pkg/probe/probe.go): success, warning, failure or unknown."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Result(enum.Enum):
    SUCCESS = "success"
    WARNING = "warning"  # counts as success; the kubelet records a ProbeWarning event
    FAILURE = "failure"
    UNKNOWN = "unknown"  # the probe could not run (bad port name...): no state change

    @property
    def ok(self) -> bool:
        return self in (Result.SUCCESS, Result.WARNING)


@dataclass(frozen=True)
class Outcome:
    """A probe run's result and its output (the text events quote)."""

    result: Result
    output: str = ""


def success(output: str = "") -> Outcome:
    return Outcome(Result.SUCCESS, output)


def failure(output: str) -> Outcome:
    return Outcome(Result.FAILURE, output)
