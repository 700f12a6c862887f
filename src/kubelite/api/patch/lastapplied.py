"""The client-side apply annotation in server-side apply (Kubernetes' lastAppliedManager and
lastAppliedUpdater).

An object made by `kubectl apply` (client side) carries its configuration in the
`kubectl.kubernetes.io/last-applied-configuration` annotation, and its fields belong to the
`kubectl-client-side-apply` Update manager. When the `kubectl` manager then applies server side,
fields whose live value still equals the annotation's may be taken over without a conflict:
they are what kubectl set. After every `kubectl` apply the annotation is rewritten from the
applied configuration, so a later client-side apply (a downgrade) computes the right patch.
Both hold only for the manager named `kubectl`; other appliers opt out by their name.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from .errors import PatchError
from .fieldpath import Path
from .schema import Schema
from .structured import compare, to_field_set

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
UPGRADING_MANAGER = "kubectl"  # the only applier the upgrade and the sync apply to
# apimachinery's TotalAnnotationSizeLimitB: a bigger annotation is dropped, not refused.
_ANNOTATIONS_LIMIT = 256 * 1024
_SURROGATES = re.compile("[\ud800-\udfff]")


def _annotation(obj: dict[str, Any] | None) -> str:
    annotations = ((obj or {}).get("metadata") or {}).get("annotations")
    value = annotations.get(LAST_APPLIED) if isinstance(annotations, dict) else None
    return value if isinstance(value, str) else ""


def allowed_conflicts(
    live: dict[str, Any] | None, schema: Schema | None, api_version: str
) -> set[Path]:
    """The fields of `live` whose value is still the one its last-applied annotation set.

    Empty when there is no usable annotation: none, not JSON, another apiVersion, or not an
    object of this schema (Kubernetes then reports every conflict).
    """
    text = _annotation(live)
    if not text:
        return set()
    try:
        last = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(last, dict) or last.get("apiVersion") != api_version:
        return set()
    live_body = dict(live or {})
    meta = live_body.get("metadata")
    if isinstance(meta, dict):
        live_body["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    try:
        fields = to_field_set(last, schema, strict=True)
        differ = compare(last, live_body, schema)
    except PatchError:
        return set()
    return fields - differ.modified - differ.added - differ.removed


def sync_last_applied(obj: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """`obj` with its last-applied annotation, when it has one, rewritten from the
    configuration `applied`; dropped when the annotations would outgrow their size limit.

    Returns a new top level, metadata and annotations; the rest is shared with `obj`.
    """
    if not _annotation(obj):
        return obj
    meta = obj["metadata"]
    annotations = {**meta["annotations"], LAST_APPLIED: encode_last_applied(applied)}
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in annotations.items())
    if size > _ANNOTATIONS_LIMIT:
        del annotations[LAST_APPLIED]
    return {**obj, "metadata": {**meta, "annotations": annotations}}


def encode_last_applied(applied: dict[str, Any]) -> str:
    """The configuration without its own annotation, encoded as kubectl and Kubernetes encode
    unstructured objects (Go's encoding/json: sorted keys, HTML-safe, a trailing newline)."""
    config = dict(applied)
    meta = config.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        annotations = {k: v for k, v in meta["annotations"].items() if k != LAST_APPLIED}
        config["metadata"] = {**meta, "annotations": annotations}
    return go_json(config) + "\n"


def go_json(value: Any) -> str:
    """`value` as Go's json.Marshal writes a decoded JSON value."""
    if isinstance(value, dict):
        return "{" + ",".join(
            f"{_go_string(str(k))}:{go_json(value[k])}" for k in sorted(value)
        ) + "}"
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, float) and not isinstance(value, bool):
        return _go_float(value)
    return json.dumps(value)


def _go_string(text: str) -> str:
    text = _SURROGATES.sub("\ufffd", text)
    out = json.dumps(text, ensure_ascii=False)
    return (
        out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def _go_float(number: float) -> str:
    """Shortest digits; plain notation for 1e-6 <= |x| < 1e21, else `1e-7`, `1e+21`."""
    if number != number or number in (float("inf"), float("-inf")):
        raise PatchError(f"json: unsupported value: {number}")
    size = abs(number)
    if size != 0 and (size < 1e-6 or size >= 1e21):
        text = repr(number)
        return re.sub(r"e-0(\d)$", r"e-\1", text)
    if number == int(number):
        return str(int(number))
    return format(Decimal(repr(number)), "f")  # repr's shortest digits, without exponent
