"""The joining server's refusals before it sends anything."""

from __future__ import annotations

import pytest

from kubelite.etcd.join import ClusterJoin, ServerJoinError

TOKEN = "K10" + "a" * 64 + "::server:secret"


def test_a_server_joins_only_with_the_full_token_over_https() -> None:
    with pytest.raises(ServerJoinError, match="full token"):
        ClusterJoin("https://10.0.0.1:6443", "secret")
    with pytest.raises(ServerJoinError, match="https"):
        ClusterJoin("http://10.0.0.1:6443", TOKEN)
    with pytest.raises(ServerJoinError, match="--token"):
        ClusterJoin("https://10.0.0.1:6443", "K10abc::server:x")
    assert ClusterJoin("https://10.0.0.1:6443/", TOKEN).server == "https://10.0.0.1:6443"
