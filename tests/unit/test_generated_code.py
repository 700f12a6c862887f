"""Generated code stays generated: regenerating from the pinned sources changes nothing.

`make generate` (tools/generate.py) writes definitions.json, api/types and the protobuf
tables from the kubernetes-validate wheel pinned in pyproject.toml (installed in .venv by
the test extras, so no network is needed here) and kubectl 1.32. A hand edit of a
generated file, or a kind added to the registry without regenerating, fails here.
"""

from __future__ import annotations

import difflib
import subprocess
import sys
from pathlib import Path

import pytest

from tools import gen_api, generate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root holding a fresh `make generate`, written by the command itself."""
    out = tmp_path_factory.mktemp("generated")
    subprocess.run([sys.executable, "-m", "tools.generate", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=240)
    return out


def _generated_paths(root: Path) -> set[Path]:
    types = {generate.TYPES / p.name for p in (root / generate.TYPES).glob("*.py")
             if p.name not in generate.HAND_WRITTEN_TYPES}
    return types | {gen_api.API / "definitions.json", generate.PROTOBUF / "tables.py",
                    generate.PROTOBUF / "presence.py"}


def test_the_schema_source_is_the_pinned_wheel() -> None:
    pinned = f'"kubernetes-validate=={gen_api.SCHEMA_VERSION}"'
    assert pinned in (ROOT / "pyproject.toml").read_text()
    assert gen_api.schema_path().is_file()


def test_regeneration_writes_every_generated_file_and_no_other(regenerated: Path) -> None:
    assert _generated_paths(regenerated) == _generated_paths(ROOT)


def test_committed_generated_files_match_a_fresh_regeneration(regenerated: Path) -> None:
    drifted = []
    for path in sorted(_generated_paths(ROOT)):
        fresh, committed = (regenerated / path).read_text(), (ROOT / path).read_text()
        if fresh != committed:
            diff = difflib.unified_diff(committed.splitlines(), fresh.splitlines(), "committed", "generated",
                                        lineterm="", n=1)
            drifted.append(f"{path}:\n" + "\n".join(list(diff)[:20]))
    assert not drifted, "run `make generate`; these differ:\n" + "\n".join(drifted)


def test_check_reports_a_hand_edited_file_and_a_stale_module(tmp_path: Path) -> None:
    """`python -m tools.generate --check` (what CI could run) sees a changed file and one
    that a regeneration would remove, and passes on the repository as committed."""
    ok = subprocess.run([sys.executable, "-m", "tools.generate", "--check"], cwd=ROOT,
                        capture_output=True, text=True, timeout=240)
    assert ok.returncode == 0, ok.stdout
    copy = tmp_path / "root"
    subprocess.run([sys.executable, "-m", "tools.generate", "--out", str(copy)], cwd=ROOT, check=True,
                   capture_output=True, timeout=240)
    edited = copy / generate.TYPES / "core_v1.py"
    edited.write_text(edited.read_text().replace("class Pod(", "class Pod2(", 1))
    (copy / generate.TYPES / "gone_v1.py").write_text("")
    bad = subprocess.run([sys.executable, "-m", "tools.generate", "--check", "--out", str(copy)], cwd=ROOT,
                         capture_output=True, text=True, timeout=240)
    assert bad.returncode == 1
    assert bad.stdout.split("\n")[:2] == [f"out of date: {generate.TYPES / 'core_v1.py'}",
                                          f"out of date: {generate.TYPES / 'gone_v1.py'}"]
