"""Volume figures (figures, never assertions): a real kubelite server, the kubelet's volume
manager in this process.

Prints the time to set up, for one pod, an emptyDir, a configMap with 100 keys, a secret and a
bound claim (p50 over N pods, ms), and the delay from a configMap update (PATCH through the
API) to the new content in the volume's file (p50/p99), as the watch-driven refresh sees it.

    .venv/bin/python bench/volumes.py [--pods 30] [--updates 50]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.client import ApiClient  # noqa: E402
from kubelite.kubelet.volumes import VolumeManager  # noqa: E402
from tests.helpers.cluster import start_server  # noqa: E402


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))]


def pod(i: int, volume: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": f"p{i}", "namespace": "default", "uid": f"bench-{i}-{volume['name']}"},
            "spec": {"containers": [{"name": "c", "volumeMounts": [
                {"name": volume["name"], "mountPath": "/v"}]}], "volumes": [volume]}}


async def run(args: argparse.Namespace, tmp: Path) -> None:
    server = start_server(tmp / "server")
    client = ApiClient(server.url, token=server.token(),
                       ca_file=str(server.data_dir / "tls" / "ca.crt"))
    try:
        await client.create("configmaps", {"metadata": {"name": "big"},
                                           "data": {f"key-{i}": "x" * 64 for i in range(100)}}, "default")
        await client.create("secrets", {"metadata": {"name": "s"}, "data": {
            "password": base64.b64encode(b"hunter2").decode()}}, "default")
        await client.create("persistentvolumes", {"metadata": {"name": "bench-pv"}, "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": str(tmp / "pv"), "type": "DirectoryOrCreate"},
            "claimRef": {"namespace": "default", "name": "bench"}}})
        await client.create("persistentvolumeclaims", {"metadata": {"name": "bench"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "storageClassName": "",
            "resources": {"requests": {"storage": "1Gi"}}}}, "default")
        for _ in range(200):  # the binder runs in the server
            pvc = await client.get("persistentvolumeclaims", "bench", "default", raw=True)
            if (pvc.get("status") or {}).get("phase") == "Bound":
                break
            await asyncio.sleep(0.05)
        woken: asyncio.Queue[str] = asyncio.Queue()
        vm = VolumeManager(client, str(tmp / "pods"), str(tmp / "storage"), "bench-node",
                           lambda uid, _d: woken.put_nowait(uid))
        sources = {
            "emptyDir": {"name": "e", "emptyDir": {}},
            "configMap (100 keys)": {"name": "cm", "configMap": {"name": "big"}},
            "secret": {"name": "sec", "secret": {"secretName": "s"}},
            "persistentVolumeClaim": {"name": "pvc", "persistentVolumeClaim": {"claimName": "bench"}},
        }
        print(f"volume set-up for one pod, p50 over {args.pods} pods:")
        for label, volume in sources.items():
            times = []
            for i in range(args.pods):
                p = pod(i, volume)
                t0 = time.perf_counter()
                result = await vm.mount_pod(p)
                times.append((time.perf_counter() - t0) * 1000)
                assert result.ready, result.failures
                await vm.unmount_pod(p["metadata"]["uid"])
            print(f"  {label:<24} {statistics.median(times):7.2f} ms")
        watcher = pod(0, {"name": "cm", "configMap": {"name": "big"}})
        await vm.mount_pod(watcher)
        path = os.path.join(vm.volume_dir(watcher["metadata"]["uid"], "configMap", "cm"), "key-0")
        delays = []
        for n in range(args.updates):
            value = f"update-{n}"
            t0 = time.perf_counter()
            await client.patch("configmaps", "big", "default", {"data": {"key-0": value}}, raw=True)
            while True:  # what the pod worker does on the watch's wake-up
                await asyncio.wait_for(woken.get(), 10)
                await vm.mount_pod(watcher)
                with open(path) as f:
                    if f.read() == value:
                        break
            delays.append((time.perf_counter() - t0) * 1000)
        print(f"configMap update -> file content, {args.updates} updates: "
              f"p50 {pct(delays, 0.5):.1f} ms, p99 {pct(delays, 0.99):.1f} ms")
        await vm.unmount_pod(watcher["metadata"]["uid"])
        await vm.stop()
    finally:
        await client.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--updates", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kubelite-bench-volumes-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
