"""Label and field selectors, as list and watch use them.

Label selectors follow k8s.io/apimachinery/pkg/labels: the query-string grammar
(`app=web,tier!=db,env in (a,b),!legacy,gen>3`) and metav1.LabelSelector structs
(matchLabels + matchExpressions). Field selectors follow pkg/fields: `=`, `==`,
`!=` terms joined by commas, values escaped with backslashes.

Both are parsed once per request and then matched against every object of a list
and every watch event, so matching avoids work: requirements are plain tuples and a
field selector keeps its dotted paths pre-split.

Error messages are Kubernetes' own (the apiserver puts them in a 400 BadRequest).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DOES_NOT_EXIST",
    "DOUBLE_EQUALS",
    "EQUALS",
    "EXISTS",
    "GREATER_THAN",
    "IN",
    "LESS_THAN",
    "NOT_EQUALS",
    "NOT_IN",
    "FieldRequirement",
    "FieldSelector",
    "LabelSelector",
    "Requirement",
    "SelectorError",
    "label_key_errors",
    "label_selector_from_struct",
    "label_value_errors",
    "parse_field_selector",
    "parse_label_selector",
    "selector_to_string",
]


class SelectorError(ValueError):
    """A label or field selector that cannot be parsed; str() is Kubernetes' message."""


# Operators, spelled as k8s.io/apimachinery/pkg/selection spells them.
IN = "in"
NOT_IN = "notin"
EQUALS = "="
DOUBLE_EQUALS = "=="
NOT_EQUALS = "!="
EXISTS = "exists"
DOES_NOT_EXIST = "!"
GREATER_THAN = "gt"
LESS_THAN = "lt"

_BINARY_OPERATORS = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)

# ---------------------------------------------------------------------------------------------
# Label key and value syntax (k8s.io/apimachinery/pkg/util/validation)
# ---------------------------------------------------------------------------------------------

_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_QNAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
_QNAME_RE = re.compile(f"^{_QNAME_FMT}$")
_LABEL_VALUE_FMT = f"({_QNAME_FMT})?"
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, "
    "'-', '_' or '.', and must start and end with an alphanumeric character"
)
_LABEL_VALUE_RE = re.compile(f"^{_LABEL_VALUE_FMT}$")
_DNS1123_SUBDOMAIN_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
_DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character"
)
_DNS1123_SUBDOMAIN_RE = re.compile(f"^{_DNS1123_SUBDOMAIN_FMT}$")
_INT64_RE = re.compile(r"^[+-]?[0-9]+$")


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def _max_len_error(n: int) -> str:
    return f"must be no more than {n} characters"


