"""`python -m kubelite.etcd.exec_with_parent PID PROGRAM ARGS...`: exec PROGRAM so that it gets
SIGTERM when process PID (its parent, the server) dies, even by SIGKILL.

etcd is a Go program that cannot ask for this itself. The parent-death signal is set here,
then kept across exec (it is cleared only for set-user-ID programs); checking the parent after
setting it closes the race where the server died before. Doing it here rather than in a
`preexec_fn` keeps the server's own fork free of Python code (it has threads).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not argv[0].isdigit():
        sys.exit("usage: python -m kubelite.etcd.exec_with_parent PID PROGRAM [ARGS...]")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        sys.exit(f"prctl(PR_SET_PDEATHSIG): {os.strerror(ctypes.get_errno())}")
    if os.getppid() != int(argv[0]):
        sys.exit(0)  # the server is already gone
    os.execv(argv[1], argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
