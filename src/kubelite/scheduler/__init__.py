"""kube-scheduler's core: queue, cache, the filter/score framework and its plugins."""

from kubelite.scheduler.algorithm import (
    Algorithm,
    FitError,
    NodeReport,
    ScheduleResult,
    num_feasible_nodes_to_find,
)
from kubelite.scheduler.scheduler import DEFAULT_SCHEDULER_NAME, Scheduler

__all__ = ["DEFAULT_SCHEDULER_NAME", "Algorithm", "FitError", "NodeReport", "ScheduleResult",
           "Scheduler", "num_feasible_nodes_to_find"]
