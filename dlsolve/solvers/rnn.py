"""A recurrent cell (Elman RNN, LSTM, GRU) unrolled by hand, step by step, as ``nn.RNN``/``nn.LSTM``/``nn.GRU``.

Conventions (PyTorch's, one layer, one direction, one sequence; rows of ``x`` are time steps):

* Weights are stacked by gate, PyTorch's ``weight_ih_l0`` (G·H x D) and ``weight_hh_l0`` (G·H x H),
  biases ``bias_ih_l0``/``bias_hh_l0`` (G·H each, zero when not given). Gate order: LSTM ``i, f, g, o``
  (G = 4), GRU ``r, z, n`` (G = 3), RNN one block (G = 1).
* RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)`` with ``act`` = tanh or ReLU
  (``nonlinearity``); ``none`` is the linear RNN of exam questions, which ``nn.RNN`` does not offer.
* LSTM: ``i, f, o = σ(W_i· x_t + b_i· + W_h· h_{t−1} + b_h·)``, ``g = tanh(…)``,
  ``c_t = f ⊙ c_{t−1} + i ⊙ g``, ``h_t = o ⊙ tanh(c_t)``.
* GRU: ``r, z = σ(…)``, ``n = tanh(W_in x_t + b_in + r ⊙ (W_hn h_{t−1} + b_hn))`` (the reset gate
  inside the candidate's hidden term, as ``nn.GRU``), ``h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}``.

Arithmetic is exact (Fractions) as long as no tanh or sigmoid of a non-zero number is taken (``none``
and ``relu`` cells with exact inputs stay exact); after that, float64. ``σ(0) = 1/2`` and ``tanh(0) = 0``
stay exact.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step, Table
from dlsolve.solvers import linalg_exact as la
from dlsolve.values import Matrix, Scalar

CELLS = ("rnn", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu", "none")
#: Gate names in PyTorch's stacking order, with the activation each one takes.
GATES: dict[str, tuple[tuple[str, str], ...]] = {
    "rnn": (("h", "act"),),
    "lstm": (("i", "sigmoid"), ("f", "sigmoid"), ("g", "tanh"), ("o", "sigmoid")),
    "gru": (("r", "sigmoid"), ("z", "sigmoid"), ("n", "tanh")),
}
_TORCH_NAME = {"rnn": "nn.RNN", "lstm": "nn.LSTM", "gru": "nn.GRU"}
_FUNCTION_NAME = {"sigmoid": "σ", "tanh": "tanh", "relu": "ReLU", "none": ""}

STEP_KINDS = {
    "rnn.equations": "the cell's equations once, with PyTorch's weight layout and the sizes",
    "rnn.first-step": "every gate's pre-activation and value at t = 1, substituted",
    "rnn.step": "every gate's pre-activation and value at one later step, substituted (--full)",
    "rnn.unroll": "the table: one row per time step with every gate's value (--full: pre-activation → value), c_t, h_t",
    "rnn.result": "the hidden states as the matrix H = [h_1; …; h_T] (--full; the Answer box lists every h_t)",
}

Vector = list[Scalar]


# --------------------------------------------------------------------------- activations


def _float(z: Scalar) -> float:
    """``z`` as a float; an exact value beyond float range becomes ±inf (where tanh and σ are ±1, 0 or 1)."""
    try:
        return float(z)
    except OverflowError:
        return math.inf if z > 0 else -math.inf


def sigmoid(z: Scalar) -> Scalar:
    """``σ(z) = 1/(1 + e^{−z})``; exact ``1/2`` at 0, else float (computed without overflow)."""
    if isinstance(z, Fraction) and z == 0:
        return Fraction(1, 2)
    value = _float(z)
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    e = math.exp(value)
    return e / (1.0 + e)


def tanh(z: Scalar) -> Scalar:
    """``tanh z``; exact 0 at 0, else float."""
    if isinstance(z, Fraction) and z == 0:
        return Fraction(0)
    return math.tanh(_float(z))


def relu(z: Scalar) -> Scalar:
    """``max(z, 0)``, exact for exact ``z``."""
    return z if z > 0 else z * 0


def identity(z: Scalar) -> Scalar:
    return z


_ACTIVATIONS: dict[str, Callable[[Scalar], Scalar]] = {
    "sigmoid": sigmoid,
    "tanh": tanh,
    "relu": relu,
    "none": identity,
}


# --------------------------------------------------------------------------- formatting


def _num(value: Scalar) -> str:
    return fmt.exact(value) if isinstance(value, Fraction) else fmt.decimal(value)


def _vec(values: Sequence[Scalar]) -> str:
    """``[1, 0]``; a vector of one entry (H = 1, D_in = 1) is the number itself, as a board writes it."""
    if len(values) == 1:
        return _num(values[0])
    return "[" + ", ".join(_num(v) for v in values) + "]"


def _vec_decimal(values: Sequence[Scalar]) -> str:
    """:func:`_vec`, with the short decimals beside when an exact entry has none (``[4/3, 1] ≈ [1.33333, 1]``)."""
    text = _vec(values)
    if any(isinstance(v, Fraction) and fmt.exact(v) != fmt.decimal(v) for v in values):
        text += " ≈ " + _vec([float(v) for v in values])
    return text


def _product(left: Sequence[Scalar], right: Sequence[Scalar]) -> str:
    """``0.5·0.761594`` (H = 1) or ``[..] ⊙ [..]``; with ``right`` empty, the left factor and its
    operator (``0.5·``), for a right factor written by the caller."""
    return f"{_vec(left)}{'·' if len(left) == 1 else ' ⊙ '}{_vec(right) if right else ''}"


def _applied(function: str, pre: Sequence[Scalar], value: Sequence[Scalar]) -> str:
    """``σ(0.5) ≈ 0.622459``, ``ReLU([4/3, −1]) = [4/3, 0]``: ``=`` while exact, ``≈`` after a decimal."""
    name = _FUNCTION_NAME[function]
    if not name:
        return _vec(value)
    relation = "=" if all(isinstance(v, Fraction) for v in value) else "≈"
    return f"{name}({_vec(pre)}) {relation} {_vec(value)}"


def _latex_rows(rows: Sequence[Sequence[Scalar]]) -> str:
    """A bmatrix with exact entries as fractions and floats as short decimals."""
    body = r" \\ ".join(
        " & ".join(fmt.latex_number(v) if isinstance(v, Fraction) else fmt.decimal(v) for v in row) for row in rows
    )
    return f"\\begin{{bmatrix}} {body} \\end{{bmatrix}}"


def _json_vector(values: Sequence[Scalar]) -> list[int | float | str]:
    return [fmt.json_number(v) for v in values]


# --------------------------------------------------------------------------- inputs


def _rows(matrix: Matrix) -> list[list[Scalar]]:
    return [list(row) for row in matrix.tolist()]


def _check_vector(values: Sequence[Scalar] | None, size: int, option: str, what: str) -> Vector:
    if values is None:
        return [Fraction(0)] * size
    if len(values) != size:
        raise BadInput(f"expected {what} of {size} entries, got {len(values)}", option=option)
    return list(values)


class Cell:
    """A cell's weights split by gate, checked against PyTorch's shapes."""

    def __init__(
        self,
        cell: str,
        input_size: int,
        w_ih: Matrix,
        w_hh: Matrix,
        b_ih: Sequence[Scalar] | None,
        b_hh: Sequence[Scalar] | None,
    ) -> None:
        gates = GATES[cell]
        count = len(gates)
        hidden = w_hh.shape[1]
        stack = "".join(name for name, _ in gates) if cell != "rnn" else ""
        factor = f"{count}H" if count > 1 else "H"
        layout = f" (rows stacked by gate {', '.join(n for n, _ in gates)})" if stack else ""
        if w_hh.shape != (count * hidden, hidden):
            raise BadInput(
                f"{cell.upper()} weight_hh is {factor} x H: expected {count * hidden} x {hidden} for H = {hidden} "
                f"(H is its number of columns){layout}, got {w_hh.shape[0]} x {w_hh.shape[1]}",
                option="--w-hh",
            )
        if w_ih.shape != (count * hidden, input_size):
            raise BadInput(
                f"{cell.upper()} weight_ih is {factor} x D_in: expected {count * hidden} x {input_size} for "
                f"H = {hidden} and D_in = {input_size} (the columns of --x, one row per time step){layout}, "
                f"got {w_ih.shape[0]} x {w_ih.shape[1]}",
                option="--w-ih",
            )
        self.cell = cell
        self.hidden = hidden
        self.input_size = input_size
        self.has_b_ih, self.has_b_hh = b_ih is not None, b_hh is not None
        b_ih_all = _check_vector(b_ih, count * hidden, "--b-ih", f"bias_ih ({factor} = {count * hidden})")
        b_hh_all = _check_vector(b_hh, count * hidden, "--b-hh", f"bias_hh ({factor} = {count * hidden})")
        rows_ih, rows_hh = _rows(w_ih), _rows(w_hh)
        # gate k owns rows k·H .. (k+1)·H − 1 of each stacked matrix
        self.w_i = [rows_ih[k * hidden : (k + 1) * hidden] for k in range(count)]
        self.w_h = [rows_hh[k * hidden : (k + 1) * hidden] for k in range(count)]
        self.b_i = [b_ih_all[k * hidden : (k + 1) * hidden] for k in range(count)]
        self.b_h = [b_hh_all[k * hidden : (k + 1) * hidden] for k in range(count)]


# --------------------------------------------------------------------------- one step


class GateRecord:
    """One gate at one step: its input and hidden terms, pre-activation and value."""

    __slots__ = ("function", "hidden_term", "input_term", "name", "pre", "value")

    def __init__(
        self,
        name: str,
        function: str,
        input_term: Vector,
        hidden_term: Vector,
        pre: Vector,
        value: Vector,
    ) -> None:
        self.name = name
        self.function = function
        self.input_term = input_term  # W_i· x_t + b_i·
        self.hidden_term = hidden_term  # W_h· h_{t−1} + b_h·
        self.pre = pre
        self.value = value


class StepRecord:
    """One time step: the input, every gate, and the new cell and hidden states."""

    __slots__ = ("c", "c_prev", "gates", "h", "h_prev", "tanh_c", "x")

    def __init__(self, x: Vector, h_prev: Vector, c_prev: Vector | None) -> None:
        self.x = x
        self.h_prev = h_prev
        self.c_prev = c_prev
        self.gates: list[GateRecord] = []
        self.c: Vector | None = None
        self.tanh_c: Vector | None = None
        self.h: Vector = []


def _add(*vectors: Sequence[Scalar]) -> Vector:
    return [sum(values, Fraction(0)) for values in zip(*vectors, strict=True)]


#: Other conventions, for :mod:`dlsolve.solvers.rnn_mistakes`: the GRU's reset gate applied to h before
#: W_hn (Cho et al. 2014, Keras ``reset_after=False``), an LSTM without the tanh of c_t.
VARIANTS = ("reset-before", "no-tanh-c")


def _step(cell: Cell, nonlinearity: str, x: Vector, h: Vector, c: Vector | None, variant: str = "") -> StepRecord:
    record = StepRecord(x, h, c)
    for k, (name, function) in enumerate(GATES[cell.cell]):
        function = nonlinearity if function == "act" else function
        input_term = _add(la.matvec(cell.w_i[k], x), cell.b_i[k])  # type: ignore[arg-type]
        hidden_term = _add(la.matvec(cell.w_h[k], h), cell.b_h[k])  # type: ignore[arg-type]
        if cell.cell == "gru" and name == "n" and variant == "reset-before":
            reset = record.gates[0].value
            reset_h = [r * v for r, v in zip(reset, h, strict=True)]
            pre = _add(input_term, la.matvec(cell.w_h[k], reset_h), cell.b_h[k])  # type: ignore[arg-type]
        elif cell.cell == "gru" and name == "n":
            reset = record.gates[0].value
            pre = [a + r * b for a, r, b in zip(input_term, reset, hidden_term, strict=True)]
        else:
            pre = _add(input_term, hidden_term)
        value = [_ACTIVATIONS[function](v) for v in pre]
        record.gates.append(GateRecord(name, function, input_term, hidden_term, pre, value))
    values = {gate.name: gate.value for gate in record.gates}
    if cell.cell == "rnn":
        record.h = values["h"]
    elif cell.cell == "lstm":
        assert c is not None
        record.c = [f * cp + i * g for f, cp, i, g in zip(values["f"], c, values["i"], values["g"], strict=True)]
        record.tanh_c = list(record.c) if variant == "no-tanh-c" else [tanh(v) for v in record.c]
        record.h = [o * t for o, t in zip(values["o"], record.tanh_c, strict=True)]
    else:
        record.h = [(1 - z) * n + z * hp for z, n, hp in zip(values["z"], values["n"], h, strict=True)]
    return record


def unroll(
    weights: Cell, nonlinearity: str, rows: list[Vector], h: Vector, c: Vector | None, variant: str = ""
) -> list[StepRecord]:
    """Every step of the cell over ``rows`` from ``h`` (and ``c``), each h_t feeding the next."""
    records = []
    for row in rows:
        record = _step(weights, nonlinearity, row, h, c, variant)
        records.append(record)
        h, c = record.h, record.c
    return records


# --------------------------------------------------------------------------- the solver


def rnn(
    cell: str,
    x: Matrix,
    w_ih: Matrix,
    w_hh: Matrix,
    *,
    b_ih: Sequence[Scalar] | None = None,
    b_hh: Sequence[Scalar] | None = None,
    h0: Sequence[Scalar] | None = None,
    c0: Sequence[Scalar] | None = None,
    nonlinearity: str | None = None,
    full: bool = False,
) -> Solution:
    """Unroll one recurrent cell over the rows of ``x`` (see the module docstring for the equations).

    ``nonlinearity`` (tanh, relu, none) is for ``cell="rnn"`` only (default tanh); ``c0`` for LSTM only.
    """
    if cell not in CELLS:
        raise BadInput(f"expected one of {', '.join(CELLS)}, got {cell!r}", option="--cell")
    if nonlinearity is None:
        nonlinearity = "tanh"
    elif nonlinearity not in NONLINEARITIES:
        raise BadInput(f"expected one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}", option="--nonlinearity")
    elif cell != "rnn" and nonlinearity != "tanh":
        raise BadInput(
            f"applies to --cell rnn only ({_TORCH_NAME[cell]} has fixed sigmoid and tanh activations)",
            option="--nonlinearity",
        )
    if c0 is not None and cell != "lstm":
        raise BadInput(f"applies to --cell lstm only ({_TORCH_NAME[cell]} has no cell state)", option="--c0")
    steps_in, input_size = x.shape
    weights = Cell(cell, input_size, w_ih, w_hh, b_ih, b_hh)
    hidden = weights.hidden
    h = _check_vector(h0, hidden, "--h0", f"h0 of H = {hidden} entries")
    c = _check_vector(c0, hidden, "--c0", f"c0 of H = {hidden} entries") if cell == "lstm" else None
    records = unroll(weights, nonlinearity, _rows(x), h, c)
    answer = _answer(cell, records)
    exact = all(isinstance(v, Fraction) for r in records for v in r.h)
    # one line of numbers (H = 1), else one line per state, so that no vector is cut at the margin
    joint = ", " if hidden == 1 else "\n"
    summary = joint.join(f"h_{t} = {_vec_decimal(r.h)}" for t, r in enumerate(records, 1))
    if cell == "lstm":
        summary += "\n" + joint.join(f"c_{t} = {_vec_decimal(r.c or [])}" for t, r in enumerate(records, 1))
    quiet = "h: " + "; ".join(", ".join(_num(v) for v in r.h) for r in records)
    if cell == "lstm":
        quiet += " | c: " + "; ".join(", ".join(_num(v) for v in r.c or []) for r in records)

    def build() -> list[Step]:
        return _working(weights, nonlinearity, records, steps_in, exact, full)

    return Solution(
        command="rnn",
        inputs={
            "cell": cell,
            "nonlinearity": nonlinearity if cell == "rnn" else None,
            "x": "; ".join(", ".join(_num(v) for v in row) for row in _rows(x)),
            "hidden_size": hidden,
        },
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=build,
        answer_latex=_answer_latex(records),
    )


def _latex_vector(values: Sequence[Scalar]) -> str:
    """A hidden state as the Answer box typesets it: a number (H = 1) or a column vector; exact
    values with their short decimals beside."""

    def typeset(entries: Sequence[Scalar]) -> str:
        if len(entries) > 1:
            return _latex_rows([[v] for v in entries])
        return fmt.latex_number(entries[0]) if isinstance(entries[0], Fraction) else fmt.decimal(entries[0])

    text = typeset(values)
    if any(isinstance(v, Fraction) and fmt.exact(v) != fmt.decimal(v) for v in values):
        text += " \\approx " + typeset([float(v) for v in values])
    return text


def _answer_latex(records: list[StepRecord]) -> str:
    """Every hidden state h_1..h_T (and c_1..c_T for an LSTM): what the question asks for; as the
    matrix H = [h_1; …; h_T] (one row per step) when they would not fit on a line."""
    t, hidden = len(records), len(records[0].h)
    states = [("h", "H", [r.h for r in records])]
    if records[-1].c is not None:
        states.append(("c", "C", [r.c or [] for r in records]))
    lines = []
    for name, matrix, rows in states:
        if t * hidden <= ANSWER_INLINE_ENTRIES:
            lines.append(",\\quad ".join(f"{name}_{{{i}}} = {_latex_vector(row)}" for i, row in enumerate(rows, 1)))
            continue
        text = f"{matrix} = [{name}_1; \\dots; {name}_{{{t}}}] = {_latex_rows(rows)}"
        if any(isinstance(v, Fraction) and fmt.exact(v) != fmt.decimal(v) for row in rows for v in row):
            text += " \\approx " + _latex_rows([[float(v) for v in row] for row in rows])
        lines.append(text)
    return lines[0] if len(lines) == 1 else "\\begin{gathered} " + " \\\\ ".join(lines) + " \\end{gathered}"


def _answer(cell: str, records: list[StepRecord]) -> dict[str, Any]:
    answer: dict[str, Any] = {"h": [_json_vector(r.h) for r in records]}
    if cell == "lstm":
        answer["c"] = [_json_vector(r.c or []) for r in records]
    answer["h_last"] = answer["h"][-1]
    if cell == "lstm":
        answer["c_last"] = answer["c"][-1]
    answer["gates"] = [
        {gate.name: {"pre": _json_vector(gate.pre), "value": _json_vector(gate.value)} for gate in r.gates}
        for r in records
    ]
    if all(isinstance(v, Fraction) for r in records for v in r.h):
        answer["h_exact"] = [[fmt.exact(v) for v in r.h] for r in records]
    return answer


# --------------------------------------------------------------------------- the working


def _equations(cell: str, nonlinearity: str) -> tuple[list[str], str]:
    """The cell's equations (text lines, LaTeX)."""
    if cell == "rnn":
        act = _FUNCTION_NAME[nonlinearity]
        inner = "W_ih x_t + b_ih + W_hh h_{t−1} + b_hh"
        line = f"h_t = {act}({inner})" if act else f"h_t = {inner}"
        latex_act = {"tanh": "\\operatorname{tanh}", "relu": "\\mathrm{ReLU}", "none": ""}[nonlinearity]
        body = "W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}"
        return [line], f"h_t = {latex_act}\\left({body}\\right)" if latex_act else f"h_t = {body}"
    lines, latex = [], []
    for name, function in GATES[cell]:
        f = _FUNCTION_NAME[function]
        lf = "\\sigma" if function == "sigmoid" else "\\operatorname{tanh}"
        if cell == "gru" and name == "n":
            lines.append("n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn))")
            latex.append(
                f"n_t = {lf}\\left(W_{{in}} x_t + b_{{in}} + r_t \\odot (W_{{hn}} h_{{t-1}} + b_{{hn}})\\right)"
            )
        else:
            lines.append(f"{name}_t = {f}(W_i{name} x_t + b_i{name} + W_h{name} h_{{t−1}} + b_h{name})")
            inner = f"W_{{i{name}}} x_t + b_{{i{name}}} + W_{{h{name}}} h_{{t-1}} + b_{{h{name}}}"
            latex.append(f"{name}_t = {lf}\\left({inner}\\right)")
    if cell == "lstm":
        lines += ["c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t", "h_t = o_t ⊙ tanh(c_t)"]
        latex += ["c_t = f_t \\odot c_{t-1} + i_t \\odot g_t", "h_t = o_t \\odot \\operatorname{tanh}(c_t)"]
    else:
        lines.append("h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}")
        latex.append("h_t = (1 - z_t) \\odot n_t + z_t \\odot h_{t-1}")
    aligned = [line.replace(" = ", " &= ", 1) for line in latex]
    return lines, "\\begin{aligned} " + " \\\\ ".join(aligned) + " \\end{aligned}"


