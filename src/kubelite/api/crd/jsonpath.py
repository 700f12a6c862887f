"""The JSONPath of additionalPrinterColumns and selectableFields: Kubernetes' client-go
jsonpath, in the subset CRDs use (`.spec.replicas`, `.status.conditions[0].type`,
`.status.conditions[?(@.type=="Ready")].status`, `.metadata.labels.app\\.kubernetes\\.io/name`).
"""

from __future__ import annotations

import re
from typing import Any

_FILTER = re.compile(r"""\?\(@\.([\w.-]+)\s*(==|!=)\s*(?:"([^"]*)"|'([^']*)'|([\w.-]+))\)""")


Token = str | int | tuple[str, str, str]  # a field, an index, or a filter (field, op, value)


class JSONPathError(ValueError):
    """The path is outside the supported subset."""


def _tokens(path: str) -> list[Token]:
    """Split `.a.b[0][?(@.x=="y")]` into field names, indexes and filters."""
    text = path.strip()
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    text = text.removeprefix("$")
    out: list[Token] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == ".":
            j = i + 1
            name = []
            while j < len(text) and text[j] not in ".[":
                if text[j] == "\\" and j + 1 < len(text):
                    j += 1
                name.append(text[j])
                j += 1
            if name:
                out.append("".join(name))
            i = j
        elif c == "[":
            end = text.find("]", i)
            if end < 0:
                raise JSONPathError(f"unterminated [ in {path!r}")
            inner = text[i + 1:end].strip()
            if inner.startswith("?"):
                m = _FILTER.fullmatch(inner)
                if not m:
                    raise JSONPathError(f"unsupported filter {inner!r}")
                value = next(g for g in m.groups()[2:] if g is not None) if any(
                    g is not None for g in m.groups()[2:]) else ""
                out.append((m.group(1), m.group(2), value))
            elif inner in ("*", ""):
                out.append("*")
            elif re.fullmatch(r"-?\d+", inner):
                out.append(int(inner))
            else:
                out.append(inner.strip("'\""))
            i = end + 1
        else:
            raise JSONPathError(f"unexpected {c!r} in {path!r}")
    return out


def parse(path: str) -> list[Token]:
    """The tokens of a path, or JSONPathError (CRD validation reports it)."""
    return _tokens(path)


def find(tokens: list[Token], obj: Any) -> list[Any]:
    """Every value the path reaches in `obj` (none when a step is missing)."""
    current = [obj]
    for token in tokens:
        following: list[Any] = []
        for value in current:
            if isinstance(token, tuple):
                field, op, want = token
                for item in value if isinstance(value, list) else []:
                    got = _get_dotted(item, field)
                    matched = got is not None and _text(got) == want
                    if matched == (op == "=="):
                        following.append(item)
            elif isinstance(token, int):
                if isinstance(value, list) and -len(value) <= token < len(value):
                    following.append(value[token])
            elif token == "*":
                if isinstance(value, list):
                    following.extend(value)
                elif isinstance(value, dict):
                    following.extend(value.values())
            elif isinstance(value, dict) and token in value:
                following.append(value[token])
        current = following
    return current


def _get_dotted(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
