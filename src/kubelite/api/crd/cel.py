"""CEL for x-kubernetes-validations, on Google's cel-cpp through `cel-expr-python`.

Kubernetes compiles each rule with `self` (and `oldSelf` for transition rules) typed from the
schema; here both are declared `dyn`, so a misspelt field is caught by celfields (a light
walk over `self.a.b` chains) rather than by the CEL type checker. The strings and optional
extensions are cel-cpp's; Kubernetes' lists and regex libraries (isSorted, sum, min, max,
indexOf, lastIndexOf, find, findAll) and the boolean checks isURL, isIP, isCIDR and isQuantity
are added in Python. The value-returning url(), quantity(), ip(), cidr(), format and authz
libraries are absent: a rule that calls them fails to compile with cel-cpp's "undeclared
reference" error, which the CRD's author reads at creation time.

Cost: cel-cpp stops any one evaluation after 10,000 comprehension iterations and its regexes
are RE2 (linear), so no rule runs long; `estimate_cost` refuses at CRD creation the rules
Kubernetes' static estimator refuses for sure (nested comprehensions over unbounded lists).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel as _cel
from cel_expr_python.ext import ext_bindings, ext_optional, ext_strings

# Kubernetes' limits (k8s.io/apiserver/pkg/apis/cel/config.go).
PER_CALL_LIMIT = 1_000_000
RUNTIME_COST_BUDGET = 10_000_000
STATIC_ESTIMATED_COST_LIMIT = 10_000_000
STATIC_ESTIMATED_CRD_COST_LIMIT = 100_000_000
MAX_REQUEST_SIZE_BYTES = 3 * 1024 * 1024
MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE = 5 * 1024
MAX_RULE_LENGTH = 64 * 1024

COST_EXCEEDED = "operation cancelled: actual cost limit exceeded"


class CelCompileError(Exception):
    """A rule that does not compile; `str()` is the text Kubernetes puts after `compilation failed: `."""


class CelEvalError(Exception):
    """A rule that failed while evaluating (no such key, division by zero, cost limit...)."""

    def __init__(self, message: str, cost_exceeded: bool = False) -> None:
        super().__init__(message)
        self.cost_exceeded = cost_exceeded


def _is_sorted(items: list[Any]) -> bool:
    return all(items[i] <= items[i + 1] for i in range(len(items) - 1))


def _index_of(items: list[Any], value: Any) -> int:
    return items.index(value) if value in items else -1


def _last_index_of(items: list[Any], value: Any) -> int:
    for i in range(len(items) - 1, -1, -1):
        if items[i] == value:
            return i
    return -1


def _find(s: str, pattern: str) -> str:
    m = re.search(pattern, s)
    return m.group(0) if m else ""


def _find_all(s: str, pattern: str) -> list[str]:
    return [m.group(0) for m in re.finditer(pattern, s)]


def _sum(items: list[Any]) -> Any:
    return sum(items)


def _min(items: list[Any]) -> Any:
    if not items:
        raise ValueError("min called on empty list")
    return min(items)


def _max(items: list[Any]) -> Any:
    if not items:
        raise ValueError("max called on empty list")
    return max(items)


def _is_url(s: str) -> bool:
    """Kubernetes' isURL: an absolute URL (scheme and host) or an absolute path."""
    from urllib.parse import urlsplit
    try:
        parts = urlsplit(s)
    except ValueError:
        return False
    if parts.scheme:
        return bool(parts.netloc) or parts.scheme in ("file", "mailto")
    return s.startswith("/")


def _is_ip(s: str) -> bool:
    import ipaddress
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return "%" not in s  # zones are refused, as Kubernetes' ip library does


def _is_cidr(s: str) -> bool:
    import ipaddress
    try:
        ipaddress.ip_network(s, strict=False)
    except ValueError:
        return False
    return "/" in s


def _is_quantity(s: str) -> bool:
    from kubelite.api.quantity import is_quantity
    return is_quantity(s)


