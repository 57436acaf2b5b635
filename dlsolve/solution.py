"""The data every solver returns: a :class:`Solution` made of :class:`Step` objects.

Steps stay structured data until a renderer prints them (``dlsolve.render``). A step has a title, a
plain-text explanation (the formula, the substitution, the result), an optional LaTeX form of the
same, optional display blocks (tables, heatmaps, plots) and optional substeps.

JSON schema (``Solution.to_dict``), stable::

    {"command": str, "inputs": {...}, "answer": {...}, "summary": str, "quiet": str,
     "answer_latex": str, "blocks": [block], "warnings": [str],
     "steps": [{"kind": str, "title": str, "text": str, "latex": str, "blocks": [block],
                "substeps": [step]}]}

``kind`` is a machine-readable step type, ``"<topic>.<what>"`` (``"conv.output-size"``), from the
closed list that the solver module declares in its ``STEP_KINDS`` (kind -> one-line meaning; the
registry of every module's kinds is :func:`dlsolve.step_kinds.all_kinds`). Tests, answer checking
and renderers select steps by kind, never by their display title.

The working is built on demand: a solver may pass ``steps`` as a zero-argument function returning the
list, and it is called the first time something reads ``Solution.steps`` (``-q``, batch answers and
answer checking never do). Anything the user must be warned about is found by the solver itself and
passed in ``warnings``, so that it reaches the user in every output mode.

    block = {"type": "table", "title": str, "columns": [str], "rows": [[str]]}
          | {"type": "heatmap", "title": str, "values": [[float]], "cells": [[str]],
             "row_labels": [str] | null, "col_labels": [str] | null}
          | {"type": "plot", "title": str, "xlabel": str, "ylabel": str, "logy": bool,
             "series": [{"label": str, "x": [float], "y": [float]}]}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal


class Record:
    """Field-wise ``__repr__`` and ``__eq__`` of a plain data class, as ``@dataclass`` writes them.

    A subclass names its fields in order in ``_fields`` (``_compared``: the fields ``==`` looks at,
    default all) and writes its ``__init__``. Instances are unhashable, as mutable dataclasses are;
    :class:`FrozenRecord` is the ``frozen=True`` kind. Not ``@dataclass`` because of start-up cost:
    it compiles the methods of every class with ``exec`` (about 0.7 ms a class), and every command
    start defines these classes.
    """

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    _compared: ClassVar[tuple[str, ...] | None] = None

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in (self._fields if self._compared is None else self._compared))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


class FrozenRecord(Record):
    """A :class:`Record` whose fields cannot be reassigned (``__init__`` sets them with
    ``object.__setattr__``); hashable by its compared fields, as a frozen dataclass is."""

    __slots__ = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __hash__(self) -> int:
        return hash(self._key())


class Table(Record):
    """A table of already formatted cells; the first column usually labels the row."""

    _fields = ("columns", "rows", "title", "type")

    def __init__(
        self, columns: list[str], rows: list[list[str]], title: str = "", type: Literal["table"] = "table"
    ) -> None:
        self.columns = columns
        self.rows = rows
        self.title = title
        self.type = type


class Heatmap(Record):
    """A matrix shown with a colour scale: ``values`` drive the colour, ``cells`` are the text."""

    _fields = ("values", "cells", "title", "row_labels", "col_labels", "type")

    def __init__(
        self,
        values: list[list[float]],
        cells: list[list[str]],
        title: str = "",
        row_labels: list[str] | None = None,
        col_labels: list[str] | None = None,
        type: Literal["heatmap"] = "heatmap",
    ) -> None:
        self.values = values
        self.cells = cells
        self.title = title
        self.row_labels = row_labels
        self.col_labels = col_labels
        self.type = type


class Series(Record):
    """One curve of a :class:`Plot`."""

    _fields = ("label", "x", "y")

    def __init__(self, label: str, x: list[float], y: list[float]) -> None:
        self.label = label
        self.x = x
        self.y = y


class Plot(Record):
    """Curves drawn in the terminal by the rich renderer (as a table of samples elsewhere)."""

    _fields = ("series", "title", "xlabel", "ylabel", "logy", "type")

    def __init__(
        self,
        series: list[Series],
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        logy: bool = False,
        type: Literal["plot"] = "plot",
    ) -> None:
        self.series = series
        self.title = title
        self.xlabel = xlabel
        self.ylabel = ylabel
        self.logy = logy
        self.type = type


Block = Table | Heatmap | Plot


class Step(Record):
    """One step of the working: what is done, with numbers substituted.

    ``text`` is plain text and must make sense alone (it is what ``--json`` and the plain renderers
    show); ``latex`` is the same content as display maths, without surrounding ``$$``. ``blocks``
    and ``substeps`` default to new empty lists. ``kind`` is the step's type from its solver module's
    ``STEP_KINDS`` (see the module docstring).
    """

    _fields = ("title", "text", "latex", "blocks", "substeps", "kind")

    def __init__(
        self,
        title: str,
        text: str = "",
        latex: str = "",
        blocks: list[Block] | None = None,
        substeps: list[Step] | None = None,
        kind: str = "",
    ) -> None:
        self.kind = kind
        self.title = title
        self.text = text
        self.latex = latex
        self.blocks: list[Block] = [] if blocks is None else blocks
        self.substeps: list[Step] = [] if substeps is None else substeps


class Solution(Record):
    """A solved problem.

    ``answer`` holds JSON-ready values (ints, floats, strings, lists, dicts); ``summary`` is the
    answer in one line of words; ``quiet`` is what ``-q`` prints (plain, one line where possible).
    ``steps``, ``warnings`` and ``blocks`` default to new empty lists. ``steps`` may be a function
    that builds the list when first read (the working on demand; see the module docstring).
    """

    _fields = ("command", "inputs", "answer", "summary", "quiet", "steps", "warnings", "answer_latex", "blocks")

    def __init__(
        self,
        command: str,
        inputs: dict[str, Any],
        answer: dict[str, Any],
        summary: str,
        quiet: str,
        steps: list[Step] | Callable[[], list[Step]] | None = None,
        warnings: list[str] | None = None,
        answer_latex: str = "",
        blocks: list[Block] | None = None,
    ) -> None:
        self.command = command
        self.inputs = inputs
        self.answer = answer
        self.summary = summary
        self.quiet = quiet
        self.steps = steps  # type: ignore[assignment]  # the property takes a list or a builder
        self.warnings: list[str] = [] if warnings is None else warnings
        self.answer_latex = answer_latex
        self.blocks: list[Block] = [] if blocks is None else blocks

    @property
    def steps(self) -> list[Step]:
        """The working, built on first read when the solver gave a builder."""
        if callable(self._steps):
            self._steps = self._steps()
        return self._steps

    @steps.setter
    def steps(self, value: list[Step] | Callable[[], list[Step]] | None) -> None:
        self._steps = [] if value is None else value

    @property
    def working_built(self) -> bool:
        """Whether the working exists yet (False while a builder has not been called)."""
        return not callable(self._steps)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form documented in the module docstring.

        Fast and shallow: ``inputs``, ``answer`` and block contents are shared, not copied (batch
        mode serialises thousands of solutions a second; ``dataclasses.asdict`` deep-copies).
        """
        return {
            **self.answer_dict(),
            "steps": [_step_dict(step) for step in self.steps],
            "answer_latex": self.answer_latex,
            "blocks": [_block_dict(block) for block in self.blocks],
        }

    def answer_dict(self) -> dict[str, Any]:
        """The JSON form without the working (no ``steps``, ``blocks``, ``answer_latex``): what batch
        lines carry unless asked for the working. Never builds the working."""
        return {
            "command": self.command,
            "inputs": self.inputs,
            "answer": self.answer,
            "summary": self.summary,
            "quiet": self.quiet,
            "warnings": self.warnings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Solution:
        """Inverse of :meth:`to_dict`."""
        fields = dict(data)
        fields["steps"] = [_step_from_dict(step) for step in data.get("steps", [])]
        fields["blocks"] = [_block_from_dict(block) for block in data.get("blocks", [])]
        return cls(**fields)


def _step_dict(step: Step) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "title": step.title,
        "text": step.text,
        "latex": step.latex,
        "blocks": [_block_dict(block) for block in step.blocks],
        "substeps": [_step_dict(substep) for substep in step.substeps],
    }


def _block_dict(block: Block) -> dict[str, Any]:
    data = dict(vars(block))
    if isinstance(block, Plot):
        data["series"] = [dict(vars(series)) for series in block.series]
    return data


def _step_from_dict(data: dict[str, Any]) -> Step:
    return Step(
        kind=data.get("kind", ""),
        title=data["title"],
        text=data.get("text", ""),
        latex=data.get("latex", ""),
        blocks=[_block_from_dict(block) for block in data.get("blocks", [])],
        substeps=[_step_from_dict(step) for step in data.get("substeps", [])],
    )


def _block_from_dict(data: dict[str, Any]) -> Block:
    kind = data["type"]
    if kind == "table":
        return Table(**data)
    if kind == "heatmap":
        return Heatmap(**data)
    if kind == "plot":
        series = [Series(**s) for s in data["series"]]
        return Plot(**{**data, "series": series})
    raise ValueError(f"unknown block type {kind!r}")
