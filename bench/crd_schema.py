"""Custom resource admission cost: prune + default + OpenAPI validation + CEL rules, per object,
beside the floor of decoding the same JSON body (what every request pays anyway); CEL
libraries compared on compile and eval time; the worst cases the bounds allow.

Run: .venv/bin/python bench/crd_schema.py   (cel-python and common-expression-language are
compared only if installed: pip install cel-python common-expression-language)
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import msgspec

from kubelite.api.crd import cel
from kubelite.api.crd.structural import CompiledSchema, validate_crd_schema

ITEM = {"type": "object", "required": ["name"], "properties": {
    "name": {"type": "string", "maxLength": 63, "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
    "port": {"x-kubernetes-int-or-string": True},
    "weight": {"type": "integer", "minimum": 0, "maximum": 100, "default": 1},
    "protocol": {"type": "string", "enum": ["TCP", "UDP"], "default": "TCP"}}}
SCHEMA: dict[str, Any] = {"type": "object", "properties": {
    "spec": {"type": "object", "required": ["replicas"], "properties": {
        "replicas": {"type": "integer", "minimum": 0, "maximum": 100},
        "minReplicas": {"type": "integer", "default": 1},
        "image": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "ports": {"type": "array", "maxItems": 64, "items": ITEM,
                  "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}}},
    "status": {"type": "object", "properties": {"ready": {"type": "integer"}}}}}
RULES = [{"rule": "self.minReplicas <= self.replicas", "message": "minReplicas > replicas"},
         {"rule": "!has(self.image) || self.image.contains(':')", "message": "tag the image"},
         {"rule": "self.ports.all(p, p.weight <= 100)"}]


def _obj(n_ports: int) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "App",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 3, "image": "nginx:1.27", "labels": {"app": "web", "tier": "fe"},
                     "unknown": {"pruned": True},
                     "ports": [{"name": f"p{i}", "port": 8000 + i} for i in range(n_ports)]}}


def _rate(fn: Callable[[], Any], seconds: float = 0.5) -> float:
    """Calls per second of this process's CPU time (the machine is shared: wall time would
    count other processes' turns)."""
    n, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        fn()
        n += 1
    return n / (time.process_time() - start)


def admission(with_rules: bool, n_ports: int) -> tuple[float, float]:
    schema = copy.deepcopy(SCHEMA)
    if with_rules:
        schema["properties"]["spec"]["x-kubernetes-validations"] = RULES
        schema["properties"]["spec"]["properties"]["ports"]["items"]["x-kubernetes-validations"] = [
            {"rule": "self.name.size() <= 15", "message": "short names"}]
    compiled = CompiledSchema.compile(schema)
    body = msgspec.json.encode(_obj(n_ports))

    def admit() -> None:
        obj = msgspec.json.decode(body)
        compiled.prune(obj)
        compiled.default(obj)
        assert not compiled.validate(obj)

    return _rate(admit), _rate(lambda: msgspec.json.decode(body))


def cel_libraries() -> list[tuple[str, float, float]]:
    exprs = ["self.replicas <= self.maxReplicas", "self.tags.all(x, x.startsWith('a'))",
             "self.name.matches('^[a-z]+$')"]
    data = {"replicas": 3, "maxReplicas": 5, "name": "abc", "tags": ["a", "ab"] * 10}
    rows = []

    def measure(name: str, comp: Callable[[str], Any], ev: Callable[[Any], Any]) -> None:
        t = time.process_time()
        for _ in range(100):
            for e in exprs:
                comp(e)
        compile_us = (time.process_time() - t) / 300 * 1e6
        progs = [comp(e) for e in exprs]
        t = time.process_time()
        for _ in range(500):
            for p in progs:
                ev(p)
        rows.append((name, compile_us, (time.process_time() - t) / 1500 * 1e6))

    from cel_expr_python import cel as cpp
    env = cpp.NewEnv(variables={"self": cpp.Type.DYN})
    measure("cel-expr-python (cel-cpp)", env.compile, lambda p: p.eval(data={"self": data}))
    try:
        import cel as rust  # common-expression-language
        measure("common-expression-language (Rust)", rust.compile,
                lambda p: p.execute({"self": data}))
    except ImportError:
        pass
    try:
        import celpy
        penv = celpy.Environment()
        measure("cel-python (pure Python)", lambda e: penv.program(penv.compile(e)),
                lambda p: p.evaluate({"self": celpy.json_to_cel(data)}))
    except ImportError:
        pass
    return rows


def worst_cases() -> list[tuple[str, float]]:
    rows = []
    nested = cel.compile_expression("self.all(a, self.all(b, a != b || a == b))")
    act = cel.activation(list(range(5000)))
    t = time.process_time()
    try:
        nested.run(act)
    except cel.CelEvalError:
        pass
    rows.append(("nested all() over 5,000 items, stopped by the iteration limit",
                 (time.process_time() - t) * 1e3))
    t = time.process_time()
    cel.regex_matches("^(a+)+$", "a" * 100_000 + "b")
    rows.append(("pattern ^(a+)+$ on 100 kB (RE2; a backtracking engine never ends)",
                 (time.process_time() - t) * 1e3))
    schema = copy.deepcopy(SCHEMA)
    schema["properties"]["spec"]["properties"]["ports"].pop("maxItems")
    schema["properties"]["spec"]["properties"]["ports"]["items"]["x-kubernetes-validations"] = [
        {"rule": "self.name.size() <= 15"}]
    compiled = CompiledSchema.compile(schema)
    obj = _obj(10_000)
    compiled.default(obj)
    t = time.process_time()
    compiled.validate(obj)
    rows.append(("one object with 10,000 list items, a rule on each item",
                 (time.process_time() - t) * 1e3))
    big = _wide_schema(5)
    t = time.process_time()
    assert not validate_crd_schema(big, "spec.versions[0].schema.openAPIV3Schema")
    rows.append((f"validate_crd_schema of a {len(msgspec.json.encode(big)) >> 10} KiB schema "
                 "(9,331 nodes)", (time.process_time() - t) * 1e3))
    return rows


def _wide_schema(depth: int) -> dict[str, Any]:
    def node(d: int) -> dict[str, Any]:
        if d == 0:
            return {"type": "string", "maxLength": 10, "pattern": "^[a-z]+$"}
        out: dict[str, Any] = {"type": "object", "description": "x" * 200,
                               "properties": {f"p{i}": node(d - 1) for i in range(6)}}
        if d == 2:
            out["x-kubernetes-validations"] = [{"rule": "has(self.p0) || !has(self.p1)"}]
        return out
    return {"type": "object", "properties": {"spec": node(depth)}}


def main() -> None:
    print("Custom resource admission (decode + prune + default + validate), objects per CPU-second")
    print(f"{'case':44} {'kubelite':>10} {'floor: decode':>14} {'ratio':>7}")
    for rules in (False, True):
        for n in (1, 32):
            ours, floor = admission(rules, n)
            label = f"{n} list items, {'with' if rules else 'no'} CEL rules"
            print(f"{label:44} {ours:10.0f} {floor:14.0f} {ours / floor:7.1%}")
    print("\nCEL libraries: CPU microseconds per compile / per eval (3 typical rules)")
    for name, comp, ev in cel_libraries():
        print(f"{name:36} {comp:9.1f} {ev:9.1f}")
    print("\nBounded worst cases, CPU milliseconds")
    for name, ms in worst_cases():
        print(f"{name:70} {ms:8.1f}")


if __name__ == "__main__":
    main()
