"""The operations of the grammar: shape rule, forward value and vector-Jacobian product.

Each operation is written once for both backends (:mod:`dlsolve.engine.backend`): ``forward(b, xs,
params)`` returns the node's value and ``vjp(b, g, xs, out, params, needs)`` returns, for each
argument ``i`` with ``needs[i]``, the upstream gradient ``g`` (shaped like the node) times the local
derivative, still shaped like the node's output for elementwise operations; the caller reduces it
over the broadcast dimensions (:func:`unbroadcast`), as PyTorch's autograd does.

Conventions (PyTorch 2.x autograd, float64):

* kinks: relu'(0) = 0, abs'(0) = sign(0) = 0, leaky_relu'(0) = slope, max/min split the gradient
  equally on ties, ∂(aᵇ)/∂a = 0 where b = 0 and ∂(aᵇ)/∂b = 0 where a = 0 and b ≥ 0;
* ``softmax``/``log_softmax`` over the last dimension; ``sum``/``mean`` over everything, or over
  ``dim`` (``keepdim`` as torch);
* ``mse`` = mean((pred − target)²) with broadcasting; ``bce`` = −mean(y log p + (1 − y) log(1 − p))
  with each log clamped at −100 and the backward divided by max(p(1 − p), 1e−12);
  ``bce_with_logits`` = mean((1 − y) z + log(1 + e^(−z))); ``cross_entropy(z, t)``: class indices
  when ``t`` has one dimension fewer than ``z``, probabilities when the shapes are equal; the mean
  over the batch (the first dimension of a 2-D ``z``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from dlsolve.engine.graph import Shape, broadcast_shapes, matmul_shape, shape_text
from dlsolve.errors import BadInput, InvalidProblem

Needs = Sequence[bool]


def unbroadcast(grad: Any, shape: Shape) -> Any:
    """Sum ``grad`` over the dimensions that broadcasting added or stretched, back to ``shape``."""
    if grad.shape == shape:
        return grad
    import numpy as np

    dtype = grad.dtype
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, d in enumerate(shape) if d == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return np.asarray(grad, dtype=dtype).reshape(shape)


def size(shape: Shape) -> int:
    """The number of entries of a tensor of this shape."""
    return math.prod(shape)


class Op:
    """An operation: its shape rule, forward and vector-Jacobian product (see the module docstring)."""

    name = ""
    #: elementwise operations broadcast their arguments; the caller unbroadcasts their gradients
    elementwise = True

    def shape(self, shapes: list[Shape], params: tuple[Any, ...]) -> Shape:
        result = shapes[0]
        for other in shapes[1:]:
            result = broadcast_shapes(result, other)
        return result

    def domain(self, b: Any, xs: list[Any], params: tuple[Any, ...]) -> str | None:
        """Why the forward value does not exist (a message for InvalidProblem), or None."""
        return None

    def kink(self, xs: list[Any], params: tuple[Any, ...]) -> str | None:
        """A note when an argument sits at a kink where PyTorch picks a convention, or None."""
        return None

    def forward(self, b: Any, xs: list[Any], params: tuple[Any, ...]) -> Any:
        raise NotImplementedError

    def vjp(self, b: Any, g: Any, xs: list[Any], out: Any, params: tuple[Any, ...], needs: Needs) -> list[Any]:
        raise NotImplementedError


def _any(mask: Any) -> bool:
    import numpy as np

    return bool(np.any(np.asarray(mask, dtype=bool)))


class Add(Op):
    name = "add"

    def forward(self, b, xs, params):
        return xs[0] + xs[1]

    def vjp(self, b, g, xs, out, params, needs):
        return [g, g]


class Sub(Op):
    name = "sub"

    def forward(self, b, xs, params):
        return xs[0] - xs[1]

    def vjp(self, b, g, xs, out, params, needs):
        return [g, -g if needs[1] else None]


class Mul(Op):
    name = "mul"

    def forward(self, b, xs, params):
        return xs[0] * xs[1]

    def vjp(self, b, g, xs, out, params, needs):
        return [g * xs[1] if needs[0] else None, g * xs[0] if needs[1] else None]


class Div(Op):
    name = "div"

    def domain(self, b, xs, params):
        if _any(xs[1] == 0):
            return "division by zero (the denominator is 0; PyTorch would give inf or nan)"
        return None

    def forward(self, b, xs, params):
        return xs[0] / xs[1]

    def vjp(self, b, g, xs, out, params, needs):
        a, d = xs
        return [g / d if needs[0] else None, -g * a / (d * d) if needs[1] else None]


class Pow(Op):
    name = "pow"

    def domain(self, b, xs, params):
        import numpy as np

        a, e = xs
        if _any(e < 0) and _any((a == 0) & (e < 0)):
            return "0 to a negative power (division by zero; PyTorch would give inf)"
        if b.exact:
            fractional = np.asarray([v != int(v) for v in e.flat], dtype=bool).reshape(e.shape)
        else:
            fractional = np.mod(e, 1) != 0
        if fractional.any() and _any((a < 0) & fractional):
            return "a negative number to a fractional power is not real (PyTorch would give nan)"
        return None

    def forward(self, b, xs, params):
        if not b.exact and xs[1].ndim == 0 and xs[1] == 2:
            return xs[0] * xs[0]
        return b.pow(xs[0], xs[1])

    def vjp(self, b, g, xs, out, params, needs):
        a, e = xs
        if not b.exact and e.ndim == 0 and not needs[1]:
            return [g * (e * a if e == 2 else (e * a ** (e - 1) if e != 0 else 0 * a)), None]
        return [
            g * b.pow_grad_base(a, e) if needs[0] else None,
            g * b.pow_grad_exponent(a, e, out) if needs[1] else None,
        ]


class Maximum(Op):
    name = "maximum"
    pick = 1  # +1: the larger wins; -1: the smaller

    def kink(self, xs, params):
        return (
            "a tie: the gradient is split equally between both arguments (as PyTorch)" if _any(xs[0] == xs[1]) else None
        )

    def forward(self, b, xs, params):
        import numpy as np

        first = xs[0] >= xs[1] if self.pick > 0 else xs[0] <= xs[1]
        return b.asarray(np.where(first, xs[0], xs[1]))

    def vjp(self, b, g, xs, out, params, needs):
        import numpy as np

        a, c = xs
        wins = a > c if self.pick > 0 else a < c
        one, half, zero = b.num(1), b.num(0.5), b.num(0)
        weight = b.asarray(np.where(wins, one, np.where(a == c, half, zero)))
        return [g * weight if needs[0] else None, g * (one - weight) if needs[1] else None]


class Minimum(Maximum):
    name = "minimum"
    pick = -1


class Neg(Op):
    name = "neg"

    def forward(self, b, xs, params):
        return -xs[0]

    def vjp(self, b, g, xs, out, params, needs):
        return [-g]


class Exp(Op):
    name = "exp"

    def forward(self, b, xs, params):
        return b.exp(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [g * out]


class Log(Op):
    name = "log"

    def domain(self, b, xs, params):
        import numpy as np

        bad = np.asarray(xs[0] <= 0, dtype=bool)
        if bad.any():
            value = np.asarray(xs[0])[bad].flat[0]
            from dlsolve.engine.notation import entry_text

            return f"log of a non-positive value {entry_text(value)} (PyTorch would give -inf or nan)"
        return None

    def forward(self, b, xs, params):
        return b.log(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [g / xs[0]]


class Sqrt(Op):
    name = "sqrt"

    def domain(self, b, xs, params):
        return "sqrt of a negative value (PyTorch would give nan)" if _any(xs[0] < 0) else None

    def forward(self, b, xs, params):
        return b.sqrt(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        if _any(out == 0):
            raise InvalidProblem("the derivative of sqrt at 0 is infinite (PyTorch would give inf)", option="--f")
        return [g / (2 * out)]


class Abs(Op):
    name = "abs"

    def kink(self, xs, params):
        return "abs at 0: PyTorch uses sign(0) = 0 as the derivative" if _any(xs[0] == 0) else None

    def forward(self, b, xs, params):
        return abs(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [g * b.sign(xs[0])]


class Sin(Op):
    name = "sin"

    def forward(self, b, xs, params):
        return b.sin(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [g * b.cos(xs[0])]


class Cos(Op):
    name = "cos"

    def forward(self, b, xs, params):
        return b.cos(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [-g * b.sin(xs[0])]


class Tanh(Op):
    name = "tanh"

    def forward(self, b, xs, params):
        return b.tanh(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [g * (1 - out * out)]


class Sigmoid(Op):
    name = "sigmoid"

    def forward(self, b, xs, params):
        return b.sigmoid(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [g * out * (1 - out)]


class Relu(Op):
    name = "relu"

    def kink(self, xs, params):
        return "relu at 0: PyTorch uses relu'(0) = 0" if _any(xs[0] == 0) else None

    def forward(self, b, xs, params):
        import numpy as np

        return b.asarray(np.where(xs[0] > 0, xs[0], b.num(0)))

    def vjp(self, b, g, xs, out, params, needs):
        import numpy as np

        return [g * b.asarray(np.where(xs[0] > 0, b.num(1), b.num(0)))]


class LeakyRelu(Op):
    name = "leaky_relu"

    def kink(self, xs, params):
        return "leaky_relu at 0: PyTorch uses the slope as the derivative at 0" if _any(xs[0] == 0) else None

    def forward(self, b, xs, params):
        import numpy as np

        return b.asarray(np.where(xs[0] > 0, xs[0], xs[0] * b.num(params[0])))

    def vjp(self, b, g, xs, out, params, needs):
        import numpy as np

        return [g * b.asarray(np.where(xs[0] > 0, b.num(1), b.num(params[0])))]


class Softplus(Op):
    name = "softplus"

    def forward(self, b, xs, params):
        return b.softplus(xs[0])

    def vjp(self, b, g, xs, out, params, needs):
        return [g * b.softplus_grad(xs[0])]


class Transpose(Op):
    name = "transpose"
    elementwise = False

    def shape(self, shapes, params):
        return tuple(reversed(shapes[0]))

    def forward(self, b, xs, params):
        return xs[0].T

    def vjp(self, b, g, xs, out, params, needs):
        return [g.T]


def _dim(shape: Shape, dim: int) -> int:
    """``dim`` made non-negative, refused out of range as PyTorch does."""
    rank = max(len(shape), 1)
    if not -rank <= dim < rank:
        raise BadInput(
            f"dimension out of range (expected to be in range of [{-rank}, {rank - 1}], but got {dim})", option="--f"
        )
    return dim % rank


class Sum(Op):
    name = "sum"
    elementwise = False
    average = False

    def shape(self, shapes, params):
        dim, keepdim = params
        shape = shapes[0]
        if dim is None:
            return ()
        axis = _dim(shape, dim)
        if not shape:
            return ()
        return shape[:axis] + ((1,) if keepdim else ()) + shape[axis + 1 :]

    def _count(self, shape: Shape, dim: int | None) -> int:
        return size(shape) if dim is None or not shape else shape[_dim(shape, dim)]

    def forward(self, b, xs, params):
        dim, keepdim = params
        x = xs[0]
        if x.ndim == 0:
            total = x
        else:
            axis = None if dim is None else _dim(x.shape, dim)
            total = b.asarray(x.sum(axis=axis, keepdims=keepdim and dim is not None))
        return total / b.num(self._count(x.shape, dim)) if self.average else total

    def vjp(self, b, g, xs, out, params, needs):
        import numpy as np

        dim, keepdim = params
        x = xs[0]
        if self.average:
            g = g / b.num(self._count(x.shape, dim))
        if dim is None and not b.exact:
            return [np.full(x.shape, g, dtype=np.float64)]
        if dim is not None and not keepdim and x.ndim:
            g = np.expand_dims(g, _dim(x.shape, dim))
        return [b.asarray(np.broadcast_to(g, x.shape).copy())]


class Mean(Sum):
    name = "mean"
    average = True


def _last_axis_max(x: Any) -> Any:
    return x.max(axis=-1, keepdims=True)


class Softmax(Op):
    name = "softmax"
    elementwise = False

    def shape(self, shapes, params):
        return shapes[0]

    def forward(self, b, xs, params):
        x = xs[0].reshape(xs[0].shape or (1,))
        e = b.exp(x - _last_axis_max(x))
        return b.asarray(e / e.sum(axis=-1, keepdims=True)).reshape(xs[0].shape)

    def vjp(self, b, g, xs, out, params, needs):
        s, gg = out.reshape(out.shape or (1,)), g.reshape(g.shape or (1,))
        return [b.asarray(s * (gg - (gg * s).sum(axis=-1, keepdims=True))).reshape(out.shape)]


class LogSoftmax(Softmax):
    name = "log_softmax"

    def forward(self, b, xs, params):
        x = xs[0].reshape(xs[0].shape or (1,))
        shifted = x - _last_axis_max(x)
        return b.asarray(shifted - b.log(b.exp(shifted).sum(axis=-1, keepdims=True))).reshape(xs[0].shape)

    def vjp(self, b, g, xs, out, params, needs):
        o, gg = out.reshape(out.shape or (1,)), g.reshape(g.shape or (1,))
        return [b.asarray(gg - b.exp(o) * gg.sum(axis=-1, keepdims=True)).reshape(out.shape)]


class Matmul(Op):
    name = "matmul"
    elementwise = False

    def shape(self, shapes, params):
        return matmul_shape(shapes[0], shapes[1])

    def forward(self, b, xs, params):
        import numpy as np

        return b.asarray(np.matmul(xs[0], xs[1]))

    def vjp(self, b, g, xs, out, params, needs):
        import numpy as np

        a, c = xs
        if a.ndim == 1 and c.ndim == 1:
            return [g * c if needs[0] else None, g * a if needs[1] else None]
        if a.ndim == 2 and c.ndim == 1:
            return [b.asarray(np.outer(g, c)) if needs[0] else None, b.asarray(a.T @ g) if needs[1] else None]
        if a.ndim == 1:
            return [b.asarray(c @ g) if needs[0] else None, b.asarray(np.outer(a, g)) if needs[1] else None]
        return [b.asarray(g @ c.T) if needs[0] else None, b.asarray(a.T @ g) if needs[1] else None]


class Mse(Op):
    name = "mse"
    elementwise = False

    def shape(self, shapes, params):
        broadcast_shapes(shapes[0], shapes[1])
        return ()

    def forward(self, b, xs, params):
        d = xs[0] - xs[1]
        return b.asarray((d * d).sum()) / b.num(max(size(d.shape), 1))

    def vjp(self, b, g, xs, out, params, needs):
        d = xs[0] - xs[1]
        grad = g * d * (b.num(2) / b.num(size(d.shape)))
        return [grad, -grad if needs[1] else None]


def _same_shape(shapes: list[Shape], message: str) -> None:
    if shapes[0] != shapes[1]:
        raise BadInput(message.format(target=shape_text(shapes[1]), input=shape_text(shapes[0])), option="--f")


class Bce(Op):
    name = "bce"
    elementwise = False

    def shape(self, shapes, params):
        _same_shape(
            shapes,
            "using a target size ({target}) that is different to the input size ({input}) is "
            "deprecated. Please ensure they have the same size.",
        )
        return ()

    def domain(self, b, xs, params):
        p = xs[0]
        return "all elements of input should be between 0 and 1" if _any((p < 0) | (p > 1)) else None

    def forward(self, b, xs, params):
        p, y = xs
        terms = y * b.clamped_log(p) + (1 - y) * b.clamped_log(1 - p)
        return -b.asarray(terms.sum()) / b.num(size(p.shape))

    def vjp(self, b, g, xs, out, params, needs):
        p, y = xs
        n = b.num(size(p.shape))
        return [
            g * (p - y) / b.bce_denominator(p) / n if needs[0] else None,
            g * (b.clamped_log(1 - p) - b.clamped_log(p)) / n if needs[1] else None,
        ]


class BceWithLogits(Op):
    name = "bce_with_logits"
    elementwise = False

    def shape(self, shapes, params):
        _same_shape(shapes, "target size ({target}) must be the same as input size ({input})")
        return ()

    def forward(self, b, xs, params):
        z, y = xs
        return b.asarray(((1 - y) * z + b.logaddexp_form(z)).sum()) / b.num(size(z.shape))

    def vjp(self, b, g, xs, out, params, needs):
        z, y = xs
        n = b.num(size(z.shape))
        return [g * (b.sigmoid(z) - y) / n if needs[0] else None, -g * z / n if needs[1] else None]


class CrossEntropy(Op):
    """``torch.nn.functional.cross_entropy(z, t)`` (reduction mean, no weights, no smoothing)."""

    name = "cross_entropy"
    elementwise = False

    def shape(self, shapes, params):
        z, t = shapes
        if len(z) not in (1, 2):
            raise BadInput(f"cross_entropy expects logits of 1 or 2 dimensions (C or N×C), got {list(z)}", option="--f")
        if len(t) == len(z) - 1:
            if len(z) == 2 and t[0] != z[0]:
                raise BadInput(f"expected input batch_size ({z[0]}) to match target batch_size ({t[0]})", option="--f")
            return ()
        if t != z:
            raise BadInput(
                "0D or 1D target tensor expected, multi-target not supported"
                if len(t) > len(z) - 1 and len(z) == 2 and len(t) == 2
                else f"the target must be class indices of shape {list(z[:-1])} or probabilities of shape "
                f"{list(z)}, got {list(t)}",
                option="--f",
            )
        return ()

    @staticmethod
    def indices(xs: list[Any]) -> bool:
        return xs[1].ndim == xs[0].ndim - 1

    def domain(self, b, xs, params):
        if not self.indices(xs):
            return None
        classes = xs[0].shape[-1]
        for value in xs[1].flat:
            if value != int(value):
                return f"class index {value} is not a whole number (the target holds class indices here)"
            if not 0 <= int(value) < classes:
                return f"target {int(value)} is out of bounds (classes 0 to {classes - 1})"
        return None

    def _parts(self, b, xs):
        import numpy as np

        z, t = xs
        log_p = log_softmax_of(b, z)
        if self.indices(xs):
            one_hot = b.asarray(np.zeros(z.shape, dtype=object if b.exact else np.float64))
            one_hot[...] = b.num(0)
            rows = one_hot.reshape(-1, z.shape[-1])
            for row, value in enumerate(np.asarray(t).reshape(-1)):
                rows[row, int(value)] = b.num(1)
            target = rows.reshape(z.shape)
        else:
            target = t
        return log_p, target, b.num(z.shape[0] if z.ndim == 2 else 1)

    def forward(self, b, xs, params):
        log_p, target, n = self._parts(b, xs)
        return -b.asarray((target * log_p).sum()) / n

    def vjp(self, b, g, xs, out, params, needs):
        log_p, target, n = self._parts(b, xs)
        p = b.exp(log_p)
        grad_z = g * (p * target.sum(axis=-1, keepdims=True) - target) / n if needs[0] else None
        grad_t = -g * log_p / n if needs[1] and not self.indices(xs) else None
        return [grad_z, grad_t]


def log_softmax_of(b: Any, z: Any) -> Any:
    """log_softmax over the last dimension."""
    return LogSoftmax().forward(b, [z], ())


OPS: dict[str, Op] = {
    op.name: op
    for op in (
        Add(),
        Sub(),
        Mul(),
        Div(),
        Pow(),
        Maximum(),
        Minimum(),
        Neg(),
        Exp(),
        Log(),
        Sqrt(),
        Abs(),
        Sin(),
        Cos(),
        Tanh(),
        Sigmoid(),
        Relu(),
        LeakyRelu(),
        Softplus(),
        Transpose(),
        Sum(),
        Mean(),
        Softmax(),
        LogSoftmax(),
        Matmul(),
        Mse(),
        Bce(),
        BceWithLogits(),
        CrossEntropy(),
    )
}
