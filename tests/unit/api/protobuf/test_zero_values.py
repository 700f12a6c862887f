"""Zero values survive protobuf decoding exactly where Go's JSON would carry them, for every kind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from kubelite.api import registry
from kubelite.api.protobuf import (
    MAGIC,
    decode_k8s_protobuf,
    encode_k8s_protobuf,
    message_name,
    wire,
)
from kubelite.api.protobuf.codec import SPECIAL
from kubelite.api.protobuf.presence import ALWAYS, POINTERS
from kubelite.api.protobuf.tables import MESSAGES

_ZERO = {"string": "", "bool": False, "int32": 0, "int64": 0, "double": 0.0}
# Values for the apimachinery types whose JSON is not a message (set, so never dropped).
_SPECIAL_VALUES = {"meta.v1.Time": "2024-01-02T03:04:05Z", "meta.v1.MicroTime": "2024-01-02T03:04:05.000006Z",
                   "intstr.IntOrString": 0, "resource.Quantity": "0"}
_SCHEMAS = json.loads((Path(registry.__file__).parent / "definitions.json").read_text())
SERVED = [k for k in registry.KINDS if message_name(k.api_version, k.kind)]


def go_json_of_zero(message: str, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """The JSON Go writes for a `message` whose scalars are all zero and whose pointers are set.

    Every nested message is present, and every list holds one item, so every message
    reachable from the kind is exercised.
    """
    out: dict[str, Any] = {}
    for json_name, type_str in MESSAGES[message].values():
        elem = type_str.removeprefix("[]")
        value: Any = None
        if json_name == "":
            out.update(go_json_of_zero(type_str, path))
        elif type_str in _ZERO:
            if json_name in POINTERS.get(message, ()) or json_name in ALWAYS.get(message, {}):
                out[json_name] = _ZERO[type_str]
        elif elem in _ZERO:
            value = _ZERO[elem]
        elif elem in _SPECIAL_VALUES:
            value = _SPECIAL_VALUES[elem]
        elif elem in MESSAGES and elem not in SPECIAL and elem not in path:
            value = go_json_of_zero(elem, (*path, elem))
        if value is not None:
            out[json_name] = [value] if type_str.startswith("[]") else value
    return out


def required_scalars(message: str) -> list[str]:
    """Scalars the OpenAPI schema (not the Go-derived tables) calls required."""
    schema = _SCHEMAS.get(f"io.k8s.api.{message}") or _SCHEMAS.get(f"io.k8s.apimachinery.pkg.apis.{message}", {})
    props = schema.get("properties", {})
    return [name for name in schema.get("required", [])
            if props.get(name, {}).get("type") in ("string", "integer", "boolean", "number")]


def walk(message: str, obj: dict[str, Any], path: str = "") -> list[tuple[str, str, dict[str, Any]]]:
    """(message, path, dict) for the object and each nested message dict in it."""
    found = [(message, path, obj)]
    for json_name, type_str in MESSAGES[message].values():
        elem = type_str.removeprefix("[]")
        if elem not in MESSAGES or elem in SPECIAL:
            continue
        if json_name == "":
            found += walk(elem, obj, path)
            continue
        values = obj.get(json_name)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, dict):
                found += walk(elem, value, f"{path}.{json_name}")
    return found


@pytest.mark.parametrize("kind", SERVED, ids=lambda k: f"{k.api_version}/{k.kind}")
def test_a_zero_object_encoded_as_kubectl_does_decodes_to_its_json_form(kind: registry.Kind) -> None:
    message = message_name(kind.api_version, kind.kind)
    assert message
    json_form = {"apiVersion": kind.api_version, "kind": kind.kind, **go_json_of_zero(message, (message,))}
    decoded = decode_k8s_protobuf(encode_k8s_protobuf(json_form))
    assert decoded == json_form
    # Independently of the Go-derived tables: every scalar OpenAPI requires is there, at zero...
    for nested, path, value in walk(message, decoded):
        for name in required_scalars(nested):
            assert name in value, f"{kind.kind}{path}.{name} lost in decoding"
    # ...so the typed model, which insists on required fields, takes the object.
    msgspec.convert(decoded, kind.type)


def test_every_scalar_openapi_requires_is_always_written() -> None:
    """The Go-derived ALWAYS table covers the OpenAPI required lists (no omitempty, no +optional)."""
    for message, table in MESSAGES.items():
        always = dict(ALWAYS.get(message, {}))
        for json_name, type_str in table.values():
            if json_name == "":  # an embedded struct: its fields are the parent's in JSON
                always.update(ALWAYS.get(type_str, {}))
        for name in required_scalars(message):
            # a required Go pointer (Ingress path `pathType`) is written whenever set;
            # validation refuses the object without it
            assert name in always or name in POINTERS.get(message, ()), f"{message}.{name}"


def test_pdb_as_kubectl_1_32_sends_it_keeps_its_zero_status() -> None:
    """`kubectl create pdb` writes status {currentHealthy: 0, ...}: non-pointer, not omitempty."""
    status = b"".join(wire.varint_field(n, 0) for n in (1, 3, 4, 5, 6))
    selector = wire.len_field(1, wire.len_field(1, b"app") + wire.len_field(2, b"x"))
    min_available = wire.varint_field(1, 0) + wire.varint_field(2, 1) + wire.len_field(3, b"")
    spec = wire.len_field(1, min_available) + wire.len_field(2, selector)
    raw = wire.len_field(1, wire.len_field(1, b"p")) + wire.len_field(2, spec) + wire.len_field(3, status)
    type_meta = wire.len_field(1, b"policy/v1") + wire.len_field(2, b"PodDisruptionBudget")
    body = MAGIC + wire.len_field(1, type_meta) + wire.len_field(2, raw)
    assert decode_k8s_protobuf(body) == {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}},
        "status": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0},
    }


def test_pointer_zeros_are_kept_and_unsent_pointers_stay_absent() -> None:
    volume_mount = {"name": "v", "mountPath": "/m", "mountPropagation": ""}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "c", "volumeMounts": [volume_mount]}],
                    "volumes": [{"name": "v", "hostPath": {"path": "/h", "type": ""}}]}}
    decoded = decode_k8s_protobuf(encode_k8s_protobuf(pod))
    assert decoded == pod
    assert "terminationGracePeriodSeconds" not in decoded["spec"]
