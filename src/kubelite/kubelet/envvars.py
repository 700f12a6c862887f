"""A container's environment, as the kubelet builds it (kubelet_pods.go makeEnvironmentVariables).

Order: `envFrom` sources first (with their prefix), then `env` entries, each of which may refer
to variables defined before it or to a Service variable with `$(VAR)` (`$$(VAR)` is a literal
`$(VAR)`), then the Service variables the container did not set itself. A value from
a ConfigMap, Secret, the pod's own fields or its resources is looked up here; a missing
non-optional source is a `CreateContainerConfigError` with Kubernetes' message.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from kubelite.api.quantity import Quantity, parse_quantity

# fetch(kind, namespace, name) -> the object as a dict, or None when it does not exist.
Fetch = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]

_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class ConfigError(Exception):
    """The container cannot be configured yet (reason CreateContainerConfigError)."""

    reason = "CreateContainerConfigError"


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":  # escaped: "$$" -> "$"
                out.append("$")
                i += 2
                continue
            if nxt == "(":
                end = text.find(")", i + 2)
                if end != -1:
                    name = text[i + 2 : end]
                    if name in env:
                        out.append(env[name])
                    else:
                        out.append(text[i : end + 1])
                    i = end + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def _field_value(pod: dict[str, Any], path: str) -> str:
    meta = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    m = re.match(r"^metadata\.(labels|annotations)\['(.+)'\]$", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.hostIP": status.get("hostIP"),
        "status.podIP": status.get("podIP"),
    }
    if path in simple:
        return str(simple[path] or "")
    if path == "status.podIPs":
        return ",".join(p.get("ip", "") for p in status.get("podIPs") or [])
    if path == "status.hostIPs":
        return ",".join(p.get("ip", "") for p in status.get("hostIPs") or [])
    if path == "metadata.labels":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("labels") or {}).items()))
    if path == "metadata.annotations":
        return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get("annotations") or {}).items()))
    raise ConfigError(f"unsupported fieldPath: {path}")


def resource_value(container: dict[str, Any], ref: dict[str, Any],
                   allocatable: Mapping[str, str]) -> str:
    """resourceFieldRef: the container's limit or request, divided and rounded up; an unset
    limit is the node's allocatable (as the kubelet does)."""
    resource = ref.get("resource", "")
    kind, _, name = resource.partition(".")
    res = container.get("resources") or {}
    value = (res.get(kind) or {}).get(name)
    if value is None and kind == "limits":
        value = allocatable.get(name)
    if value is None and kind == "requests" and name == "cpu":
        value = "0"
    if value is None:
        value = (res.get("limits") or {}).get(name) or allocatable.get(name) or "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    if divisor.is_zero():
        divisor = parse_quantity("1")
    quantity: Quantity = parse_quantity(value)
    ratio = quantity.as_fraction() / divisor.as_fraction()
    whole = -(-ratio.numerator // ratio.denominator)  # ceil
    if name == "cpu" and whole == 0 and quantity.nanos > 0:
        whole = 1
    return str(whole)


def _decode_secret(value: str) -> str:
    return base64.b64decode(value).decode(errors="replace")


async def _source_data(fetch: Fetch, kind: str, namespace: str, name: str,
                       optional: bool) -> dict[str, str] | None:
    obj = await fetch(kind, namespace, name)
    if obj is None:
        if optional:
            return None
        raise ConfigError(f'{kind.lower()} "{name}" not found')
    data: dict[str, str] = {}
    if kind == "Secret":
        data.update({k: _decode_secret(v) for k, v in (obj.get("data") or {}).items()})
        data.update(obj.get("stringData") or {})
    else:
        data.update(obj.get("data") or {})
    return data


# The Services whose variables every pod gets, enableServiceLinks or not (kubelet's masterServices).
MASTER_SERVICES = ("kubernetes",)


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _service_ip_set(svc: Mapping[str, Any]) -> bool:
    return ((svc.get("spec") or {}).get("clusterIP") or "None") != "None"


def from_services(services: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The variables of these Services (pkg/kubelet/envvars FromServices): NAME_SERVICE_HOST,
    NAME_SERVICE_PORT[_PORTNAME], and Docker's link variables NAME_PORT[_<port>_<PROTO>[...]]."""
    out: list[tuple[str, str]] = []
    for svc in services:
        spec = svc.get("spec") or {}
        ports = spec.get("ports") or []
        if not _service_ip_set(svc) or not ports:
            continue
        ip, prefix = spec["clusterIP"], _env_name((svc.get("metadata") or {}).get("name", ""))
        out.append((f"{prefix}_SERVICE_HOST", ip))
        out.append((f"{prefix}_SERVICE_PORT", str(ports[0]["port"])))
        out += [(f"{prefix}_SERVICE_PORT_{_env_name(p['name'])}", str(p["port"]))
                for p in ports if p.get("name")]
        for i, p in enumerate(ports):
            proto = (p.get("protocol") or "TCP")
            url = f"{proto.lower()}://{ip}:{p['port']}"
            if i == 0:
                out.append((f"{prefix}_PORT", url))
            link = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
            out += [(link, url), (f"{link}_PROTO", proto.lower()), (f"{link}_PORT", str(p["port"])),
                    (f"{link}_ADDR", ip)]
    return out


def service_env(services: list[dict[str, Any]], namespace: str, enable_service_links: bool
                ) -> dict[str, str]:
    """The Service variables of a pod in `namespace` (kubelet's getServiceEnvVarMap): the
    master Services of `default` always, the Services of its own namespace when
    `enableServiceLinks` (only those with a ClusterIP)."""
    chosen: dict[str, dict[str, Any]] = {}
    for svc in services:
        meta = svc.get("metadata") or {}
        name, ns = meta.get("name", ""), meta.get("namespace") or "default"
        if not _service_ip_set(svc):
            continue
        if ns == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        elif ns == namespace and enable_service_links:
            chosen[name] = svc
    return dict(from_services([chosen[name] for name in sorted(chosen)]))


async def container_env(pod: dict[str, Any], container: dict[str, Any], fetch: Fetch,
                        allocatable: Mapping[str, str] | None = None,
                        services: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """The (name, value) pairs the container's spec asks for, in order, duplicates replaced,
    then the Service variables (`services`, from `service_env`) it did not set."""
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    allocatable = allocatable or {}
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix") or ""
        if source.get("configMapRef"):
            ref, kind = source["configMapRef"], "ConfigMap"
        elif source.get("secretRef"):
            ref, kind = source["secretRef"], "Secret"
        else:
            continue
        data = await _source_data(fetch, kind, namespace, ref.get("name", ""),
                                  bool(ref.get("optional")))
        for key, value in (data or {}).items():
            name = prefix + key
            if _ENV_NAME.match(name):  # invalid names are skipped, as the kubelet does
                env[name] = value
    for var in container.get("env") or []:
        name = var["name"]
        source = var.get("valueFrom")
        if not source:
            env[name] = expand(var.get("value") or "", {**(services or {}), **env})
            continue
        if source.get("fieldRef"):
            env[name] = _field_value(pod, source["fieldRef"].get("fieldPath", ""))
        elif source.get("resourceFieldRef"):
            env[name] = resource_value(container, source["resourceFieldRef"], allocatable)
        elif source.get("configMapKeyRef") or source.get("secretKeyRef"):
            is_cm = bool(source.get("configMapKeyRef"))
            ref = source["configMapKeyRef"] if is_cm else source["secretKeyRef"]
            kind = "ConfigMap" if is_cm else "Secret"
            optional = bool(ref.get("optional"))
            data = await _source_data(fetch, kind, namespace, ref.get("name", ""), optional)
            if data is None:
                continue
            key = ref.get("key", "")
            if key not in data:
                if optional:
                    continue
                raise ConfigError(f"couldn't find key {key} in {kind} {namespace}/{ref.get('name')}")
            env[name] = data[key]
    return list(env.items()) + [(k, v) for k, v in (services or {}).items() if k not in env]


def merge_image_env(image_env: list[str], container_env: list[tuple[str, str]]) -> list[str]:
    """The image's Env, overridden by the container's, as "NAME=value" strings."""
    merged: dict[str, str] = {}
    for item in image_env:
        name, _, value = item.partition("=")
        merged[name] = value
    for name, value in container_env:
        merged[name] = value
    return [f"{k}={v}" for k, v in merged.items()]
