"""The exec probe (pkg/probe/exec): a command in the container; exit 0 is success.

The runtime's exec enforces the timeout and kills the process in the container when it
overruns; that counts as a failure with the CRI's words: `command "sleep 5" timed out`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kubelite.kubelet.prober.results import Outcome, failure, success
from kubelite.runtime.exec import ExecTimeoutError

ExecSync = Callable[[str, list[str], float], Awaitable[tuple[int, bytes]]]


async def probe_exec(exec_sync: ExecSync, cid: str, argv: list[str], timeout: float) -> Outcome:
    try:
        code, out = await exec_sync(cid, argv, timeout)
    except (ExecTimeoutError, TimeoutError):
        return failure(f'command "{" ".join(argv)}" timed out')
    except Exception as e:  # noqa: BLE001 - the container may be gone: a failed run
        return failure(str(e))
    output = out.decode(errors="replace")
    return success(output) if code == 0 else failure(output)
