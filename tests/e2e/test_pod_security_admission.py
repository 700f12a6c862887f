"""Pod Security Admission through the real kubectl: a namespace's enforce label refuses pods with
Kubernetes' PodSecurity message, its warn label makes kubectl print warnings and admits, and
tightening a namespace's enforce label warns about the pods already there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.helpers.cluster import Server, running_server

RESTRICTED_DETAIL = (
    'violates PodSecurity "restricted:latest": privileged (container "c" must not set '
    'securityContext.privileged=true), allowPrivilegeEscalation != false (container "c" must set '
    'securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "c" must set '
    'securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "c" must set '
    'securityContext.runAsNonRoot=true), seccompProfile (pod or container "c" must set '
    'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")'
)


def pod(name: str, *, privileged: bool = False, restricted: bool = False, host_network: bool = False) -> str:
    container: dict[str, object] = {"name": "c", "image": "busybox"}
    spec: dict[str, object] = {"containers": [container]}
    if privileged:
        container["securityContext"] = {"privileged": True}
    if restricted:
        container["securityContext"] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
        spec["securityContext"] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    if host_network:
        spec["hostNetwork"] = True
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def namespace(server: Server, name: str, *labels: str) -> None:
    server.kubectl("create", "namespace", name)
    if labels:
        server.kubectl("label", "namespace", name, *labels)


def test_restricted_namespace_refuses_a_privileged_pod(server: Server) -> None:
    namespace(server, "psa-restricted", "pod-security.kubernetes.io/enforce=restricted")
    result = server.kubectl("apply", "-n", "psa-restricted", "-f", "-", input=pod("priv", privileged=True), check=False)
    assert result.returncode != 0
    assert "Error from server (Forbidden)" in result.stderr
    assert f'pods "priv" is forbidden: {RESTRICTED_DETAIL}' in result.stderr
    server.kubectl("apply", "-n", "psa-restricted", "-f", "-", input=pod("ok", restricted=True))
    names = server.kubectl("get", "pods", "-n", "psa-restricted", "-o", "name").stdout.split()
    assert names == ["pod/ok"]


def test_warn_label_prints_warnings_and_admits(server: Server) -> None:
    namespace(server, "psa-warn", "pod-security.kubernetes.io/warn=baseline")
    result = server.kubectl("apply", "-n", "psa-warn", "-f", "-", input=pod("hostnet", host_network=True))
    assert 'Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)' in result.stderr
    server.kubectl("get", "pod", "hostnet", "-n", "psa-warn")
    # Workloads are checked at warn level too (their pods would be refused, not the workload).
    server.kubectl("label", "namespace", "psa-warn", "pod-security.kubernetes.io/warn=restricted", "--overwrite")
    result = server.kubectl("create", "deployment", "web", "-n", "psa-warn", "--image=busybox")
    assert 'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false ' \
        '(container "busybox" must set securityContext.allowPrivilegeEscalation=false)' in result.stderr
    server.kubectl("get", "deployment", "web", "-n", "psa-warn")


def test_tightening_enforce_warns_about_existing_pods(server: Server) -> None:
    namespace(server, "psa-existing")
    server.kubectl("apply", "-n", "psa-existing", "-f", "-", input=pod("priv", privileged=True))
    server.kubectl("apply", "-n", "psa-existing", "-f", "-", input=pod("plain"))
    result = server.kubectl("label", "namespace", "psa-existing", "pod-security.kubernetes.io/enforce=baseline")
    lines = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    assert lines == [
        'Warning: existing pods in namespace "psa-existing" violate the new PodSecurity enforce level "baseline:latest"',
        "Warning: priv: privileged",
    ]
    assert "labeled" in result.stdout
    # Relaxing needs no look at the pods.
    result = server.kubectl("label", "namespace", "psa-existing", "pod-security.kubernetes.io/enforce=privileged", "--overwrite")
    assert "Warning" not in result.stderr


def test_invalid_labels_are_refused(server: Server) -> None:
    namespace(server, "psa-invalid")
    result = server.kubectl("label", "namespace", "psa-invalid", "pod-security.kubernetes.io/enforce=strict", check=False)
    assert result.returncode != 0
    assert ('Namespace "psa-invalid" is invalid: metadata.labels[pod-security.kubernetes.io/enforce]: '
            'Invalid value: "strict": must be one of privileged, baseline, restricted') in result.stderr


def test_kube_system_is_not_exempt_by_default(server: Server) -> None:
    # Unlabelled, kube-system is privileged (as in Kubernetes): the system's own pods run there.
    server.kubectl("apply", "-n", "kube-system", "-f", "-", input=pod("sys-priv", privileged=True))
    server.kubectl("label", "namespace", "kube-system", "pod-security.kubernetes.io/enforce=baseline")
    try:
        result = server.kubectl("apply", "-n", "kube-system", "-f", "-", input=pod("sys-priv2", privileged=True), check=False)
        assert 'pods "sys-priv2" is forbidden: violates PodSecurity "baseline:latest": privileged' in result.stderr
    finally:
        server.kubectl("label", "namespace", "kube-system", "pod-security.kubernetes.io/enforce-")


@pytest.fixture(scope="module")
def configured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose AdmissionConfiguration makes baseline the default and exempts kube-system."""
    root: Path = tmp_path_factory.mktemp("psa-config")
    config = root / "admission.yaml"
    config.write_text(yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
        "plugins": [{"name": "PodSecurity", "configuration": {
            "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
            "defaults": {"enforce": "baseline", "enforce-version": "latest", "warn": "restricted"},
            "exemptions": {"namespaces": ["kube-system"]}}}],
    }))
    with running_server(root / "data", "--admission-control-config-file", str(config)) as s:
        yield s


def test_configured_defaults_and_exemptions(configured: Server) -> None:
    result = configured.kubectl("apply", "-f", "-", input=pod("priv", privileged=True), check=False)
    assert 'pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged' in result.stderr
    result = configured.kubectl("apply", "-f", "-", input=pod("plain"))
    assert 'Warning: would violate PodSecurity "restricted:latest"' in result.stderr
    result = configured.kubectl("apply", "-n", "kube-system", "-f", "-", input=pod("priv", privileged=True))
    assert "Warning" not in result.stderr
