"""x-kubernetes-validations at request time, as apiextensions-apiserver's schema/cel validator.

Rules are compiled once per schema (`RuleTree.build`), then every node of an object that has
rules (or a descendant with rules) is visited. A failing rule gives
`<path>: Invalid value: "<schema type>": <message>` (or Forbidden / Required / Duplicate by
its `reason`), at `fieldPath` below the node when set. Transition rules (those reading
`oldSelf`) run only on update and only where the old value can be correlated: object
properties, map values and map-list items by key, as Kubernetes does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kubelite.api.crd import cel
from kubelite.api.crd.openapi_validate import ROOT, same_json
from kubelite.api.validation.errors import (
    FieldError,
    duplicate,
    forbidden,
    invalid,
    required,
)

OUT_OF_BUDGET = ("validation failed due to running out of cost budget, "
                 "no further validation rules will be run")


@dataclass
class CompiledRule:
    rule: dict[str, Any]
    program: cel.Program | None
    message_program: cel.Program | None
    field_path: str  # normalised (`spec.x[key]`), "" when unset
    error: str = ""


@dataclass
class RuleTree:
    """The rules of one schema node and the children that (transitively) have rules."""

    schema: dict[str, Any]
    rules: list[CompiledRule] = field(default_factory=list)
    properties: dict[str, RuleTree] = field(default_factory=dict)
    additional: RuleTree | None = None
    items: RuleTree | None = None
    all_of: list[RuleTree] = field(default_factory=list)

    @classmethod
    def build(cls, schema: dict[str, Any] | None, depth: int = 0) -> RuleTree | None:
        if not isinstance(schema, dict) or depth > 200:
            return None
        node = cls(schema)
        for rule in schema.get("x-kubernetes-validations") or []:
            node.rules.append(_compile_rule(rule))
        for name, sub in (schema.get("properties") or {}).items():
            child = cls.build(sub, depth + 1)
            if child is not None:
                node.properties[name] = child
        additional = schema.get("additionalProperties")
        node.additional = cls.build(additional, depth + 1) if isinstance(additional, dict) else None
        items = schema.get("items")
        node.items = cls.build(items, depth + 1) if isinstance(items, dict) else None
        for sub in schema.get("allOf") or []:
            child = cls.build({**sub, "type": schema.get("type")}, depth + 1)
            if child is not None:
                node.all_of.append(child)
        if node.rules or node.properties or node.additional or node.items or node.all_of:
            return node
        return None


def _compile_rule(rule: dict[str, Any]) -> CompiledRule:
    try:
        program = cel.compile_expression(str(rule.get("rule", "")))
        if program.uses_old_self and rule.get("optionalOldSelf"):
            program = cel.compile_optional_old_self(program.source)
    except cel.CelCompileError as err:
        return CompiledRule(rule, None, None, "", f"compilation failed: {err}")
    message_program = None
    if rule.get("messageExpression"):
        try:
            message_program = cel.compile_expression(str(rule["messageExpression"]))
        except cel.CelCompileError:
            message_program = None
    return CompiledRule(rule, program, message_program, normalize_field_path(rule.get("fieldPath")))


_PATH_TOKEN = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[\s*'((?:[^'\\]|\\.)*)'\s*\]")


def normalize_field_path(path: Any) -> str:
    """`.spec.x['a.b']` as field.Path prints it: `spec.x[a.b]`; "" when unset or unreadable."""
    if not isinstance(path, str) or not path.strip():
        return ""
    out = ""
    pos = 0
    text = path.strip()
    while pos < len(text):
        m = _PATH_TOKEN.match(text, pos)
        if m is None:
            return ""
        if m.group(1) is not None:
            out = f"{out}.{m.group(1)}" if out else m.group(1)
        else:
            out = f"{out}[{m.group(2)}]"
        pos = m.end()
    return out


class _Budget:
    def __init__(self, total: int) -> None:
        self.left = total


def rule_text(rule: dict[str, Any]) -> str:
    """ruleErrorString: the message if any, else the rule."""
    message = str(rule.get("message") or "").strip()
    return message or str(rule.get("rule", "")).strip()


def _message_or_default(rule: dict[str, Any]) -> str:
    message = str(rule.get("message") or "").strip()
    return message or f"failed rule: {str(rule.get('rule', '')).strip()}"


def _type_name(schema: dict[str, Any]) -> str:
    if schema.get("x-kubernetes-int-or-string"):
        return ""
    return str(schema.get("type") or "")


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _error_for_reason(path: str, value: Any, detail: str, reason: Any) -> FieldError:
    if reason == "FieldValueForbidden":
        return forbidden(path, detail)
    if reason == "FieldValueRequired":
        return required(path, detail)
    if reason == "FieldValueDuplicate":
        return duplicate(path, value)
    return invalid(path, value, detail)


def _rule_cost(program: cel.Program) -> int:
    """A per-evaluation cost charged against Kubernetes' 10,000,000 budget (about one unit per
    token, as cel-go charges per operation); comprehension iterations are bounded by cel-cpp."""
    return cel.operation_count(program.source)


def validate_rules(tree: RuleTree | None, obj: Any, old: Any, has_old: bool,
                   budget: int = cel.RUNTIME_COST_BUDGET) -> list[FieldError]:
    """Run every rule of `tree` over `obj` (and `old` on update)."""
    errors: list[FieldError] = []
    if tree is None:
        return errors
    _visit(tree, "", obj, old, has_old, errors, _Budget(budget))
    return errors


def _visit(tree: RuleTree, path: str, obj: Any, old: Any, has_old: bool,
           errors: list[FieldError], budget: _Budget) -> bool:
    """Returns False once the budget is gone (no further rules run)."""
    if obj is None:
        return True
    if tree.rules and not _run_rules(tree, path, obj, old, has_old, errors, budget):
        return False
    for sub in tree.all_of:
        if not _visit(sub, path, obj, old, has_old, errors, budget):
            return False
    if isinstance(obj, dict):
        old_map = old if isinstance(old, dict) and has_old else None
        correlatable = tree.schema.get("x-kubernetes-map-type") in (None, "granular", "atomic")
        for key, value in obj.items():
            child: RuleTree | None = tree.properties.get(key)
            child_path = _child(path, key)
            if child is None and tree.additional is not None:
                child, child_path = tree.additional, f"{path}[{key}]"
            if child is None:
                continue
            has = old_map is not None and correlatable and key in old_map
            if not _visit(child, child_path, value, old_map.get(key) if has and old_map else None,
                          has, errors, budget):
                return False
    elif isinstance(obj, list) and tree.items is not None:
        old_items = _map_list_index(tree.schema, old) if has_old else {}
        keys = tree.schema.get("x-kubernetes-list-map-keys") or []
        for i, item in enumerate(obj):
            marker = _map_key(item, keys) if old_items else None
            has = marker is not None and marker in old_items
            if not _visit(tree.items, f"{path}[{i}]", item, old_items.get(marker) if has else None,
                          has, errors, budget):
                return False
    return True


def _map_key(item: Any, keys: list[str]) -> tuple[Any, ...] | None:
    if not isinstance(item, dict):
        return None
    return tuple(repr(item.get(k)) for k in keys)


def _map_list_index(schema: dict[str, Any], old: Any) -> dict[Any, Any]:
    """Old items of a map-list by key (the only lists whose items correlate)."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return {}
    keys = schema.get("x-kubernetes-list-map-keys") or []
    index: dict[Any, Any] = {}
    for item in old:
        marker = _map_key(item, keys)
        if marker is not None:
            index[marker] = item
    return index


