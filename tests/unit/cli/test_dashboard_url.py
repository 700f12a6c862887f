"""`kubelite dashboard` prints the page's URL, with the kubeconfig user's token in the fragment."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from kubelite.cli import dashboard
from kubelite.client.kubeconfig import build


def config(tmp_path: Path, credentials: dict[str, str]) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(build("https://10.0.0.1:6443", None, "u", credentials)))
    return str(path)


async def run(path: str) -> int:
    return await dashboard.run(argparse.Namespace(kubeconfig=path, service_account="", duration="1h"))


async def test_token_goes_in_the_fragment_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(config(tmp_path, {"token": "a/b+c"})) == 0
    assert capsys.readouterr().out == "https://10.0.0.1:6443/dashboard/#token=a%2Fb%2Bc\n"


async def test_token_file_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "tok").write_text("from-file\n")
    assert await run(config(tmp_path, {"tokenFile": "tok"})) == 0
    assert capsys.readouterr().out.endswith("#token=from-file\n")


async def test_without_a_token_the_page_asks_for_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(config(tmp_path, {"client-certificate-data": "eA=="})) == 0
    out = capsys.readouterr()
    assert out.out == "https://10.0.0.1:6443/dashboard/\n" and "kubectl create token" in out.err


async def test_missing_kubeconfig_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(str(tmp_path / "nope")) == 1
    assert "cannot read kubeconfig" in capsys.readouterr().err
