"""Regenerate tables.py from the protobuf descriptors compiled into a kubectl binary.

Go's gogo-protobuf code registers every k8s.io generated.proto as a gzipped
FileDescriptorProto; kubectl carries those for k8s.io/api and apimachinery. Reading
them gives the exact field numbers of generated.proto without network access.
`make generate` runs this with the other generators; by hand:

    python -m kubelite.api.protobuf._gen_tables /usr/lib/google-cloud-sdk/bin/kubectl.1.32 \
        > src/kubelite/api/protobuf/tables.py
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path
from typing import Any

from kubelite.api import registry
from kubelite.api.protobuf.wire import iter_fields

SCALARS = {1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 8: "bool",
           9: "string", 12: "bytes", 13: "uint32", 17: "sint32", 18: "sint64"}
ALIASES = {
    "k8s.io.apimachinery.pkg.apis.meta.v1.": "meta.v1.",
    "k8s.io.apimachinery.pkg.util.intstr.": "intstr.",
    "k8s.io.apimachinery.pkg.api.resource.": "resource.",
    "k8s.io.apimachinery.pkg.runtime.schema.": "schema.",
    "k8s.io.apimachinery.pkg.runtime.": "runtime.",
    "k8s.io.api.": "",
}
# Not reachable from a kind but needed by the envelope and by kubectl's bodies.
EXTRA_ROOTS = ("runtime.Unknown", "meta.v1.Status", "meta.v1.DeleteOptions")


def short(full: str) -> str:
    full = full.lstrip(".")
    for prefix, alias in ALIASES.items():
        if full.startswith(prefix):
            return alias + full[len(prefix):]
    return full


def descriptors(binary: bytes) -> list[bytes]:
    out: list[bytes] = []
    pos = 0
    while (pos := binary.find(b"\x1f\x8b\x08", pos)) >= 0:
        try:
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(binary[pos:pos + 500_000])
        except zlib.error:
            data = b""
        if data[:1] == b"\x0a" and b"generated.proto" in data[:120] and b"k8s.io/" in data[:120]:
            out.append(data)
        pos += 3
    return out


def parse_file(data: bytes, messages: dict[str, dict[int, tuple[str, str]]]) -> None:
    package = ""
    bodies: list[bytes] = []
    for number, _, value in iter_fields(data):
        if number == 2 and isinstance(value, bytes):
            package = value.decode()
        elif number == 4 and isinstance(value, bytes):
            bodies.append(value)
    for body in bodies:
        parse_message(package, body, messages)


def parse_message(scope: str, data: bytes, messages: dict[str, dict[int, tuple[str, str]]]) -> None:
    name = ""
    fields: list[bytes] = []
    nested: list[bytes] = []
    for number, _, value in iter_fields(data):
        if not isinstance(value, bytes):
            continue
        if number == 1:
            name = value.decode()
        elif number == 2:
            fields.append(value)
        elif number == 3:
            nested.append(value)
    full = f"{scope}.{name}"
    entries: dict[str, tuple[str, str]] = {}
    for body in nested:  # map<K, V> fields are nested XxxEntry messages
        sub: dict[str, dict[int, tuple[str, str]]] = {}
        parse_message(full, body, sub)
        for sub_name, sub_fields in sub.items():
            entries[sub_name] = (sub_fields[1][1], sub_fields[2][1])
    table: dict[int, tuple[str, str]] = {}
    for body in fields:
        attrs: dict[int, int | bytes] = {n: v for n, _, v in iter_fields(body)}
        field_name = attrs[1].decode() if isinstance(attrs[1], bytes) else ""
        kind = attrs[5]
        type_name = attrs.get(6, b"")
        assert isinstance(type_name, bytes)
        if kind in (11, 14):
            ref = type_name.decode().lstrip(".")
            if short(ref) in entries:
                key_type, value_type = entries[short(ref)]
                table[int(attrs[3])] = (field_name, f"map[{key_type}]{value_type}")
                continue
            type_str = short(ref)
        else:
            type_str = SCALARS[int(kind)]
        if attrs.get(4) == 3:
            type_str = "[]" + type_str
        table[int(attrs[3])] = (field_name, type_str)
    messages[short(full)] = table


def definition_name(name: str) -> str:
    if name.startswith("meta.v1."):
        return "io.k8s.apimachinery.pkg.apis." + name
    return "io.k8s.api." + name


def mark_inline(messages: dict[str, dict[int, tuple[str, str]]], schemas: dict[str, Any]) -> None:
    """Give embedded Go structs (json:",inline") the JSON name "".

    A message field whose name is not a property of the JSON schema is such an
    embedding, e.g. Volume.volumeSource or ConfigMapKeySelector.localObjectReference.
    """
    for name, table in messages.items():
        schema = schemas.get(definition_name(name))
        if not schema or "properties" not in schema:
            continue
        by_lower = {prop.lower(): prop for prop in schema["properties"]}
        for number, (field_name, type_str) in list(table.items()):
            if field_name not in schema["properties"] and type_str in messages:
                table[number] = ("", type_str)
            elif field_name not in schema["properties"] and field_name.lower() in by_lower:
                # The proto name differs from the JSON one only in case (BoundObjectReference.uID).
                table[number] = (by_lower[field_name.lower()], type_str)


def closure(messages: dict[str, dict[int, tuple[str, str]]], roots: list[str]) -> list[str]:
    seen: list[str] = []
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name in seen or name not in messages:
            continue
        seen.append(name)
        for _, type_str in messages[name].values():
            for part in type_str.replace("[]", " ").replace("map[", " ").replace("]", " ").split():
                if part in messages:
                    todo.append(part)
    return sorted(seen)


def build(binary: bytes, schemas: dict[str, Any]) -> dict[str, dict[int, tuple[str, str]]]:
    """The tables of every message the registry's kinds reach, read from a kubectl binary;
    `schemas` is definitions.json (it tells embedded structs from fields)."""
    messages: dict[str, dict[int, tuple[str, str]]] = {}
    for data in descriptors(binary):
        parse_file(data, messages)
    mark_inline(messages, schemas)
    roots = [k.definition.removeprefix("io.k8s.api.") for k in registry.KINDS]
    roots += [d.removeprefix("io.k8s.api.") for d in registry.SUBRESOURCE_TYPES.values()]
    roots += list(EXTRA_ROOTS)
    return {name: messages[name] for name in closure(messages, roots)}


def render(tables: dict[str, dict[int, tuple[str, str]]]) -> str:
    """The text of tables.py."""
    lines = [
        '"""Field tables of the Kubernetes generated.proto messages kubelite decodes.',
        "",
        "Generated by _gen_tables.py from the descriptors inside kubectl 1.32; do not edit.",
        "message -> field number -> (JSON name, type); types are scalars, message names,",
        '"[]T" for repeated fields and "map[K]V" for maps. An empty JSON name marks an',
        "embedded Go struct whose fields appear inline in JSON (Volume.volumeSource).",
        '"""',
        "",
        "MESSAGES: dict[str, dict[int, tuple[str, str]]] = {",
    ]
    for name, table in tables.items():
        lines.append(f"    {name!r}: {{")
        for number, (field_name, type_str) in sorted(table.items()):
            lines.append(f"        {number}: ({field_name!r}, {type_str!r}),")
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    schemas = json.loads((Path(registry.__file__).parent / "definitions.json").read_text())
    sys.stdout.write(render(build(open(sys.argv[1], "rb").read(), schemas)))


if __name__ == "__main__":
    main()