def _equations_step(weights: Cell, nonlinearity: str, steps: int) -> Step:
    cell, hidden, count = weights.cell, weights.hidden, len(GATES[weights.cell])
    lines, latex = _equations(cell, nonlinearity)
    names = [name for name, _ in GATES[cell]]
    sizes = f"D_in = {weights.input_size}, H = {hidden}, T = {steps}"
    if cell == "rnn":
        layout = f"W_ih is H × D_in = {hidden} × {weights.input_size}, W_hh is H × H = {hidden} × {hidden}"
        torch = (
            "as nn.RNN(nonlinearity='" + nonlinearity + "')"
            if nonlinearity != "none"
            else "a linear RNN (PyTorch's nn.RNN has no such option: its nonlinearity is 'tanh' or 'relu')"
        )
    else:
        blocks = ", ".join(
            f"{n}: row {k + 1}" if hidden == 1 else f"{n}: rows {k * hidden + 1}–{(k + 1) * hidden}"
            for k, n in enumerate(names)
        )
        layout = (
            f"W_ih = [{'; '.join(f'W_i{n}' for n in names)}] is {count}H × D_in = {count * hidden} × "
            f"{weights.input_size}, W_hh = [{'; '.join(f'W_h{n}' for n in names)}] is {count}H × H = "
            f"{count * hidden} × {hidden} ({blocks}; PyTorch's gate order)"
        )
        torch = f"as {_TORCH_NAME[cell]}"
    biases = [b for b, given in (("b_ih", weights.has_b_ih), ("b_hh", weights.has_b_hh)) if not given]
    bias_text = f"; {' and '.join(biases)} not given: zero" if biases else ""
    text = "\n".join([*lines, f"{sizes}; {layout}{bias_text}; {torch}."])
    return Step("The cell", text, latex, kind="rnn.equations")