def label_key_errors(key: str) -> list[str]:
    """Why `key` is not a valid label key (validation.IsQualifiedName); empty if it is."""
    if len(key) <= 63 and _QNAME_RE.match(key):  # the common case, checked fast
        return []
    errs: list[str] = []
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            if len(prefix) > 253:
                errs.append("prefix part " + _max_len_error(253))
            if not _DNS1123_SUBDOMAIN_RE.match(prefix):
                errs.append("prefix part " + _regex_error(
                    _DNS1123_SUBDOMAIN_MSG, _DNS1123_SUBDOMAIN_FMT, "example.com"))
    else:
        return ["a qualified name " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc")
                + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if not name:
        errs.append("name part must be non-empty")
    elif len(name) > 63:
        errs.append("name part " + _max_len_error(63))
    if not _QNAME_RE.match(name):
        errs.append("name part " + _regex_error(_QNAME_MSG, _QNAME_FMT, "MyName", "my.name", "123-abc"))
    return errs


def label_value_errors(value: str) -> list[str]:
    """Why `value` is not a valid label value (validation.IsValidLabelValue); empty if it is."""
    errs: list[str] = []
    if len(value) > 63:
        errs.append(_max_len_error(63))
    if not _LABEL_VALUE_RE.match(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, _LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


def _go_quote(s: str) -> str:
    """Roughly Go's %q, which field.Invalid uses to show a bad string."""
    return json.dumps(s, ensure_ascii=False)


def _go_slice(values: Sequence[str] | None) -> str:
    """Go's %#v of a []string, as field.Invalid shows a bad value list."""
    if values is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(_go_quote(v) for v in values) + "}"


def _invalid(path: str, shown_value: str, detail: str) -> str:
    return f"{path}: Invalid value: {shown_value}: {detail}"


def _aggregate(errs: list[str]) -> str:
    """utilerrors.NewAggregate(...).Error(): one message alone, several in brackets."""
    unique = list(dict.fromkeys(errs))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


# ---------------------------------------------------------------------------------------------
# Label selectors
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Requirement:
    """One `key op values` term of a label selector (labels.Requirement)."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op = self.operator
        if op == EQUALS or op == DOUBLE_EQUALS or op == IN:
            value = labels.get(self.key)
            return value is not None and value in self.values
        if op == NOT_EQUALS or op == NOT_IN:
            value = labels.get(self.key)
            return value is None or value not in self.values
        if op == EXISTS:
            return self.key in labels
        if op == DOES_NOT_EXIST:
            return self.key not in labels
        if op == GREATER_THAN or op == LESS_THAN:
            value = labels.get(self.key)
            if value is None or len(self.values) != 1:
                return False
            have, want = _parse_int64(value), _parse_int64(self.values[0])
            if have is None or want is None:
                return False
            return have > want if op == GREATER_THAN else have < want
        return False

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        values = self.values[0] if len(self.values) == 1 else ",".join(sorted(self.values))
        if op == IN or op == NOT_IN:
            return f"{self.key} {op} ({values})"
        symbol = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{symbol}{values}"


def _parse_int64(s: str) -> int | None:
    if not _INT64_RE.match(s):
        return None
    n = int(s)
    return n if -(2**63) <= n < 2**63 else None


def new_requirement(key: str, operator: str, values: Sequence[str] | None,
                    path: str | None = None) -> Requirement:
    """Validate and build a Requirement (labels.NewRequirement), or raise SelectorError.

    `path` prefixes the field paths in messages (e.g. "spec.selector"); None gives
    Kubernetes' bare "key" / "values[0][KEY]" paths.
    """
    key_path = f"{path}.key" if path else "key"
    values_path = f"{path}.values" if path else "values"
    vals = list(values) if values is not None else []
    errs: list[str] = []
    key_errs = label_key_errors(key)
    if key_errs:
        errs.append(_invalid(key_path, _go_quote(key), "; ".join(key_errs)))
    if operator in (IN, NOT_IN):
        if not vals:
            errs.append(_invalid(values_path, _go_slice(values),
                                 "for 'in', 'notin' operators, values set can't be empty"))
    elif operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS):
        if len(vals) != 1:
            errs.append(_invalid(values_path, _go_slice(values),
                                 "exact-match compatibility requires one single value"))
    elif operator in (EXISTS, DOES_NOT_EXIST):
        if vals:
            errs.append(_invalid(values_path, _go_slice(values),
                                 "values set must be empty for exists and does not exist"))
    elif operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            errs.append(_invalid(values_path, _go_slice(values),
                                 "for 'Gt', 'Lt' operators, exactly one value is required"))
        for i, v in enumerate(vals):
            if _parse_int64(v) is None:
                errs.append(_invalid(f"{values_path}[{i}]", _go_quote(v),
                                     "for 'Gt', 'Lt' operators, the value must be an integer"))
    else:
        supported = ", ".join(_go_quote(o) for o in (*_BINARY_OPERATORS, EXISTS, DOES_NOT_EXIST))
        op_path = f"{path}.operator" if path else "operator"
        errs.append(f"{op_path}: Unsupported value: {_go_quote(operator)}: supported values: {supported}")
    for i, v in enumerate(vals):
        value_errs = label_value_errors(v)
        if value_errs:
            errs.append(_invalid(f"{values_path}[{i}][{key}]", _go_quote(v), "; ".join(value_errs)))
    if errs:
        raise SelectorError(_aggregate(errs))
    return Requirement(key, operator, tuple(vals))


class LabelSelector:
    """An AND of requirements over labels; also the selector that selects nothing."""

    __slots__ = ("requirements", "_nothing")

    def __init__(self, requirements: Iterable[Requirement] = (), *, nothing: bool = False) -> None:
        # Sorted by key, as Kubernetes does, so str() is deterministic.
        self.requirements: tuple[Requirement, ...] = tuple(sorted(requirements, key=lambda r: r.key))
        self._nothing = nothing

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def nothing(cls) -> LabelSelector:
        return cls(nothing=True)

    @property
    def empty(self) -> bool:
        """True when the selector does not restrict anything (it selects every object)."""
        return not self._nothing and not self.requirements

    @property
    def matches_nothing(self) -> bool:
        return self._nothing

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self._nothing:
            return False
        if labels is None:
            labels = {}
        for r in self.requirements:
            if not r.matches(labels):
                return False
        return True

    def exact_value(self, key: str) -> str | None:
        """The one value `key` must have (from `key=v`, `key==v`, `key in (v)`), else None.

        Mirrors Selector.RequiresExactMatch, so the server can use a label index.
        """
        for r in self.requirements:
            if r.key == key:
                if r.operator in (EQUALS, DOUBLE_EQUALS, IN) and len(r.values) == 1:
                    return r.values[0]
                return None
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return "LabelSelector(<nothing>)" if self._nothing else f"LabelSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LabelSelector):
            return NotImplemented
        return self._nothing == other._nothing and self.requirements == other.requirements

    def __hash__(self) -> int:
        return hash((self._nothing, self.requirements))


# Tokens of the label selector lexer (labels.Lexer).
_ERROR, _EOS, _CLOSE, _COMMA, _NOT, _DEQ, _EQ, _GT, _ID, _IN, _LT, _NEQ, _NOTIN, _OPEN = range(14)
_SYMBOL_TOKENS = {
    ")": _CLOSE, ",": _COMMA, "!": _NOT, "==": _DEQ, "=": _EQ, ">": _GT, "<": _LT,
    "!=": _NEQ, "(": _OPEN,
}
_WORD_TOKENS = {"in": _IN, "notin": _NOTIN}
_SPECIAL = frozenset("=!(),><")
_WHITESPACE = frozenset(" \t\r\n")


def _lex(s: str) -> list[tuple[int, str]]:
    """Split a selector string into (token, literal) pairs, ending with end-of-string."""
    items: list[tuple[int, str]] = []
    pos, n = 0, len(s)
    while True:
        while pos < n and s[pos] in _WHITESPACE:
            pos += 1
        if pos >= n:
            items.append((_EOS, ""))
            return items
        if s[pos] in _SPECIAL:
            # Longest run of symbols that still spells a token ("!=" rather than "!").
            buf, last = "", None
            while pos < n and s[pos] in _SPECIAL:
                candidate = buf + s[pos]
                if candidate in _SYMBOL_TOKENS:
                    buf, last = candidate, (_SYMBOL_TOKENS[candidate], candidate)
                    pos += 1
                elif last is not None:
                    break
                else:
                    buf = candidate
                    pos += 1
            items.append(last if last is not None else (_ERROR, f"error expected: keyword found '{buf}'"))
        else:
            start = pos
            while pos < n and s[pos] not in _SPECIAL and s[pos] not in _WHITESPACE:
                pos += 1
            word = s[start:pos]
            items.append((_WORD_TOKENS.get(word, _ID), word))


class _Parser:
    """The recursive-descent parser of labels.Parse, message for message."""

    def __init__(self, s: str) -> None:
        self.items = _lex(s)
        self.pos = 0

    def _peek(self, values: bool = True) -> tuple[int, str]:
        tok, lit = self.items[self.pos]
        # In a value position, `in` and `notin` are just words.
        return (_ID, lit) if values and tok in (_IN, _NOTIN) else (tok, lit)

    def _take(self, values: bool = True) -> tuple[int, str]:
        item = self._peek(values)
        self.pos += 1
        return item

    def parse(self) -> list[Requirement]:
        requirements: list[Requirement] = []
        while True:
            tok, lit = self._peek()
            if tok in (_ID, _NOT):
                try:
                    requirements.append(self._requirement())
                except SelectorError as e:
                    raise SelectorError(f"unable to parse requirement: {e}") from None
                tok, lit = self._take()
                if tok == _EOS:
                    return requirements
                if tok == _COMMA:
                    tok2, lit2 = self._peek()
                    if tok2 not in (_ID, _NOT):
                        raise SelectorError(f"found '{lit2}', expected: identifier after ','")
                else:
                    raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            elif tok == _EOS:
                return requirements
            else:
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")

    def _requirement(self) -> Requirement:
        tok, key = self._take()
        operator: str | None = None
        if tok == _NOT:
            operator = DOES_NOT_EXIST
            tok, key = self._take()
        if tok != _ID:
            raise SelectorError(f"found '{key}', expected: identifier")
        key_errs = label_key_errors(key)
        if key_errs:
            raise SelectorError(_invalid("<nil>", _go_quote(key), "; ".join(key_errs)))
        if self._peek()[0] in (_EOS, _COMMA):
            return new_requirement(key, operator or EXISTS, [])
        if operator == DOES_NOT_EXIST:
            return new_requirement(key, operator, [])
        operator = self._operator()
        values = self._value_set() if operator in (IN, NOT_IN) else self._exact_value()
        return new_requirement(key, operator, sorted(values))

    def _operator(self) -> str:
        tok, lit = self._take(values=False)
        ops = {_IN: IN, _EQ: EQUALS, _DEQ: DOUBLE_EQUALS, _GT: GREATER_THAN, _LT: LESS_THAN,
               _NOTIN: NOT_IN, _NEQ: NOT_EQUALS}
        if tok not in ops:
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY_OPERATORS)}")
        return ops[tok]

    def _value_set(self) -> set[str]:
        tok, lit = self._take()
        if tok != _OPEN:
            raise SelectorError(f"found '{lit}' expected: '('")
        tok, lit = self._peek()
        if tok == _CLOSE:  # "()" is the empty string
            self._take()
            return {""}
        if tok not in (_ID, _COMMA):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self._identifiers()
        if self._take()[0] != _CLOSE:
            raise SelectorError(f"found '{lit}', expected: ')'")
        return values

    def _identifiers(self) -> set[str]:
        values: set[str] = set()
        while True:
            tok, lit = self._take()
            if tok == _ID:
                values.add(lit)
                tok2, lit2 = self._peek()
                if tok2 == _COMMA:
                    continue
                if tok2 == _CLOSE:
                    return values
                raise SelectorError(f"found '{lit2}', expected: ',' or ')'")
            if tok == _COMMA:  # empty values: "(,a)", "(a,)", "(a,,b)"
                if not values:
                    values.add("")
                tok2 = self._peek()[0]
                if tok2 in (_CLOSE, _COMMA):
                    values.add("")
                if tok2 == _CLOSE:
                    return values
                continue
            raise SelectorError(f"found '{lit}', expected: ',', or identifier")

    def _exact_value(self) -> set[str]:
        tok = self._peek()[0]
        if tok in (_EOS, _COMMA):
            return {""}
        tok, lit = self._take()
        if tok == _ID:
            return {lit}
        raise SelectorError(f"found '{lit}', expected: identifier")


def parse_label_selector(s: str) -> LabelSelector:
    """Parse the `labelSelector` query parameter (labels.Parse); "" selects everything."""
    if not s:
        return LabelSelector()
    return LabelSelector(_Parser(s).parse())


_STRUCT_OPERATORS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def label_selector_from_struct(sel: Mapping[str, Any] | None) -> LabelSelector:
    """A metav1.LabelSelector (as a JSON dict) as a selector (LabelSelectorAsSelector).

    None selects nothing; an empty selector selects everything. Raises SelectorError
    for an unknown operator or an invalid key or value.
    """
    if sel is None:
        return LabelSelector.nothing()
    match_labels = sel.get("matchLabels") or {}
    expressions = sel.get("matchExpressions") or []
    if not match_labels and not expressions:
        return LabelSelector()
    requirements = [new_requirement(k, EQUALS, [v]) for k, v in match_labels.items()]
    for expr in expressions:
        operator = expr.get("operator", "")
        if operator not in _STRUCT_OPERATORS:
            raise SelectorError(f"{_go_quote(operator)} is not a valid label selector operator")
        values = expr.get("values")
        requirements.append(new_requirement(expr.get("key", ""), _STRUCT_OPERATORS[operator],
                                             list(values) if values else None))
    return LabelSelector(requirements)


def selector_to_string(sel: Mapping[str, Any] | None) -> str:
    """A metav1.LabelSelector as `kubectl get rs -o wide` prints it (FormatLabelSelector).

    "<none>" when it selects everything or nothing, "<error>" when it is invalid.
    """
    try:
        text = str(label_selector_from_struct(sel))
    except SelectorError:
        return "<error>"
    return text or "<none>"


# ---------------------------------------------------------------------------------------------
# Field selectors
# ---------------------------------------------------------------------------------------------

ALWAYS_SELECTABLE = ("metadata.name", "metadata.namespace")

# Field labels whose value is not simply the JSON value at that path.
_FIELD_PATHS = {"source": "source.component"}  # Event: the reporting component
# Boolean fields Kubernetes renders with strconv.FormatBool even when unset.
_FIELD_DEFAULTS = {"spec.hostNetwork": "false", "spec.unschedulable": "false"}


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    """One `field=value` or `field!=value` term; `==` is stored as `=`."""

    field: str
    operator: str
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{_escape_field_value(self.value)}"


def _escape_field_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def _field_value(obj: Mapping[str, Any], path: tuple[str, ...], default: str) -> str:
    cur: Any = obj
    for part in path:
        if not isinstance(cur, Mapping):
            return default
        cur = cur.get(part)
        if cur is None:
            return default
    if isinstance(cur, str):
        return cur
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, int):
        return str(cur)
    return default


class FieldSelector:
    """An AND of field requirements, matched against an object's JSON dict."""

    __slots__ = ("requirements", "_checks")

    def __init__(self, requirements: Iterable[FieldRequirement] = ()) -> None:
        self.requirements: tuple[FieldRequirement, ...] = tuple(requirements)
        self._checks = tuple(
            (tuple(_FIELD_PATHS.get(r.field, r.field).split(".")), _FIELD_DEFAULTS.get(r.field, ""),
             r.operator == EQUALS, r.value)
            for r in self.requirements
        )

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: Mapping[str, Any]) -> bool:
        for path, default, equal, value in self._checks:
            if (_field_value(obj, path, default) == value) != equal:
                return False
        return True

    def exact_value(self, field: str) -> str | None:
        """The value `field` must equal (RequiresExactMatch), e.g. for `spec.nodeName=n1`."""
        for r in self.requirements:
            if r.field == field and r.operator == EQUALS:
                return r.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


def _split_terms(s: str) -> list[str]:
    """Split on commas not escaped by a backslash (the backslash stays in the term)."""
    terms, start, in_slash = [], 0, False
    for i, c in enumerate(s):
        if in_slash:
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c == ",":
            terms.append(s[start:i])
            start = i + 1
    terms.append(s[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    """(field, operator, raw value) at the first operator; `!=` before `==` before `=`."""
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape_field_value(s: str) -> str:
    if "\\" not in s and "," not in s and "=" not in s:
        return s
    out: list[str] = []
    in_slash = False
    for c in s:
        if in_slash:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            in_slash = False
        elif c == "\\":
            in_slash = True
        elif c in ",=":
            raise SelectorError(f"invalid field selector: unescapedRune character in value: {ord(c)}")
        else:
            out.append(c)
    if in_slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def parse_field_selector(s: str, allowed: Iterable[str] = ()) -> FieldSelector:
    """Parse the `fieldSelector` query parameter for a kind that selects on `allowed`.

    `metadata.name` and `metadata.namespace` are always allowed. A kind with no fields
    of its own answers like Kubernetes' default conversion; one with fields answers
    "field label not supported: X".
    """
    if not s:
        return FieldSelector()
    parsed: list[tuple[str, str, str]] = []
    for term in sorted(_split_terms(s)):
        if not term:
            continue
        split = _split_term(term)
        if split is None:
            raise SelectorError(f"invalid selector: '{s}'; can't understand '{term}'")
        field, op, raw = split
        parsed.append((field, op, _unescape_field_value(raw)))
    extra = frozenset(allowed)
    requirements = []
    for field, op, value in parsed:
        if field not in ALWAYS_SELECTABLE and field not in extra:
            if not extra:
                raise SelectorError(
                    f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"')
            raise SelectorError(f"field label not supported: {field}")
        requirements.append(FieldRequirement(field, NOT_EQUALS if op == "!=" else EQUALS, value))
    return FieldSelector(requirements)
