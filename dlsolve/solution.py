"""The data every solver returns: a :class:`Solution` made of :class:`Step` objects.

Steps stay structured data until a renderer prints them (``dlsolve.render``). A step has a title, a
plain-text explanation (the formula, the substitution, the result), an optional LaTeX form of the
same, optional display blocks (tables, heatmaps, plots) and optional substeps.

JSON schema (``Solution.to_dict``), stable::

    {"command": str, "inputs": {...}, "answer": {...}, "summary": str, "quiet": str,
     "answer_latex": str, "blocks": [block], "warnings": [str],
     "steps": [{"title": str, "text": str, "latex": str, "blocks": [block], "substeps": [step]}]}

    block = {"type": "table", "title": str, "columns": [str], "rows": [[str]]}
          | {"type": "heatmap", "title": str, "values": [[float]], "cells": [[str]],
             "row_labels": [str] | null, "col_labels": [str] | null}
          | {"type": "plot", "title": str, "xlabel": str, "ylabel": str, "logy": bool,
             "series": [{"label": str, "x": [float], "y": [float]}]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class Table:
    """A table of already formatted cells; the first column usually labels the row."""

    columns: list[str]
    rows: list[list[str]]
    title: str = ""
    type: Literal["table"] = "table"


@dataclass
class Heatmap:
    """A matrix shown with a colour scale: ``values`` drive the colour, ``cells`` are the text."""

    values: list[list[float]]
    cells: list[list[str]]
    title: str = ""
    row_labels: list[str] | None = None
    col_labels: list[str] | None = None
    type: Literal["heatmap"] = "heatmap"


@dataclass
class Series:
    """One curve of a :class:`Plot`."""

    label: str
    x: list[float]
    y: list[float]


@dataclass
class Plot:
    """Curves drawn in the terminal by the rich renderer (as a table of samples elsewhere)."""

    series: list[Series]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    logy: bool = False
    type: Literal["plot"] = "plot"


Block = Table | Heatmap | Plot


@dataclass
class Step:
    """One step of the working: what is done, with numbers substituted.

    ``text`` is plain text and must make sense alone (it is what ``--json`` and the plain renderers
    show); ``latex`` is the same content as display maths, without surrounding ``$$``.
    """

    title: str
    text: str = ""
    latex: str = ""
    blocks: list[Block] = field(default_factory=list)
    substeps: list[Step] = field(default_factory=list)


@dataclass
class Solution:
    """A solved problem.

    ``answer`` holds JSON-ready values (ints, floats, strings, lists, dicts); ``summary`` is the
    answer in one line of words; ``quiet`` is what ``-q`` prints (plain, one line where possible).
    """

    command: str
    inputs: dict[str, Any]
    answer: dict[str, Any]
    summary: str
    quiet: str
    steps: list[Step] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    answer_latex: str = ""
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form documented in the module docstring.

        Fast and shallow: ``inputs``, ``answer`` and block contents are shared, not copied (batch
        mode serialises thousands of solutions a second; ``dataclasses.asdict`` deep-copies).
        """
        return {
            "command": self.command,
            "inputs": self.inputs,
            "answer": self.answer,
            "summary": self.summary,
            "quiet": self.quiet,
            "steps": [_step_dict(step) for step in self.steps],
            "warnings": self.warnings,
            "answer_latex": self.answer_latex,
            "blocks": [_block_dict(block) for block in self.blocks],
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