def _member(name: str, oid: str, ret: Any, params: list[Any], impl: Callable[..., Any]) -> Any:
    return _cel.FunctionDecl(name, [_cel.Overload(oid, ret, params, is_member=True, impl=impl)])


def _global(name: str, oid: str, ret: Any, params: list[Any], impl: Callable[..., Any]) -> Any:
    return _cel.FunctionDecl(name, [_cel.Overload(oid, ret, params, is_member=False, impl=impl)])


def _kubernetes_libraries() -> Any:
    """The parts of k8s.io/apiserver/pkg/cel/library that are cheap to add in Python."""
    dyn_list = _cel.Type.List(_cel.Type.DYN)
    string, dyn = _cel.Type.STRING, _cel.Type.DYN
    return _cel.CelExtension("kubernetes", [
        _member("isSorted", "list_is_sorted", _cel.Type.BOOL, [dyn_list], _is_sorted),
        _member("sum", "list_sum", dyn, [dyn_list], _sum),
        _member("min", "list_min", dyn, [dyn_list], _min),
        _member("max", "list_max", dyn, [dyn_list], _max),
        _cel.FunctionDecl("indexOf", [_cel.Overload(
            "list_index_of", _cel.Type.INT, [dyn_list, dyn], is_member=True, impl=_index_of)]),
        _cel.FunctionDecl("lastIndexOf", [_cel.Overload(
            "list_last_index_of", _cel.Type.INT, [dyn_list, dyn], is_member=True,
            impl=_last_index_of)]),
        _member("find", "string_find", string, [string, string], _find),
        _global("isURL", "is_url_string", _cel.Type.BOOL, [string], _is_url),
        _global("isIP", "is_ip_string", _cel.Type.BOOL, [string], _is_ip),
        _global("isCIDR", "is_cidr_string", _cel.Type.BOOL, [string], _is_cidr),
        _global("isQuantity", "is_quantity_string", _cel.Type.BOOL, [string], _is_quantity),
        _member("findAll", "string_find_all", _cel.Type.List(string), [string, string],
                _find_all),
    ])


_ENV: Any = None
HAS_OLD = "__hasOldSelf"  # set when oldSelf holds a value, for optionalOldSelf rules


def _env() -> Any:
    global _ENV
    if _ENV is None:
        _ENV = _cel.NewEnv(
            variables={"self": _cel.Type.DYN, "oldSelf": _cel.Type.DYN,
                       HAS_OLD: _cel.Type.BOOL},
            extensions=[ext_strings.ExtStrings(), ext_optional.ExtOptional(),
                        ext_bindings.ExtBindings(), _kubernetes_libraries()])
    return _ENV


def _clean(message: str) -> str:
    """cel-cpp's status text without its code prefix and suffix, as cel-go prints issues."""
    message = re.sub(r"^[A-Z_]+: ", "", message)
    return re.sub(r" \[[A-Z_]+\]$", "", message)


_OLDSELF = re.compile(r"(?<![\w.'\"])oldSelf\b")


@dataclass(frozen=True)
class Program:
    """One compiled expression, its source, and whether it reads `oldSelf` (a transition rule)."""

    source: str
    expression: Any
    uses_old_self: bool
    returns: str

    def run(self, activation: Any) -> Any:
        """Evaluate; CEL runtime errors come back as `CelEvalError` with Kubernetes' words."""
        try:
            if isinstance(activation, dict):
                value = self.expression.eval(data=activation)
            else:
                value = self.expression.eval(activation)
        except RuntimeError as err:  # cel-cpp raises for some failures (the iteration budget)
            text = _clean(str(err))
        else:
            result = value.value()
            if result is True or result is False or value.type() != _cel.Type.ERROR:
                return result
            text = _clean(str(result))
        if "budget exceeded" in text.lower():
            raise CelEvalError(COST_EXCEEDED, cost_exceeded=True)
        if text.startswith("No matching overloads") or "no matching overload" in text:
            raise CelEvalError("no such overload")
        raise CelEvalError(_go_words(text))


