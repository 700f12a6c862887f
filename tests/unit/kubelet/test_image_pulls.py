"""ImagePuller: events and waiting reasons of a pull, its back-off, and imagePullSecrets."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from kubelite.kubelet.image_pulls import IMAGE_RETRY_SOON, ImagePuller
from kubelite.kubelet.pod_status import Waiting
from kubelite.kubelet.runtime_service import ImageInfo
from kubelite.runtime.images import ImageError
from tests.unit.kubelet.fake_runtime import FakeEvents, pod


class PullRuntime:
    """Pulls that fail while `fail` is set, and the credentials each pull was given."""

    def __init__(self) -> None:
        self.fail = False
        self.credentials: list[list[dict[str, Any]]] = []

    async def pull_image(self, image: str, policy: str,
                         credentials: Iterable[dict[str, Any]] = ()) -> ImageInfo:
        self.credentials.append(list(credentials))
        if self.fail:
            raise ImageError("manifest unknown")
        return ImageInfo(name=image, ref=f"{image}@sha256:{'0' * 64}", config={}, pulled=True,
                         size=42)


async def no_objects(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    return None


Waitings = dict[tuple[str, str], Waiting]


def puller(rt: PullRuntime, fetch: Any = no_objects) -> tuple[ImagePuller, FakeEvents, Waitings]:
    events, waiting = FakeEvents(), Waitings()
    return ImagePuller(rt, events, waiting, fetch), events, waiting  # type: ignore[arg-type]


async def test_a_pull_reports_pulling_and_pulled() -> None:
    rt = PullRuntime()
    p, events, waiting = puller(rt)
    got = await p.pull(pod(), {"name": "main", "image": "busybox:1"})
    assert isinstance(got, ImageInfo)
    assert [r for r, _ in events.emitted] == ["Pulling", "Pulled"]
    assert events.emitted[1][1].startswith('Successfully pulled image "busybox:1" in ')
    assert waiting == {}


async def test_a_failed_pull_shows_errimagepull_then_backs_off() -> None:
    rt = PullRuntime()
    rt.fail = True
    p, events, waiting = puller(rt)
    c = {"name": "main", "image": "busybox:1"}
    assert await p.pull(pod(), c) == IMAGE_RETRY_SOON
    assert waiting[("uid-1", "main")].reason == "ErrImagePull"
    assert ("Failed", "Error: ErrImagePull") in events.emitted
    delay = await p.pull(pod(), c)  # within the back-off: no new pull
    assert isinstance(delay, float) and delay > 0
    assert waiting[("uid-1", "main")] == Waiting("ImagePullBackOff",
                                                 'Back-off pulling image "busybox:1"')
    assert len(rt.credentials) == 1
    p.forget_pod("uid-1")  # the pod left the node: its back-off goes
    rt.fail = False
    assert isinstance(await p.pull(pod(), c), ImageInfo)
    assert len(rt.credentials) == 2


async def test_pull_secrets_are_decoded_and_missing_ones_skipped() -> None:
    config = {"auths": {"reg.example": {"auth": "dTpw"}}}
    secret = {"data": {".dockerconfigjson": base64.b64encode(json.dumps(config).encode()).decode()}}

    async def fetch(kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return secret if (kind, namespace, name) == ("Secret", "default", "reg") else None

    rt = PullRuntime()
    p, _, _ = puller(rt, fetch)
    await p.pull(pod(imagePullSecrets=[{"name": "gone"}, {"name": "reg"}]),
                 {"name": "main", "image": "busybox:1"})
    assert rt.credentials == [[config]]
