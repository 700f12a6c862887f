"""Kubernetes' version priority (apimachinery's version.CompareKubeAwareVersionStrings):
GA above beta above alpha, higher numbers first, other names last in alphabetical order."""

from __future__ import annotations

import re

_KUBE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
_RANK = {None: 3, "beta": 2, "alpha": 1}


def _key(version: str) -> tuple[int, int, int, str]:
    m = _KUBE.match(version)
    if m is None:
        return (0, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    return (_RANK[stage], major, minor, "")


def compare_versions(a: str, b: str) -> int:
    """> 0 when `a` has the higher priority, < 0 when `b` has, 0 when equal."""
    ka, kb = _key(a), _key(b)
    if ka[0] == 0 and kb[0] == 0:  # both non-Kubernetes names: alphabetical, first wins
        return (ka[3] < kb[3]) - (ka[3] > kb[3])
    if ka[:3] != kb[:3]:
        return 1 if ka[:3] > kb[:3] else -1
    return 0
