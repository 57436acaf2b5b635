"""Optimizer update rules exactly as ``torch.optim`` (PyTorch 2.13, single-tensor path) applies them.

All parameters form one flat vector θ (NumPy: float64, or ``object`` holding Fractions for exact
SGD, momentum and Nesterov). ``g`` is the gradient of f at the point the rule asks for, plus λθ
for coupled weight decay. Per step t = 1, 2, ...:

* SGD (``torch.optim.SGD``): b₁ = g₁, b_t = μ·b_{t−1} + (1 − τ)·g_t (μ momentum, τ dampening);
  d = g + μ·b (Nesterov) or b (momentum) or g (μ = 0); θ ← θ − η·d.
* Adagrad: s ← s + g², η_t = η/(1 + (t − 1)·lr_decay), θ ← θ − η_t·g/(√s + ε), ε = 1e-10,
  s₀ = initial_accumulator_value.
* RMSprop: v ← α·v + (1 − α)·g²; centered: ḡ ← ḡ + (1 − α)(g − ḡ), a = √(v − ḡ²), else a = √v;
  a ← a + ε (eps outside the square root); with momentum μ > 0: b ← μ·b + g/a (b₀ = 0), θ ← θ − η·b;
  else θ ← θ − η·g/a.
* Adam: m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ) (amsgrad:
  v_max ← max(v_max, v), v̂ = v_max/(1 − β₂ᵗ)), θ ← θ − η·m̂/(√v̂ + ε) (eps after the square root).
  PyTorch computes it as θ − (η/(1 − β₁ᵗ))·m/(√v/√(1 − β₂ᵗ) + ε), the same value up to rounding.
* AdamW: Adam with decoupled decay: θ ← θ·(1 − ηλ) before the Adam step, λ not added to g.

``convention="textbook"`` changes two rules to the forms courses teach: momentum
v ← βv + (1 − β)g from v₀ = 0, θ ← θ − ηv; Nesterov (Sutskever et al. 2013) v ← βv − η∇f(θ + βv),
θ ← θ + v from v₀ = 0. Adam and AdamW are computed with m̂ and v̂ written out (same values);
the other rules are the same in both conventions.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from typing import Any

from dlsolve.solution import FrozenRecord

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")
#: PyTorch's default learning rate of each optimizer class (2.13).
DEFAULT_LR = {
    "sgd": Fraction(1, 1000),
    "momentum": Fraction(1, 1000),
    "nesterov": Fraction(1, 1000),
    "adagrad": Fraction(1, 100),
    "rmsprop": Fraction(1, 100),
    "adam": Fraction(1, 1000),
    "adamw": Fraction(1, 1000),
}
TORCH_CLASS = {
    "sgd": "torch.optim.SGD",
    "momentum": "torch.optim.SGD(momentum=μ)",
    "nesterov": "torch.optim.SGD(momentum=μ, nesterov=True)",
    "adagrad": "torch.optim.Adagrad",
    "rmsprop": "torch.optim.RMSprop",
    "adam": "torch.optim.Adam",
    "adamw": "torch.optim.AdamW",
}
#: Optimizers computed exactly (no square root) when every input is exact.
EXACT_RULES = ("sgd", "momentum", "nesterov")

Scalar = Fraction | float
#: ``theta -> (loss or None, gradient)``: the gradient source (given rows, or f and its derivative).
GradFn = Callable[[Any], tuple[Any, Any]]


class Config(FrozenRecord):
    """Every hyper-parameter of the seven rules (names as torch.optim's arguments)."""

    _fields = (
        "opt",
        "lr",
        "momentum",
        "dampening",
        "beta1",
        "beta2",
        "eps",
        "alpha",
        "weight_decay",
        "amsgrad",
        "initial_accumulator",
        "lr_decay",
        "centered",
        "convention",
    )

    def __init__(
        self,
        opt: str,
        lr: Scalar,
        momentum: Scalar = Fraction(0),
        dampening: Scalar = Fraction(0),
        beta1: Scalar = Fraction(9, 10),
        beta2: Scalar = Fraction(999, 1000),
        eps: Scalar = Fraction(1, 10**8),
        alpha: Scalar = Fraction(99, 100),
        weight_decay: Scalar = Fraction(0),
        amsgrad: bool = False,
        initial_accumulator: Scalar = Fraction(0),
        lr_decay: Scalar = Fraction(0),
        centered: bool = False,
        convention: str = "torch",
    ) -> None:
        for name, value in zip(
            self._fields,
            (
                opt,
                lr,
                momentum,
                dampening,
                beta1,
                beta2,
                eps,
                alpha,
                weight_decay,
                amsgrad,
                initial_accumulator,
                lr_decay,
                centered,
                convention,
            ),
            strict=True,
        ):
            object.__setattr__(self, name, value)

    @property
    def textbook(self) -> bool:
        return self.convention == "textbook"


class Rule:
    """One optimizer's state and update; :meth:`step` returns the new θ and the values for the table.

    ``columns`` lists ``(key, symbol)`` of the per-step values :meth:`step` reports (besides θ).
    """

    columns: tuple[tuple[str, str], ...] = ()
    #: Whether :meth:`step` must report its values for the table (the runner sets it per step).
    record = True

    def __init__(self, config: Config, size: int, exact: bool) -> None:
        import numpy as np

        self.config = config
        self.np = np
        self.exact = exact
        self.size = size
        self.t = 0
        self.c = _cast(config, exact)

    def zeros(self) -> Any:
        if self.exact:
            return self.np.array([Fraction(0)] * self.size, dtype=object)
        return self.np.zeros(self.size)

    def full(self, value: Scalar) -> Any:
        if self.exact:
            return self.np.array([Fraction(value)] * self.size, dtype=object)
        return self.np.full(self.size, float(value))

    def coupled(self, gradient: Any, theta: Any) -> Any:
        decay = self.c["weight_decay"]
        return gradient + decay * theta if decay else gradient

    def step(self, theta: Any, grad_fn: GradFn) -> tuple[Any, dict[str, Any], Any]:
        raise NotImplementedError

    def state(self) -> dict[str, Any]:
        """The optimizer state after the last step, under torch.optim's state keys."""
        raise NotImplementedError


def _cast(config: Config, exact: bool) -> dict[str, Any]:
    """The numeric hyper-parameters as Fractions (exact runs) or floats."""
    names = [name for name in Config._fields if name not in ("opt", "amsgrad", "centered", "convention")]
    return {name: (Fraction(getattr(config, name)) if exact else float(getattr(config, name))) for name in names}


class SGD(Rule):
    """torch.optim.SGD (momentum, dampening, nesterov, coupled weight decay); textbook momentum forms."""

    def __init__(self, config: Config, size: int, exact: bool) -> None:
        super().__init__(config, size, exact)
        self.mu = self.c["momentum"] if config.opt != "sgd" or config.momentum else 0
        self.nesterov = config.opt == "nesterov"
        self.buffer: Any = None
        if not self.mu:
            self.columns = (("grad", "g"), ("update", "Δθ"))
        elif config.textbook and self.nesterov:
            self.buffer = self.zeros()
            self.columns = (("lookahead", "θ + μv"), ("grad", "g"), ("velocity", "v"), ("update", "Δθ"))
        elif config.textbook:
            self.buffer = self.zeros()
            self.columns = (("grad", "g"), ("velocity", "v"), ("update", "Δθ"))
        else:
            self.columns = (("grad", "g"), ("momentum_buffer", "b"), ("update", "Δθ"))
            if self.nesterov:
                self.columns = (("grad", "g"), ("momentum_buffer", "b"), ("direction", "g + μb"), ("update", "Δθ"))

    def step(self, theta: Any, grad_fn: GradFn) -> tuple[Any, dict[str, Any], Any]:
        c, mu = self.c, self.mu
        self.t += 1
        if self.config.textbook and self.mu and self.nesterov:
            ahead = theta + mu * self.buffer
            loss, raw = grad_fn(ahead)
            g = self.coupled(raw, ahead)
            self.buffer = mu * self.buffer - c["lr"] * g
            return (
                theta + self.buffer,
                {"lookahead": ahead, "grad": g, "velocity": self.buffer, "update": self.buffer},
                loss,
            )
        loss, raw = grad_fn(theta)
        g = self.coupled(raw, theta)
        if not mu:
            update = -c["lr"] * g
            return theta + update, {"grad": g, "update": update}, loss
        if self.config.textbook:
            self.buffer = mu * self.buffer + (1 - mu) * g
            update = -c["lr"] * self.buffer
            return theta + update, {"grad": g, "velocity": self.buffer, "update": update}, loss
        if self.buffer is None:
            self.buffer = g.copy()
        else:
            self.buffer = mu * self.buffer + (1 - c["dampening"]) * g
        direction = g + mu * self.buffer if self.nesterov else self.buffer
        update = -c["lr"] * direction
        shown = {"grad": g, "momentum_buffer": self.buffer, "direction": direction, "update": update}
        return theta + update, shown, loss

    def state(self) -> dict[str, Any]:
        if not self.mu:
            return {}  # torch keeps no state for plain SGD
        return {"velocity" if self.config.textbook else "momentum_buffer": self.buffer}


class Adagrad(Rule):
    columns = (("grad", "g"), ("sum", "s"), ("clr", "η_t"), ("update", "Δθ"))

    def __init__(self, config: Config, size: int, exact: bool) -> None:
        super().__init__(config, size, exact)
        self.sum = self.full(config.initial_accumulator)

    def step(self, theta: Any, grad_fn: GradFn) -> tuple[Any, dict[str, Any], Any]:
        c = self.c
        self.t += 1
        loss, raw = grad_fn(theta)
        g = self.coupled(raw, theta)
        clr = c["lr"] / (1 + (self.t - 1) * c["lr_decay"])
        self.sum = self.sum + g * g
        update = -clr * g / (self.np.sqrt(self.sum) + c["eps"])
        return theta + update, {"grad": g, "sum": self.sum, "clr": clr, "update": update}, loss

    def state(self) -> dict[str, Any]:
        return {"step": self.t, "sum": self.sum}


class RMSprop(Rule):
    def __init__(self, config: Config, size: int, exact: bool) -> None:
        super().__init__(config, size, exact)
        self.square_avg = self.zeros()
        self.grad_avg = self.zeros() if config.centered else None
        self.buffer = self.zeros() if config.momentum else None
        columns = [("grad", "g"), ("square_avg", "v")]
        if config.centered:
            columns.append(("grad_avg", "ḡ"))
        columns.append(("avg", "a + ε"))
        if config.momentum:
            columns.append(("momentum_buffer", "b"))
        self.columns = (*columns, ("update", "Δθ"))

    def step(self, theta: Any, grad_fn: GradFn) -> tuple[Any, dict[str, Any], Any]:
        c, np = self.c, self.np
        self.t += 1
        loss, raw = grad_fn(theta)
        g = self.coupled(raw, theta)
        alpha = c["alpha"]
        self.square_avg = alpha * self.square_avg + (1 - alpha) * g * g
        shown = {"grad": g, "square_avg": self.square_avg}
        if self.grad_avg is not None:
            self.grad_avg = self.grad_avg + (1 - alpha) * (g - self.grad_avg)
            avg = np.sqrt(self.square_avg - self.grad_avg * self.grad_avg)
            shown["grad_avg"] = self.grad_avg
        else:
            avg = np.sqrt(self.square_avg)
        avg = avg + c["eps"]
        shown["avg"] = avg
        if self.buffer is not None:
            self.buffer = c["momentum"] * self.buffer + g / avg
            shown["momentum_buffer"] = self.buffer
            update = -c["lr"] * self.buffer
        else:
            update = -c["lr"] * g / avg
        shown["update"] = update
        return theta + update, shown, loss

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"step": self.t, "square_avg": self.square_avg}
        if self.grad_avg is not None:
            state["grad_avg"] = self.grad_avg
        if self.buffer is not None:
            state["momentum_buffer"] = self.buffer
        return state


