"""The one error every patch function raises on a malformed patch."""

from __future__ import annotations


class PatchError(ValueError):
    """A patch that cannot be applied; the API server answers it with a 400/422 Status."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
