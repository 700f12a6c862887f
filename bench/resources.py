"""Resource figures on this machine (prints, never asserts):

1. per-pod cost of the kubelet's cgroup set-up (pod cgroup with cpu/memory/pids limits), over
   50 pods with limits;
2. the cost of one stats sweep over 50 running containers (target: under 50 ms);
3. the accuracy of reported cpu usage against busy loops of known duty cycle.

Needs root and cgroups; uses a throw-away cgroup root and real busy-loop processes placed in
it, no API server. Run: `.venv/bin/python bench/resources.py`.
"""

from __future__ import annotations

import os
import secrets
import signal
import statistics
import subprocess
import sys
import time

from kubelite.kubelet.pod_resources import apply_limits, pod_limits
from kubelite.kubelet.stats import ContainerRef, PodRef, StatsProvider
from kubelite.runtime import cgroups

PODS = 50


def pod(i: int) -> dict[str, object]:
    res = {"requests": {"cpu": "100m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "64Mi"}}
    return {"metadata": {"uid": f"bench-{i}"}, "spec": {"containers": [{"name": "c", "resources": res}]}}


def join(path: str, pid: int, hiers: list[cgroups.Hierarchy]) -> None:
    """Move `pid` into the cgroup at `path` in every hierarchy that has one."""
    for h in hiers:
        procs = os.path.join(h.mountpoint, path.strip("/"), "cgroup.procs")
        if os.path.exists(procs):
            try:
                with open(procs, "w") as f:
                    f.write(str(pid))
            except OSError:
                pass


def proc_cpu(pid: int) -> float:
    """Seconds of CPU the process used (utime + stime)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def duty_loop(duty: float) -> subprocess.Popen[bytes]:
    """A process busy for `duty` of every 10 ms."""
    code = (f"import time\nd={duty}\n"
            "while True:\n t=time.perf_counter()\n while time.perf_counter()-t<0.01*d: pass\n"
            " time.sleep(max(0.0, 0.01*(1-d)))\n")
    return subprocess.Popen([sys.executable, "-c", code])


def main() -> None:
    root = f"/kubelite-bench-{secrets.token_hex(3)}"
    hiers = cgroups.hierarchies()
    tree = cgroups.PodCgroups(root.strip("/"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        times = []
        for i in range(PODS):
            t = time.perf_counter()
            apply_limits(tree.pod_path("Burstable", f"bench-{i}"), pod_limits(pod(i), 1024), hiers)
            times.append(time.perf_counter() - t)
        print(f"pod cgroup set-up: {statistics.mean(times) * 1000:.2f} ms per pod "
              f"(p95 {sorted(times)[int(0.95 * PODS)] * 1000:.2f} ms, {PODS} pods)")

        refs = []
        duties = [0.25, 0.5, 0.75]
        for i in range(len(duties)):  # the measured loops run without a cpu limit
            apply_limits(tree.pod_path("Burstable", f"bench-{i}"), pod_limits({}), hiers)
        for i in range(PODS):
            path = tree.container_path("Burstable", f"bench-{i}", "c")
            cgroups.create_path(path, hiers)
            p = duty_loop(duties[i]) if i < len(duties) else subprocess.Popen(["sleep", "600"])
            procs.append(p)
            join(path, p.pid, hiers)
            refs.append(PodRef(f"p{i}", "bench", f"bench-{i}", containers=[ContainerRef("c", path)]))
        provider = StatsProvider("bench", lambda: refs)
        provider.sweep()
        sweeps = []
        for _ in range(20):
            t = time.perf_counter()
            provider.sweep()
            sweeps.append(time.perf_counter() - t)
            time.sleep(0.05)
        print(f"stats sweep over {PODS} containers: {statistics.median(sweeps) * 1000:.1f} ms median "
              f"(max {max(sweeps) * 1000:.1f} ms; target under 50 ms)")

        provider.rates.min_window = 2.0
        provider.sweep()
        before = [proc_cpu(procs[i].pid) for i in range(len(duties))]
        t0 = time.monotonic()
        time.sleep(3.0)
        doc = provider.sweep()
        elapsed = time.monotonic() - t0
        for i, duty in enumerate(duties):
            got = doc["pods"][i]["containers"][0]["cpu"].get("usageNanoCores", 0) / 1e9
            actual = (proc_cpu(procs[i].pid) - before[i]) / elapsed
            print(f"busy loop at {duty:.0%} duty: reported {got:.3f} cores, the process's own "
                  f"/proc time says {actual:.3f} (error {got - actual:+.3f}; a loaded machine "
                  "gives loops less than their duty)")
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
        time.sleep(0.2)
        try:
            tree.remove_root()
        except OSError as e:
            print(f"(could not remove {root}: {e})", file=sys.stderr)


if __name__ == "__main__":
    main()
