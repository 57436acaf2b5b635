"""f as the optimizer's gradient source, through the expression engine (:mod:`dlsolve.engine`).

The optimizer works on one flat vector θ (the optimized tensors in ``--params`` order); this module
cuts θ into the named tensors, evaluates f and ∂f/∂name with the engine and joins the gradients back
into one vector. Float runs use the engine's compiled ``value_and_grad`` (plain NumPy per call);
exact runs (SGD, momentum, Nesterov) use the engine's exact forward and backward passes, and only
when f is rational at θ₀ (no exp, log or root), so that every value stays a Fraction.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem


class Diverged(Exception):
    """f or its gradient stopped being finite because the iterates blew up (not a user error)."""


#: Beyond this magnitude a non-finite f is put down to divergence, not to f's domain.
HUGE = 1e10


def _array(value: Any, exact: bool) -> Any:
    import numpy as np

    if exact:
        return np.array(value, dtype=object)
    return np.array(value, dtype=np.float64) if not isinstance(value, np.ndarray) else value.astype(np.float64)


class EngineObjective:
    """``theta -> (f(theta), ∇f(theta))`` for the optimizer, f given as text in the engine's grammar.

    ``params``: ``(name, shape)`` of each optimized tensor, in θ's order; ``constants``: every other
    name's value (nested lists of Fractions or floats, or NumPy arrays).
    """

    def __init__(self, text: str, params: list[tuple[str, tuple[int, ...]]], constants: dict[str, Any]) -> None:
        import math

        from dlsolve.engine import parse_expression, value_and_grad

        self.text = text
        self.graph = parse_expression(text, "--f")
        names = [name for name, _shape in params]
        unused = [name for name in names if name not in self.graph.names]
        if unused:
            raise BadInput(f"{', '.join(unused)} does not appear in f = {text}", option="--params")
        missing = [name for name in self.graph.names if name not in names and name not in constants]
        if missing:
            raise BadInput(f"no value for {', '.join(missing)}; give one with --at NAME=VALUE", option="--at")
        self.names = names
        self.layout: list[tuple[str, int, int, tuple[int, ...]]] = []
        offset = 0
        for name, shape in params:
            size = math.prod(shape)
            self.layout.append((name, offset, offset + size, shape))
            offset += size
        used = {name: value for name, value in constants.items() if name in self.graph.names}
        self.constants_exact = used if all(_all_exact(v) for v in used.values()) else None
        self.constants_float = {name: _array(value, False) for name, value in used.items()}
        self.float_values = dict(self.constants_float)
        self.fast = value_and_grad(self.graph, names)
        self.exact = False

    @property
    def formula(self) -> str:
        """f in board notation (``w² + 3 · w``), not as typed (``w**2 + 3*w``)."""
        from dlsolve.engine.notation import formula_text

        return formula_text(self.graph)

    def probe_exact(self, theta0: list[Any]) -> bool:
        """Whether f and ∇f stay rational at θ₀ (then exact runs are possible); sets ``exact``."""
        if self.constants_exact is None or not all(fmt.is_exact(v) for v in theta0):
            return False
        import numpy as np

        from dlsolve.engine import ExactTooLarge

        try:
            loss, grad = self._exact(np.array([Fraction(v) for v in theta0], dtype=object))
        except (InvalidProblem, ExactTooLarge):
            return False
        self.exact = fmt.is_exact(loss) and all(fmt.is_exact(v) for v in grad)
        return self.exact

    def _values(self, theta: Any) -> dict[str, Any]:
        """The exact values of every name at θ (a new dict)."""
        values = dict(self.constants_exact)  # type: ignore[arg-type]
        for name, start, end, shape in self.layout:
            values[name] = theta[start:end].reshape(shape)
        return values

    def _exact(self, theta: Any) -> tuple[Any, Any]:
        import numpy as np

        from dlsolve.engine import backward, forward

        values = {name: _array(value, True) for name, value in self._values(theta).items()}
        passed = forward(self.graph, values, exact=True)
        grads = backward(passed, self.names).grads
        loss = np.asarray(passed.value, dtype=object).reshape(-1)[0]
        flat = np.concatenate([np.asarray(grads[name], dtype=object).reshape(-1) for name in self.names])
        return _plain(loss), np.array([_plain(v) for v in flat], dtype=object)

    def __call__(self, theta: Any) -> tuple[Any, Any]:
        import numpy as np

        if theta.dtype == object:
            return self._exact(theta)
        values = self.float_values  # one dict reused: the parameters' entries are replaced each call
        for name, start, end, shape in self.layout:
            values[name] = theta[start:end].reshape(shape)
        try:
            loss, grads = self.fast(values)
        except InvalidProblem:
            if not np.all(np.abs(theta) <= HUGE):
                raise Diverged from None
            raise
        if len(self.names) == 1:
            return loss, grads[self.names[0]].reshape(-1)
        return loss, np.concatenate([grads[name].reshape(-1) for name in self.names])


def _all_exact(value: Any) -> bool:
    import numpy as np

    array = np.asarray(value, dtype=object)
    return all(fmt.is_exact(v) for v in array.flat)


def _plain(value: Any) -> Any:
    """An engine value as a plain Fraction when it is rational (SymPy numbers otherwise stay as they are)."""
    if isinstance(value, Fraction | int) and not isinstance(value, bool):
        return Fraction(value)
    return value
