"""The bootstrap data a joining server copies: only the named files, by their own paths."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from kubelite.etcd import bootstrap


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_files_travel_and_land_private(tmp_path: Path) -> None:
    src, dst = tmp_path / "first", tmp_path / "joining"
    for rel in ("tls/ca.crt", "tls/ca.key", "auth/service-account.key"):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(rel.encode())
    (src / "auth" / "admin-token").write_text("per-server")  # not shared
    doc = bootstrap.collect(src)
    assert set(doc) == {"tls/ca.crt", "tls/ca.key", "auth/service-account.key"}
    assert bootstrap.write(dst, doc) == sorted(doc)
    assert (dst / "tls" / "ca.key").read_bytes() == b"tls/ca.key"
    assert stat.S_IMODE((dst / "tls" / "ca.key").stat().st_mode) == 0o600


@pytest.mark.parametrize("doc", [
    {"tls/ca.crt": _b64(b"x")},  # no CA key
    {"tls/ca.crt": _b64(b"x"), "tls/ca.key": _b64(b"k"), "../../etc/passwd": _b64(b"root")},
    {"tls/ca.crt": _b64(b"x"), "tls/ca.key": "not base64!"},
    {"tls/ca.crt": _b64(b"x"), "tls/ca.key": 5},
    ["tls/ca.crt"],
])
def test_anything_else_is_refused_and_nothing_is_written(tmp_path: Path, doc: object) -> None:
    with pytest.raises(bootstrap.BootstrapError):
        bootstrap.write(tmp_path, doc)
    assert not any(tmp_path.iterdir())
