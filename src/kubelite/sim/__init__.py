"""Simulated nodes for scale tests and benchmarks: pods on them "run" without containers.

Clearly separate from the real kubelet: nothing here touches the machine, only the API.
"""

from kubelite.sim.cluster import SimCluster
from kubelite.sim.config import (
    EXIT_CODE_ANNOTATION,
    RUN_SECONDS_ANNOTATION,
    SIMULATED_LABEL,
    TERMINATION_SECONDS_ANNOTATION,
    NodeShape,
    Timings,
)

__all__ = [
    "EXIT_CODE_ANNOTATION", "RUN_SECONDS_ANNOTATION", "SIMULATED_LABEL",
    "TERMINATION_SECONDS_ANNOTATION", "NodeShape", "SimCluster", "Timings",
]
