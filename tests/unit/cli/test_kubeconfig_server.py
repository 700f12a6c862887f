"""`kubelite kubeconfig --server URL`: the address written into a printed kubeconfig."""

from __future__ import annotations

import pytest

from kubelite.cli.kubeconfig import server_url, with_server
from kubelite.client import kubeconfig


@pytest.mark.parametrize("url", ["https://api.example.com:6443", "https://10.0.0.5:6443/",
                                 "https://[fd00::5]:6443", "https://lb.example.com"])
def test_https_urls_of_a_host_are_accepted(url: str) -> None:
    assert server_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://api.example.com:6443", "api.example.com:6443",
                                 "https://:6443", "https://lb:99999", "https://lb:6443/api",
                                 "https://lb:6443?x=1"])
def test_other_urls_are_refused_with_the_flag_named(url: str) -> None:
    with pytest.raises(ValueError, match="--server"):
        server_url(url)


def test_every_cluster_of_the_kubeconfig_gets_the_address() -> None:
    doc = kubeconfig.build("https://10.0.0.1:6443", b"CA", "admin", {"token": "t"})
    assert with_server(doc, "https://lb:6443")["clusters"][0]["cluster"] == {
        "server": "https://lb:6443", "certificate-authority-data": "Q0E="}
