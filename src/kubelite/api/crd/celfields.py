"""Field names in CEL rules checked against the schema, as cel-go's type checker would.

Kubernetes compiles rules with `self` typed from the schema, so `self.replicsa > 0` fails at
CRD creation with `undefined field 'replicsa'`. cel-cpp here sees `self` as dyn; this walk over
`self.a.b` / `oldSelf.a.b` chains restores that check for the common case. Property names are
escaped as Kubernetes does (`x-y` is `x__dash__y`); at a resource root, metadata exposes only
name and generateName.
"""

from __future__ import annotations

import re
from typing import Any

from kubelite.api.crd.cel import strip_strings, unescape

_CHAIN = re.compile(r"(?<![\w.])(self|oldSelf)((?:\s*\.\s*[A-Za-z_]\w*)+)")
_SEGMENT = re.compile(r"\s*\.\s*([A-Za-z_]\w*)")
_ROOT_META = {"type": "object", "properties": {"name": {"type": "string"},
                                               "generateName": {"type": "string"}}}


def _field(node: dict[str, Any], name: str, resource_root: bool) -> tuple[bool, Any]:
    """(known, child schema or None when unknowable)."""
    declared = node.get("properties")
    props: dict[str, Any] = declared if isinstance(declared, dict) else {}
    if resource_root:
        props = {**props, "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                 "metadata": _ROOT_META}
    plain = unescape(name)
    if plain in props:
        return True, props[plain]
    if isinstance(node.get("additionalProperties"), dict) or node.get("additionalProperties") is True:
        return True, node.get("additionalProperties") if isinstance(
            node.get("additionalProperties"), dict) else None
    if node.get("x-kubernetes-preserve-unknown-fields") or node.get("type") != "object":
        return True, None
    return False, None


def undefined_field(source: str, schema: dict[str, Any], resource_root: bool) -> str:
    """cel-go's error text for the first unknown field selected from self/oldSelf, or ""."""
    text = strip_strings(source)
    for m in _CHAIN.finditer(text):
        node: Any = schema
        root = resource_root
        pos = m.start(2)
        for seg in _SEGMENT.finditer(m.group(2)):
            after = text[m.start(2) + seg.end():].lstrip()
            if after.startswith("("):
                break  # a method call, not a field
            if not isinstance(node, dict):
                break
            known, child = _field(node, seg.group(1), root)
            dot = pos + seg.start() + seg.group(0).index(".")
            if not known:
                return _error(source, dot, f"undefined field '{seg.group(1)}'")
            node, root = child, bool(isinstance(child, dict)
                                     and child.get("x-kubernetes-embedded-resource"))
    return ""


def _error(source: str, offset: int, message: str) -> str:
    line_start = source.rfind("\n", 0, offset) + 1
    line_no = source.count("\n", 0, offset) + 1
    line_end = source.find("\n", offset)
    line = source[line_start:line_end if line_end >= 0 else len(source)]
    column = offset - line_start
    return f"ERROR: <input>:{line_no}:{column + 1}: {message}\n | {line}\n | {'.' * column}^"
