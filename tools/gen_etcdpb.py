"""etcd's v3 API messages for the store: `store/etcdpb/etcd_pb2.py` and `.pyi` from `etcd.proto`.

protoc comes from grpcio-tools (pinned in pyproject.toml's test extra, so the generated text,
which names protoc's version, is the same on every machine). Called by tools/generate.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

ETCDPB = Path("src/kubelite/store/etcdpb")
ROOT = Path(__file__).resolve().parent.parent


def render() -> dict[Path, str]:
    """The generated files' text by path relative to the repository root."""
    from grpc_tools import protoc  # a development tool, not needed at run time

    with tempfile.TemporaryDirectory(prefix="kubelite-etcdpb-") as out:
        source = ROOT / ETCDPB
        status = protoc.main(
            ["protoc", f"-I{source}", f"--python_out={out}", f"--pyi_out={out}", str(source / "etcd.proto")]
        )
        if status != 0:
            raise RuntimeError(f"protoc failed on {source / 'etcd.proto'} (exit {status})")
        return {ETCDPB / name: (Path(out) / name).read_text() for name in ("etcd_pb2.py", "etcd_pb2.pyi")}
