"""Generate kubelite's API types from the Kubernetes 1.32 OpenAPI definitions.

The definitions come from the `kubernetes-validate` wheel (a copy of the upstream
swagger, converted to JSON Schema). This script keeps the closure of the kinds that
kubelite serves and writes two things, both committed:

- ``src/kubelite/api/definitions.json``: the schema of every type (descriptions,
  patch merge keys, list types, group-version-kinds). OpenAPI documents, strategic
  merge patch, unknown-field detection and ``kubectl explain`` read it.
- ``src/kubelite/api/types/<group>_<version>.py``: msgspec Structs, one per type.

The source is pinned: the ``kubernetes-validate`` wheel at SCHEMA_VERSION (installed
into .venv by the test extras, from PyPI), file DEFINITIONS inside it. ``make generate``
(tools/generate.py) runs this with the protobuf generators; a test regenerates into a
temporary directory and fails on any drift. ``--schema PATH`` reads another copy.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import keyword
import re
from pathlib import Path
from typing import Any

SCHEMA_PACKAGE = "kubernetes-validate"
SCHEMA_VERSION = "1.37.0"  # also pinned in pyproject.toml's test extras
# The upstream 1.32.0 swagger as JSON Schema; "-local" keeps $refs between definitions.
DEFINITIONS = "kubernetes-json-schema/v1.32.0-local/_definitions.json"
API = Path("src") / "kubelite" / "api"  # where the outputs live, relative to the repository

# The kinds kubelite serves (and the types its subresources speak).
ROOTS = [
    "io.k8s.api.core.v1." + k
    for k in (
        "Namespace Pod Node Event ConfigMap Secret Service Endpoints ServiceAccount "
        "PersistentVolume PersistentVolumeClaim ResourceQuota LimitRange Binding "
        "ReplicationController PodTemplate"
    ).split()
] + [
    "io.k8s.api.apps.v1.Deployment",
    "io.k8s.api.apps.v1.ReplicaSet",
    "io.k8s.api.apps.v1.StatefulSet",
    "io.k8s.api.apps.v1.DaemonSet",
    "io.k8s.api.apps.v1.ControllerRevision",
    "io.k8s.api.batch.v1.Job",
    "io.k8s.api.batch.v1.CronJob",
    "io.k8s.api.coordination.v1.Lease",
    "io.k8s.api.discovery.v1.EndpointSlice",
    "io.k8s.api.events.v1.Event",
    "io.k8s.api.storage.v1.StorageClass",
    "io.k8s.api.networking.v1.Ingress",
    "io.k8s.api.networking.v1.IngressClass",
    "io.k8s.api.networking.v1.NetworkPolicy",
    "io.k8s.api.authorization.v1.SelfSubjectAccessReview",
    "io.k8s.api.authorization.v1.SubjectAccessReview",
    "io.k8s.api.authorization.v1.LocalSubjectAccessReview",
    "io.k8s.api.authorization.v1.SelfSubjectRulesReview",
    "io.k8s.api.rbac.v1.Role",
    "io.k8s.api.rbac.v1.ClusterRole",
    "io.k8s.api.rbac.v1.RoleBinding",
    "io.k8s.api.rbac.v1.ClusterRoleBinding",
    "io.k8s.api.authentication.v1.TokenRequest",
    "io.k8s.api.authentication.v1.TokenReview",
    "io.k8s.api.authentication.v1.SelfSubjectReview",
    "io.k8s.api.policy.v1.Eviction",
    "io.k8s.api.policy.v1.PodDisruptionBudget",
    "io.k8s.api.scheduling.v1.PriorityClass",
    "io.k8s.api.autoscaling.v1.Scale",
    "io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler",
    "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Status",
    "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Condition",
]
# Fields Go always writes: non-pointer metav1.Time with `omitempty`, which encoding/json
# cannot omit, so a zero time goes out as `null` (kubelet's conditions carry
# `lastProbeTime: null`). Generated with a default factory, which `omit_defaults` never omits.
ALWAYS_WRITTEN = {
    "io.k8s.api.core.v1.PodCondition": ("lastProbeTime", "lastTransitionTime"),
}
# Kinds with a List type too (for OpenAPI list responses).
LIST_SUFFIX = "List"

# Types that are not structs on the wire.
SCALARS = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "str",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "str",
    "io.k8s.apimachinery.pkg.runtime.RawExtension": "Any",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "dict[str, Any]",
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON": "Any",
    # A CRD's schema stays the plain JSON the user wrote (api/crd reads and serves it as such).
    "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps": "dict[str, Any]",
}


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def module_of(name: str) -> str:
    """io.k8s.api.core.v1.Pod -> core_v1; io.k8s.apimachinery.pkg.apis.meta.v1.X -> meta_v1."""
    parts = name.split(".")
    return f"{parts[-3]}_{parts[-2]}"


def snake(name: str) -> str:
    # A plural acronym is one word: podIPs -> pod_ips, podCIDRs -> pod_cidrs.
    name = re.sub(r"([A-Z]{2,})s$", lambda m: m.group(1).capitalize() + "s", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()
    s = s.replace("-", "_").lstrip("$")
    if keyword.iskeyword(s):
        s += "_"
    return s


def closure(defs: dict, roots: list[str]) -> list[str]:
    seen: list[str] = []
    stack = list(roots)
    for r in roots:
        lst = r + LIST_SUFFIX
        if lst in defs:
            stack.append(lst)
    while stack:
        n = stack.pop()
        if n in seen or n not in defs:
            continue
        seen.append(n)
        for ref in re.findall(r'"\$ref": "#/\$defs/([^"]+)"', json.dumps(defs[n])):
            stack.append(ref)
    return sorted(seen)


def py_type(prop: dict, here: str, imports: set[str]) -> str:
    if "$ref" in prop:
        target = ref_name(prop["$ref"])
        if target in SCALARS:
            return SCALARS[target]
        cls = target.rsplit(".", 1)[-1]
        mod = module_of(target)
        if mod != here:
            imports.add(f"from kubelite.api.types.{mod} import {cls}")
        return cls
    if "oneOf" in prop:
        return "Any"
    t = prop.get("type")
    if isinstance(t, list):
        t = [x for x in t if x != "null"][0]
    if t == "array":
        return f"list[{py_type(prop.get('items', {}), here, imports)}]"
    if t == "object":
        if "additionalProperties" in prop and isinstance(prop["additionalProperties"], dict):
            return f"dict[str, {py_type(prop['additionalProperties'], here, imports)}]"
        return "dict[str, Any]"
    return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(
        t or "", "Any"
    )


def schema_path() -> Path:
    """The pinned definitions file inside the installed kubernetes-validate."""
    try:
        installed = importlib.metadata.version(SCHEMA_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        installed = None
    if installed != SCHEMA_VERSION:
        raise SystemExit(f"{SCHEMA_PACKAGE}=={SCHEMA_VERSION} is needed (found {installed}): "
                         f"make install, or pip install {SCHEMA_PACKAGE}=={SCHEMA_VERSION}")
    return Path(str(importlib.resources.files("kubernetes_validate").joinpath(DEFINITIONS)))


def load(src: Path) -> dict[str, Any]:
    defs: dict[str, Any] = json.loads(src.read_text())["$defs"]
    return defs


def render(defs: dict[str, Any]) -> dict[Path, str]:
    """Every generated file (definitions.json, types/*.py) by its repository path."""
    names = closure(defs, ROOTS)
    kept = {n: defs[n] for n in names}
    out: dict[Path, str] = {API / "definitions.json": json.dumps(kept, indent=None, sort_keys=True) + "\n"}

    by_module: dict[str, list[str]] = {}
    for n in names:
        if n in SCALARS:
            continue
        by_module.setdefault(module_of(n), []).append(n)

    for mod, members in by_module.items():
        imports: set[str] = set()
        body: list[str] = []
        for n in members:
            d = defs[n]
            cls = n.rsplit(".", 1)[-1]
            required = set(d.get("required", []))
            body.append("")
            body.append("")
            body.append(f"class {cls}(K8sObject, kw_only=True, omit_defaults=True):")
            desc = (d.get("description") or "").split("\n")[0].strip().replace('"""', "'")
            body.append(f'    """{desc[:300]}"""' if desc else f'    """{cls}."""')
            body.append("")
            props = d.get("properties", {})
            order = sorted(props, key=lambda k: (k not in ("apiVersion", "kind", "metadata"), ["apiVersion", "kind", "metadata"].index(k) if k in ("apiVersion", "kind", "metadata") else 0, k))
            if not props:
                body.append("    pass")
            for key in order:
                prop = props[key]
                t = py_type(prop, mod, imports)
                attr = snake(key)
                if keyword.iskeyword(attr):
                    attr += "_"
                if key in required:
                    # Required fields have no default: they are always written, and a
                    # missing one is reported by the decoder with its path.
                    if attr != key:
                        body.append(f'    {attr}: {t} = msgspec.field(name="{key}")')
                    else:
                        body.append(f"    {attr}: {t}")
                elif key in ALWAYS_WRITTEN.get(n, ()):
                    body.append(f'    {attr}: {t} | None = msgspec.field(default_factory=lambda: None, name="{key}")')
                elif attr != key:
                    body.append(f'    {attr}: {t} | None = msgspec.field(default=None, name="{key}")')
                else:
                    body.append(f"    {attr}: {t} | None = None")
        header = [
            f'"""Kubernetes 1.32 types of {mod.replace("_", "/")}. Generated by tools/gen_api.py: do not edit."""',
            "",
            "from __future__ import annotations",
            "",
            "from typing import Any",
            "",
            "import msgspec",
            "",
            "from kubelite.api.types._base import IntOrString, K8sObject, Quantity",
        ]
        header += sorted(imports)
        text = "\n".join(header + body) + "\n"
        text = text.replace("from kubelite.api.types._base import IntOrString, K8sObject, Quantity", "from kubelite.api.types._base import IntOrString, K8sObject, Quantity  # noqa: F401")
        out[API / "types" / f"{mod}.py"] = text
    return out




if __name__ == "__main__":
    raise SystemExit("run `make generate` (python -m tools.generate)")