def _run_rules(tree: RuleTree, path: str, obj: Any, old: Any, has_old: bool,
               errors: list[FieldError], budget: _Budget) -> bool:
    shown = path or ROOT
    type_name = _type_name(tree.schema)
    if budget.left <= 0:
        errors.append(invalid(shown, type_name, OUT_OF_BUDGET))
        return False
    uses_old = any(r.program is not None and r.program.uses_old_self for r in tree.rules)
    act = cel.activation(obj, old, with_old=uses_old and has_old,
                         shared=len(tree.rules) > 1 or any(
                             r.message_program is not None for r in tree.rules))
    for compiled in tree.rules:
        if compiled.error:
            errors.append(invalid(shown, type_name, f"rule compile error: {compiled.error}"))
            continue
        program = compiled.program
        if program is None:
            continue
        optional_old = bool(compiled.rule.get("optionalOldSelf")) and program.uses_old_self
        if program.uses_old_self and not has_old and not optional_old:
            continue  # transition rules need a correlated old value
        cost = _rule_cost(program)
        if cost > budget.left:
            errors.append(invalid(shown, type_name, OUT_OF_BUDGET))
            return False
        budget.left -= cost
        try:
            result = program.run(cel.optional_old_self_data(obj, old, has_old) if optional_old
                                 else act)
        except cel.CelEvalError as err:
            text = rule_text(compiled.rule)
            if err.cost_exceeded:
                errors.append(invalid(shown, type_name, f"'{err}': no further validation rules "
                                      f"will be run due to call cost exceeds limit for rule: {text}"))
                return False
            if str(err) == "no such overload":
                errors.append(invalid(shown, type_name, f"'no such overload': call arguments did "
                                      f"not match a supported operator, function or macro "
                                      f"signature for rule: {text}"))
            else:
                errors.append(invalid(shown, type_name, f"{err} evaluating rule: {text}"))
            continue
        if result is True:
            continue
        if has_old and not program.uses_old_self and same_json(obj, old):
            continue  # ratcheting: an unchanged value keeps passing (a warning in Kubernetes)
        error_path = shown
        if compiled.field_path:
            error_path = (f"{path}.{compiled.field_path}" if path and not
                          compiled.field_path.startswith("[") else f"{path}{compiled.field_path}"
                          if path else compiled.field_path)
        detail = _message_expression(compiled, act) or _message_or_default(compiled.rule)
        errors.append(_error_for_reason(error_path, type_name, detail, compiled.rule.get("reason")))
    return True


def _message_expression(compiled: CompiledRule, act: Any) -> str:
    """The evaluated messageExpression, or "" to fall back to `message` (as Kubernetes does)."""
    if compiled.message_program is None:
        return ""
    try:
        text = compiled.message_program.run(act)
    except cel.CelEvalError:
        return ""
    if not isinstance(text, str):
        return ""
    text = text.strip()
    if not text or "\n" in text or len(text) > cel.MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE:
        return ""
    return text


__all__ = ["RuleTree", "validate_rules", "normalize_field_path"]
