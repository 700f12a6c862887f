"""Regenerate presence.py from the Go struct types compiled into a kubectl binary.

Which scalar fields a Go object carries in JSON depends on its Go type, not on
generated.proto: a non-pointer field without `omitempty` is always written (PDB
`status.currentHealthy: 0`), a pointer is written whenever set, even to zero
(`spec.replicas: 0`), and a non-pointer `omitempty` field only when non-zero.
Go's reflection keeps every struct's fields with their kind and tags in the binary,
so reading them gives the exact answer for the version kubectl was built from
(`make generate` runs this after _gen_tables.py; by hand):

    python -m kubelite.api.protobuf._gen_presence /usr/lib/google-cloud-sdk/bin/kubectl.1.32 \
        > src/kubelite/api/protobuf/presence.py

The layouts read are Go's internal/abi Type, StructType, StructField, UncommonType and
Name for amd64 (Go 1.22+); kubectl is a static, non-PIE ELF, so pointers are addresses.
"""

from __future__ import annotations

import re
import struct
import sys
from dataclasses import dataclass

from kubelite.api.protobuf.codec import SPECIAL
from kubelite.api.protobuf.tables import MESSAGES

_BOOL, _INT, _INT32, _INT64, _FLOAT64 = 1, 2, 5, 6, 14
_MAP, _PTR, _SLICE, _STRING, _STRUCT = 21, 22, 23, 24, 25
_ZEROS = {_BOOL: False, _INT: 0, _INT32: 0, _INT64: 0, _FLOAT64: 0.0, _STRING: ""}
_PACKAGES = {"k8s.io/apimachinery/pkg/apis/meta/v1": "meta.v1", "k8s.io/apimachinery/pkg/runtime": "runtime"}


@dataclass
class GoField:
    kind: int  # reflect.Kind of the field's type
    elem_kind: int | None  # for pointers, the kind pointed to
    json: str  # the json struct tag
    proto_number: int | None


