"""Runs `kubelite controller-manager` as a child of the API server, and restarts it if it dies.

A child process gives the scheduler and the controllers a core of their own (they are clients
of the HTTP API like any other, over the server's local socket). The child gets SIGTERM when
the server dies, even by SIGKILL (`--exit-with-parent`), so a restarted server never finds an
old one still running. Supervision (restart delays, stop) is `kubelite.supervisor`'s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kubelite.supervisor import SupervisedProcess


class ControllerManagerProcess(SupervisedProcess):
    """Starts, supervises and stops one `kubelite controller-manager` child process."""

    def __init__(self, kubeconfig: Path, server: str, flags: list[str]) -> None:
        super().__init__("controller-manager", [
            sys.executable, "-m", "kubelite.cli.main", "controller-manager",
            "--kubeconfig", str(kubeconfig), "--server", server,
            "--exit-with-parent", str(os.getpid()), *flags])