def _go_words(text: str) -> str:
    """cel-cpp's runtime error text in cel-go's words, which Kubernetes users see."""
    if text == "divide by zero":
        return "division by zero"
    if text == "modulus by zero":
        return "modulus by zero"
    m = re.match(r'Key not found in map : "?(.*?)"?$', text)
    if m:
        return f"no such key: {m.group(1)}"
    if text.startswith("Index out of range") or "index out of bounds" in text.lower():
        return "index out of bounds"
    return text


_CACHE: dict[str, Program] = {}
_CACHE_MAX = 4096


def compile_expression(source: str) -> Program:
    """Compile (cached by source text: CRDs share rules across versions and updates)."""
    hit = _CACHE.get(source)
    if hit is not None:
        return hit
    if len(source) > MAX_RULE_LENGTH:
        raise CelCompileError(f"expression is longer than {MAX_RULE_LENGTH} characters")
    try:
        expression = _env().compile(unescape_selects(source) if "__" in source else source)
    except RuntimeError as err:
        raise CelCompileError(_clean(str(err))) from None
    program = Program(source, expression, bool(_OLDSELF.search(strip_strings(source))),
                      expression.return_type().name())
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[source] = program
    return program


def compile_optional_old_self(source: str) -> Program:
    """A rule with `optionalOldSelf: true`: `oldSelf` is an optional (none on create), as
    Kubernetes' ratcheting rules see it; evaluate with `optional_old_self_data`."""
    wrapped = (f"cel.bind(oldSelf, {HAS_OLD} ? optional.of(oldSelf) : optional.none(), "
               f"({source}))")
    program = compile_expression(wrapped)
    return Program(source, program.expression, True, program.returns)


def optional_old_self_data(self_value: Any, old_value: Any, has_old: bool) -> dict[str, Any]:
    return {"self": self_value, "oldSelf": old_value if has_old else None, HAS_OLD: has_old}


def activation(self_value: Any, old_value: Any = None, with_old: bool = False,
               shared: bool = True) -> Any:
    """The variables of one node's rules. Converting them to CEL values costs about as much
    as one evaluation, so an Activation (converted once) pays only when several rules share
    it; a single rule gets the plain dict."""
    data: dict[str, Any] = {"self": self_value}
    if with_old:
        data["oldSelf"] = old_value
    return _env().Activation(data=data) if shared else data


_ESCAPES = [("__underscores__", "__"), ("__dot__", "."), ("__dash__", "-"), ("__slash__", "/")]
_RESERVED = {"as", "break", "const", "continue", "else", "false", "for", "function", "if",
             "import", "in", "let", "loop", "package", "namespace", "null", "return", "true",
             "var", "void", "while"}


def unescape(name: str) -> str:
    """A property name as Kubernetes escapes it for CEL (`x__dash__y` is `x-y`,
    `__namespace__` is `namespace`), back to the name."""
    m = re.fullmatch(r"__(\w+)__", name)
    if m and m.group(1) in _RESERVED:
        return m.group(1)
    out = name
    for escaped, plain in _ESCAPES:
        out = out.replace(escaped, plain)
    return out


_SELECT = re.compile(r"has\(\s*(?P<recv>[^()]*?)\s*\.\s*(?P<hname>[A-Za-z_]\w*)\s*\)"
                     r"|\.\s*(?P<name>[A-Za-z_]\w*)\b(?!\s*\()")


def unescape_selects(source: str) -> str:
    """Escaped field selections rewritten for maps: `self.x__dash__y` -> `self["x-y"]`,
    `has(self.x__dash__y)` -> `("x-y" in self)`. Kubernetes' typed objects resolve the
    escapes; here `self` is a plain map, whose keys are the real names."""
    text = strip_strings(source)
    out: list[str] = []
    pos = 0
    for m in _SELECT.finditer(text):
        if m.group("hname") is not None:
            plain = unescape(m.group("hname"))
            if plain == m.group("hname"):
                continue
            receiver = unescape_selects(source[m.start("recv"):m.end("recv")])
            out.append(source[pos:m.start()])
            out.append(f"({json.dumps(plain)} in {receiver})")
        else:
            plain = unescape(m.group("name"))
            if plain == m.group("name"):
                continue
            out.append(source[pos:m.start()])
            out.append(f"[{json.dumps(plain)}]")
        pos = m.end()
    out.append(source[pos:])
    return "".join(out)