def _terms(gate: GateRecord, weights: Cell, t: int, record: StepRecord) -> str:
    """One gate substituted: ``i_1 = σ(W_ii x_1 + b_ii + W_hi h_0) = σ(1 + 0) ≈ 0.731059``; an Elman
    cell names its pre-activation ``a_t``: ``a_1 = W_ih x_1 + W_hh h_0 = 1 + 0 = 1; h_1 = tanh(1) ≈ ..``."""
    n = "" if weights.cell == "rnn" else gate.name
    w_i, w_h = ("W_ih", "W_hh") if weights.cell == "rnn" else (f"W_i{n}", f"W_h{n}")
    b_i, b_h = ("b_ih", "b_hh") if weights.cell == "rnn" else (f"b_i{n}", f"b_h{n}")
    input_text = f"{w_i} x_{t}" + (f" + {b_i}" if weights.has_b_ih else "")
    hidden_text = f"{w_h} h_{t - 1}" + (f" + {b_h}" if weights.has_b_hh else "")
    if weights.cell == "gru" and gate.name == "n":
        reset = record.gates[0].value
        formula = f"{input_text} + r_{t} ⊙ ({hidden_text})"
        values = f"{_vec(gate.input_term)} + {_product(reset, gate.hidden_term)}"
    else:
        formula = f"{input_text} + {hidden_text}"
        values = f"{_vec(gate.input_term)} + {_vec(gate.hidden_term)}"
    if weights.cell == "rnn":
        line = f"a_{t} = {formula} = {values} = {_vec(gate.pre)}"
        if gate.function == "none":
            return f"{line}; h_{t} = a_{t} = {_vec(gate.value)}"
        return f"{line}; h_{t} = {_applied(gate.function, gate.pre, gate.value)}"
    name = _FUNCTION_NAME[gate.function]
    return f"{n}_{t} = {name}({formula}) = {name}({values}) = {_applied(gate.function, gate.pre, gate.value)}"


