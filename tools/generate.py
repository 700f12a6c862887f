"""`make generate`: regenerate every generated file of kubelite from its pinned source.

- ``src/kubelite/api/definitions.json`` and ``src/kubelite/api/types/*.py`` from the
  Kubernetes 1.32 definitions in the pinned kubernetes-validate wheel (tools/gen_api.py);
- ``src/kubelite/api/protobuf/tables.py`` from the generated.proto descriptors compiled
  into kubectl 1.32 (api/protobuf/_gen_tables.py), for the kinds in api/registry.py;
- ``src/kubelite/api/protobuf/presence.py`` from the Go struct types in the same kubectl
  (api/protobuf/_gen_presence.py), for the messages of those tables;
- ``src/kubelite/store/etcdpb/etcd_pb2.py`` and ``.pyi`` from ``etcd.proto`` beside them
  (tools/gen_etcdpb.py).

Each step reads the previous step's fresh output, never the committed copy, so writing
into another directory (``--out DIR``) shows exactly what a regeneration would change;
tests/unit/test_generated_code.py does that and fails on any difference.

Run from the repository root: ``python -m tools.generate [--out DIR] [--schema FILE]
[--kubectl BINARY] [--check]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kubelite.api.protobuf import _gen_presence, _gen_tables
from tools import gen_api, gen_etcdpb

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
PROTOBUF = gen_api.API / "protobuf"
TYPES = gen_api.API / "types"
HAND_WRITTEN_TYPES = {"__init__.py", "_base.py"}  # the rest of api/types is generated


def generate(schema: Path, kubectl: Path) -> dict[Path, str]:
    """Every generated file's text by its path relative to the repository root."""
    files = gen_api.render(gen_api.load(schema))
    definitions = json.loads(files[gen_api.API / "definitions.json"])
    binary = kubectl.read_bytes()
    tables = _gen_tables.build(binary, definitions)
    files[PROTOBUF / "tables.py"] = _gen_tables.render(tables)
    files[PROTOBUF / "presence.py"] = _gen_presence.render(binary, tables)
    files.update(gen_etcdpb.render())
    return files


def stale_types(root: Path, files: dict[Path, str]) -> list[Path]:
    """Generated type modules under `root` that a regeneration no longer writes."""
    directory = root / TYPES
    if not directory.is_dir():
        return []
    return [TYPES / p.name for p in sorted(directory.glob("*.py"))
            if p.name not in HAND_WRITTEN_TYPES and TYPES / p.name not in files]


def drift(root: Path, files: dict[Path, str]) -> list[Path]:
    """Paths under `root` that differ from `files`, are missing, or are stale."""
    changed = [p for p, text in files.items() if not (root / p).is_file() or (root / p).read_text() != text]
    return changed + stale_types(root, files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="root to write into (default: the repository)")
    parser.add_argument("--schema", type=Path, help="a _definitions.json instead of the pinned wheel's")
    parser.add_argument("--kubectl", type=Path, default=KUBECTL, help="kubectl 1.32 binary")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything would change")
    args = parser.parse_args()
    files = generate(args.schema or gen_api.schema_path(), args.kubectl)
    if args.check:
        changed = drift(args.out, files)
        for path in changed:
            print(f"out of date: {path}")
        raise SystemExit(1 if changed else 0)
    for path in stale_types(args.out, files):
        (args.out / path).unlink()
        print(f"removed {path}")
    for path, text in files.items():
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            print(f"wrote {path}")
    print(f"{len(files)} generated files under {args.out}")


if __name__ == "__main__":
    main()
