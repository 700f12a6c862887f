"""Pod Security levels, policy versions and the namespace labels that choose them, as
k8s.io/pod-security-admission/api (ParseLevel, ParseVersion, PolicyToEvaluate).

A namespace's labels `pod-security.kubernetes.io/<mode>` and `<mode>-version` pick a level and
a version for each mode (enforce, audit, warn); unset labels fall back to the defaults
(privileged:latest unless configured). Labels that do not parse still give a policy (restricted
for enforce, privileged for audit and warn: fail closed where it refuses, open where it only
tells) plus the field errors that make a namespace write Invalid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubelite.api.validation.errors import FieldError, invalid

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)
LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
# The newest policy version the checks know: the server's Kubernetes minor (1.32).
LATEST_MINOR = 32

_VERSION = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")


@dataclass(frozen=True, order=True)
class Version:
    """v1.MINOR, or latest (newer than any numbered version)."""

    minor: int = 0
    latest: bool = False

    def __str__(self) -> str:
        return "latest" if self.latest else f"v1.{self.minor}"

    def effective_minor(self) -> int:
        """The policy version evaluated: latest and future versions are the newest known."""
        return LATEST_MINOR if self.latest else min(self.minor, LATEST_MINOR)


LATEST = Version(latest=True)


@dataclass(frozen=True)
class LevelVersion:
    level: str
    version: Version = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion = LevelVersion(PRIVILEGED)
    audit: LevelVersion = LevelVersion(PRIVILEGED)
    warn: LevelVersion = LevelVersion(PRIVILEGED)

    def fully_privileged(self) -> bool:
        return all(lv.level == PRIVILEGED for lv in (self.enforce, self.audit, self.warn))


def parse_level(text: str) -> tuple[str, str]:
    """The level and an error ("" when valid); an unknown level reads as restricted."""
    if text in LEVELS:
        return text, ""
    return RESTRICTED, f"must be one of {', '.join(LEVELS)}"


def parse_version(text: str) -> tuple[Version, str]:
    """The version and an error ("" when valid); an unparsable version reads as latest."""
    if text == "latest":
        return LATEST, ""
    match = _VERSION.match(text)
    if not match:
        return LATEST, 'must be "latest" or "v1.x"'
    return Version(int(match.group(1))), ""


def compare_levels(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is less, as, or more strict than `b`."""
    return (LEVELS.index(a) > LEVELS.index(b)) - (LEVELS.index(a) < LEVELS.index(b))


def policy_to_evaluate(labels: dict[str, str] | None, defaults: Policy) -> tuple[Policy, list[FieldError]]:
    """The namespace's policy from its labels over `defaults`, and the label errors."""
    if not labels:
        return defaults, []
    errors: list[FieldError] = []
    chosen = {"enforce": defaults.enforce, "audit": defaults.audit, "warn": defaults.warn}
    for mode in MODES:
        level, version = chosen[mode].level, chosen[mode].version
        key = LABEL_PREFIX + mode
        if key in labels:
            level, err = parse_level(labels[key])
            if err:
                errors.append(invalid(f"metadata.labels[{key}]", labels[key], err))
                if mode != "enforce":
                    level = PRIVILEGED  # fail open for audit and warn
        key += "-version"
        if key in labels:
            version, err = parse_version(labels[key])
            if err:
                errors.append(invalid(f"metadata.labels[{key}]", labels[key], err))
        chosen[mode] = LevelVersion(level, version)
    return Policy(**chosen), errors
