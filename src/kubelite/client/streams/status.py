"""The Status a remote command ends with, sent on the error channel (3).

kubectl turns `reason: NonZeroExitCode` with a cause `ExitCode` into
"command terminated with exit code N" and exits N; any other Failure prints
`error: <message>`.
"""

from __future__ import annotations

import json
from typing import Any

NON_ZERO_EXIT_CODE = "NonZeroExitCode"
EXIT_CODE_CAUSE = "ExitCode"


def success() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_code(code: int, command: list[str] | None = None) -> dict[str, Any]:
    """The Status for a command that exited with `code` (0 is Success), worded as the kubelet does."""
    if code == 0:
        return success()
    what = f"[{' '.join(command)}]" if command else "in container"
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"{what}, exit code {code}",
        "reason": NON_ZERO_EXIT_CODE,
        "details": {"causes": [{"reason": EXIT_CODE_CAUSE, "message": str(code)}]},
    }


def failure(message: str, reason: str = "InternalError", code: int = 500) -> dict[str, Any]:
    """A Failure that is not an exit code (the command could not run, the stream broke)."""
    return {"metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


def encode(status: dict[str, Any]) -> bytes:
    return json.dumps(status, separators=(",", ":")).encode()


def parse_exit_code(payload: bytes) -> int | None:
    """The exit code a Status payload reports: 0 for Success, N for NonZeroExitCode,
    None for another failure or an unreadable payload."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if body.get("status") == "Success":
        return 0
    if body.get("reason") != NON_ZERO_EXIT_CODE:
        return None
    for cause in (body.get("details") or {}).get("causes") or []:
        if cause.get("reason") == EXIT_CODE_CAUSE:
            try:
                return int(cause.get("message", ""))
            except ValueError:
                return None
    return None
