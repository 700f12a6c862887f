"""The process a container runs: Kubernetes' command/args against the image's Entrypoint/Cmd.

- neither command nor args: the image's Entrypoint + Cmd;
- command only: command (the image's Cmd is ignored too);
- args only: the image's Entrypoint + args;
- both: command + args.
`$(VAR)` in command and args is expanded from the container's environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelite.kubelet.envvars import expand


class NoCommandError(Exception):
    reason = "CreateContainerError"


def container_args(container: dict[str, Any], image_config: Mapping[str, Any],
                   env: Mapping[str, str]) -> list[str]:
    command = container.get("command")
    args = container.get("args")
    entrypoint = list(image_config.get("Entrypoint") or [])
    cmd = list(image_config.get("Cmd") or [])
    if command:
        argv = [expand(c, env) for c in command] + [expand(a, env) for a in args or []]
    elif args:
        argv = entrypoint + [expand(a, env) for a in args]
    else:
        argv = entrypoint + cmd
    if not argv:
        raise NoCommandError("no command specified")
    return argv


def working_dir(container: dict[str, Any], image_config: Mapping[str, Any]) -> str:
    return container.get("workingDir") or image_config.get("WorkingDir") or "/"
