"""The pieces every layer catalogue of ``conv-shape --net`` shares: what a layer does to a shape
(:class:`Applied`), a constructor's signature (:class:`LayerSpec`), error context, argument checks, and
binding a parsed call to a signature the way Python binds a call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solvers.conv_geometry import Geometry
from dlsolve.values import LayerCall

Shape = tuple[int, ...]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass
class Applied:
    """What one layer does to a shape: the output, its trainable parameters, the working."""

    shape: Shape
    params: int = 0
    lines: list[str] = field(default_factory=list)
    latex: list[str] = field(default_factory=list)
    #: ``"keep"`` (pointwise), ``"end"`` (not a local window) or the Geometry of a conv/pool window.
    receptive: str | Geometry = "keep"
    warnings: list[str] = field(default_factory=list)
    #: Shown beside the output shape: what else the layer returns (``h_n [2, 8, 64]``), not traced.
    note: str = ""
    #: Multiply-accumulates when the catalogue counts them itself (None: the network's rule).
    macs: int | None = None
    #: The product that gives ``macs``, as written in the working (``5·(2224 − 1088)``; empty: none shown).
    macs_formula: str = ""
    #: One short line after the MACs: what torchinfo's count leaves out or adds (empty: none).
    macs_note: str = ""
    #: Parameters that are not trained (Keras's BatchNormalization moving mean and variance).
    non_trainable: int = 0
    #: Multiply-accumulates the forward pass performs in matrix products and convolutions, as
    #: ``torch.utils.flop_counter.FlopCounterMode`` counts them (its FLOPs / 2): bias adds, norms,
    #: activations, softmax and table lookups are left out (0 for the layers that have no such product).
    #: ``cost flops --net`` counts these; ``macs`` (torchinfo's) stays what ``conv-shape`` shows.
    compute_macs: int = 0
    #: The product that gives ``compute_macs`` (``8·30·30·432``; empty: none shown).
    compute_formula: str = ""


@dataclass(frozen=True)
class LayerSpec:
    """A layer constructor: parameters in PyTorch's order with defaults, and its shape function."""

    name: str
    params: tuple[tuple[str, Any], ...]
    apply: Callable[[Context, dict[str, Any], Shape], Applied]
    keyword_only: tuple[tuple[str, Any], ...] = ()
    var_args: bool = False  # Identity(*args, **kwargs)


@dataclass(frozen=True)
class Context:
    """The layer being applied, for error messages: ``layer 2 (Conv2d(1, 16, 3))``."""

    index: int
    name: str
    source: str

    def where(self) -> str:
        return f"layer {self.index} ({self.source}): "

    def bad(self, message: str) -> BadInput:
        return BadInput(self.where() + message, option="--net")

    def invalid(self, message: str) -> InvalidProblem:
        return InvalidProblem(self.where() + message, option="--net")

    def mismatch(self, argument: str, expected: int, shape: Shape, found: int, noun: str) -> InvalidProblem:
        """The layer expects ``expected`` (its ``argument``) but the incoming tensor has ``found``."""
        return self.invalid(f"{argument} is {expected} but the incoming tensor {fmt.shape(shape)} has {found} {noun}")


# --------------------------------------------------------------------------- argument checks


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(ctx: Context, value: Any, what: str) -> int:
    if not _is_int(value):
        raise ctx.bad(f"{what} must be a whole number, got {value!r}")
    return value


def _bool(ctx: Context, value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ctx.bad(f"{what} must be True or False, got {value!r}")
    return value


def _float(ctx: Context, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.bad(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ctx.bad(f"{what} must be a finite number, got {value!r}")
    return number


def _ints(ctx: Context, value: Any, n: int, what: str) -> tuple[int, ...]:
    """An int for every dimension, or a tuple of ``n`` ints (PyTorch's ``_ntuple``)."""
    if _is_int(value):
        return (value,) * n
    if isinstance(value, tuple) and len(value) == n and all(_is_int(v) for v in value):
        return value
    raise ctx.bad(f"{what} must be a whole number or a tuple of {n} whole numbers, got {value!r}")


def _dims_text(n: int) -> str:
    return {1: "1-D", 2: "2-D", 3: "3-D", 4: "4-D", 5: "5-D"}.get(n, f"{n}-D")


def _expect_ndim(ctx: Context, shape: Shape, allowed: Sequence[int], what: str = "") -> None:
    if len(shape) not in allowed:
        choices = " or ".join(_dims_text(n) for n in allowed)
        raise ctx.invalid(f"expected a {choices} input{what}, got {fmt.shape(shape)} ({_dims_text(len(shape))})")


def _spatial_ndim(ctx: Context, shape: Shape, n: int) -> None:
    _expect_ndim(ctx, shape, (n + 1, n + 2), f" ({_dims_text(n + 1)} unbatched or {_dims_text(n + 2)} batched)")


def _channel_axis(shape: Shape, n: int) -> int:
    """The channel axis for an input with ``n`` spatial dimensions (0 unbatched, 1 batched)."""
    return len(shape) - n - 1


# --------------------------------------------------------------------------- binding and the network


def bind(call: LayerCall, spec: LayerSpec, ctx: Context) -> dict[str, Any]:
    """Bind a call's arguments to the constructor's parameters, as Python would."""
    if spec.var_args:
        return {}
    names = [name for name, _ in spec.params]
    if len(call.args) > len(names):
        raise ctx.bad(f"{spec.name}() takes at most {len(names)} positional arguments but {len(call.args)} were given")
    bound = dict(zip(names, call.args, strict=False))
    keyword_names = {name for name, _ in spec.keyword_only}
    for key, value in call.kwargs.items():
        if key in bound:
            raise ctx.bad(f"{spec.name}() got multiple values for argument '{key}'")
        if key not in names and key not in keyword_names:
            raise ctx.bad(f"{spec.name}() got an unexpected keyword argument '{key}'")
        bound[key] = value
    for name, default in (*spec.params, *spec.keyword_only):
        if name not in bound:
            if default is REQUIRED:
                raise ctx.bad(f"{spec.name}() missing required argument '{name}'")
            bound[name] = default
    return bound
