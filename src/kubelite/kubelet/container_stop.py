"""Stopping one container as the kubelet does (kuberuntime's killContainer).

A Killing event, the preStop hook within the grace period, SIGTERM, the rest of the grace period
to exit, then SIGKILL. Errors of an already-gone container are ignored: stopping is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from typing import Any

from kubelite.kubelet import events as ev
from kubelite.kubelet.events import EventRecorder
from kubelite.kubelet.hooks import run_hook
from kubelite.kubelet.records import ContainerRecord
from kubelite.kubelet.runtime_service import RuntimeService

KILL_WAIT = 10  # seconds to wait for the exit after SIGKILL


def stop_signal(name: str) -> int:
    """The image's STOPSIGNAL ("SIGQUIT", "QUIT", "3", "SIGRTMIN+3") as containerd parses it;
    SIGTERM when it is empty or not a signal."""
    text = name.strip().upper()
    if text.isdigit():
        number = int(text)
        return number if 0 < number < signal.NSIG else signal.SIGTERM
    text = text if text.startswith("SIG") else "SIG" + text
    base, plus, offset = text.partition("+")
    if base == "SIGRTMIN" and (not plus or offset.isdigit()):
        number = signal.SIGRTMIN + int(offset or 0)
        return number if number <= signal.SIGRTMAX else signal.SIGTERM
    try:
        return int(signal.Signals[text])
    except KeyError:
        return signal.SIGTERM


async def stop_container(rt: RuntimeService, events: EventRecorder, pod: dict[str, Any] | None,
                         c: dict[str, Any] | None, rec: ContainerRecord, grace: float,
                         pod_ip: str, *, reason: str = "", message: str = "") -> None:
    """Stop a running instance within `grace` seconds.

    Without `pod` (a pod that ended or is unknown) there is no event and no preStop hook; a
    `reason` (e.g. FailedPostStartHook) skips the hook too. `message` replaces the Killing
    event's default text."""
    deadline = time.monotonic() + max(grace, 0)
    if pod is not None:
        events.emit(pod, ev.KILLING, message or f"Stopping container {rec.name}",
                    container=rec.name)
        pre_stop = ((c or {}).get("lifecycle") or {}).get("preStop")
        if pre_stop and grace > 0 and not reason:
            err = await asyncio.wait_for(
                run_hook(rt, rec.id, pre_stop, c or {}, pod_ip, grace), grace + 1)
            if err:
                events.emit(pod, ev.FAILED_PRE_STOP_HOOK, err, warning=True,
                            container=rec.name)
    with contextlib.suppress(Exception):
        await rt.kill_container(rec.id, stop_signal(rec.stop_signal))
    remaining = deadline - time.monotonic()
    if remaining > 0:
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(rt.wait_container(rec.id), remaining)
    with contextlib.suppress(Exception):
        await rt.kill_container(rec.id, signal.SIGKILL)
    with contextlib.suppress(asyncio.TimeoutError, Exception):
        await asyncio.wait_for(rt.wait_container(rec.id), KILL_WAIT)