def _step_text(weights: Cell, record: StepRecord, t: int) -> str:
    lines = [f"x_{t} = {_vec(record.x)}, h_{t - 1} = {_vec(record.h_prev)}"]
    if record.c_prev is not None:
        lines[0] += f", c_{t - 1} = {_vec(record.c_prev)}"
    lines += [_terms(gate, weights, t, record) for gate in record.gates]
    gates = {gate.name: gate.value for gate in record.gates}
    relation = "=" if all(isinstance(v, Fraction) for v in record.h) else "≈"
    if weights.cell == "lstm":
        assert record.c is not None and record.tanh_c is not None and record.c_prev is not None
        c_relation = "=" if all(isinstance(v, Fraction) for v in record.c) else "≈"
        lines.append(
            f"c_{t} = f_{t} ⊙ c_{t - 1} + i_{t} ⊙ g_{t} = {_product(gates['f'], record.c_prev)} + "
            f"{_product(gates['i'], gates['g'])} {c_relation} {_vec(record.c)}"
        )
        lines.append(
            f"h_{t} = o_{t} ⊙ tanh(c_{t}) = {_product(gates['o'], [])}tanh({_vec(record.c)}) "
            f"{relation} {_vec(record.h)}"
        )
    elif weights.cell == "gru":
        z = gates["z"]
        lines.append(
            f"h_{t} = (1 − z_{t}) ⊙ n_{t} + z_{t} ⊙ h_{t - 1} = {_product([1 - v for v in z], gates['n'])} + "
            f"{_product(z, record.h_prev)} {relation} {_vec(record.h)}"
        )
    return "\n".join(lines)


