"""Errors a user can cause, shown as one line with what to do, and a non-zero exit."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix. ``str(error)`` is the one line they see.

    ``exit_code`` is 2 for bad usage/input, 1 for a failed operation.
    """

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
