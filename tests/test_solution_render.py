"""Solution model round-trips and every renderer's output (snapshots of a fixed solution)."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dlsolve.render import RENDERERS, render
from dlsolve.solution import Heatmap, Plot, Series, Solution, Step, Table

text = st.text(max_size=20)
floats = st.floats(allow_nan=False, allow_infinity=False, width=32)
tables = st.builds(Table, columns=st.lists(text, max_size=3), rows=st.lists(st.lists(text, max_size=3), max_size=3))
heatmaps = st.builds(
    Heatmap,
    values=st.lists(st.lists(floats, min_size=2, max_size=2), min_size=1, max_size=2),
    cells=st.lists(st.lists(text, min_size=2, max_size=2), min_size=1, max_size=2),
    title=text,
)
plots = st.builds(Plot, series=st.lists(st.builds(Series, label=text, x=st.lists(floats), y=st.lists(floats))))
blocks = st.lists(st.one_of(tables, heatmaps, plots), max_size=2)
steps = st.recursive(
    st.builds(Step, title=text, text=text, latex=text, blocks=blocks),
    lambda inner: st.builds(Step, title=text, text=text, substeps=st.lists(inner, max_size=2)),
    max_leaves=4,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | floats | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
solutions = st.builds(
    Solution,
    command=text,
    inputs=st.dictionaries(text, json_values, max_size=3),
    answer=st.dictionaries(text, json_values, max_size=3),
    summary=text,
    quiet=text,
    steps=st.lists(steps, max_size=3),
    warnings=st.lists(text, max_size=2),
    answer_latex=text,
    blocks=blocks,
)


@given(solutions)
def test_solution_json_round_trips(solution: Solution) -> None:
    data = json.loads(json.dumps(solution.to_dict()))
    assert Solution.from_dict(data) == solution


@given(solutions)
@example(  # found by Hypothesis: uniplot warned on a one-point plot of a huge value
    Solution("", {}, {}, "", "", blocks=[Plot([Series("", [0.0], [9007200328482816.0])])]),
)
def test_every_renderer_accepts_any_solution(solution: Solution) -> None:
    for mode in RENDERERS:
        stream = io.StringIO()
        render(solution, mode, stream)
        assert stream.getvalue().endswith("\n")
    stream = io.StringIO()
    render(solution, "json", stream)
    assert json.loads(stream.getvalue())["command"] == solution.command


def sample() -> Solution:
    return Solution(
        command="demo",
        inputs={"x": "1,0.1"},
        answer={"theta": [0.5, 0.25], "exact": ["1/2", "1/4"]},
        summary="theta = [1/2, 1/4]",
        quiet="0.5 0.25",
        steps=[
            Step(
                "Constraint",
                "x^T theta = 1  (50% of the mass & $1 in #1)",
                r"x^\top \theta = 1",
                blocks=[Table(["i", "x_i"], [["1", "1"], ["2", "0.1"]], title="data")],
                substeps=[Step("Detail", "a substep")],
            ),
            Step(
                "Weights", blocks=[Heatmap([[0.5, -0.5]], [["1/2", "-1/2"]], row_labels=["q"], col_labels=["a", "b"])]
            ),
            Step("Loss", blocks=[Plot([Series("loss", [0, 1, 2], [1.0, 0.5, 0.25])], title="loss", logy=True)]),
        ],
        warnings=["y assumed to be all ones"],
        answer_latex=r"\theta = \begin{bmatrix} \frac{1}{2} \\ \frac{1}{4} \end{bmatrix}",
    )


@pytest.mark.parametrize("mode", sorted(RENDERERS))
def test_renderer_snapshot(mode: str, snapshot, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "100")
    stream = io.StringIO()
    render(sample(), mode, stream)
    assert stream.getvalue() == snapshot


def test_latex_escapes_plain_text_and_boxes_the_answer() -> None:
    from dlsolve.render.latex import escape

    assert escape("50% & $1 #1 a_b {x} ~^\\") == (
        r"50\% \& \$1 \#1 a\_b \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )
    stream = io.StringIO()
    render(sample(), "latex", stream)
    key = stream.getvalue()
    box = key[key.index(r"\fbox{\begin{minipage}") : key.index(r"\end{minipage}")]  # a box whose text wraps
    assert r"\theta = \begin{bmatrix}" in box


def _balanced(latex: str) -> bool:
    """Unescaped braces balance (an escaped brace is \\{ or \\})."""
    depth = 0
    for index, char in enumerate(latex):
        if char in "{}" and (index == 0 or latex[index - 1] != "\\"):
            depth += 1 if char == "{" else -1
            if depth < 0:
                return False
    return depth == 0


@given(st.text())
def test_latex_escape_is_ascii_for_the_working_symbols_and_balanced(text: str) -> None:
    from dlsolve.render.latex import _UNICODE, escape

    escaped = escape(text)
    assert _balanced(escaped)
    assert not set(escaped) & (set(_UNICODE) | {"<", ">", "|"})


def test_latex_symbols_and_hats() -> None:
    from dlsolve.render.latex import escape

    assert escape("⌊25/2⌋ − 1 ≤ θ̂ · ηᵀ") == (
        r"\ensuremath{\lfloor}25/2\ensuremath{\rfloor} \ensuremath{-} 1 \ensuremath{\leq} "
        r"\ensuremath{\hat{\theta}} \ensuremath{\cdot} \ensuremath{\eta}\ensuremath{^\top}"
    )
    assert escape("a < b | c") == r"a \textless{} b \textbar{} c"


def test_latex_answer_keys_of_every_problem_file_are_ascii_and_balanced(solved_problems) -> None:  # type: ignore[no-untyped-def]
    """pdflatex has no glyph for ⌊, η, ≤ ...: the answer key must spell them in LaTeX."""
    from dlsolve.render import render_sheet

    stream = io.StringIO()
    render_sheet([solved.outcome for solved in solved_problems.values()], "latex", stream)
    key = stream.getvalue()
    assert key.startswith("\\documentclass") and key.rstrip().endswith("\\end{document}")
    assert not [char for char in key if ord(char) > 127]
    assert _balanced(key.replace("\\\\", ""))
    assert "\\begin{verbatim}" not in key


def test_quiet_is_the_answer_only() -> None:
    stream = io.StringIO()
    render(sample(), "quiet", stream)
    assert stream.getvalue() == "0.5 0.25\n"


def test_rich_output_has_steps_answer_and_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    stream = io.StringIO()
    render(sample(), "rich", stream)
    out = stream.getvalue()
    for expected in ("1. Constraint", "1.1. Detail", "theta = [1/2, 1/4]", "warning: y assumed", "Answer"):
        assert expected in out
    assert "\x1b[" not in out  # no colour codes when not writing to a terminal


def test_rich_heatmap_wider_than_the_terminal_continues_in_column_bands() -> None:
    from rich.console import Console

    from dlsolve.render.rich_view import renderable

    values = [[float(i * 30 + j) for j in range(30)] for i in range(3)]
    block = Heatmap(values, [[f"{v:g}" for v in row] for row in values], title="wide", row_labels=["a", "b", "c"])
    stream = io.StringIO()
    Console(file=stream, width=60, color_system=None).print(renderable(block, 60))
    lines = stream.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 60
    assert lines[0] == "wide"
    cells = [word for line in lines[1:] if line.startswith(("a", "b", "c")) for word in line.split()[1:]]
    assert cells == [f"{i * 30 + j}" for band in _bands(lines) for i in range(3) for j in band]
    headers = [line for line in lines[1:] if not line.startswith(("a", "b", "c"))]
    assert len(headers) >= 3 and [int(word) for line in headers for word in line.split()] == list(range(30))


def _bands(lines: list[str]) -> list[list[int]]:
    """Column indices of each band, read from its header line."""
    return [[int(word) for word in line.split()] for line in lines[1:] if not line.startswith(("a", "b", "c"))]


def test_rich_view_prints_user_text_literally_never_as_markup() -> None:
    """Labels, titles and cells come from users: '[red]A[/red]' is text, and '[/bold]' is no error."""
    tricky = ["[red]A[/red]", "x[/bold]", "[link=http://x]y"]
    solution = Solution(
        "demo",
        {"label": tricky[0]},
        {"value": 1},
        tricky[1],
        "1",
        steps=[Step(tricky[1], tricky[2], blocks=[Table(tricky, [tricky], title=tricky[0])])],
        warnings=[tricky[2]],
    )
    stream = io.StringIO()
    render(solution, "rich", stream)
    for text in tricky:
        assert text in stream.getvalue()
