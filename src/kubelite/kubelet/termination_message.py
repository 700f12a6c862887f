"""The message a container leaves when it exits: `state.terminated.message` in its status.

It is what the container wrote to its terminationMessagePath (at most 4096 bytes), or, with
`terminationMessagePolicy: FallbackToLogsOnError` and a failed exit, the tail of its log.
"""

from __future__ import annotations

from kubelite.kubelet.logs import log_text
from kubelite.kubelet.records import ContainerRecord

MAX_TERMINATION_MESSAGE = 4096
FALLBACK_LOG_LINES = 80


def termination_message(rec: ContainerRecord, exit_code: int | None) -> str:
    """The exited instance's message: its termination log, else (if asked) its log's tail."""
    msg = ""
    if rec.termination_log:
        try:
            with open(rec.termination_log, "rb") as f:
                msg = f.read(MAX_TERMINATION_MESSAGE).decode(errors="replace")
        except OSError:
            msg = ""
    if not msg and rec.fallback_to_logs and exit_code not in (0, None):
        msg = tail_log_text(rec.log_path, FALLBACK_LOG_LINES)
    return msg


def tail_log_text(path: str, lines: int) -> str:
    """The last lines of a CRI log as plain text (for FallbackToLogsOnError)."""
    text = log_text(path)
    return "".join(text.splitlines(keepends=True)[-lines:])[-MAX_TERMINATION_MESSAGE:]
