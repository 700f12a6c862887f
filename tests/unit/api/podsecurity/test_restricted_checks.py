"""Each Restricted check, pod by pod: allowed, or refused with Kubernetes' reason and detail."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api.podsecurity import restricted as r
from kubelite.api.podsecurity.result import Forbidden


def c(name: str = "a", **security: Any) -> dict[str, Any]:
    return {"name": name, "image": "x", **({"securityContext": security} if security else {})}


WINDOWS = {"os": {"name": "windows"}}

CASES: list[tuple[str, Any, dict[str, Any], Forbidden | None]] = [
    # volume types
    ("allowed volume types", r.restricted_volumes_1_0,
     {"volumes": [{"name": n, src: {}} for n, src in
                  (("a", "configMap"), ("b", "secret"), ("c", "emptyDir"), ("d", "projected"), ("e", "downwardAPI"),
                   ("f", "persistentVolumeClaim"), ("g", "ephemeral"), ("h", "csi"), ("i", "image"))]}, None),
    ("restricted volume types", r.restricted_volumes_1_0,
     {"volumes": [{"name": "root", "hostPath": {"path": "/"}}, {"name": "share", "nfs": {"server": "s", "path": "/"}},
                  {"name": "ok", "emptyDir": {}}, {"name": "odd"}]},
     Forbidden("restricted volume types", 'volumes "root", "share", "odd" use restricted volume types '
               '"hostPath", "nfs", "unknown"')),
    ("one restricted volume", r.restricted_volumes_1_0, {"volumes": [{"name": "git", "gitRepo": {"repository": "r"}}]},
     Forbidden("restricted volume types", 'volume "git" uses restricted volume type "gitRepo"')),
    # privilege escalation
    ("escalation false", r.allow_privilege_escalation_1_25, {"containers": [c(allowPrivilegeEscalation=False)]}, None),
    ("escalation unset or true", r.allow_privilege_escalation_1_25,
     {"initContainers": [c("i")], "containers": [c("a", allowPrivilegeEscalation=True), c("b", allowPrivilegeEscalation=False)]},
     Forbidden("allowPrivilegeEscalation != false", 'containers "i", "a" must set securityContext.allowPrivilegeEscalation=false')),
    ("escalation windows pod (1.25)", r.allow_privilege_escalation_1_25, {**WINDOWS, "containers": [c()]}, None),
    ("escalation windows pod (1.8)", r.allow_privilege_escalation_1_8, {**WINDOWS, "containers": [c()]},
     Forbidden("allowPrivilegeEscalation != false", 'container "a" must set securityContext.allowPrivilegeEscalation=false')),
    # runAsNonRoot
    ("runAsNonRoot on pod", r.run_as_non_root_1_0, {"securityContext": {"runAsNonRoot": True}, "containers": [c()]}, None),
    ("runAsNonRoot on containers", r.run_as_non_root_1_0, {"containers": [c("a", runAsNonRoot=True)]}, None),
    ("runAsNonRoot unset", r.run_as_non_root_1_0, {"containers": [c("a"), c("b", runAsNonRoot=True), c("d")]},
     Forbidden("runAsNonRoot != true", 'pod or containers "a", "d" must set securityContext.runAsNonRoot=true')),
    ("runAsNonRoot false", r.run_as_non_root_1_0,
     {"securityContext": {"runAsNonRoot": False}, "containers": [c("a", runAsNonRoot=False), c("b")]},
     Forbidden("runAsNonRoot != true", 'pod and container "a" must not set securityContext.runAsNonRoot=false')),
    # runAsUser
    ("runAsUser 1000", r.run_as_user_1_23, {"securityContext": {"runAsUser": 1000}, "containers": [c(runAsUser=1)]}, None),
    ("runAsUser 0", r.run_as_user_1_23, {"securityContext": {"runAsUser": 0}, "containers": [c("a", runAsUser=0), c("b")]},
     Forbidden("runAsUser=0", 'pod and container "a" must not set runAsUser=0')),
    # seccomp (restricted)
    ("seccomp on pod", r.seccomp_profile_restricted_1_25,
     {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}}, "containers": [c()]}, None),
    ("seccomp on containers", r.seccomp_profile_restricted_1_25,
     {"containers": [c("a", seccompProfile={"type": "Localhost", "localhostProfile": "p.json"})]}, None),
    ("seccomp missing", r.seccomp_profile_restricted_1_25,
     {"containers": [c("a"), c("b", seccompProfile={"type": "RuntimeDefault"})]},
     Forbidden("seccompProfile", 'pod or container "a" must set securityContext.seccompProfile.type to '
               '"RuntimeDefault" or "Localhost"')),
    ("seccomp unconfined container", r.seccomp_profile_restricted_1_25,
     {"securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
      "containers": [c("a", seccompProfile={"type": "Unconfined"})]},
     Forbidden("seccompProfile", 'container "a" must not set securityContext.seccompProfile.type to "Unconfined"')),
    ("seccomp windows", r.seccomp_profile_restricted_1_25, {**WINDOWS, "containers": [c()]}, None),
    # capabilities: drop ALL, add only NET_BIND_SERVICE
    ("drop ALL add NET_BIND_SERVICE", r.capabilities_restricted_1_25,
     {"containers": [c(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})]}, None),
    ("no drop ALL", r.capabilities_restricted_1_25,
     {"containers": [c("a"), c("b", capabilities={"drop": ["NET_RAW"]}), c("d", capabilities={"drop": ["ALL"]})]},
     Forbidden("unrestricted capabilities", 'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]')),
    ("adds beyond NET_BIND_SERVICE", r.capabilities_restricted_1_25,
     {"containers": [c("a", capabilities={"add": ["CHOWN", "NET_BIND_SERVICE"]}),
                     c("b", capabilities={"drop": ["ALL"], "add": ["SYS_TIME"]})]},
     Forbidden("unrestricted capabilities", 'container "a" must set securityContext.capabilities.drop=["ALL"]; '
               'containers "a", "b" must not include "CHOWN", "SYS_TIME" in securityContext.capabilities.add')),
    ("capabilities windows", r.capabilities_restricted_1_25, {**WINDOWS, "containers": [c()]}, None),
]


@pytest.mark.parametrize(("fn", "spec", "want"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_restricted_check(fn: Any, spec: dict[str, Any], want: Forbidden | None) -> None:
    assert fn({}, spec) == want
