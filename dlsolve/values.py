"""The values that options become: matrices, layer calls, preconditioners, sources.

:mod:`dlsolve.parsing` makes them from user text (or typed values from a problem file); solvers take
them. Nothing here parses text. NumPy and ``fractions`` are imported where they are used (start-up).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.solution import FrozenRecord

if TYPE_CHECKING:
    from fractions import Fraction

    import numpy as np

    Scalar = Fraction | float

#: What a size option holds when the user wrote ``?`` (the unknown to solve for).
UNKNOWN = "?"


def __getattr__(name: str) -> Any:
    """``Scalar`` (``Fraction | float``) for the modules that import it, made on first use."""
    if name == "Scalar":
        from fractions import Fraction

        return Fraction | float
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Matrix(FrozenRecord):
    """A 2-D array of numbers.

    Small inputs keep exact entries in ``rows`` (Fractions; floats where the input was floats).
    Large inputs (more than ``LARGE_ENTRIES`` entries, or float ``.npy`` files) keep a float64
    NumPy array in ``array`` instead, and ``rows`` is empty. Equality and hash look at ``rows`` only.
    """

    rows: tuple[tuple[Scalar, ...], ...]
    array: np.ndarray | None
    _fields = ("rows", "array")
    _compared = ("rows",)

    def __init__(self, rows: tuple[tuple[Scalar, ...], ...] = (), array: np.ndarray | None = None) -> None:
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "array", array)

    @property
    def shape(self) -> tuple[int, int]:
        if self.array is not None:
            return (int(self.array.shape[0]), int(self.array.shape[1]))
        return (len(self.rows), len(self.rows[0]) if self.rows else 0)

    @property
    def is_large(self) -> bool:
        return self.array is not None

    @property
    def is_exact(self) -> bool:
        """True when every entry is an exact Fraction."""
        from fractions import Fraction

        return self.array is None and all(isinstance(v, Fraction) for row in self.rows for v in row)

    def tolist(self) -> list[list[Scalar]]:
        """Entries as nested Python lists (floats for a large matrix)."""
        if self.array is not None:
            return self.array.tolist()
        return [list(row) for row in self.rows]

    def to_numpy(self) -> np.ndarray:
        """A float64 copy."""
        import numpy as np

        if self.array is not None:
            return self.array.astype(np.float64, copy=True)
        return np.array([[float(v) for v in row] for row in self.rows], dtype=np.float64).reshape(self.shape)


class LayerCall(FrozenRecord):
    """One PyTorch layer constructor call as written, e.g. ``nn.Conv2d(1, 16, 3, padding=1)``.

    ``args`` and ``kwargs`` hold Python literals (ints, floats, bools, None, strings, tuples).
    Binding them to the constructor's parameters is the layer catalogue's job.
    """

    name: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    source: str
    line: int
    _fields = ("name", "args", "kwargs", "source", "line")

    def __init__(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], source: str, line: int) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "line", line)


#: Adaptive preconditioners of ``--precond``: the matrix changes with the gradients seen.
ADAPTIVE_PRECONDITIONERS = ("adagrad", "rmsprop", "adam", "epoch-rms")


class Preconditioner(FrozenRecord):
    """A ``--precond`` value: ``kind`` is ``identity``, ``diag``, ``matrix`` or an adaptive name.

    ``diagonal`` holds the entries of ``diag:a,b,c``; ``matrix`` the rows of a full matrix. Whether
    the matrix is symmetric positive definite and of the right size is the solver's check.
    """

    kind: str
    diagonal: tuple[Scalar, ...]
    matrix: Matrix | None
    _fields = ("kind", "diagonal", "matrix")

    def __init__(self, kind: str = "identity", diagonal: tuple[Scalar, ...] = (), matrix: Matrix | None = None) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "diagonal", diagonal)
        object.__setattr__(self, "matrix", matrix)

    @property
    def is_adaptive(self) -> bool:
        return self.kind in ADAPTIVE_PRECONDITIONERS


class SourceText(FrozenRecord):
    """The text of a file (or of standard input) an option names, with the name to show for it."""

    text: str
    name: str
    _fields = ("text", "name")

    def __init__(self, text: str, name: str) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "name", name)


class LossSeries(FrozenRecord):
    """The runs one ``--loss`` gives: ``(label or None, losses)`` each; ``typed`` when typed in place
    (one run, labelled by ``--label`` in order) rather than read from a CSV file's columns."""

    runs: list[tuple[str | None, list[float]]]
    typed: bool
    _fields = ("runs", "typed")

    def __init__(self, runs: list[tuple[str | None, list[float]]], typed: bool) -> None:
        object.__setattr__(self, "runs", runs)
        object.__setattr__(self, "typed", typed)


class Tensor(FrozenRecord):
    """An N-D array of numbers (a batch N x C, N,C,L or N,C,H,W): ``shape`` and the flat row-major ``values``."""

    shape: tuple[int, ...]
    values: tuple[Scalar, ...]
    _fields = ("shape", "values")

    def __init__(self, shape: tuple[int, ...], values: tuple[Scalar, ...]) -> None:
        object.__setattr__(self, "shape", shape)
        object.__setattr__(self, "values", values)


class Answer(FrozenRecord):
    """A student's answer as read: numbers (``rows``, exact, with each entry's decimal places when it
    was written as a decimal, else None) or words (lower-cased, single-spaced)."""

    kind: str
    rows: tuple[tuple[Fraction, ...], ...]
    decimals: tuple[tuple[int | None, ...], ...]
    words: str
    text: str
    _fields = ("kind", "rows", "decimals", "words", "text")

    def __init__(
        self,
        kind: str,
        rows: tuple[tuple[Fraction, ...], ...] = (),
        decimals: tuple[tuple[int | None, ...], ...] = (),
        words: str = "",
        text: str = "",
    ) -> None:
        object.__setattr__(self, "kind", kind)  # "number", "vector", "matrix" or "words"
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "decimals", decimals)
        object.__setattr__(self, "words", words)
        object.__setattr__(self, "text", text)

    @property
    def values(self) -> list[Fraction]:
        """The numbers in reading order."""
        return [value for row in self.rows for value in row]
