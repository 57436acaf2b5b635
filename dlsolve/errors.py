"""Typed errors and the exit status each one maps to.

Solvers and parsing raise these; the CLI maps them to an exit status and a one-line message in one
place (:func:`dlsolve.cli.main`). Nothing else decides an exit code.
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    """Process exit status of every dlsolve command."""

    SOLVED = 0
    #: The input is well formed but the problem has no valid answer (a layer cannot apply, ...).
    NO_VALID_ANSWER = 1
    #: Bad input or usage: unparsable text, wrong option, mismatched sizes.
    BAD_INPUT = 2
    #: A bug in dlsolve. Set ``DLSOLVE_TRACEBACK=1`` to see the traceback.
    INTERNAL_ERROR = 3


class DlsolveError(Exception):
    """Base of every error dlsolve reports to its user.

    ``option`` names the option (``--kernel``) or field the message is about, when there is one;
    ``where`` the place it came from (``midterm.toml:12: problem '1b'``), when the input was a file.
    """

    kind = "bad-input"
    exit_status = ExitStatus.BAD_INPUT

    def __init__(self, message: str, *, option: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.option = option
        self.where = where

    def __str__(self) -> str:
        located = f"{self.option}: {self.message}" if self.option else self.message
        return f"{self.where}: {located}" if self.where else located

    def to_dict(self) -> dict[str, Any]:
        """The ``{"error": ...}`` payload of ``--json`` output."""
        return {"kind": self.kind, "message": str(self), "option": self.option}


class BadInput(DlsolveError):
    """The input cannot be read or is inconsistent (exit 2)."""


class InvalidProblem(DlsolveError):
    """The input is well formed but the problem has no valid answer (exit 1).

    Example: a 5x5 kernel on a 3x3 input with no padding, which PyTorch refuses.
    """

    kind = "invalid-problem"
    exit_status = ExitStatus.NO_VALID_ANSWER


class InternalError(DlsolveError):
    """A bug in dlsolve, reported in one line like any other error (exit 3).

    ``DLSOLVE_TRACEBACK=1`` makes the CLI re-raise the original exception instead.
    """

    kind = "internal"
    exit_status = ExitStatus.INTERNAL_ERROR

    @classmethod
    def from_exception(cls, error: Exception) -> InternalError:
        return cls(f"internal error ({type(error).__name__}: {error}); please report it")


def traceback_wanted() -> bool:
    """Whether the user asked to see tracebacks of internal errors (``DLSOLVE_TRACEBACK=1``)."""
    return bool(os.environ.get("DLSOLVE_TRACEBACK"))
