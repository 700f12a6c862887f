"""Image references parse and normalise as Docker and containerd do."""

from __future__ import annotations

import pytest

from kubelite.runtime.images import InvalidImageName, is_valid_reference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("rancher/k3s:v1.30", "docker.io/rancher/k3s:v1.30"),
        ("index.docker.io/library/nginx", "docker.io/library/nginx:latest"),
        ("docker.io/nginx", "docker.io/library/nginx:latest"),
        ("localhost/foo", "localhost/foo:latest"),
        ("localhost:5000/foo", "localhost:5000/foo:latest"),
        ("127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1"),
        ("registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"),
        (f"host:5000/a/b@{DIGEST}", f"host:5000/a/b@{DIGEST}"),
        (f"busybox:1.36@{DIGEST}", f"docker.io/library/busybox:1.36@{DIGEST}"),
        ("a_b/c-d.e__f", "docker.io/a_b/c-d.e__f:latest"),
    ],
)
def test_normalises_like_docker(text: str, expected: str) -> None:
    assert str(parse_reference(text)) == expected


def test_parts_of_a_reference() -> None:
    ref = parse_reference(f"host:5000/a/b:v1@{DIGEST}")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("host:5000", "a/b", "v1", DIGEST)
    assert ref.name == "host:5000/a/b"
    assert str(ref.with_digest(DIGEST)) == f"host:5000/a/b@{DIGEST}"


def test_digest_only_reference_has_no_default_tag() -> None:
    assert parse_reference(f"busybox@{DIGEST}").tag is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        (" busybox", "whitespace"),
        ("Busybox", "lowercase"),
        ("busybox:", "bad tag"),
        ("busybox:a/b", "bad"),
        ("busybox@sha256:" + "a" * 40, "64 lowercase hex"),
        ("busybox@sha256:abc", "bad digest"),
        ("busybox@md5:" + "a" * 32, "unsupported digest"),
        ("a" * 64, "64-byte hexadecimal"),
        ("foo//bar", "bad repository"),
        ("-foo", "bad repository"),
        ("foo/", "bad repository"),
        ("host:port/x", "bad"),
        ("x/" + "a" * 300, "255"),
    ],
)
def test_malformed_references_are_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(InvalidImageName, match=words) as info:
        parse_reference(text)
    assert isinstance(info.value, ValueError)
    assert info.value.reason == "InvalidImageName"
    assert not is_valid_reference(text)


def test_is_valid_reference_accepts_normal_images() -> None:
    assert is_valid_reference("nginx:1.25-alpine")
    assert is_valid_reference(f"ghcr.io/org/app@{DIGEST}")
