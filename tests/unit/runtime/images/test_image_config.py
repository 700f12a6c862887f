"""registries.yaml (k3s format) and imagePullSecret credentials."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from kubelite.runtime.images.config import (
    Credential,
    RegistriesConfig,
    is_loopback_host,
    load_registries,
)
from kubelite.runtime.images.credentials import find_credential

REGISTRIES_YAML = """
mirrors:
  docker.io:
    endpoint:
      - "http://127.0.0.1:5000"
      - "https://mirror.example.com/v2"
    rewrite:
      "^rancher/(.*)": "mirrored/rancher/$1"
  "*":
    endpoint: ["https://catch-all.example.com"]
configs:
  "mirror.example.com":
    auth: {username: alice, password: s3cret}
    tls: {insecure_skip_verify: true}
  "registry.example.com:5000":
    auth: {auth: "BOB_AUTH"}
""".replace("BOB_AUTH", base64.b64encode(b"bob:pw:with:colons").decode())


def test_missing_file_means_no_mirrors(tmp_path: Path) -> None:
    config = load_registries(str(tmp_path / "nope.yaml"))
    endpoints = config.endpoints_for("docker.io")
    assert [e.base_url for e in endpoints] == ["https://registry-1.docker.io"]


def test_mirrors_in_order_then_upstream(tmp_path: Path) -> None:
    path = tmp_path / "registries.yaml"
    path.write_text(REGISTRIES_YAML)
    config = load_registries(str(path))
    endpoints = config.endpoints_for("docker.io")
    assert [e.base_url for e in endpoints] == [
        "http://127.0.0.1:5000",
        "https://mirror.example.com",
        "https://registry-1.docker.io",
    ]
    assert [e.is_mirror for e in endpoints] == [True, True, False]
    assert endpoints[0].v2_url("library/busybox/manifests/latest") == (
        "http://127.0.0.1:5000/v2/library/busybox/manifests/latest"
    )


def test_rewrite_applies_to_mirrors_only(tmp_path: Path) -> None:
    config = RegistriesConfig.from_dict(
        {
            "mirrors": {
                "docker.io": {
                    "endpoint": ["http://127.0.0.1:5000"],
                    "rewrite": {"^rancher/(.*)": "mirrored/rancher/$1"},
                }
            }
        }
    )
    mirror, upstream = config.endpoints_for("docker.io")
    assert mirror.repository("rancher/k3s") == "mirrored/rancher/k3s"
    assert mirror.repository("library/busybox") == "library/busybox"
    assert upstream.repository("rancher/k3s") == "rancher/k3s"


def test_wildcard_mirror_for_registries_without_their_own(tmp_path: Path) -> None:
    config = RegistriesConfig.from_dict(yaml_dict())
    assert [e.base_url for e in config.endpoints_for("quay.io")] == [
        "https://catch-all.example.com",
        "https://quay.io",
    ]


def test_plain_http_only_for_loopback_or_explicit_http() -> None:
    config = RegistriesConfig.from_dict(
        {"mirrors": {"a.io": {"endpoint": ["localhost:5000", "mirror.example.com"]}}}
    )
    assert [e.base_url for e in config.endpoints_for("a.io")] == [
        "http://localhost:5000",
        "https://mirror.example.com",
        "https://a.io",
    ]
    assert config.endpoints_for("127.0.0.1:5000")[-1].base_url == "http://127.0.0.1:5000"
    assert config.endpoints_for("[::1]:5000")[-1].base_url == "http://[::1]:5000"
    assert config.endpoints_for("10.0.0.1:5000")[-1].base_url == "https://10.0.0.1:5000"
    assert is_loopback_host("127.1.2.3:80") and not is_loopback_host("example.com")


def test_configs_give_credentials_and_tls() -> None:
    config = RegistriesConfig.from_dict(yaml_dict())
    mirror = config.endpoints_for("docker.io")[1]
    assert config.credential_for(mirror) == Credential("alice", "s3cret")
    upstream = config.endpoints_for("registry.example.com:5000")[-1]
    assert config.credential_for(upstream) == Credential("bob", "pw:with:colons")
    hub = RegistriesConfig.from_dict({"configs": {"docker.io": {"auth": {"username": "h"}}}})
    assert hub.credential_for(hub.endpoints_for("docker.io")[-1]) == Credential("h", "")
    assert config.ssl_for(mirror) is False
    assert config.ssl_for(config.endpoints_for("docker.io")[2]) is True


def test_bad_auth_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="base64"):
        RegistriesConfig.from_dict({"configs": {"r.io": {"auth": {"auth": "***"}}}})


def yaml_dict() -> dict[str, object]:
    import yaml

    data = yaml.safe_load(REGISTRIES_YAML)
    assert isinstance(data, dict)
    return data


# -- imagePullSecrets ------------------------------------------------------------------------


def _secret(auths: dict[str, dict[str, str]]) -> dict[str, object]:
    return {"auths": auths}


def test_pull_secret_matches_host_and_port() -> None:
    secret = _secret({"registry.example.com:5000": {"username": "u", "password": "p"}})
    assert find_credential(secret, "registry.example.com:5000", "a/b") == Credential("u", "p")
    assert find_credential(secret, "registry.example.com", "a/b") is None


def test_pull_secret_auth_field_and_docker_hub_key() -> None:
    auth = base64.b64encode(b"hubuser:hubpass").decode()
    secret = _secret({"https://index.docker.io/v1/": {"auth": auth}})
    assert find_credential(secret, "docker.io", "library/busybox") == Credential(
        "hubuser", "hubpass"
    )
    assert find_credential(secret, "registry-1.docker.io", "x/y") == Credential(
        "hubuser", "hubpass"
    )


def test_pull_secret_wildcard_and_most_specific_path_wins() -> None:
    secrets = [
        _secret({"*.example.com": {"username": "any", "password": "1"}}),
        _secret({"r.example.com/team": {"username": "team", "password": "2"}}),
    ]
    assert find_credential(secrets, "r.example.com", "team/app") == Credential("team", "2")
    assert find_credential(secrets, "r.example.com", "other/app") == Credential("any", "1")
    assert find_credential(secrets, "example.com", "x") is None
    assert find_credential(None, "r.example.com", "x") is None