_STRING_LITERAL = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""")


def strip_strings(source: str) -> str:
    """The expression with string literals blanked, so words inside them are not read as code."""
    return _STRING_LITERAL.sub(lambda m: '"' + " " * (len(m.group(0)) - 2) + '"', source)


_MACRO = re.compile(r"\.\s*(all|exists|exists_one|map|filter)\s*\(")


def comprehension_receivers(source: str) -> list[tuple[str, int]]:
    """Each macro call's receiver text (`self.spec.items`) and its nesting depth (1 = outermost)."""
    text = strip_strings(source)
    found: list[tuple[str, int]] = []
    depth_at: list[int] = []  # paren stack: 1 where the paren opened a macro, else 0
    macro_starts = {m.end() - 1: m for m in _MACRO.finditer(text)}
    for i, ch in enumerate(text):
        if ch == "(":
            m = macro_starts.get(i)
            if m is not None:
                nesting = sum(depth_at) + 1
                receiver = re.search(r"([A-Za-z_][\w]*(?:\s*\.\s*[A-Za-z_]\w*)*)\s*$",
                                     text[:m.start()])
                found.append(((receiver.group(1).replace(" ", "") if receiver else ""), nesting))
                depth_at.append(1)
            else:
                depth_at.append(0)
        elif ch == ")" and depth_at:
            depth_at.pop()
    return found


_TOKEN = re.compile(r"[A-Za-z_]\w*|\d+|==|!=|<=|>=|&&|\|\||[-+*/%<>!?]")


def operation_count(source: str) -> int:
    """About how many operations one evaluation performs: half the tokens (each operator has
    operands), the unit cel-go's estimator charges per call, comparison or field access."""
    return max(1, len(_TOKEN.findall(strip_strings(source))) // 2)


def cost_error_message(cost_name: str, cost: int, limit: int) -> str:
    """Kubernetes' getCostErrorMessage."""
    factor = cost / limit
    if factor > 100.0:
        text = "more than 100x"
    elif factor < 1.5:
        text = f"{factor:f}x"
    else:
        text = f"{factor:.1f}x"
    return (f"{cost_name} exceeds budget by factor of {text} (try simplifying the rule, or adding "
            "maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)")


_PATTERNS: dict[str, Program] = {}
_GENERIC_MATCH = "self[0].matches(self[1])"
TRIPLE = "'''"


def _pattern_program(pattern: str) -> Program:
    """`self.matches(<pattern>)` with the pattern a constant, so RE2 compiles it once."""
    program = _PATTERNS.get(pattern)
    if program is None:
        try:
            if TRIPLE in pattern or pattern.endswith("'") or pattern.endswith("\\"):
                raise CelCompileError("pattern cannot be quoted")
            program = compile_expression(f"self.matches(r{TRIPLE}{pattern}{TRIPLE})")
        except CelCompileError:
            program = compile_expression(_GENERIC_MATCH)
        if len(_PATTERNS) >= _CACHE_MAX:
            _PATTERNS.clear()
        _PATTERNS[pattern] = program
    return program


def regex_matches(pattern: str, value: str) -> bool:
    """RE2 search (Go's regexp semantics, linear time) through cel-cpp's `matches`.

    Python's `re` backtracks, so a schema `pattern` such as `^(a+)+$` could hold the event loop;
    RE2 cannot. Raises ValueError with RE2's words for a pattern that does not compile.
    """
    program = _pattern_program(pattern)
    data: Any = [value, pattern] if program.source == _GENERIC_MATCH else value
    result = program.expression.eval(data={"self": data})
    if result.type() == _cel.Type.ERROR:
        raise ValueError(_clean(str(result.value())))
    return bool(result.value())
