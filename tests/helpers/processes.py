"""Finding every process a kubelite command started, to prove none outlives it.

A test starts the command with `marked_env(mark)`: the environment variable is inherited by
every process it starts in turn (the controller-manager child, runc, CNI plugins, nft, conmon),
whatever session or process group they move to, while the containers themselves get the
environment of their image. `marked_processes(mark)` lists the ones still alive.
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

MARK_VARIABLE = "KUBELITE_TEST_MARK"
# conmon keeps a container running while the agent is away (as across a kubelet restart)
POD_KEEPERS = frozenset({"conmon"})


def new_mark() -> str:
    return secrets.token_hex(8)


def marked_env(mark: str) -> dict[str, str]:
    return {**os.environ, MARK_VARIABLE: mark}


def marked_processes(mark: str, *, keep_pods: bool = True) -> dict[int, str]:
    """pid -> command line of every live process started under `mark` (conmon excepted unless
    `keep_pods` is False)."""
    needle = f"{MARK_VARIABLE}={mark}".encode()
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            comm = (entry / "comm").read_text().strip()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if keep_pods and comm in POD_KEEPERS:
            continue
        found[int(entry.name)] = cmdline.strip()
    return found


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False
