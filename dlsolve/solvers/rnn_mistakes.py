"""Named mistakes of ``rnn`` (see :mod:`dlsolve.grading.mistakes`). The right cell is PyTorch's
(:mod:`dlsolve.solvers.rnn`): LSTM gates stacked i, f, g, o; GRU ``h = (1 − z) ⊙ n + z ⊙ h_{t−1}``
with the reset gate inside the candidate's hidden term; ``h = o ⊙ tanh(c)``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake, rerun

if TYPE_CHECKING:
    from dlsolve.solution import Solution
    from dlsolve.values import Matrix


def _blocks(matrix: Matrix, count: int) -> list[list[Any]]:
    rows = matrix.tolist()
    size = len(rows) // count
    return [rows[k * size : (k + 1) * size] for k in range(count)]


def _restacked(kwargs: dict[str, Any], order: list[int], negate: int | None = None) -> dict[str, Any]:
    """The weights and biases with their gate blocks in ``order`` (block ``negate`` negated)."""
    from dlsolve.values import Matrix

    count = len(order)
    changes: dict[str, Any] = {}
    for name in ("w_ih", "w_hh"):
        blocks = _blocks(kwargs[name], count)
        rows = [[-v if k == negate else v for v in row] for k in order for row in blocks[k]]
        changes[name] = Matrix(rows=tuple(tuple(row) for row in rows))
    for name in ("b_ih", "b_hh"):
        if kwargs.get(name) is not None:
            values = list(kwargs[name])
            size = len(values) // count
            changes[name] = [-v if k == negate else v for k in order for v in values[k * size : (k + 1) * size]]
    return changes


def _variant(kwargs: dict[str, Any], variant: str) -> dict[str, Any] | None:
    """The answer's h (and c) when the cell is computed with another convention."""
    from fractions import Fraction

    from dlsolve.errors import DlsolveError
    from dlsolve.solvers.rnn import Cell, unroll

    try:
        x = kwargs["x"]
        weights = Cell(
            kwargs["cell"], x.shape[1], kwargs["w_ih"], kwargs["w_hh"], kwargs.get("b_ih"), kwargs.get("b_hh")
        )
    except DlsolveError:
        return None
    zeros = [Fraction(0)] * weights.hidden
    c0 = list(kwargs.get("c0") or zeros) if kwargs["cell"] == "lstm" else None
    records = unroll(weights, "tanh", [list(row) for row in x.tolist()], list(kwargs.get("h0") or zeros), c0, variant)
    fields: dict[str, Any] = {"h": [[float(v) for v in r.h] for r in records]}
    fields["h_last"] = fields["h"][-1]
    if c0 is not None:
        fields["c"] = [[float(v) for v in r.c or []] for r in records]
        fields["c_last"] = fields["c"][-1]
    return fields


@mistake(
    "rnn",
    "lstm-gate-order",
    "read the LSTM's stacked gates as i, f, o, g (PyTorch stacks i, f, g, o)",
    step="rnn.equations",
)
def lstm_gate_order(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if kwargs.get("cell") != "lstm":
        return None
    return rerun("rnn", kwargs, **_restacked(kwargs, [0, 1, 3, 2]))


@mistake(
    "rnn",
    "gru-update-swapped",
    "used h = z ⊙ n + (1 − z) ⊙ h_{t−1} (PyTorch: (1 − z) ⊙ n + z ⊙ h_{t−1})",
    step="rnn.first-step",
)
def gru_update_swapped(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    # σ(−a) = 1 − σ(a): negating the z block's weights and biases swaps z and 1 − z
    return rerun("rnn", kwargs, **_restacked(kwargs, [0, 1, 2], negate=1)) if kwargs.get("cell") == "gru" else None


@mistake(
    "rnn",
    "gru-reset-before",
    "applied the reset gate to h before W_hn, tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) (Cho et al.; Keras "
    "reset_after=False); nn.GRU uses r ⊙ (W_hn h + b_hn)",
    step="rnn.first-step",
)
def gru_reset_before(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _variant(kwargs, "reset-before") if kwargs.get("cell") == "gru" else None


@mistake("rnn", "lstm-no-tanh", "wrote h_t = o_t ⊙ c_t, without the tanh of c_t", step="rnn.first-step")
def lstm_no_tanh(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _variant(kwargs, "no-tanh-c") if kwargs.get("cell") == "lstm" else None


@mistake(
    "rnn", "no-hidden-bias", "left out the hidden bias b_hh (PyTorch adds both b_ih and b_hh)", step="rnn.first-step"
)
def no_hidden_bias(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return rerun("rnn", kwargs, b_hh=None) if kwargs.get("b_hh") is not None and any(kwargs["b_hh"]) else None
