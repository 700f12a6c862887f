"""JSON and YAML documents decoded within Kubernetes' limits, so no body costs unbounded work.

- Nesting: Kubernetes' JSON decoder (sigs.k8s.io/json, Go's encoding/json) stops at 10,000
  levels with "exceeded max depth"; so does this one, without a RecursionError. libyaml, under
  PyYAML, stops YAML at 1,000 levels by itself.
- Walking: no kind's schema is anywhere near WALK_DEPTH deep, so anything below it is an
  unknown or free-form field. Such subtrees are cut to WALK_DEPTH (the unknown field is still
  reported by its top name), and every recursive walk after decoding (defaulting, unknown-field
  checks, patches, managedFields) stays far inside Python's recursion limit.
- YAML aliases: a document whose aliases expand it beyond what go-yaml accepts since
  CVE-2019-11253 ("document contains excessive aliasing") is refused by counting the composed
  node graph, before anything is constructed; so is an anchor that contains itself.
- YAML mapping keys become strings as sigs.k8s.io/yaml makes them (1 -> "1", true -> "true").
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import yaml

MAX_DEPTH = 10_000
WALK_DEPTH = 100
MAX_YAML_INT_CHARS = 100  # longer plain integers (or "1:2:3..." sexagesimals) are refused

DEPTH_ERROR = "exceeded max depth"
ALIAS_ERROR = "yaml: document contains excessive aliasing"
RECURSIVE_ALIAS_ERROR = "yaml: anchor contains itself"

# go-yaml's allowance (decode.go, allowedAliasRatio): up to 99% of decoded nodes may come
# from aliases in small documents, falling to 10% from 400,000 to 4,000,000 decoded nodes.
_ALIAS_RATIO_LOW, _ALIAS_RATIO_HIGH = 400_000, 4_000_000

_BUDGET_SLACK = 200  # the stack in use is estimated from frames; the exact count is after
_json = msgspec.json.Decoder()
_Container = dict | list


class DecodeError(ValueError):
    """A body that is not a document within the limits; str(error) says why."""


def decode_json(body: bytes) -> Any:
    """Decode JSON, refusing more than MAX_DEPTH levels and cutting below WALK_DEPTH."""
    try:
        with _recursion_budget(WALK_DEPTH):
            return _json.decode(body)
    except RecursionError:
        pass  # deeper than WALK_DEPTH: rare, decode again with Kubernetes' allowance
    try:
        # The budget is counted from an estimate of the stack in use, so give room and
        # count the exact depth while cutting.
        with _recursion_budget(MAX_DEPTH + _BUDGET_SLACK):
            value = _json.decode(body)
    except RecursionError:
        raise DecodeError(DEPTH_ERROR) from None
    return _tree(value, cut=True)


def decode_yaml(body: bytes | str) -> Any:
    """Decode one YAML document within the alias allowance, as a tree of JSON values."""
    loader = _Loader(body)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        depth = _check_graph(node)
        with _recursion_budget(2 * depth + 50):  # merge keys are flattened recursively
            value = loader.construct_document(node)
    except RecursionError:
        raise DecodeError(DEPTH_ERROR) from None
    except DecodeError:
        raise
    except ValueError as e:  # an integer beyond Python's digit limit, a bad date...
        raise DecodeError(f"yaml: {e}") from None
    finally:
        loader.dispose()
    # Aliases construct shared objects; Kubernetes expands them, so copy into a tree.
    return _tree(value, cut=depth > WALK_DEPTH)


def _check_graph(root: yaml.Node) -> int:
    """The expanded depth of a composed document; DecodeError for alias bombs and cycles.

    One pass over distinct nodes, post-order without recursion: each node's expanded size and
    height are computed once and reused wherever an alias points at it.
    """
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    direct = 0  # nodes as written (each distinct node once)
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            height[key] = 1 + max((height[id(c)] for c in children), default=0)
            continue
        if key in size:
            continue
        if key in on_path:
            raise DecodeError(RECURSIVE_ALIAS_ERROR)
        on_path.add(key)
        direct += 1
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise DecodeError(RECURSIVE_ALIAS_ERROR)
            if id(child) not in size:
                stack.append((child, False))
    decoded = size[id(root)]
    from_aliases = decoded - direct
    if from_aliases > 100 and decoded > 1000 and from_aliases / decoded > _allowed_ratio(decoded):
        raise DecodeError(ALIAS_ERROR)
    return height[id(root)]


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _allowed_ratio(decoded: int) -> float:
    if decoded <= _ALIAS_RATIO_LOW:
        return 0.99
    if decoded >= _ALIAS_RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decoded - _ALIAS_RATIO_LOW) / (_ALIAS_RATIO_HIGH - _ALIAS_RATIO_LOW)


def cut_deep(value: Any) -> Any:
    """A copy of a JSON value cut to WALK_DEPTH (DecodeError past MAX_DEPTH), without recursion."""
    return _tree(value, cut=True)


def _tree(value: Any, cut: bool) -> Any:
    """A fresh tree of the value (shared subtrees copied), cut at WALK_DEPTH when asked.

    Iterative, as the value may be 10,000 levels deep; what lies below the cut is still
    walked (not copied) to hold the document to MAX_DEPTH exactly.
    """
    if not isinstance(value, _Container):
        return _scalar(value)
    root: Any = {} if isinstance(value, dict) else []
    # (source, target or None when only counting depth, depth of source)
    stack: list[tuple[Any, Any, int]] = [(value, root, 1)]
    while stack:
        source, target, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DecodeError(DEPTH_ERROR)
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for k, v in pairs:
            if isinstance(v, _Container):
                child: Any = {} if isinstance(v, dict) else []
                below_cut = target is None or (cut and depth + 1 >= WALK_DEPTH)
                stack.append((v, None if below_cut else child, depth + 1))
                v = child
            else:
                v = _scalar(v)
            if target is None:
                continue
            if isinstance(target, dict):
                target[k] = v
            else:
                target.append(v)
    return root


def _scalar(value: Any) -> Any:
    """YAML values JSON has no word for, written as sigs.k8s.io/yaml would (text)."""
    if isinstance(value, dt.datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@contextmanager
def _recursion_budget(levels: int) -> Iterator[None]:
    """Set the recursion limit to `levels` frames beyond the current stack for one call.

    The C decoders count nesting against Python's recursion limit, so this bounds (or allows)
    their depth exactly; only synchronous code runs inside, and it is restored at once.
    """
    frame = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back  # type: ignore[assignment]
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + levels - 1)  # the C decoders then stop at exactly `levels`
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _key_text(key: Any) -> Any:
    """A mapping key as text, as sigs.k8s.io/yaml turns YAML into JSON."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return repr(key)
    if isinstance(key, int | dt.date):
        return str(_scalar(key))
    return key  # unhashable keys are refused by the constructor itself


class _Loader(yaml.CSafeLoader):  # type: ignore[misc]
    """libyaml's safe loader with string keys and bounded integer scalars."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        if all(isinstance(k, str) for k in mapping):
            return mapping
        # Rebuild from the nodes: in a dict, 1 and true would already be one key.
        self.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _key_text(self.construct_object(key_node, deep=deep))
            out[key] = self.construct_object(value_node, deep=deep)
        return out

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        if len(node.value) > MAX_YAML_INT_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"integer too long (more than {MAX_YAML_INT_CHARS} characters)",
                node.start_mark)
        value: int = super().construct_yaml_int(node)
        return value


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)
