"""Translate one container of a Pod into the runtime's plain `ContainerConfig`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelite.api.quantity import parse_quantity
from kubelite.kubelet.envvars import ConfigError
from kubelite.kubelet.runtime_service import SandboxInfo
from kubelite.runtime.spec import ContainerConfig, Mount, Namespace, Resources

CPU_PERIOD_US = 100_000
MIN_SHARES = 2


def _security(pod: Mapping[str, Any], container: Mapping[str, Any]) -> dict[str, Any]:
    """The container's securityContext over the pod's (runAsUser, runAsGroup, ...)."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = dict(container.get("securityContext") or {})
    for key in ("runAsUser", "runAsGroup", "runAsNonRoot"):
        if key not in sc and key in pod_sc:
            sc[key] = pod_sc[key]
    sc["supplementalGroups"] = list(pod_sc.get("supplementalGroups") or [])
    if pod_sc.get("fsGroup") is not None:
        sc["supplementalGroups"].append(pod_sc["fsGroup"])
    return sc


def image_user(user: str) -> tuple[int | None, int | None]:
    """The image's `User` when numeric ("1000" or "1000:1000"); names are left to the caller."""
    if not user:
        return None, None
    name, _, group = user.partition(":")
    uid = int(name) if name.isdigit() else None
    gid = int(group) if group.isdigit() else None
    return uid, gid


def user_string(sc: Mapping[str, Any], image_config: Mapping[str, Any]) -> str:
    """containerd CRI's user string: runAsUser over the image's USER, runAsGroup over its group."""
    image_name, _, image_group = str(image_config.get("User") or "").partition(":")
    name = str(sc["runAsUser"]) if sc.get("runAsUser") is not None else image_name
    group = str(sc["runAsGroup"]) if sc.get("runAsGroup") is not None else image_group
    return f"{name}:{group}" if group else name


def verify_run_as_non_root(pod: Mapping[str, Any], container: Mapping[str, Any],
                           image_config: Mapping[str, Any]) -> None:
    """kuberuntime's verifyRunAsNonRoot: refuse to start what would run as root."""
    sc = _security(pod, container)
    if not sc.get("runAsNonRoot"):
        return
    where = f"(pod: \"{pod_ref(pod)}\", container: {container.get('name')})"
    if sc.get("runAsUser") is not None:
        if int(sc["runAsUser"]) == 0:
            raise ConfigError(f"container's runAsUser breaks non-root policy {where}")
        return
    image_name = str(image_config.get("User") or "").partition(":")[0]
    if image_name and not image_name.isdigit():
        raise ConfigError(f"container has runAsNonRoot and image has non-numeric user ({image_name}), "
                          f"cannot verify user is non-root {where}")
    if int(image_name or 0) == 0:
        raise ConfigError(f"container has runAsNonRoot and image will run as root {where}")


def pod_ref(pod: Mapping[str, Any]) -> str:
    """format.Pod: NAME_NAMESPACE(UID)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name')}_{meta.get('namespace') or 'default'}({meta.get('uid')})"


def resources(container: Mapping[str, Any]) -> Resources:
    res = container.get("resources") or {}
    limits = res.get("limits") or {}
    requests = res.get("requests") or {}
    out = Resources()
    cpu_request = requests.get("cpu") or limits.get("cpu")
    if cpu_request is not None:
        out.cpu_shares = max(MIN_SHARES, parse_quantity(cpu_request).milli_value() * 1024 // 1000)
    else:
        out.cpu_shares = MIN_SHARES
    if limits.get("cpu") is not None:
        milli = parse_quantity(limits["cpu"]).milli_value()
        out.cpu_period = CPU_PERIOD_US
        out.cpu_quota = max(1000, milli * CPU_PERIOD_US // 1000)
    if limits.get("memory") is not None:
        out.memory_limit = parse_quantity(limits["memory"]).value()
    return out


def build_config(pod: Mapping[str, Any], container: Mapping[str, Any], sandbox: SandboxInfo,
                 args: list[str], env: list[str], cwd: str, image_config: Mapping[str, Any],
                 termination_log: str | None, extra_mounts: list[Mount] | None = None
                 ) -> ContainerConfig:
    """Everything but the rootfs and cgroup path, which the runtime service fills in."""
    spec = pod.get("spec") or {}
    sc = _security(pod, container)
    img_uid, img_gid = image_user(str(image_config.get("User") or ""))
    uid = sc.get("runAsUser", img_uid if img_uid is not None else 0)
    gid = sc.get("runAsGroup", img_gid if img_gid is not None else 0)
    caps = sc.get("capabilities") or {}
    mounts = list(extra_mounts or [])
    if termination_log:
        path = container.get("terminationMessagePath") or "/dev/termination-log"
        mounts.append(Mount(destination=path, source=termination_log))

    def ns(path: str | None) -> Namespace:
        return Namespace.join(path) if path else Namespace.host()

    pid = Namespace.private()
    if spec.get("hostPID"):
        pid = Namespace.host()
    elif spec.get("shareProcessNamespace") and sandbox.pid:
        pid = Namespace.join(sandbox.pid)
    return ContainerConfig(
        args=args,
        rootfs="",
        env=env,
        cwd=cwd,
        uid=int(uid),
        gid=int(gid),
        additional_gids=[int(g) for g in sc.get("supplementalGroups") or []],
        user=user_string(sc, image_config),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        terminal=bool(container.get("tty")),
        stdin=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        mounts=mounts,
        etc_hosts=sandbox.etc_hosts,
        etc_hostname=sandbox.etc_hostname,
        resolv_conf=sandbox.resolv_conf,
        shm_dir=sandbox.shm_dir,
        network=ns(sandbox.netns),
        ipc=ns(sandbox.ipc),
        uts=ns(sandbox.uts),
        pid=pid,
        privileged=bool(sc.get("privileged")),
        capabilities_add=list(caps.get("add") or []),
        capabilities_drop=list(caps.get("drop") or []),
        no_new_privileges=sc.get("allowPrivilegeEscalation") is False,
        resources=resources(container),
    )
