"""Image references, parsed and normalised the way Docker and containerd do.

``busybox`` means ``docker.io/library/busybox:latest``; ``host:5000/a/b@sha256:...`` names a
registry on ``host:5000``. The grammar is the one of github.com/distribution/reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidImageName

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_PATH_RE = re.compile(rf"{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*")
_DOMAIN_RE = re.compile(_DOMAIN)
_TAG_RE = re.compile(_TAG)
_DIGEST_RE = re.compile(_DIGEST)
_HEX64_RE = re.compile(r"[a-f0-9]{64}")


@dataclass(frozen=True)
class Reference:
    """A fully qualified image reference: ``domain/path[:tag][@digest]``."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """``docker.io/library/busybox``: the repository with its registry."""
        return f"{self.domain}/{self.path}"

    def with_digest(self, digest: str) -> Reference:
        """The same repository pinned to ``digest`` (no tag): what ``imageID`` shows."""
        return Reference(self.domain, self.path, None, digest)

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out


def parse_reference(text: str) -> Reference:
    """Parse and normalise ``text``; raise :class:`InvalidImageName` if it is malformed."""
    if not isinstance(text, str) or text == "":
        raise InvalidImageName("invalid reference format: image name is empty")
    if text != text.strip():
        raise InvalidImageName(
            f"invalid reference format: image name {text!r} has leading or trailing whitespace"
        )
    if _HEX64_RE.fullmatch(text):
        raise InvalidImageName(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings"
        )
    remainder, digest = _split_digest(text)
    remainder, tag = _split_tag(remainder)
    domain, path = _split_domain(remainder)
    if not _DOMAIN_RE.fullmatch(domain):
        raise InvalidImageName(
            f"invalid reference format: bad registry host {domain!r} in {text!r}"
        )
    if path != path.lower() and _PATH_RE.fullmatch(path.lower()):
        raise InvalidImageName(
            f"invalid reference format: repository name must be lowercase: {text!r}"
        )
    if not _PATH_RE.fullmatch(path):
        raise InvalidImageName(f"invalid reference format: bad repository name in {text!r}")
    if len(f"{domain}/{path}") > NAME_TOTAL_LENGTH_MAX:
        raise InvalidImageName(
            f"invalid reference format: repository name must not be more than "
            f"{NAME_TOTAL_LENGTH_MAX} characters"
        )
    if tag is None and digest is None:
        tag = DEFAULT_TAG
    return Reference(domain, path, tag, digest)


def is_valid_reference(text: str) -> bool:
    """True if ``text`` parses as an image reference (for admission checks)."""
    try:
        parse_reference(text)
    except InvalidImageName:
        return False
    return True


def _split_digest(text: str) -> tuple[str, str | None]:
    if "@" not in text:
        return text, None
    remainder, digest = text.split("@", 1)
    if not _DIGEST_RE.fullmatch(digest):
        raise InvalidImageName(f"invalid reference format: bad digest {digest!r} in {text!r}")
    algorithm, hex_part = digest.split(":", 1)
    if algorithm == "sha256" and not _HEX64_RE.fullmatch(hex_part):
        raise InvalidImageName(
            f"invalid reference format: a sha256 digest is 64 lowercase hex characters: {digest!r}"
        )
    if algorithm != "sha256":
        raise InvalidImageName(f"unsupported digest algorithm {algorithm!r} in {text!r}")
    return remainder, digest


def _split_tag(text: str) -> tuple[str, str | None]:
    # A ':' after the last '/' starts the tag; one before it belongs to host:port.
    colon = text.rfind(":")
    if colon == -1 or colon < text.rfind("/"):
        return text, None
    tag = text[colon + 1 :]
    if not _TAG_RE.fullmatch(tag):
        raise InvalidImageName(f"invalid reference format: bad tag {tag!r} in {text!r}")
    return text[:colon], tag


def _split_domain(name: str) -> tuple[str, str]:
    if name == "":
        raise InvalidImageName("invalid reference format: repository name is empty")
    first, sep, rest = name.partition("/")
    is_domain = sep and (
        any(c in first for c in ".:") or first == "localhost" or first.lower() != first
    )
    if is_domain:
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = OFFICIAL_REPO_PREFIX + path
    return domain, path