class GoBinary:
    """Reads reflect type data out of a static amd64 Go ELF binary."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        shoff, = struct.unpack_from("<Q", data, 0x28)
        entsize, count, names_index = struct.unpack_from("<HHH", data, 0x3A)
        headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * entsize) for i in range(count)]
        names = headers[names_index][4]
        self.sections = {data[names + h[0]:].split(b"\0", 1)[0].decode(): (h[3], h[4], h[5]) for h in headers}
        self.types_base = self.sections[".rodata"][0]  # runtime.types opens .rodata

    def _offset(self, address: int) -> int:
        for start, offset, size in self.sections.values():
            if start and start <= address < start + size:
                return address - start + offset
        raise ValueError(f"address {address:#x} is in no section")

    def u8(self, address: int) -> int:
        return self.data[self._offset(address)]

    def u64(self, address: int) -> int:
        return int(struct.unpack_from("<Q", self.data, self._offset(address))[0])

    def i32(self, address: int) -> int:
        return int(struct.unpack_from("<i", self.data, self._offset(address))[0])

    def _varint(self, address: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            byte = self.u8(address)
            address += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value, address

    def _text(self, address: int, length: int) -> str:
        start = self._offset(address)
        return self.data[start:start + length].decode()

    def name(self, address: int) -> tuple[str, str]:
        """An abi.Name: (name, tag)."""
        flags = self.u8(address)
        length, address = self._varint(address + 1)
        text = self._text(address, length)
        if not flags & 2:
            return text, ""
        tag_length, address = self._varint(address + length)
        return text, self._text(address, tag_length)

    def kind(self, rtype: int) -> int:
        return self.u8(rtype + 23) & 31

    def type_name(self, rtype: int) -> str:
        text, _ = self.name(self.types_base + self.i32(rtype + 40))
        return text[1:] if self.u8(rtype + 20) & 2 else text  # tflagExtraStar

    def package(self, struct_type: int) -> str:
        if not self.u8(struct_type + 20) & 1:  # tflagUncommon
            return ""
        offset = self.i32(struct_type + 80)  # UncommonType.PkgPath follows StructType
        return self.name(self.types_base + offset)[0] if offset else ""

    def structs(self) -> dict[str, dict[str, GoField]]:
        """Every struct type reachable from the type links: "pkg/path.Name" -> Go field name -> field."""
        start, offset, size = self.sections[".typelink"]
        todo = [self.types_base + struct.unpack_from("<i", self.data, offset + i)[0] for i in range(0, size, 4)]
        seen: set[int] = set()
        out: dict[str, dict[str, GoField]] = {}
        while todo:
            rtype = todo.pop()
            if rtype in seen:
                continue
            seen.add(rtype)
            kind = self.kind(rtype)
            if kind in (_PTR, _SLICE, 17):  # 17: array; the element type sits at +48
                todo.append(self.u64(rtype + 48))
            elif kind == _MAP:
                todo += [self.u64(rtype + 48), self.u64(rtype + 56)]
            elif kind == _STRUCT:
                out_fields: dict[str, GoField] = {}
                fields, count = self.u64(rtype + 56), self.u64(rtype + 64)
                for i in range(count):
                    field = fields + 24 * i
                    field_name, tag = self.name(self.u64(field))
                    field_type = self.u64(field + 8)
                    todo.append(field_type)
                    field_kind = self.kind(field_type)
                    elem = self.kind(self.u64(field_type + 48)) if field_kind == _PTR else None
                    out_fields[field_name] = GoField(field_kind, elem, _tag(tag, "json"), _proto_number(tag))
                package = self.package(rtype)
                if package:
                    out[f"{package}.{self.type_name(rtype).rpartition('.')[2]}"] = out_fields
        return out


def _tag(tag: str, key: str) -> str:
    match = re.search(rf'(?:^| ){key}:"([^"]*)"', tag)
    return match.group(1) if match else ""


def _proto_number(tag: str) -> int | None:
    parts = _tag(tag, "protobuf").split(",")
    return int(parts[1]) if len(parts) > 1 else None


def go_name(message: str) -> str:
    """"policy.v1.PodDisruptionBudgetStatus" -> "k8s.io/api/policy/v1.PodDisruptionBudgetStatus"."""
    package, _, kind = message.rpartition(".")
    for go_package, short in _PACKAGES.items():
        if package == short:
            return f"{go_package}.{kind}"
    return f"k8s.io/api/{package.replace('.', '/')}.{kind}"


Tables = dict[str, dict[int, tuple[str, str]]]


def classify(go: dict[str, dict[str, GoField]], messages: Tables) -> tuple[dict[str, list[str]], dict[str, dict[str, object]]]:
    """Per message: its pointer scalars, and its always-written scalars with their zero."""
    pointers: dict[str, list[str]] = {}
    always: dict[str, dict[str, object]] = {}
    for message, table in sorted(messages.items()):
        struct = go.get(go_name(message))
        if message in SPECIAL or struct is None:
            continue  # a named non-struct type (ExtraValue is a []string) has no fields of its own
        fields = {f.proto_number: f for f in struct.values() if f.proto_number}
        for number, (json_name, type_str) in sorted(table.items()):
            if type_str not in ("string", "bool", "int32", "int64", "double"):
                continue
            field = fields[number]
            if field.kind == _PTR:
                pointers.setdefault(message, []).append(json_name)
            elif "omitempty" not in field.json.split(",")[1:]:
                always.setdefault(message, {})[json_name] = _ZEROS[field.kind]
    return pointers, always


def render(binary: bytes, messages: Tables) -> str:
    """The text of presence.py for the messages of tables.py, read from a kubectl binary."""
    pointers, always = classify(GoBinary(binary).structs(), messages)
    lines = [
        '"""Which scalar fields of each message Go\'s JSON carries; see _gen_presence.py.',
        "",
        "Generated from the Go struct types inside kubectl 1.32; do not edit.",
        "POINTERS: fields that are Go pointers, so a zero sent is a value (`replicas: 0`).",
        "ALWAYS: non-pointer fields without omitempty, written even at zero, with that zero",
        "(`currentHealthy: 0`). Other scalars are omitempty: JSON leaves their zero out.",
        '"""',
        "",
        "POINTERS: dict[str, frozenset[str]] = {",
    ]
    lines += [f"    {message!r}: frozenset({tuple(names)!r})," for message, names in pointers.items()]
    lines += ["}", "", "ALWAYS: dict[str, dict[str, object]] = {"]
    lines += [f"    {message!r}: {zeros!r}," for message, zeros in always.items()]
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> None:
    sys.stdout.write(render(open(sys.argv[1], "rb").read(), MESSAGES))


if __name__ == "__main__":
    main()
