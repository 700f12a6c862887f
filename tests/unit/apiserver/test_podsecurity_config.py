"""PodSecurity's configuration file: an AdmissionConfiguration naming the plugin (inline or by
path) or a bare PodSecurityConfiguration, validated in Kubernetes' words."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubelite.api import podsecurity as ps
from kubelite.apiserver.podsecurity import _decorated
from kubelite.apiserver.podsecurity_config import ConfigError, PodSecurityConfig, load

POD_SECURITY = {
    "apiVersion": "pod-security.admission.config.k8s.io/v1", "kind": "PodSecurityConfiguration",
    "defaults": {"enforce": "baseline", "warn": "restricted", "warn-version": "v1.30"},
    "exemptions": {"usernames": ["system:serviceaccount:kube-system:ci"], "namespaces": ["kube-system"],
                   "runtimeClasses": ["kata"]},
}
WANT = PodSecurityConfig(
    defaults=ps.Policy(enforce=ps.LevelVersion(ps.BASELINE), warn=ps.LevelVersion(ps.RESTRICTED, ps.Version(30))),
    exempt_usernames=frozenset({"system:serviceaccount:kube-system:ci"}),
    exempt_namespaces=frozenset({"kube-system"}), exempt_runtime_classes=frozenset({"kata"}),
)


def admission(plugin: dict[str, object]) -> dict[str, object]:
    return {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
            "plugins": [{"name": "EventRateLimit", "path": "nowhere.yaml"}, {"name": "PodSecurity", **plugin}]}


def test_inline_path_and_bare_configurations(tmp_path: Path) -> None:
    (tmp_path / "inline.yaml").write_text(yaml.safe_dump(admission({"configuration": POD_SECURITY})))
    (tmp_path / "psa.yaml").write_text(yaml.safe_dump(POD_SECURITY))
    (tmp_path / "by-path.yaml").write_text(yaml.safe_dump(admission({"path": "psa.yaml"})))
    for name in ("inline.yaml", "psa.yaml", "by-path.yaml"):
        assert load(tmp_path / name) == WANT
    (tmp_path / "other.yaml").write_text(yaml.safe_dump({**admission({}), "plugins": []}))
    assert load(tmp_path / "other.yaml") == PodSecurityConfig()


def test_bad_defaults_are_refused(tmp_path: Path) -> None:
    bad = {**POD_SECURITY, "defaults": {"enforce": "strict", "audit-version": "latest-ish"}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError) as e:
        load(tmp_path / "bad.yaml")
    assert str(e.value) == ('defaults.enforce: Invalid value: "strict": must be one of privileged, baseline, restricted; '
                            'defaults.audit-version: Invalid value: "latest-ish": must be "latest" or "v1.x"')
    with pytest.raises(ConfigError):
        load(tmp_path / "missing.yaml")


def test_existing_pod_warnings_name_the_first_pod_and_count_the_others() -> None:
    assert _decorated("a", 1, "privileged") == "a: privileged"
    assert _decorated("a", 2, "privileged") == "a (and 1 other pod): privileged"
    assert _decorated("a", 4, "privileged") == "a (and 3 other pods): privileged"