#: Characters of a worked line beyond which its display breaks after the formula (a page is about 90).
WIDE_LINE = 80
#: Entries of h_1..h_T beyond which the Answer box typesets them as the matrix H (one row per step).
ANSWER_INLINE_ENTRIES = 8


def _line_latex(line: str) -> str:
    """One line of :func:`_step_text` typeset (it writes only names such as ``W_ii``, ``x_1``, σ, tanh,
    ReLU, ⊙, ·, ≈ and numbers), aligned at its first ``=``."""
    text = line.replace("−", "-").replace("≈", r"\approx").replace("⊙", r"\odot").replace("·", r"\cdot ")
    text = text.replace("σ", r"\sigma")
    text = re.sub(r"\btanh\b", r"\\operatorname{tanh}", text)
    text = re.sub(r"\bReLU\b", r"\\mathrm{ReLU}", text)
    text = re.sub(r"\b([A-Za-z])_([A-Za-z0-9]+)", r"\1_{\2}", text)
    text = text.replace(", h_{", r",\quad h_{").replace(", c_{", r",\quad c_{")
    parts = text.split(" = ")
    if len(line) > WIDE_LINE and len(parts) >= 3:  # the formula on one row, its substitution on the next
        return f"{parts[0]} &= {parts[1]} \\\\ &= " + " = ".join(parts[2:])
    return text.replace(" = ", " &= ", 1)


