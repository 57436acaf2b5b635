"""``dlsolve rnn``: one RNN, LSTM or GRU cell unrolled by hand, as PyTorch computes it."""

from __future__ import annotations

from typing import Annotated

from dlsolve import parsing
from dlsolve.commands import MATRIX_HELP, Vector, option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import Matrix


@command("rnn")
def rnn(
    cell: Annotated[
        str,
        option(
            "--cell", parse=parsing.parse_choice, choices=("rnn", "lstm", "gru"), help="The cell: rnn, lstm or gru."
        ),
    ],
    x: Annotated[
        Matrix, option("--x", parse=parsing.parse_matrix, help=f"Inputs x_t, one row per time step; {MATRIX_HELP}.")
    ],
    w_ih: Annotated[
        Matrix,
        option(
            "--w-ih",
            parse=parsing.parse_matrix,
            help="weight_ih_l0, G·H x D_in: gates stacked in PyTorch's order (LSTM i,f,g,o: 4H rows; GRU r,z,n: 3H).",
        ),
    ],
    w_hh: Annotated[
        Matrix,
        option("--w-hh", parse=parsing.parse_matrix, help="weight_hh_l0, G·H x H (H is its number of columns)."),
    ],
    b_ih: Annotated[
        Vector | None, option("--b-ih", parse=parsing.parse_vector, help="bias_ih_l0, G·H entries (default 0).")
    ] = None,
    b_hh: Annotated[
        Vector | None, option("--b-hh", parse=parsing.parse_vector, help="bias_hh_l0, G·H entries (default 0).")
    ] = None,
    h0: Annotated[
        Vector | None, option("--h0", parse=parsing.parse_vector, help="Initial hidden state h_0 (default 0).")
    ] = None,
    c0: Annotated[
        Vector | None, option("--c0", parse=parsing.parse_vector, help="Initial cell state c_0, LSTM (default 0).")
    ] = None,
    nonlinearity: Annotated[
        str | None,
        option(
            "--nonlinearity",
            parse=parsing.parse_choice,
            choices=("tanh", "relu", "none"),
            help="RNN only: tanh (default), relu, or none (the linear RNN of exams; PyTorch has no such option).",
        ),
    ] = None,
    full: Annotated[bool, option("--full", help="Write out every step, not only t = 1.")] = False,
) -> Solution:
    """Unroll a recurrent cell: every gate's pre-activation and value, c_t and h_t, at every step.

    PyTorch's equations, weight layout and gate order (nn.RNN; nn.LSTM i, f, g, o; nn.GRU r, z, n with
    the reset gate inside the candidate's hidden term, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))).
    Exact arithmetic for none and relu cells with exact inputs; tanh and σ symbolic, with decimals.

    Examples:

      dlsolve rnn --cell rnn --nonlinearity none --x "1;2;-1" --w-ih 1 --w-hh 0.5

      dlsolve rnn --cell lstm --x "1,0;0,1" --w-ih "1,0;0,1;1,1;0.5,0.5" --w-hh "0.5;0.5;1;0.5" --b-ih 0,1,0,0

      dlsolve rnn --cell gru --x "1;2" --w-ih "1;0;2" --w-hh "0;0;1" --b-hh 0,0,1 --h0 0.5
    """
    from dlsolve.solvers.rnn import rnn as unroll

    return unroll(
        cell,
        x,
        w_ih,
        w_hh,
        b_ih=b_ih,  # type: ignore[arg-type]
        b_hh=b_hh,  # type: ignore[arg-type]
        h0=h0,  # type: ignore[arg-type]
        c0=c0,  # type: ignore[arg-type]
        nonlinearity=nonlinearity,
        full=full,
    )
