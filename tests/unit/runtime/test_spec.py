"""The OCI config.json built from a ContainerConfig."""

from __future__ import annotations

from kubelite.runtime.spec import (
    DEFAULT_CAPABILITIES,
    MASKED_PATHS,
    ContainerConfig,
    Mount,
    Namespace,
    Resources,
    build_spec,
)


def cfg(**kw: object) -> ContainerConfig:
    return ContainerConfig(args=["sh"], rootfs="/r", **kw)  # type: ignore[arg-type]


def mount(spec: dict, dest: str) -> dict:  # type: ignore[type-arg]
    return next(m for m in spec["mounts"] if m["destination"] == dest)


def test_pod_container_joins_sandbox_namespaces_and_keeps_its_own_pid_and_mount() -> None:
    spec = build_spec(cfg(hostname="ignored", network=Namespace.join("/run/netns/x"),
                          ipc=Namespace.join("/s/ipc"), uts=Namespace.join("/s/uts")))  # fmt: skip
    assert spec["linux"]["namespaces"] == [
        {"type": "mount"},
        {"type": "pid"},
        {"type": "network", "path": "/run/netns/x"},
        {"type": "ipc", "path": "/s/ipc"},
        {"type": "uts", "path": "/s/uts"},
    ]
    assert "hostname" not in spec  # the UTS namespace is the sandbox's


def test_host_namespaces_are_left_out_and_own_uts_gets_the_hostname() -> None:
    spec = build_spec(cfg(hostname="h", network=Namespace.host(), pid=Namespace.host()))
    types = [n["type"] for n in spec["linux"]["namespaces"]]
    assert types == ["mount", "ipc", "uts"]
    assert spec["hostname"] == "h"


def test_capabilities_default_add_drop_and_privileged() -> None:
    caps = build_spec(cfg(capabilities_add=["NET_ADMIN"], capabilities_drop=["KILL", "CAP_CHOWN"]))[
        "process"
    ]["capabilities"]["bounding"]
    assert "CAP_NET_ADMIN" in caps and "CAP_KILL" not in caps and "CAP_CHOWN" not in caps
    assert set(caps) == (set(DEFAULT_CAPABILITIES) - {"CAP_KILL", "CAP_CHOWN"}) | {"CAP_NET_ADMIN"}
    assert build_spec(cfg(capabilities_drop=["ALL"]))["process"]["capabilities"]["bounding"] == []

    plain = build_spec(cfg())
    assert plain["linux"]["maskedPaths"] == list(MASKED_PATHS)
    assert plain["linux"]["resources"]["devices"] == [{"allow": False, "access": "rwm"}]
    priv = build_spec(cfg(privileged=True))
    assert "CAP_SYS_ADMIN" in priv["process"]["capabilities"]["bounding"]
    assert "maskedPaths" not in priv["linux"] and "readonlyPaths" not in priv["linux"]
    assert priv["linux"]["resources"]["devices"] == [{"allow": True, "access": "rwm"}]
    assert any(d["path"] == "/dev/null" for d in priv["linux"]["devices"])
    assert "ro" not in mount(priv, "/sys")["options"]


def test_process_user_resources_and_cgroup() -> None:
    spec = build_spec(cfg(
        uid=1000, gid=2000, additional_gids=[3000], cwd="/work", env=["A=1"], terminal=True,
        no_new_privileges=True, oom_score_adj=-997, cgroups_path="/k/kubepods/podu/c",
        resources=Resources(cpu_shares=512, cpu_quota=50000, cpu_period=100000,
                            memory_limit=64 << 20, pids_limit=100),
    ))  # fmt: skip
    p = spec["process"]
    assert p["user"] == {"uid": 1000, "gid": 2000, "additionalGids": [3000]}
    assert (p["cwd"], p["env"], p["terminal"], p["noNewPrivileges"]) == (
        "/work",
        ["A=1"],
        True,
        True,
    )
    assert p["oomScoreAdj"] == -997
    assert p["rlimits"][0]["type"] == "RLIMIT_NOFILE"
    r = spec["linux"]["resources"]
    assert r["cpu"] == {"shares": 512, "quota": 50000, "period": 100000}
    assert r["memory"] == {"limit": 64 << 20, "swap": 64 << 20}
    assert r["pids"] == {"limit": 100}
    assert spec["linux"]["cgroupsPath"] == "/k/kubepods/podu/c"


def test_mounts_sandbox_files_shm_and_volumes() -> None:
    spec = build_spec(cfg(
        readonly_rootfs=True, shm_dir="/pod/shm", etc_hosts="/pod/hosts",
        resolv_conf="/pod/resolv.conf", etc_hostname="/pod/hostname",
        mounts=[Mount("/data", "/vol/data"), Mount("/cfg", "/vol/cfg", readonly=True),
                Mount("/scratch", "tmpfs", type="tmpfs", options=("size=1m",))],
    ))  # fmt: skip
    assert spec["root"] == {"path": "/r", "readonly": True}
    assert mount(spec, "/dev/shm")["source"] == "/pod/shm"
    assert mount(spec, "/etc/hosts")["options"] == ["rbind", "rprivate", "ro"]
    assert mount(spec, "/etc/resolv.conf")["source"] == "/pod/resolv.conf"
    assert mount(spec, "/etc/hostname")["source"] == "/pod/hostname"
    assert "rw" in mount(spec, "/data")["options"]
    assert "ro" in mount(spec, "/cfg")["options"]
    assert mount(spec, "/scratch") == {
        "destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]
    }  # fmt: skip
    for dest in ("/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup"):
        mount(spec, dest)
    # Without a pod shm dir the container gets its own tmpfs.
    assert mount(build_spec(cfg()), "/dev/shm")["type"] == "tmpfs"
