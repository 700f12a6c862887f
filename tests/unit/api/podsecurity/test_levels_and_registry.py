"""Namespace labels to policies, which checks each level and version runs (and in what order),
pod templates of workloads, and which pod updates are evaluated again."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api import podsecurity as ps
from kubelite.api.podsecurity import baseline as b
from kubelite.api.podsecurity import restricted as r
from kubelite.api.podsecurity.registry import checks_for


def test_labels_choose_each_mode_over_the_defaults() -> None:
    defaults = ps.Policy(enforce=ps.LevelVersion(ps.BASELINE))
    policy, errors = ps.policy_to_evaluate({
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "v1.24",
        "pod-security.kubernetes.io/audit-version": "v1.30",
    }, defaults)
    assert errors == []
    assert policy == ps.Policy(enforce=ps.LevelVersion(ps.BASELINE),
                               audit=ps.LevelVersion(ps.PRIVILEGED, ps.Version(30)),
                               warn=ps.LevelVersion(ps.RESTRICTED, ps.Version(24)))
    assert str(policy.warn) == "restricted:v1.24" and str(policy.enforce) == "baseline:latest"


@pytest.mark.parametrize(("labels", "enforce", "warn", "messages"), [
    ({"pod-security.kubernetes.io/enforce": "strict"}, "restricted:latest", "privileged:latest",
     ['metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict": '
      "must be one of privileged, baseline, restricted"]),
    ({"pod-security.kubernetes.io/warn": "x", "pod-security.kubernetes.io/enforce-version": "1.25"},
     "privileged:latest", "privileged:latest",
     ['metadata.labels[pod-security.kubernetes.io/enforce-version]: Invalid value: "1.25": must be "latest" or "v1.x"',
      'metadata.labels[pod-security.kubernetes.io/warn]: Invalid value: "x": must be one of privileged, baseline, restricted']),
])
def test_bad_labels_fail_closed_for_enforce_and_open_for_warn(
        labels: dict[str, str], enforce: str, warn: str, messages: list[str]) -> None:
    policy, errors = ps.policy_to_evaluate(labels, ps.Policy())
    assert (str(policy.enforce), str(policy.warn)) == (enforce, warn)
    assert [e.message() for e in errors] == messages


def test_versions_parse_and_compare() -> None:
    assert ps.parse_version("v1.0") == (ps.Version(0), "")
    assert ps.parse_version("v1.01")[1] and ps.parse_version("v2.0")[1]
    assert ps.Version(99).effective_minor() == ps.LATEST.effective_minor() == 32
    assert ps.compare_levels(ps.RESTRICTED, ps.BASELINE) == 1
    assert ps.compare_levels(ps.PRIVILEGED, ps.BASELINE) == -1
    assert ps.compare_levels(ps.BASELINE, ps.BASELINE) == 0


@pytest.mark.parametrize(("level", "minor", "want"), [
    ("privileged", 32, []),
    ("baseline", 32, [b.app_armor_profile_1_0, b.capabilities_baseline_1_0, b.host_namespaces_1_0, b.host_path_volumes_1_0,
                      b.host_ports_1_0, b.privileged_1_0, b.proc_mount_1_0, b.se_linux_options_1_31,
                      b.seccomp_profile_baseline_1_19, b.sysctls_1_32, b.windows_host_process_1_0]),
    ("baseline", 18, [b.app_armor_profile_1_0, b.capabilities_baseline_1_0, b.host_namespaces_1_0, b.host_path_volumes_1_0,
                      b.host_ports_1_0, b.privileged_1_0, b.proc_mount_1_0, b.se_linux_options_1_0,
                      b.seccomp_profile_baseline_1_0, b.sysctls_1_0, b.windows_host_process_1_0]),
    # restricted replaces capabilities_baseline, hostPathVolumes and seccompProfile_baseline
    ("restricted", 32, [b.app_armor_profile_1_0, b.host_namespaces_1_0, b.host_ports_1_0, b.privileged_1_0,
                        b.proc_mount_1_0, b.se_linux_options_1_31, b.sysctls_1_32, b.windows_host_process_1_0,
                        r.allow_privilege_escalation_1_25, r.capabilities_restricted_1_25, r.restricted_volumes_1_0,
                        r.run_as_non_root_1_0, r.run_as_user_1_23, r.seccomp_profile_restricted_1_25]),
    # before 1.19 and 1.22 their baseline forms still run; runAsUser starts at 1.23, escalation at 1.8
    ("restricted", 7, [b.app_armor_profile_1_0, b.capabilities_baseline_1_0, b.host_namespaces_1_0, b.host_ports_1_0,
                       b.privileged_1_0, b.proc_mount_1_0, b.se_linux_options_1_0, b.seccomp_profile_baseline_1_0,
                       b.sysctls_1_0, b.windows_host_process_1_0, r.restricted_volumes_1_0, r.run_as_non_root_1_0]),
])
def test_checks_per_level_and_version(level: str, minor: int, want: list[Any]) -> None:
    assert list(checks_for(level, minor)) == want


def test_the_message_lists_violations_in_kubernetes_order() -> None:
    spec = {"hostPID": True, "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
            "containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True, "runAsUser": 0}}]}
    baseline = ps.evaluate(ps.LevelVersion(ps.BASELINE), {}, spec)
    assert ps.forbidden_detail(baseline) == (
        'host namespaces (hostPID=true), hostPath volumes (volume "root"), '
        'privileged (container "c" must not set securityContext.privileged=true)')
    restricted = ps.evaluate(ps.LevelVersion(ps.RESTRICTED), {}, spec)
    assert ps.forbidden_reason(restricted) == (
        "host namespaces, privileged, allowPrivilegeEscalation != false, unrestricted capabilities, "
        "restricted volume types, runAsNonRoot != true, runAsUser=0, seccompProfile")
    assert ps.evaluate(ps.LevelVersion(ps.PRIVILEGED), {}, spec) == []


def test_pod_templates_of_workloads() -> None:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": []}}
    assert ps.pod_template("apps", "Deployment", {"spec": {"template": template}}) == template
    assert ps.pod_template("batch", "CronJob", {"spec": {"jobTemplate": {"spec": {"template": template}}}}) == template
    assert ps.pod_template("", "PodTemplate", {"template": template}) == template
    assert ps.pod_template("", "ReplicationController", {"spec": {}}) is None
    assert not ps.has_pod_template("", "ConfigMap") and ps.has_pod_template("apps", "StatefulSet")


def pod(image: str = "x", annotations: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"metadata": {"annotations": annotations or {}},
            "spec": {"containers": [{"name": "c", "image": image}], **extra}}


@pytest.mark.parametrize(("new", "significant"), [
    (pod(), False),
    (pod(annotations={"unrelated": "x"}, nodeName="n1"), False),
    (pod(image="y"), True),
    (pod(annotations={"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}), True),
    (pod(annotations={"container.seccomp.security.alpha.kubernetes.io/c": "unconfined"}), True),
    (pod(ephemeralContainers=[{"name": "debug", "image": "busybox"}]), True),
])
def test_significant_pod_updates(new: dict[str, Any], significant: bool) -> None:
    assert ps.is_significant_pod_update(new, pod()) is significant
