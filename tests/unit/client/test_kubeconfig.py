"""Kubeconfig discovery order and the fields the client reads."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
import yaml

from kubelite.client import KubeconfigError, load_kubeconfig
from kubelite.client.kubeconfig import find_kubeconfig

CONFIG = """
apiVersion: v1
kind: Config
current-context: dev
contexts:
- name: dev
  context: {cluster: c1, user: u1}
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: %s
    insecure-skip-tls-verify: true
users:
- name: u1
  user: {token: abc}
"""


def write(path: Path, ca: bytes = b"CA PEM") -> Path:
    path.write_text(CONFIG % base64.b64encode(ca).decode())
    return path


def test_reads_server_token_ca_and_insecure(tmp_path: Path) -> None:
    cfg = load_kubeconfig(str(write(tmp_path / "cfg")))
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.token == "abc" and cfg.ca_data == b"CA PEM" and cfg.insecure


def test_explicit_path_beats_env_beats_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = write(tmp_path / "env")
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path / 'missing'}:{env_file}")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_kubeconfig("/x/explicit") == Path("/x/explicit")
    assert find_kubeconfig() == env_file
    monkeypatch.delenv("KUBECONFIG")
    assert find_kubeconfig() == tmp_path / ".kube" / "config"


def test_missing_context_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cfg"
    path.write_text("apiVersion: v1\nkind: Config\n")
    with pytest.raises(KubeconfigError):
        load_kubeconfig(str(path))


def test_a_built_kubeconfig_with_an_inline_client_certificate_loads_into_a_client(tmp_path: Path) -> None:
    from kubelite.apiserver import client_certs
    from kubelite.client import ApiClient
    from kubelite.client.kubeconfig import build, client_certificate

    cert, key = client_certs.mint(tmp_path / "tls", "alice", ["dev"])
    ca = (tmp_path / "tls" / "client-ca.crt").read_bytes()
    doc = build("https://127.0.0.1:6443", ca, "alice", client_certificate(cert, key), context="alice@kubelite")
    path = tmp_path / "alice.yaml"
    path.write_text(yaml.safe_dump(doc))
    cfg = load_kubeconfig(str(path))
    assert (cfg.server, cfg.ca_data, cfg.token) == ("https://127.0.0.1:6443", ca, None)
    assert (cfg.client_cert_data, cfg.client_key_data) == (cert, key)
    ApiClient.from_config(cfg)  # the pair is loaded into its TLS context...
    _, other_key = client_certs.mint(tmp_path / "tls", "bob")
    with pytest.raises(ssl.SSLError):  # ...as a key of another certificate shows
        ApiClient("https://127.0.0.1:6443", ca_data=ca, client_cert_data=cert, client_key_data=other_key)
