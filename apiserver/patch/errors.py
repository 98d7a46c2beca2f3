"""The one error every patch flavour raises: the apiserver answers it with 422 (or 400 for
malformed patch documents, as ``malformed`` says)."""

from __future__ import annotations


class PatchError(ValueError):
    """A patch that cannot be applied; ``malformed`` patches are rejected with 400, others 422."""

    def __init__(self, message: str, *, malformed: bool = False) -> None:
        super().__init__(message)
        self.malformed = malformed
