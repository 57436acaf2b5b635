"""The expression engine: parse f, run the forward pass, differentiate it by reverse mode.

Used by ``dlsolve backprop`` (the working), and reused by ``optim`` and ``norm``. The API:

* :func:`parse_expression(text, option="--f") -> Graph <dlsolve.engine.parser.parse_expression>`:
  the grammar in :data:`GRAMMAR` through :mod:`ast` and a whitelist (never ``eval``); BadInput
  naming ``option`` otherwise. ``Graph.nodes`` is topological, ``Graph.names`` the variables,
  ``Graph.labels`` the board names (``x``, ``u1``, ...).
* :func:`forward(graph, values, *, exact) -> Forward <dlsolve.engine.evaluate.forward>`: every
  node's value; ``values`` maps each name to a number, nested list or NumPy array (exact: Fractions;
  float: float64). PyTorch's broadcasting and ``torch.matmul`` (1-D/2-D) rules and messages.
* :func:`backward(forward, wrt=None) -> Backward <dlsolve.engine.evaluate.backward>`:
  ``Backward.grads`` maps each name of ``wrt`` to ∂f/∂name (same shape as the value);
  ``node_grads`` and ``contributions`` hold every node's gradient for the working.
* :func:`value_and_grad(graph, wrt) -> (values -> (float, {name: ndarray}))
  <dlsolve.engine.fast.value_and_grad>`: the compiled float64 path for many calls.
* :func:`symbolic_gradient(graph, wrt, values) <dlsolve.engine.symbolic.symbolic_gradient>`: the
  derivatives as SymPy expressions when some names have no value.

Values are NumPy arrays: 0-d for scalars, 1-D vectors, 2-D matrices.
"""

from __future__ import annotations

from dlsolve.engine.backend import ExactTooLarge
from dlsolve.engine.evaluate import Backward, Forward, backward, check_scalar, forward
from dlsolve.engine.fast import value_and_grad
from dlsolve.engine.graph import Graph, Node, infer_shapes
from dlsolve.engine.parser import GRAMMAR, parse_expression
from dlsolve.engine.symbolic import symbolic_gradient

__all__ = [
    "GRAMMAR",
    "Backward",
    "ExactTooLarge",
    "Forward",
    "Graph",
    "Node",
    "backward",
    "check_scalar",
    "forward",
    "infer_shapes",
    "parse_expression",
    "symbolic_gradient",
    "value_and_grad",
]