def _step_latex(text: str) -> str:
    """The step's lines as one aligned display (an Elman line ``a_1 = ..; h_1 = ..`` is two lines)."""
    lines = [part for line in text.split("\n") for part in line.split("; ")]
    return r"\begin{aligned} " + r" \\ ".join(_line_latex(line) for line in lines) + r" \end{aligned}"


def _table(weights: Cell, records: list[StepRecord], full: bool = False) -> Table:
    """One row per step: the gates' values (with ``full``, each pre-activation → value), c_t and h_t."""
    cell = weights.cell
    columns = ["t", "x_t"]
    if cell == "rnn":
        columns += ["a_t (pre-activation)", "h_t"]
    else:
        if full:
            columns += [f"{name}: pre → {_FUNCTION_NAME[function]}" for name, function in GATES[cell]]
        else:
            columns += [f"{name}_t" for name, _ in GATES[cell]]
        if cell == "lstm":
            columns.append("c_t")
        columns.append("h_t")
    rows = []
    for t, record in enumerate(records, 1):
        row = [str(t), _vec(record.x)]
        for gate in record.gates:
            if cell == "rnn":
                row.append(_vec(gate.pre))
            else:
                row.append(f"{_vec(gate.pre)} → {_vec(gate.value)}" if full else _vec(gate.value))
        if record.c is not None:
            row.append(_vec(record.c))
        row.append(_vec(record.h))
        rows.append(row)
    return Table(columns=columns, rows=rows, title="Unrolled, one row per time step")


