"""Pulling a container's image for a pod worker, as the kubelet does.

The pull policy (`imagePullPolicy`, else Kubernetes' default for the tag), the pod's
`imagePullSecrets`, the Pulling/Pulled/Failed/BackOff events, and the per-container back-off:
a failed pull shows ErrImagePull for a few seconds, then ImagePullBackOff until the back-off ends.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kubelite.kubelet import events as ev
from kubelite.kubelet.backoff import Backoff
from kubelite.kubelet.events import EventRecorder
from kubelite.kubelet.pod_spec import default_pull_policy
from kubelite.kubelet.pod_status import Waiting
from kubelite.kubelet.runtime_service import ImageInfo, RuntimeService
from kubelite.runtime.images import ImageError

IMAGE_RETRY_SOON = 3.0  # ErrImagePull shows this long before ImagePullBackOff

Fetch = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]
"""Get an object (kind, namespace, name) from the API; None when it does not exist."""


class ImagePuller:
    """Pulls the image of one container at a time and keeps each container's pull back-off.

    A failure or a back-off is written into `waiting` (shared with the pod worker, which puts
    it in the container's status) and answered with the seconds until the next try."""

    def __init__(self, rt: RuntimeService, events: EventRecorder,
                 waiting: dict[tuple[str, str], Waiting], fetch: Fetch) -> None:
        self.rt = rt
        self.events = events
        self.waiting = waiting
        self.fetch = fetch
        self.backoff = Backoff()
        self._failed_at: dict[tuple[str, str], float] = {}

    async def pull(self, pod: dict[str, Any], c: dict[str, Any]) -> ImageInfo | float:
        """The image of container `c`, or the seconds to wait before the next try."""
        uid, name, image = pod["metadata"]["uid"], c["name"], c.get("image", "")
        key = (uid, name)
        failed_at = self._failed_at.get(key)
        if failed_at is not None:
            remaining = self.backoff.remaining(key, failed_at)
            if remaining > 0:
                self.waiting[key] = Waiting("ImagePullBackOff", f'Back-off pulling image "{image}"')
                self.events.emit(pod, ev.BACK_OFF, f'Back-off pulling image "{image}"',
                                 container=name)
                return remaining
        policy = c.get("imagePullPolicy") or default_pull_policy(image)
        started = time.monotonic()
        if policy != "Never":
            self.events.emit(pod, ev.PULLING, f'Pulling image "{image}"', container=name)
        try:
            secrets_ = await self.pull_secrets(pod)
            info = await self.rt.pull_image(image, policy, secrets_)
        except ImageError as e:
            reason = getattr(e, "reason", "ErrImagePull")
            self.waiting[key] = Waiting(reason, str(e))
            self.events.emit(pod, ev.FAILED, f'Failed to pull image "{image}": {e}',
                             warning=True, container=name)
            self.events.emit(pod, ev.FAILED, f"Error: {reason}", warning=True, container=name)
            self.backoff.next(key)
            self._failed_at[key] = time.time()
            return IMAGE_RETRY_SOON
        self._failed_at.pop(key, None)
        self.backoff.reset(key)
        took = time.monotonic() - started
        if info.pulled:
            self.events.emit(pod, ev.PULLED, f'Successfully pulled image "{image}" in '
                             f"{took:.3f}s ({took:.3f}s including waiting). "
                             f"Image size: {info.size} bytes.", container=name)
        else:
            self.events.emit(pod, ev.PULLED,
                             f'Container image "{image}" already present on machine',
                             container=name)
        return info

    async def pull_secrets(self, pod: dict[str, Any]) -> list[dict[str, Any]]:
        """The docker config JSON of each of the pod's imagePullSecrets that exists."""
        out: list[dict[str, Any]] = []
        ns = pod["metadata"].get("namespace") or "default"
        for ref in (pod.get("spec") or {}).get("imagePullSecrets") or []:
            obj = await self.fetch("Secret", ns, ref.get("name", ""))
            raw = ((obj or {}).get("data") or {}).get(".dockerconfigjson")
            if raw:
                with contextlib.suppress(ValueError):
                    out.append(json.loads(base64.b64decode(raw)))
        return out

    def forget_pod(self, uid: str) -> None:
        """The pod is gone from this node: drop its containers' pull back-off."""
        self.backoff.forget_prefix(uid)
