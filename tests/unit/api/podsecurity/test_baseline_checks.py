"""Each Baseline check, pod by pod: allowed, or refused with Kubernetes' reason and detail
(the cases of k8s.io/pod-security-admission/policy check_*_test.go)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api.podsecurity import baseline as b
from kubelite.api.podsecurity.result import Forbidden


def c(name: str = "a", **security: Any) -> dict[str, Any]:
    return {"name": name, "image": "x", **({"securityContext": security} if security else {})}


CASES: list[tuple[str, Any, dict[str, Any], dict[str, Any], Forbidden | None]] = [
    # hostProcess (windowsHostProcess)
    ("hostProcess unset", b.windows_host_process_1_0, {}, {"containers": [c()]}, None),
    ("hostProcess pod and container", b.windows_host_process_1_0, {},
     {"securityContext": {"windowsOptions": {"hostProcess": True}},
      "containers": [c("a", windowsOptions={"hostProcess": True}), c("b", windowsOptions={"hostProcess": False})]},
     Forbidden("hostProcess", 'pod and container "a" must not set securityContext.windowsOptions.hostProcess=true')),
    # hostNamespaces
    ("host namespaces off", b.host_namespaces_1_0, {}, {"hostNetwork": False, "containers": [c()]}, None),
    ("host namespaces all", b.host_namespaces_1_0, {}, {"hostIPC": True, "hostPID": True, "hostNetwork": True},
     Forbidden("host namespaces", "hostNetwork=true, hostPID=true, hostIPC=true")),
    # privileged
    ("privileged false", b.privileged_1_0, {}, {"containers": [c(privileged=False)]}, None),
    ("privileged two containers", b.privileged_1_0, {},
     {"initContainers": [c("init", privileged=True)], "containers": [c("a", privileged=True), c("b")]},
     Forbidden("privileged", 'containers "init", "a" must not set securityContext.privileged=true')),
    # capabilities
    ("default capabilities", b.capabilities_baseline_1_0, {},
     {"containers": [c(capabilities={"add": ["NET_BIND_SERVICE", "CHOWN", "KILL"]})]}, None),
    ("non-default capabilities", b.capabilities_baseline_1_0, {},
     {"containers": [c("a", capabilities={"add": ["SYS_ADMIN", "CHOWN"]}), c("b", capabilities={"add": ["NET_RAW"]})]},
     Forbidden("non-default capabilities",
               'containers "a", "b" must not include "NET_RAW", "SYS_ADMIN" in securityContext.capabilities.add')),
    # hostPath
    ("emptyDir volume", b.host_path_volumes_1_0, {}, {"volumes": [{"name": "v", "emptyDir": {}}]}, None),
    ("hostPath volumes", b.host_path_volumes_1_0, {},
     {"volumes": [{"name": "root", "hostPath": {"path": "/"}}, {"name": "e", "emptyDir": {}},
                  {"name": "etc", "hostPath": {"path": "/etc"}}]},
     Forbidden("hostPath volumes", 'volumes "root", "etc"')),
    # hostPorts
    ("container ports", b.host_ports_1_0, {}, {"containers": [c() | {"ports": [{"containerPort": 80}]}]}, None),
    ("host ports", b.host_ports_1_0, {},
     {"containers": [c("a") | {"ports": [{"containerPort": 80, "hostPort": 80}, {"containerPort": 8080, "hostPort": 8080}]},
                     c("b") | {"ports": [{"containerPort": 9, "hostPort": 0}]}]},
     Forbidden("hostPort", 'container "a" uses hostPorts 80, 8080')),
    # AppArmor
    ("apparmor runtime default", b.app_armor_profile_1_0,
     {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": "runtime/default"}},
     {"securityContext": {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}}, "containers": [c()]}, None),
    ("apparmor unconfined pod", b.app_armor_profile_1_0, {},
     {"securityContext": {"appArmorProfile": {"type": "Unconfined"}}},
     Forbidden("forbidden AppArmor profile", 'pod must not set AppArmor profile type to "Unconfined"')),
    ("apparmor container and annotation", b.app_armor_profile_1_0,
     {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": "unconfined"}},
     {"containers": [c("a", appArmorProfile={"type": "Unconfined"})]},
     Forbidden("forbidden AppArmor profiles", 'container "a" and annotation must not set AppArmor profile type to '
               '"Unconfined", "container.apparmor.security.beta.kubernetes.io/a=\\"unconfined\\""')),
    # SELinux
    ("selinux container_t", b.se_linux_options_1_31, {},
     {"securityContext": {"seLinuxOptions": {"type": "container_t", "level": "s0:c1"}},
      "containers": [c(seLinuxOptions={"type": "container_engine_t"})]}, None),
    ("selinux engine type before 1.31", b.se_linux_options_1_0, {},
     {"containers": [c(seLinuxOptions={"type": "container_engine_t"})]},
     Forbidden("seLinuxOptions", 'container "a" set forbidden securityContext.seLinuxOptions: type "container_engine_t"')),
    ("selinux type user role", b.se_linux_options_1_31, {},
     {"securityContext": {"seLinuxOptions": {"type": "spc_t"}},
      "containers": [c("a", seLinuxOptions={"user": "root"}), c("b", seLinuxOptions={"role": "sysadm_r"})]},
     Forbidden("seLinuxOptions", 'pod and containers "a", "b" set forbidden securityContext.seLinuxOptions: '
               'type "spc_t"; user may not be set; role may not be set')),
    ("selinux user only", b.se_linux_options_1_31, {}, {"containers": [c(seLinuxOptions={"user": "u"})]},
     Forbidden("seLinuxOptions", 'container "a" set forbidden securityContext.seLinuxOptions: user may not be set')),
    # procMount
    ("procMount default", b.proc_mount_1_0, {}, {"containers": [c(procMount="Default")]}, None),
    ("procMount unmasked", b.proc_mount_1_0, {}, {"containers": [c("a", procMount="Unmasked"), c("b")]},
     Forbidden("procMount", 'container "a" must not set securityContext.procMount to "Unmasked"')),
    # seccomp (baseline)
    ("seccomp runtime default", b.seccomp_profile_baseline_1_19, {},
     {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [c()]}, None),
    ("seccomp unconfined", b.seccomp_profile_baseline_1_19, {},
     {"securityContext": {"seccompProfile": {"type": "Unconfined"}},
      "containers": [c("a", seccompProfile={"type": "Unconfined"}), c("b", seccompProfile={"type": "Localhost"})]},
     Forbidden("seccompProfile", 'pod and container "a" must not set securityContext.seccompProfile.type to "Unconfined"')),
    ("seccomp annotations (before 1.19)", b.seccomp_profile_baseline_1_0,
     {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined",
                      "container.seccomp.security.alpha.kubernetes.io/a": "runtime/default"}},
     {"containers": [c("a")]},
     Forbidden("seccompProfile", 'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"')),
    # sysctls
    ("safe sysctls 1.32", b.sysctls_1_32, {},
     {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "4096 87380 6291456"},
                                      {"name": "kernel.shm_rmid_forced", "value": "1"}]}}, None),
    ("tcp_rmem before 1.32", b.sysctls_1_29, {},
     {"securityContext": {"sysctls": [{"name": "net.ipv4.tcp_rmem", "value": "1"}]}},
     Forbidden("forbidden sysctls", "net.ipv4.tcp_rmem")),
    ("unsafe sysctls", b.sysctls_1_32, {},
     {"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}, {"name": "net.core.somaxconn", "value": "1"}]}},
     Forbidden("forbidden sysctls", "kernel.msgmax, net.core.somaxconn")),
]


@pytest.mark.parametrize(("fn", "meta", "spec", "want"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_baseline_check(fn: Any, meta: dict[str, Any], spec: dict[str, Any], want: Forbidden | None) -> None:
    assert fn(meta, spec) == want
