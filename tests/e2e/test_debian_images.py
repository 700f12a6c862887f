"""Images built from Debian's own packages (tools/build-debian-image), run as Kubernetes runs
them: the image's USER by name with its groups, a WORKDIR the image lacks, the image's
STOPSIGNAL on delete, fsGroup on a volume, runAsNonRoot refusing a user it cannot verify."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.debian_image import DebianImage, ImageFile, build_debian_image
from tests.helpers.node import NodeCluster, running_node
from tests.helpers.registry import push_image
from tests.helpers.wait import until

ENTRYPOINT = b"""#!/bin/sh
trap 'echo "stopped by QUIT" > /out/signal; exit 0' QUIT
trap 'echo "stopped by TERM" > /out/signal; exit 0' TERM
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G) cwd=$(pwd)"
touch /data/written && stat -c '%g %A' /data /data/written
while true; do sleep 0.2; done
"""

IMAGE = DebianImage(
    packages=("passwd",),
    files=(ImageFile("/usr/local/bin/entrypoint", ENTRYPOINT, 0o755),),
    user="app",
    workdir="/srv/app",
    entrypoint=("/usr/local/bin/entrypoint",),
    stop_signal="SIGQUIT",
    customize=("groupadd --system --gid 900 app && useradd --system --uid 900 --gid 900 "
               "--groups audio --no-create-home app",),
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    layout = build_debian_image(IMAGE, progress=False)
    with running_node(tmp_path_factory.mktemp("debian")) as c:
        push_image(layout, c.registry.url, "library/debian-app", "1")
        yield c


def _pod(name: str, out: Path, **security: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 10,
                     "securityContext": {"fsGroup": 2000, **security},
                     "containers": [{"name": "app", "image": "debian-app:1",
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                      {"name": "out", "mountPath": "/out"}]}],
                     "volumes": [{"name": "data", "emptyDir": {}},
                                 {"name": "out", "hostPath": {"path": str(out)}}]}}


def test_image_user_by_name_workdir_and_stop_signal(cluster: NodeCluster, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir(mode=0o777)
    out.chmod(0o777)
    cluster.apply(_pod("app", out))
    cluster.wait_running("app", timeout=120)
    logs = until(lambda: (t := cluster.kubectl("logs", "app").stdout).count("\n") >= 2 and t,
                 timeout=30, what="the entrypoint's report")
    ids = dict(kv.split("=", 1) for kv in logs.splitlines()[0].split(" ", 3)[:2])
    assert ids == {"uid": "900", "gid": "900"}
    groups = logs.splitlines()[0].split("groups=")[1].split(" cwd=")[0].split()
    assert {"900", "29", "2000"} <= set(groups)  # own group, /etc/group membership, fsGroup
    assert logs.splitlines()[0].endswith("cwd=/srv/app")  # WORKDIR made though the image lacks it
    assert logs.splitlines()[1].startswith("2000 drwxrws")  # fsGroup: group, rw and setgid
    cluster.kubectl("delete", "pod", "app", "--wait=true", "--timeout=60s", timeout=90)
    assert (out / "signal").read_text() == "stopped by QUIT\n"  # the image's STOPSIGNAL


def test_run_as_non_root_refuses_a_named_user_it_cannot_verify(cluster: NodeCluster,
                                                              tmp_path: Path) -> None:
    cluster.apply(_pod("strict", tmp_path, runAsNonRoot=True))

    def waiting() -> dict[str, Any] | None:
        pod = json.loads(cluster.kubectl("get", "pod", "strict", "-o", "json").stdout)
        statuses = pod["status"].get("containerStatuses") or []
        return statuses[0]["state"].get("waiting") if statuses else None

    state = until(lambda: (w := waiting()) and w.get("reason") == "CreateContainerConfigError" and w,
                  timeout=120, what="CreateContainerConfigError")
    assert state["message"].startswith(
        "container has runAsNonRoot and image has non-numeric user (app), cannot verify user is non-root")
    cluster.kubectl("delete", "pod", "strict", "--wait=false")
    # a numeric runAsUser is verifiable: the same image starts
    cluster.apply(_pod("numeric", tmp_path, runAsNonRoot=True, runAsUser=900))
    cluster.wait_running("numeric", timeout=120)
    cluster.kubectl("delete", "pod", "numeric", "--wait=false")
