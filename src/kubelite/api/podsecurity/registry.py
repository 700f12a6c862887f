"""The table of checks (ID, level, the policy version each variant starts at, the Baseline checks a
Restricted one replaces) and the evaluation of a pod against a level and version, as
k8s.io/pod-security-admission/policy's registry: checks run Baseline first, then Restricted,
each group in ID order, so messages list violations in Kubernetes' order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from kubelite.api.podsecurity import baseline as b
from kubelite.api.podsecurity import restricted as r
from kubelite.api.podsecurity.levels import BASELINE, PRIVILEGED, RESTRICTED, LevelVersion
from kubelite.api.podsecurity.result import Forbidden

CheckFn = Callable[[dict[str, Any], dict[str, Any]], Forbidden | None]


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    versions: tuple[tuple[int, CheckFn], ...]  # (first minor of 1.x, function), increasing
    overrides: tuple[str, ...] = field(default=())  # Baseline check IDs this one replaces

    def at(self, minor: int) -> CheckFn | None:
        """The variant in force at policy version 1.minor, if the check exists yet."""
        chosen = None
        for since, fn in self.versions:
            if since <= minor:
                chosen = fn
        return chosen


CHECKS: tuple[Check, ...] = (
    Check("appArmorProfile", BASELINE, ((0, b.app_armor_profile_1_0),)),
    Check("capabilities_baseline", BASELINE, ((0, b.capabilities_baseline_1_0),)),
    Check("hostNamespaces", BASELINE, ((0, b.host_namespaces_1_0),)),
    Check("hostPathVolumes", BASELINE, ((0, b.host_path_volumes_1_0),)),
    Check("hostPorts", BASELINE, ((0, b.host_ports_1_0),)),
    Check("privileged", BASELINE, ((0, b.privileged_1_0),)),
    Check("procMount", BASELINE, ((0, b.proc_mount_1_0),)),
    Check("seLinuxOptions", BASELINE, ((0, b.se_linux_options_1_0), (31, b.se_linux_options_1_31))),
    Check("seccompProfile_baseline", BASELINE, ((0, b.seccomp_profile_baseline_1_0), (19, b.seccomp_profile_baseline_1_19))),
    Check("sysctls", BASELINE, ((0, b.sysctls_1_0), (27, b.sysctls_1_27), (29, b.sysctls_1_29), (32, b.sysctls_1_32))),
    Check("windowsHostProcess", BASELINE, ((0, b.windows_host_process_1_0),)),
    Check("allowPrivilegeEscalation", RESTRICTED, ((8, r.allow_privilege_escalation_1_8), (25, r.allow_privilege_escalation_1_25))),
    Check("capabilities_restricted", RESTRICTED, ((22, r.capabilities_restricted_1_22), (25, r.capabilities_restricted_1_25)),
          overrides=("capabilities_baseline",)),
    Check("restrictedVolumes", RESTRICTED, ((0, r.restricted_volumes_1_0),), overrides=("hostPathVolumes",)),
    Check("runAsNonRoot", RESTRICTED, ((0, r.run_as_non_root_1_0),)),
    Check("runAsUser", RESTRICTED, ((23, r.run_as_user_1_23),)),
    Check("seccompProfile_restricted", RESTRICTED, ((19, r.seccomp_profile_restricted_1_19), (25, r.seccomp_profile_restricted_1_25)),
          overrides=("seccompProfile_baseline",)),
)


@cache
def checks_for(level: str, minor: int) -> tuple[CheckFn, ...]:
    """The check functions a pod meets at level:v1.minor, in message order."""
    if level == PRIVILEGED:
        return ()
    ordered = sorted((c for c in CHECKS if c.level == BASELINE), key=lambda c: c.id)
    if level == RESTRICTED:
        ordered += sorted((c for c in CHECKS if c.level == RESTRICTED), key=lambda c: c.id)
    active = [(c, c.at(minor)) for c in ordered]
    replaced = {o for c, fn in active if fn is not None for o in c.overrides}
    return tuple(fn for c, fn in active if fn is not None and c.id not in replaced)


def evaluate(lv: LevelVersion, meta: dict[str, Any], spec: dict[str, Any]) -> list[Forbidden]:
    """Every violation of the pod (template) at this level and version; empty when allowed."""
    found = []
    for check in checks_for(lv.level, lv.version.effective_minor()):
        result = check(meta, spec)
        if result is not None:
            found.append(result)
    return found


def forbidden_detail(violations: list[Forbidden]) -> str:
    """`reason (detail), reason (detail)`: the text after `violates PodSecurity "level:version": `."""
    return ", ".join(f"{v.reason} ({v.detail})" if v.detail else v.reason for v in violations)


def forbidden_reason(violations: list[Forbidden]) -> str:
    """The reasons alone, as the warnings about existing pods use them."""
    return ", ".join(v.reason for v in violations)
