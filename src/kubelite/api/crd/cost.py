"""A static estimate of what a CEL rule costs, for the limits Kubernetes applies at CRD creation.

Simpler than cel-go's estimator: the operations of one evaluation (cel.operation_count) times
the sizes of the collections nested comprehensions iterate (maxItems/maxProperties where the
receiver resolves in the schema, 1M items for an unbounded list as Kubernetes estimates from
the 3 MiB request limit, 1 where it does not resolve) times how often the rule's node occurs.
"""

from __future__ import annotations

import re
from typing import Any

from kubelite.api.crd import cel
from kubelite.api.crd.schema_shape import properties_of

_UNBOUNDED_ITEMS = cel.MAX_REQUEST_SIZE_BYTES // 3  # Kubernetes' estimate for a list of scalars


class Cardinality:
    """The estimated number of times a node's rules run, and the sizes of what they iterate."""

    def __init__(self, schema: dict[str, Any], times: int = 1) -> None:
        self.schema = schema
        self.times = times

    def child(self, schema: dict[str, Any], many: bool = False) -> Cardinality:
        if not many:
            return Cardinality(schema, self.times)
        bound = self.schema.get("maxItems") if "items" in self.schema else self.schema.get("maxProperties")
        n = int(bound) if isinstance(bound, int) else _UNBOUNDED_ITEMS
        return Cardinality(schema, min(self.times * max(n, 1), 2**62))

    def rule_cost(self, source: str) -> int:
        """Cost of one rule: per-call base × the product of the sizes of nested comprehensions
        whose receiver resolves in the schema (others count once), × how often the node occurs."""
        base = cel.operation_count(source)
        per_level: dict[int, int] = {}
        variables: dict[str, dict[str, Any]] = {}
        for receiver, depth in cel.comprehension_receivers(source):
            size, elem = self._resolve(receiver, variables)
            per_level[depth] = max(per_level.get(depth, 1), size)
            var = _macro_var(source, receiver)
            if var and elem is not None:
                variables[var] = elem
        cost = base
        for size in per_level.values():
            cost = min(cost * size, 2**62)
        return min(cost * self.times, 2**62)

    def _resolve(self, receiver: str, variables: dict[str, dict[str, Any]]) -> tuple[int, Any]:
        parts = receiver.split(".")
        if parts[0] == "self" or parts[0] == "oldSelf":
            node: Any = self.schema
        elif parts[0] in variables:
            node = variables[parts[0]]
        else:
            return 1, None
        for part in parts[1:]:
            props = properties_of(node) if isinstance(node, dict) else {}
            if part in props:
                node = props[part]
            elif isinstance(node, dict) and isinstance(node.get("additionalProperties"), dict):
                node = node["additionalProperties"]
            else:
                return 1, None
        if not isinstance(node, dict):
            return 1, None
        if node.get("type") == "array" or "items" in node:
            bound = node.get("maxItems")
            elem = node.get("items") if isinstance(node.get("items"), dict) else None
        elif isinstance(node.get("additionalProperties"), dict):
            bound = node.get("maxProperties")
            elem = {"type": "string"}  # map comprehensions iterate keys
        else:
            return 1, None
        return (int(bound) if isinstance(bound, int) else _UNBOUNDED_ITEMS), elem


def _macro_var(source: str, receiver: str) -> str:
    m = re.search(re.escape(receiver) + r"\s*\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*(\w+)",
                  source)
    return m.group(1) if m else ""
