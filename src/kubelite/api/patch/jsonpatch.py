"""RFC 6902 JSON patch (`application/json-patch+json`), with the error words of the
evanphx/json-patch library the Kubernetes API server uses.

A patch that is not a list of operations is a 400; an operation that does not apply is a 422.

Bounded as Kubernetes bounds it: at most 10,000 operations (413), and what `copy` operations
add is capped (evanphx/json-patch's AccumulatedCopySizeLimit), since each copy can double the
document. Pointers go at most WALK_DEPTH levels down and copies hold at most _MAX_COPY_DEPTH,
so the copying and comparing below never recurse past Python's limit; the result is cut to
WALK_DEPTH like any decoded body.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.decoding import WALK_DEPTH, cut_deep

from ._json import clone, json_equal
from .errors import PatchError

_UNPROCESSABLE = 422
MAX_OPERATIONS = 10_000  # Kubernetes' maxJSONPatchOperations
MAX_COPY_SIZE = 3 * 1024 * 1024  # bytes (estimated) that copies may add: the body limit
_MAX_COPY_DEPTH = 500


def _fail(message: str) -> PatchError:
    return PatchError(message, _UNPROCESSABLE)


_MISSING = "missing value"
_BAD_INDEX = "invalid index referenced"
_TEST_FAILED = "test failed"


def _decode_token(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _split(path: Any, op: str, field: str = "path") -> list[str] | None:
    """JSON pointer -> reference tokens; [] is the whole document, None is unusable."""
    if not isinstance(path, str):
        raise _fail(f"{op} operation failed to decode {field}")
    if path == "":
        return []
    if not path.startswith("/"):
        return None
    if path.count("/") > WALK_DEPTH:
        raise _fail(f"{op} operation does not apply: {field} {path[:200]} is more than {WALK_DEPTH} levels deep")
    return [_decode_token(t) for t in path[1:].split("/")]


def _index(token: str, length: int, *, allow_end: bool) -> int:
    if allow_end and token == "-":
        return length
    if not token.isdigit() or (len(token) > 1 and token[0] == "0"):
        raise _fail(f'strconv.Atoi: parsing "{token}": invalid syntax')
    idx = int(token)
    limit = length if allow_end else length - 1
    if idx > limit:
        raise _fail(f"Unable to access invalid index: {idx}: {_BAD_INDEX}")
    return idx


def _parent(doc: Any, tokens: list[str]) -> Any:
    """The container holding the last token, or None when the path leads nowhere."""
    current = doc
    for token in tokens[:-1]:
        if isinstance(current, dict):
            if token not in current:
                return None
            current = current[token]
        elif isinstance(current, list):
            if not token.isdigit() or int(token) >= len(current):
                return None
            current = current[int(token)]
        else:
            return None
    if isinstance(current, dict | list):
        return current
    return None


def _get(container: Any, key: str, where: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise _fail(f"{where}: unable to get nonexistent key: {key}: {_MISSING}")
        return container[key]
    return container[_index(key, len(container), allow_end=False)]


def _add(container: Any, key: str, value: Any) -> None:
    if isinstance(container, dict):
        container[key] = value
    else:
        container.insert(_index(key, len(container), allow_end=True), value)


def _remove(container: Any, key: str) -> Any:
    if isinstance(container, dict):
        if key not in container:
            raise _fail(f"Unable to remove nonexistent key: {key}: {_MISSING}")
        return container.pop(key)
    return container.pop(_index(key, len(container), allow_end=False))


def apply_json_patch(original: Any, operations: list[Any]) -> Any:
    """Apply an RFC 6902 operation list to `original` and return the new document."""
    if not isinstance(operations, list):
        raise PatchError("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    if len(operations) > MAX_OPERATIONS:
        raise PatchError(f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, "
                         f"got {len(operations)}", 413)
    doc = clone(original)
    copied = [0]
    for operation in operations:
        if not isinstance(operation, dict):
            raise PatchError("json: cannot unmarshal into Go value of type jsonpatch.Operation")
        doc = _apply_one(doc, operation, copied)
    return cut_deep(doc)


def _charge_copy(value: Any, copied: list[int]) -> None:
    """Add the size of a copied value to the running total; 422 past the limits.

    Iterative and stopping at the limit, so a huge or deep value costs no more than the cap.
    """
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > _MAX_COPY_DEPTH:
            raise _fail(f"Unable to complete the copy, the value is more than {_MAX_COPY_DEPTH} levels deep")
        if isinstance(node, dict):
            copied[0] += 2 + sum(len(k) + 3 for k in node)
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            copied[0] += 2 + len(node)
            stack.extend((v, depth + 1) for v in node)
        else:
            copied[0] += len(node) + 2 if isinstance(node, str) else 8
        if copied[0] > MAX_COPY_SIZE:
            raise _fail(f"Unable to complete the copy, the accumulated size increase of copy is "
                        f"{copied[0]}, exceeding the limit {MAX_COPY_SIZE}")


def _apply_one(doc: Any, operation: dict[str, Any], copied: list[int]) -> Any:
    kind = operation.get("op")
    path = operation.get("path")
    value = clone(operation.get("value"))
    if kind == "add":
        tokens = _split(path, "add")
        if tokens == []:
            return value
        parent = _parent(doc, tokens) if tokens else None
        if tokens is None or parent is None:
            raise _fail(f'add operation does not apply: doc is missing path: "{path}": {_MISSING}')
        _add(parent, tokens[-1], value)
    elif kind == "remove":
        tokens = _split(path, "remove")
        parent = _parent(doc, tokens) if tokens else None
        if parent is None or not tokens:
            raise _fail(
                f'remove operation does not apply: doc is missing path: "{path}": {_MISSING}'
            )
        _remove(parent, tokens[-1])
    elif kind == "replace":
        tokens = _split(path, "replace")
        if tokens == []:
            return value
        parent = _parent(doc, tokens) if tokens else None
        if tokens is None or parent is None:
            raise _fail(
                f"replace operation does not apply: doc is missing path: {path}: {_MISSING}"
            )
        key = tokens[-1]
        if isinstance(parent, dict):
            if key not in parent:
                raise _fail(
                    f"replace operation does not apply: doc is missing key: {path}: {_MISSING}"
                )
            parent[key] = value
        else:
            parent[_index(key, len(parent), allow_end=False)] = value
    elif kind in ("move", "copy"):
        doc = _move_or_copy(doc, operation, kind, copied)
    elif kind == "test":
        tokens = _split(path, "test")
        if tokens == []:
            current: Any = doc
        else:
            parent = _parent(doc, tokens) if tokens else None
            if tokens is None or parent is None:
                raise _fail(f"test operation does not apply: is missing path: {path}: {_MISSING}")
            key = tokens[-1]
            if isinstance(parent, dict):
                current = parent.get(key)
            else:
                current = parent[_index(key, len(parent), allow_end=False)]
        if not json_equal(current, value):
            raise _fail(f"testing value {path} failed: {_TEST_FAILED}")
    else:
        raise _fail(f"Unexpected kind: {kind if kind is not None else 'unknown'}")
    return doc


def _move_or_copy(doc: Any, operation: dict[str, Any], kind: str, copied: list[int]) -> Any:
    source = operation.get("from")
    path = operation.get("path")
    from_tokens = _split(source, kind, "from")
    to_tokens = _split(path, kind)
    if from_tokens == []:
        picked = doc
    else:
        parent = _parent(doc, from_tokens) if from_tokens else None
        if from_tokens is None or parent is None:
            raise _fail(
                f"{kind} operation does not apply: doc is missing from path: {source}: {_MISSING}"
            )
        where = f"error in {kind} for path: '{from_tokens[-1]}'"
        picked = _get(parent, from_tokens[-1], where)
        if kind == "move":
            if (
                to_tokens is not None
                and to_tokens[: len(from_tokens)] == from_tokens
                and len(to_tokens) > len(from_tokens)
            ):
                raise _fail(
                    f"move operation does not apply: from {source} is a prefix of path {path}"
                )
            _remove(parent, from_tokens[-1])
    if kind == "copy":
        _charge_copy(picked, copied)
    value = clone(picked) if kind == "copy" else picked
    if to_tokens == []:
        return value
    target = _parent(doc, to_tokens) if to_tokens else None
    if to_tokens is None or target is None:
        raise _fail(
            f"{kind} operation does not apply: doc is missing destination path: {path}: {_MISSING}"
        )
    _add(target, to_tokens[-1], value)
    return doc
