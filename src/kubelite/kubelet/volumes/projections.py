"""The files of configMap, secret, downwardAPI and projected volumes (their "payload").

Each function turns a volume source (plus the objects it names) into `{path: FileProjection}`;
the atomic writer puts that on disk. Error texts are the kubelet's, so `kubectl describe pod`
reads `MountVolume.SetUp failed for volume "config" : configmap "app" not found`.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

from kubelite.kubelet.envvars import ConfigError, _field_value, resource_value
from kubelite.kubelet.volumes.atomic_writer import FileProjection, Payload

DEFAULT_MODE = 0o644  # 420: configMap, secret, downwardAPI and projected defaultMode

# lookup(kind, namespace, name) -> the object, or None when it does not exist.
Lookup = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]
# token(pod, source) -> a service account token for a serviceAccountToken projection.
TokenSource = Callable[[dict[str, Any], dict[str, Any]], Awaitable[str]]


class VolumeSetupError(Exception):
    """A volume cannot be set up yet (missing object, bad key, unsafe path): a FailedMount."""


def _mode(item: dict[str, Any], default: int) -> int:
    mode = item.get("mode")
    return int(mode) if mode is not None else default


def _key_files(data: dict[str, bytes], items: list[dict[str, Any]] | None, default_mode: int,
               optional: bool, missing_key: Callable[[str], str]) -> Payload:
    if not items:
        return {key: FileProjection(value, default_mode) for key, value in data.items()}
    out: Payload = {}
    for item in items:
        key = item.get("key", "")
        if key not in data:
            if optional:
                continue
            raise VolumeSetupError(missing_key(key))
        out[item.get("path") or key] = FileProjection(data[key], _mode(item, default_mode))
    return out


def configmap_data(cm: dict[str, Any]) -> dict[str, bytes]:
    data = {k: str(v).encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        data[k] = base64.b64decode(v)
    return data


def secret_data(secret: dict[str, Any]) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    for k, v in (secret.get("stringData") or {}).items():  # never stored, but harmless
        data[k] = str(v).encode()
    return data


async def configmap_payload(source: dict[str, Any], namespace: str, lookup: Lookup,
                            default_mode: int | None = None) -> Payload:
    name = source.get("name", "")
    optional = bool(source.get("optional"))
    mode = default_mode if default_mode is not None else source.get("defaultMode", DEFAULT_MODE)
    cm = await lookup("configmaps", namespace, name)
    if cm is None:
        if optional:
            return {}
        raise VolumeSetupError(f'configmap "{name}" not found')
    return _key_files(configmap_data(cm), source.get("items"), int(mode), optional,
                      lambda k: f"configmap references non-existent config key: {k}")


async def secret_payload(source: dict[str, Any], namespace: str, lookup: Lookup,
                         default_mode: int | None = None, *, name_field: str = "secretName"
                         ) -> Payload:
    name = source.get(name_field, "")
    optional = bool(source.get("optional"))
    mode = default_mode if default_mode is not None else source.get("defaultMode", DEFAULT_MODE)
    secret = await lookup("secrets", namespace, name)
    if secret is None:
        if optional:
            return {}
        raise VolumeSetupError(f'secret "{name}" not found')
    return _key_files(secret_data(secret), source.get("items"), int(mode), optional,
                      lambda k: f"references non-existent secret key: {k}")


_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"'}


def go_quote(text: str) -> str:
    """Go's strconv.Quote (fmt's %q): what the kubelet writes around label and annotation values."""
    out = []
    for ch in text:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x80:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def format_map(values: dict[str, str] | None) -> str:
    """The kubelet's FormatMap: `key="value"` lines, sorted by key (metadata.labels files)."""
    return "\n".join(f"{k}={go_quote(str(v))}" for k, v in sorted((values or {}).items()))


def downward_payload(pod: dict[str, Any], source: dict[str, Any], allocatable: dict[str, str],
                     default_mode: int | None = None) -> Payload:
    mode = default_mode if default_mode is not None else source.get("defaultMode", DEFAULT_MODE)
    out: Payload = {}
    containers = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
    for item in source.get("items") or []:
        try:
            path = (item.get("fieldRef") or {}).get("fieldPath", "")
            if path in ("metadata.labels", "metadata.annotations"):
                value = format_map(pod["metadata"].get(path.split(".")[1]))
            elif item.get("fieldRef"):
                value = _field_value(pod, path)
            elif item.get("resourceFieldRef"):
                ref = item["resourceFieldRef"]
                container = containers.get(ref.get("containerName", ""))
                if container is None:
                    raise VolumeSetupError(
                        f"cannot find container {ref.get('containerName', '')!r} for "
                        f"resourceFieldRef {ref.get('resource', '')!r}")
                value = resource_value(container, ref, allocatable)
            else:
                continue
        except ConfigError as e:
            raise VolumeSetupError(str(e)) from e
        out[item.get("path", "")] = FileProjection(value.encode(), _mode(item, int(mode)))
    return out


async def projected_payload(pod: dict[str, Any], source: dict[str, Any], lookup: Lookup,
                            token: TokenSource, allocatable: dict[str, str]) -> Payload:
    namespace = pod["metadata"].get("namespace") or "default"
    mode = int(source.get("defaultMode", DEFAULT_MODE))
    out: Payload = {}
    for proj in source.get("sources") or []:
        if proj.get("configMap") is not None:
            out.update(await configmap_payload(proj["configMap"], namespace, lookup, mode))
        elif proj.get("secret") is not None:
            out.update(await secret_payload(proj["secret"], namespace, lookup, mode,
                                            name_field="name"))
        elif proj.get("downwardAPI") is not None:
            out.update(downward_payload(pod, proj["downwardAPI"], allocatable, mode))
        elif proj.get("serviceAccountToken") is not None:
            sat = proj["serviceAccountToken"]
            out[sat.get("path", "token")] = FileProjection(
                (await token(pod, sat)).encode(), mode)
    return out
