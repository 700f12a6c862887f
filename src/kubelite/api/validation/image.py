"""Container image references (the distribution/reference grammar).

Kubernetes itself only refuses an empty image or surrounding whitespace and leaves malformed
references to the kubelet (InvalidImageName). kubelite refuses them at the API, with the
reference library's own words, so a typo never becomes a pod stuck in InvalidImageName.
"""

from __future__ import annotations

import re

from kubelite.api.validation.errors import FieldError, invalid

_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
NAME_TOTAL_MAX = 255

WHITESPACE = "must not have leading or trailing whitespace"
INVALID_FORMAT = "invalid reference format"


def reference_errors(image: str) -> list[str]:
    """Why `image` is not a valid reference (empty when it is)."""
    if image != image.strip():
        return [WHITESPACE]
    m = REFERENCE.fullmatch(image)
    if m is None:
        # The reference library names the most common mistake specifically.
        if REFERENCE.fullmatch(image.lower()):
            repo = image.split("@")[0]
            if ":" in repo.rsplit("/", 1)[-1]:
                repo = repo.rsplit(":", 1)[0]
            return [f"{INVALID_FORMAT}: repository name ({repo}) must be lowercase"]
        return [INVALID_FORMAT]
    if len(m.group("name")) > NAME_TOTAL_MAX:
        return [f"{INVALID_FORMAT}: repository name must not be more than "
                f"{NAME_TOTAL_MAX} characters"]
    return []


def validate_image(image: str, path: str) -> list[FieldError]:
    return [invalid(path, image, m) for m in reference_errors(image)]
