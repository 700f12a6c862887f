"""The one error every patch function raises on a malformed patch."""

from __future__ import annotations


class PatchError(ValueError):
    """A patch that cannot be applied.

    `code` is the HTTP status Kubernetes answers with: 400 (BadRequest) for a patch it cannot
    read, 422 (Unprocessable Entity) for a well-formed patch that does not apply, e.g. a failed
    JSON-patch `test` or a missing path.
    """

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