class Adam(Rule):
    """Adam and AdamW (decoupled decay), amsgrad; torch's folded form or the textbook m̂, v̂ form."""

    def __init__(self, config: Config, size: int, exact: bool) -> None:
        super().__init__(config, size, exact)
        self.decoupled = config.opt == "adamw"
        self.m = self.zeros()
        self.v = self.zeros()
        self.v_max = self.zeros() if config.amsgrad else None
        columns = [("grad", "g"), ("exp_avg", "m"), ("exp_avg_sq", "v")]
        if config.amsgrad:
            columns.append(("max_exp_avg_sq", "v_max"))
        self.columns = (*columns, ("m_hat", "m̂"), ("v_hat", "v̂"), ("update", "Δθ"))

    def step(self, theta: Any, grad_fn: GradFn) -> tuple[Any, dict[str, Any], Any]:
        c, np = self.c, self.np
        self.t += 1
        loss, raw = grad_fn(theta)
        lr, beta1, beta2, decay = c["lr"], c["beta1"], c["beta2"], c["weight_decay"]
        start = theta
        if decay and self.decoupled:
            theta = theta * (1 - lr * decay)
            g = raw
        else:
            g = self.coupled(raw, theta)
        # In place (Adam runs in float64; 10,000 steps are common): m ← m + (1 − β₁)(g − m) as
        # torch's exp_avg.lerp_(grad, 1 − β₁), v ← β₂v + (1 − β₂)g².
        m, v = self.m, self.v
        step = g - m
        step *= 1 - beta1
        m += step
        v *= beta2
        square = g * g
        square *= 1 - beta2
        v += square
        correction1 = 1 - beta1**self.t
        correction2 = 1 - beta2**self.t
        if self.config.convention == "no-bias-correction":  # a student's mistake, for answer checking
            correction1 = correction2 = 1
        second = v
        if self.v_max is not None:
            np.maximum(self.v_max, v, out=self.v_max)
            second = self.v_max
        if self.config.textbook:
            new = theta - lr * (m / correction1) / (np.sqrt(second / correction2) + c["eps"])
        else:
            denom = np.sqrt(second)
            denom /= correction2**0.5
            denom += c["eps"]
            step = m / denom
            step *= lr / correction1
            new = theta - step
        if not self.record:
            return new, {}, loss
        shown = {
            "grad": g,
            "exp_avg": m.copy(),
            "exp_avg_sq": v.copy(),
            "m_hat": m / correction1,
            "v_hat": second / correction2,
            "update": new - start,
        }
        if self.v_max is not None:
            shown["max_exp_avg_sq"] = self.v_max.copy()
        return new, shown, loss

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"step": self.t, "exp_avg": self.m, "exp_avg_sq": self.v}
        if self.v_max is not None:
            state["max_exp_avg_sq"] = self.v_max
        return state


RULES: dict[str, type[Rule]] = {
    "sgd": SGD,
    "momentum": SGD,
    "nesterov": SGD,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": Adam,
}


def make_rule(config: Config, size: int, exact: bool) -> Rule:
    return RULES[config.opt](config, size, exact)
