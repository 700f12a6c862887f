"""The PodSecurity plugin's configuration: default levels and exemptions, read from an
AdmissionConfiguration file (kube-apiserver's --admission-control-config-file; RKE2 and k3s
pass the same file) whose `PodSecurity` plugin entry holds a PodSecurityConfiguration inline
(`configuration:`) or names its file (`path:`). A bare PodSecurityConfiguration file is read too.

    apiVersion: pod-security.admission.config.k8s.io/v1
    kind: PodSecurityConfiguration
    defaults: {enforce: baseline, enforce-version: latest, audit: restricted, warn: restricted}
    exemptions: {usernames: [], runtimeClasses: [], namespaces: [kube-system]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kubelite.api import podsecurity as ps

CONFIG_API_VERSIONS = tuple(f"pod-security.admission.config.k8s.io/{v}" for v in ("v1", "v1beta1", "v1alpha1"))
PLUGIN_NAME = "PodSecurity"


class ConfigError(ValueError):
    """The file does not describe a valid PodSecurity configuration."""


@dataclass(frozen=True)
class PodSecurityConfig:
    defaults: ps.Policy = ps.Policy()
    exempt_usernames: frozenset[str] = field(default_factory=frozenset)
    exempt_namespaces: frozenset[str] = field(default_factory=frozenset)
    exempt_runtime_classes: frozenset[str] = field(default_factory=frozenset)


def load(path: Path) -> PodSecurityConfig:
    """The configuration in `path` (an AdmissionConfiguration or a PodSecurityConfiguration)."""
    doc = _read(path)
    if doc.get("kind") == "AdmissionConfiguration":
        for plugin in doc.get("plugins") or ():
            if plugin.get("name") != PLUGIN_NAME:
                continue
            if plugin.get("configuration") is not None:
                return parse(plugin["configuration"])
            if plugin.get("path"):
                return parse(_read((path.parent / plugin["path"]).resolve()))
        return PodSecurityConfig()
    return parse(doc)


def _read(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"reading {path}: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: not a configuration object")
    return doc


def parse(doc: dict[str, Any]) -> PodSecurityConfig:
    """A PodSecurityConfiguration object; errors in Kubernetes' field-error words."""
    if doc.get("kind") != "PodSecurityConfiguration" or doc.get("apiVersion") not in CONFIG_API_VERSIONS:
        raise ConfigError(f"expected kind PodSecurityConfiguration of {', '.join(CONFIG_API_VERSIONS)}, "
                          f"got {doc.get('kind')!r} {doc.get('apiVersion')!r}")
    defaults = doc.get("defaults") or {}
    errors: list[str] = []
    chosen: dict[str, ps.LevelVersion] = {}
    for mode in ("enforce", "audit", "warn"):
        level, err = ps.parse_level(str(defaults.get(mode, ps.PRIVILEGED)))
        if err:
            errors.append(f'defaults.{mode}: Invalid value: "{defaults.get(mode)}": {err}')
        version, err = ps.parse_version(str(defaults.get(f"{mode}-version", "latest")))
        if err:
            errors.append(f'defaults.{mode}-version: Invalid value: "{defaults.get(f"{mode}-version")}": {err}')
        chosen[mode] = ps.LevelVersion(level, version)
    if errors:
        raise ConfigError("; ".join(errors))
    exemptions = doc.get("exemptions") or {}
    return PodSecurityConfig(
        defaults=ps.Policy(**chosen),
        exempt_usernames=frozenset(exemptions.get("usernames") or ()),
        exempt_namespaces=frozenset(exemptions.get("namespaces") or ()),
        exempt_runtime_classes=frozenset(exemptions.get("runtimeClasses") or ()),
    )