def _working(
    weights: Cell, nonlinearity: str, records: list[StepRecord], steps: int, exact: bool, full: bool
) -> list[Step]:
    result = [_equations_step(weights, nonlinearity, steps)]
    first = _step_text(weights, records[0], 1)
    result.append(Step("Step t = 1", first, _step_latex(first), kind="rnn.first-step"))
    if full:
        for t, record in enumerate(records[1:], 2):
            text = _step_text(weights, record, t)
            result.append(Step(f"Step t = {t}", text, _step_latex(text), kind="rnn.step"))
    note = "exact" if exact else "float64 decimals after a tanh or σ of a non-zero number"
    result.append(
        Step(
            "Every step",
            f"the same equations at t = 1..{len(records)}, each h_t feeding the next step ({note})",
            blocks=[_table(weights, records, full)],
            kind="rnn.unroll",
        )
    )
    if full:
        h_rows = [r.h for r in records]
        text = f"H = [h_1; …; h_{len(records)}] (T × H = {len(records)} × {weights.hidden}) =\n"
        text += (
            fmt.matrix(h_rows, indent="  ")
            if exact
            else "\n".join("  [ " + "  ".join(_num(v) for v in row) + " ]" for row in h_rows)
        )
        last = records[-1]
        if last.c is not None:
            text += f"\nc_{len(records)} = {_vec(last.c)}"
        result.append(Step("Hidden states", text, f"H = {_latex_rows(h_rows)}", kind="rnn.result"))
    return result
