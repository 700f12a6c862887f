"""Answers remembered by the content of their input.

Objects made from one template (a ReplicaSet's pods) repeat the same spec, containers and
tolerations; walks over them (the fields a create owns, unknown-field checks) are done once
per distinct content and then looked up by its JSON. A memo forgets everything when full.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import msgspec

V = TypeVar("V")

_ENCODER = msgspec.json.Encoder()


class ContentMemo(Generic[V]):
    """`compute()`'s answer for `value`, remembered by (`context`, `value`'s JSON)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._entries: dict[tuple[Any, ...], V] = {}

    def get(self, context: tuple[Hashable, ...], value: Any, compute: Callable[[], V]) -> V:
        """Answers are shared between callers: read them, never change them."""
        try:
            key = (*context, _ENCODER.encode(value))
        except (TypeError, msgspec.EncodeError):
            return compute()
        found = self._entries.get(key)
        if found is None:
            found = compute()
            if len(self._entries) >= self.limit:
                self._entries.clear()
            self._entries[key] = found
        return found

    def __len__(self) -> int:
        return len(self._entries)
