"""`kubelite server` runs its scheduler and controllers as a `kubelite controller-manager` child:
restarted when it dies, gone when the server dies (even by SIGKILL)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.helpers.cluster import Server, running_server, start_server
from tests.helpers.wait import until


def controller_managers(server_pid: int) -> list[int]:
    try:
        children = Path(f"/proc/{server_pid}/task/{server_pid}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children
            if b"controller-manager" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def default_account_appears(server: Server, namespace: str) -> None:
    server.kubectl("create", "namespace", namespace)
    until(lambda: server.kubectl("get", "sa", "default", "-n", namespace, check=False).returncode == 0,
          what=f"the default ServiceAccount in {namespace}")


def test_the_controllers_run_in_a_child_that_is_restarted_when_it_dies(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server:
        [first] = until(lambda: controller_managers(server.process.pid), what="the child")
        cmdline = Path(f"/proc/{first}/cmdline").read_bytes().split(b"\0")
        assert b"unix://" + bytes(server.data_dir / "api.sock") in cmdline  # no TLS to itself
        default_account_appears(server, "before")
        os.kill(first, signal.SIGKILL)
        [second] = until(lambda: [p for p in controller_managers(server.process.pid) if p != first],
                         what="a new child")
        assert second != first
        default_account_appears(server, "after")  # the new one does the work
        assert "controller-manager exited with code -9; restarting it" in server.log_tail(200)


def test_the_child_goes_when_the_server_is_killed(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        [child] = until(lambda: controller_managers(server.process.pid), what="the child")
        server.stop(signal.SIGKILL)
        until(lambda: not alive(child), timeout=15, what="the child to exit")
    finally:
        server.stop(signal.SIGKILL)
