"""Matching pods and nodes against label selectors, as the scheduler's plugins need it.

Private to the scheduler: metav1.LabelSelector (matchLabels/matchExpressions with In, NotIn,
Exists, DoesNotExist) and core/v1 NodeSelectorRequirement (which adds Gt and Lt).
"""

from __future__ import annotations

from collections.abc import Mapping

from kubelite.api.types import core_v1, meta_v1

Labels = Mapping[str, str]


def requirement_matches(key: str, operator: str, values: list[str] | None, labels: Labels) -> bool:
    """One requirement; operators of both LabelSelector and NodeSelector."""
    vals = values or []
    if operator == "In":
        return key in labels and labels[key] in vals
    if operator == "NotIn":
        return key not in labels or labels[key] not in vals
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    if operator in ("Gt", "Lt"):
        if key not in labels or len(vals) != 1:
            return False
        try:
            have, want = int(labels[key]), int(vals[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def selector_matches(selector: meta_v1.LabelSelector | None, labels: Labels | None) -> bool:
    """A nil selector matches nothing; an empty one matches everything."""
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.match_labels or {}).items():
        if labels.get(k) != v:
            return False
    return all(requirement_matches(r.key, r.operator, r.values, labels)
               for r in selector.match_expressions or [])


def node_selector_term_matches(term: core_v1.NodeSelectorTerm, node: core_v1.Node) -> bool:
    """All matchExpressions (labels) and matchFields (only metadata.name) of one term.

    A term with no requirements matches no node, as in Kubernetes.
    """
    exprs = term.match_expressions or []
    fields = term.match_fields or []
    if not exprs and not fields:
        return False
    labels = (node.metadata.labels if node.metadata else None) or {}
    name = (node.metadata.name if node.metadata else None) or ""
    if not all(requirement_matches(r.key, r.operator, r.values, labels) for r in exprs):
        return False
    return all(r.key == "metadata.name" and requirement_matches(
        r.key, r.operator, r.values, {"metadata.name": name}) for r in fields)


def node_selector_matches(selector: core_v1.NodeSelector, node: core_v1.Node) -> bool:
    """Terms are ORed."""
    return any(node_selector_term_matches(t, node) for t in selector.node_selector_terms)
