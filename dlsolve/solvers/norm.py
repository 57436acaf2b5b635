"""``norm batch | layer | group | instance | rms``: normalization layers by hand, as PyTorch runs them.

Conventions (PyTorch's ``BatchNorm1d/2d/3d``, ``LayerNorm``, ``GroupNorm``, ``InstanceNorm1d/2d/3d``,
``RMSNorm``; input N x C, N,C,L or N,C,H,W):

* ``x̂ = (x − μ)/√(σ² + ε)``, ``y = γ·x̂ + β``, with the *biased* variance σ² = (1/M)·Σ(x − μ)² of the
  M values each statistic covers: batch norm per channel over N·∏spatial, layer norm per sample over
  the ``normalized_shape`` (trailing) dimensions, group norm per (sample, group of C/G channels) over
  (C/G)·∏spatial, instance norm per (sample, channel) over ∏spatial. RMSNorm: ``y = γ·x/√(ms + ε)``
  with ms = (1/M)·Σx² over ``normalized_shape`` and ε defaulting to float64's machine epsilon 2⁻⁵².
* Running statistics (batch norm, and instance norm with ``track_running_stats``), training mode:
  ``new = (1 − m)·old + m·batch`` with momentum m = 0.1 (Keras's ``momentum`` is the weight of the
  *old* value, default 0.99); the running variance takes the *unbiased* variance σ²·M/(M − 1).
  ``momentum=None`` is BatchNorm's cumulative average, m = 1/(num_batches_tracked + 1); InstanceNorm
  passes it to ``F.instance_norm`` as 0, so its running statistics stay put.
* Eval mode: batch norm (and instance norm with tracked stats) normalizes with the running statistics
  and updates nothing; without tracked statistics it uses the batch statistics in both modes.
* Backward (``grad_y`` = dL/dy): dβ = Σg, dγ = Σg·x̂ (over everything but γ's axis) and, with ĝ = γ·g,
  ``dx = (1/σ)(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))`` per statistic (RMSNorm: no mean(ĝ) term; fixed running
  statistics: dx = ĝ/σ). σ = √(σ² + ε).

Refusals as PyTorch's (exit 1): ε ≤ 0 in training batch norm, one value per channel in training, a
group count not dividing C, a ``normalized_shape`` that is not the input's trailing shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step
from dlsolve.solvers import norm_math as nm
from dlsolve.solvers.norm_math import Value
from dlsolve.values import Tensor

STEP_KINDS = {
    "norm.statistics": "the mean and biased variance (or mean square) each statistic covers, and √(σ² + ε)",
    "norm.normalize": "x̂ = (x − μ)/√(σ² + ε) for every entry, one worked entry",
    "norm.affine": "y = γ·x̂ + β, one worked entry",
    "norm.running-stats": "the running mean and variance update (PyTorch's momentum, unbiased variance)",
    "norm.backward": "dβ, dγ and dx by the compact formula, one worked entry",
    "norm.pre-ln-stack": "pre-LN residual blocks with identity sublayers, x_{l+1} = x_l + LN(x_l)",
}

KINDS = ("batch", "layer", "group", "instance", "rms")
DEFAULT_EPS = Fraction(1, 100_000)
#: RMSNorm's default ε on float64 inputs: torch.finfo(torch.float64).eps.
RMS_DEFAULT_EPS = Fraction(1, 2**52)
DEFAULT_MOMENTUM = Fraction(1, 10)
_TITLES = {
    "batch": "Batch norm",
    "layer": "Layer norm",
    "group": "Group norm",
    "instance": "Instance norm",
    "rms": "RMS norm",
}


@dataclass
class _Setup:
    """What one layer computes, decided from the options (PyTorch's module logic)."""

    kind: str
    shape: tuple[int, ...]
    affine: bool
    batch_stats: bool  # the input's own statistics normalize (else the running ones)
    update: bool  # the running statistics are updated
    normalized: int  # trailing dims of layer/rms norm
    groups: int


def _size(shape: Sequence[int]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _vector(values: Sequence[Value] | None, count: int, option: str, default: Value | None) -> list[Value] | None:
    if values is None:
        return None if default is None else [default] * count
    if len(values) != count:
        raise BadInput(
            f"expected {count} values (one per {'feature' if count else ''}), got {len(values)}", option=option
        )
    return list(values)


def _setup(
    kind: str,
    x: Tensor,
    *,
    training: bool,
    affine: bool | None,
    track: bool | None,
    groups: int | None,
    normalized_shape: Sequence[int] | None,
    eps: Value,
) -> _Setup:
    shape = x.shape
    if kind not in KINDS:
        raise BadInput(f"expected one of {', '.join(KINDS)}, got {kind!r}", option="kind")
    if eps < 0:
        raise (InvalidProblem if kind == "batch" else BadInput)(
            f"batch_norm eps must be non-negative, but got {fmt.exact(eps)}" if kind == "batch" else "ε must be ≥ 0",
            option="--eps",
        )
    affine = (kind != "instance") if affine is None else affine
    normalized = 1
    if kind in ("layer", "rms"):
        wanted = tuple(normalized_shape) if normalized_shape else shape[-1:]
        normalized = len(wanted)
        if len(shape) < normalized or tuple(shape[-normalized:]) != wanted:
            raise InvalidProblem(
                f"Given normalized_shape={list(wanted)}, expected input with shape [*, {', '.join(map(str, wanted))}], "
                f"but got input of size{list(shape)}",
                option="--normalized-shape",
            )
        return _Setup(kind, shape, affine, True, False, normalized, 1)
    if len(shape) < 2:
        raise InvalidProblem(f"expected at least 2 dimensions (N, C, ...), got {_size(shape)}", option="--x")
    n, c, spatial = shape[0], shape[1], math.prod(shape[2:])
    if kind == "group":
        g = groups if groups is not None else 1
        if g <= 0 or c % g:
            raise InvalidProblem(f"num_channels ({c}) must be divisible by num_groups ({g})", option="--groups")
        if n * c // g * spatial == 1:
            raise InvalidProblem(
                f"Expected more than 1 value per channel when training, got input size {[n * c // g, g, *shape[2:]]}",
                option="--x",
            )
        return _Setup(kind, shape, affine, True, False, 1, g)
    if groups is not None:
        raise BadInput(f"--groups is for group norm, not {kind} norm", option="--groups")
    track = (kind == "batch") if track is None else track
    batch_stats = training or not track
    if kind == "batch":
        if len(shape) > 5:
            raise InvalidProblem(f"expected 2-D to 5-D input (BatchNorm1d/2d/3d), got {_size(shape)}", option="--x")
        if batch_stats and n * spatial == 1:
            raise InvalidProblem(
                f"Expected more than 1 value per channel when training, got input size {list(shape)}", option="--x"
            )
        if batch_stats and eps <= 0:
            raise InvalidProblem(
                f"batch_norm eps must be positive during training, but got {fmt.exact(eps)}", option="--eps"
            )
    elif batch_stats and spatial == 1:
        raise InvalidProblem(
            f"Expected more than 1 spatial element when training, got input size {list(shape)}", option="--x"
        )
    return _Setup(kind, shape, affine, batch_stats, training and track, 1, 1)


def normalize(
    kind: str,
    x: Tensor,
    *,
    gamma: Sequence[Value] | None = None,
    beta: Sequence[Value] | None = None,
    eps: Value | None = None,
    momentum: Value | None = None,
    cumulative: bool = False,
    num_batches_tracked: int = 0,
    running_mean: Sequence[Value] | None = None,
    running_var: Sequence[Value] | None = None,
    training: bool = True,
    affine: bool | None = None,
    track_running_stats: bool | None = None,
    groups: int | None = None,
    normalized_shape: Sequence[int] | None = None,
    grad_y: Tensor | None = None,
    blocks: int = 0,
    full: bool = False,
) -> Solution:
    """Forward (and with ``grad_y`` backward) pass of one normalization layer; see the module docstring.

    ``gamma``/``beta`` default to PyTorch's initial 1 and 0; the running statistics to 0 and 1.
    ``blocks`` (layer and RMS norm) stacks that many pre-LN residual blocks with identity sublayers,
    x_{l+1} = x_l + LN(x_l), and reports every x_l in ``stack``.
    """
    eps = (RMS_DEFAULT_EPS if kind == "rms" else DEFAULT_EPS) if eps is None else eps
    m = DEFAULT_MOMENTUM if momentum is None else momentum
    unbatched = kind == "instance" and len(x.shape) == 2
    if unbatched:  # InstanceNorm1d reads a 2-D input as one unbatched sample (C, L)
        x = Tensor((1, *x.shape), x.values)
        if grad_y is not None and len(grad_y.shape) == 2:
            grad_y = Tensor((1, *grad_y.shape), grad_y.values)
    setup = _setup(
        kind, x, training=training, affine=affine, track=track_running_stats, groups=groups,
        normalized_shape=normalized_shape, eps=eps,
    )  # fmt: skip
    shape = x.shape
    view = nm.layout(kind, shape, groups=setup.groups, normalized=setup.normalized)
    params = math.prod(shape[-setup.normalized :]) if kind in ("layer", "rms") else shape[1]
    if not setup.affine and (gamma is not None or beta is not None):
        raise BadInput("affine=False: the layer has no γ or β", option="--gamma" if gamma is not None else "--beta")
    if kind == "rms" and beta is not None:
        raise BadInput("RMSNorm has no β (y = γ·x/rms)", option="--beta")
    gammas = _vector(gamma, params, "--gamma", Fraction(1))
    betas = _vector(beta, params, "--beta", Fraction(0))
    warnings: list[str] = []
    tracked = kind in ("batch", "instance") and (setup.update or not setup.batch_stats)
    channels = shape[1] if kind in ("batch", "instance") else 0
    r_mean = _vector(running_mean, channels, "--running-mean", Fraction(0) if tracked else None)
    r_var = _vector(running_var, channels, "--running-var", Fraction(1) if tracked else None)
    if not tracked and (running_mean is not None or running_var is not None):
        option = "--running-mean" if running_mean is not None else "--running-var"
        raise BadInput(
            f"{_TITLES[kind].lower()} keeps no running statistics here (see the track/eval options)", option=option
        )
    if tracked and not setup.batch_stats and running_mean is None and running_var is None:
        warnings.append(
            "eval mode with no running statistics given: using a fresh layer's running_mean 0, running_var 1"
        )
    if r_var is not None and any(v < 0 for v in r_var):
        raise BadInput("a running variance cannot be negative", option="--running-var")

    x_arr = nm.as_array(x.values, shape)
    rows = view.to_rows(x_arr)
    if setup.batch_stats:
        stats = nm.row_stats(rows, eps, rms=kind == "rms")
    else:
        assert r_mean is not None and r_var is not None
        per_row = 1 if kind == "batch" else shape[0]  # instance norm: each sample uses the channel's stats
        stats = nm.given_stats(
            rows,
            nm.as_array(r_mean * per_row, (len(r_mean) * per_row,)),
            nm.as_array(r_var * per_row, (len(r_var) * per_row,)),
            eps,
        )
    if any(v == 0 for v in stats.denominator):
        raise InvalidProblem("σ² + ε = 0 for a statistic: x̂ = 0/0 (PyTorch returns NaN); give ε > 0", option="--eps")
    x_hat = view.from_rows(stats.x_hat)
    gamma_arr = nm.as_array(gammas, view.param_shape) if gammas is not None else None
    beta_arr = nm.as_array(betas, view.param_shape) if betas is not None else None
    y = x_hat * gamma_arr + beta_arr if gamma_arr is not None and beta_arr is not None else x_hat

    new_mean = new_var = None
    unbiased = None
    factor: Value = m
    if setup.update:
        assert r_mean is not None and r_var is not None
        # momentum=None: BatchNorm's cumulative average; InstanceNorm passes it on as 0 (no update)
        factor = (Fraction(0) if kind == "instance" else Fraction(1, num_batches_tracked + 1)) if cumulative else m
        width = rows.shape[1]
        unbiased = stats.var * width / (width - 1)
        batch_mean, batch_var = stats.mean, unbiased
        if kind == "instance":  # the mean over the samples of each channel's per-instance statistics
            batch_mean = stats.mean.reshape(shape[0], shape[1]).sum(axis=0) / shape[0]
            batch_var = unbiased.reshape(shape[0], shape[1]).sum(axis=0) / shape[0]
        old_mean, old_var = nm.as_array(r_mean, (channels,)), nm.as_array(r_var, (channels,))
        new_mean = old_mean * (1 - factor) + batch_mean * factor
        new_var = old_var * (1 - factor) + batch_var * factor

    stack = _pre_ln_stack(kind, x_arr, view, eps, gamma_arr, beta_arr, blocks)
    gradients = None
    if grad_y is not None:
        gradients = _backward(setup, view, stats, gamma_arr, grad_y, rows.shape)

    exact = nm.is_exact_array(x_arr)
    if not exact:
        warnings.append("float inputs: computed in float64")
    stats_shape = view.stats_shape[1:] if unbatched else view.stats_shape
    if setup.batch_stats:
        stats_mean = None if stats.mean is None else stats.mean.reshape(stats_shape)
        stats_var = stats.var.reshape(stats_shape)
    else:  # the running statistics, one per channel
        stats_mean, stats_var = stats.mean[:channels], stats.var[:channels]
    if unbatched:
        warnings.append("a 2-D input to instance norm is one unbatched sample (C, L), as InstanceNorm1d reads it")
    y_out = y[0] if unbatched else y
    dx_out = None if gradients is None else gradients["dx"][0] if unbatched else gradients["dx"]
    answer: dict[str, Any] = {
        "y": nm.to_json(y_out),
        "mean": None if stats_mean is None else nm.to_json(stats_mean),
        "var": nm.to_json(stats_var),
        "running_mean": nm.to_json(new_mean)
        if new_mean is not None
        else (r_mean and [fmt.json_number(v) for v in r_mean]),
        "running_var": nm.to_json(new_var) if new_var is not None else (r_var and [fmt.json_number(v) for v in r_var]),
        "mode": "train" if training else "eval",
        "batch_statistics": setup.batch_stats,
    }
    if kind == "rms":
        answer["mean_square"] = answer.pop("var")
        answer["var"] = None
        answer["rms"] = nm.to_json(stats.sigma.reshape(stats_shape))
    if unbiased is not None:
        answer["var_unbiased"] = nm.to_json(unbiased.reshape(stats_shape))
    if exact and isinstance(eps, Fraction) and kind != "rms":
        answer["exact"] = _exact_answer(
            y_out, stats_mean, stats_var, stats.denominator.reshape(stats_shape), new_mean, new_var
        )
    if gradients is not None:
        answer["dx"] = nm.to_json(dx_out)
        for key in ("dgamma", "dbeta"):
            answer[key] = None if gradients[key] is None else nm.to_json(gradients[key])

    quiet_lines = ["y =", nm.array_text(y_out, "")]
    if new_mean is not None and new_var is not None:
        quiet_lines += [f"running_mean = {nm.vector_text(new_mean)}", f"running_var = {nm.vector_text(new_var)}"]
    if gradients is not None:
        quiet_lines += ["dx =", nm.array_text(dx_out, "")]
        for key in ("dgamma", "dbeta"):
            if gradients[key] is not None:
                quiet_lines.append(f"{key} = {nm.vector_text(gradients[key])}")
    if stack:
        answer["stack"] = [nm.to_json(block) for block in stack]
        quiet_lines += [f"x_{blocks} =", nm.array_text(stack[-1], "")]
    mode_text = f" ({'train' if training else 'eval'} mode)" if kind in ("batch", "instance") else ""
    summary = f"{_TITLES[kind]}{mode_text}: y = {nm.nested_text(y_out)}"
    if new_mean is not None and new_var is not None:
        summary += f"; running_mean {nm.vector_text(new_mean)}, running_var {nm.vector_text(new_var)}"
    if gradients is not None:
        summary += f"; ∂L/∂x = {nm.nested_text(dx_out)}"
        summary += "".join(
            f", {name} = {nm.vector_text(gradients[key])}" for key, name in (("dgamma", "∂L/∂γ"), ("dbeta", "∂L/∂β"))
            if gradients[key] is not None
        )  # fmt: skip
    if stack:
        summary += f"; after {blocks} pre-LN blocks x_{blocks} = {nm.nested_text(stack[-1])}"

    def steps() -> list[Step]:
        from dlsolve.solvers import norm_steps

        return norm_steps.build(
            norm_steps.Working(
                setup=setup, x=x_arr, view=view, stats=stats, x_hat=x_hat, y=y, gamma=gammas, beta=betas, eps=eps,
                factor=factor, cumulative=cumulative, old_mean=r_mean, old_var=r_var, new_mean=new_mean,
                new_var=new_var, unbiased=unbiased, gradients=gradients, grad_y=grad_y, stack=stack, full=full,
            )
        )  # fmt: skip

    inputs: dict[str, Any] = {
        "shape": list(shape),
        "eps": nm.decimal_text(eps) if "e" in fmt.exact(eps) else fmt.exact(eps),
    }
    if kind in ("batch", "instance"):
        inputs["mode"] = answer["mode"]
    if kind == "group":
        inputs["groups"] = setup.groups
    if kind in ("batch", "instance") and (setup.update or not setup.batch_stats):
        inputs["momentum"] = "None (cumulative)" if cumulative else fmt.exact(m)
    return Solution(
        command=f"norm {kind}",
        inputs=inputs,
        answer=answer,
        summary=summary,
        quiet="\n".join(quiet_lines),
        answer_latex=nm.latex_answer(
            [
                ("y", y_out),
                (r"\text{running\_mean}", new_mean),
                (r"\text{running\_var}", new_var),
                (r"\partial L/\partial x", dx_out),  # the summary's names (dγ would read as d·γ)
                (r"\partial L/\partial \gamma", None if gradients is None else gradients["dgamma"]),
                (r"\partial L/\partial \beta", None if gradients is None else gradients["dbeta"]),
                (f"x_{{{blocks}}}", stack[-1] if stack else None),
            ]
        ),
        steps=steps,
        warnings=warnings,
    )


def _exact_answer(y: Any, mean: Any, var: Any, denominator: Any, new_mean: Any, new_var: Any) -> dict[str, Any]:
    """The exact values as strings (``"8/3"``, ``"√(800003/300000)"``); ``y`` only when it is rational."""
    return {
        "y": nm.to_strings(y) if nm.is_exact_array(y) else None,
        "mean": None if mean is None else nm.to_strings(mean),
        "var": nm.to_strings(var),
        "std": nm.to_strings(denominator, root=True),
        "running_mean": None if new_mean is None else nm.to_strings(new_mean),
        "running_var": None if new_var is None else nm.to_strings(new_var),
    }


def _backward(
    setup: _Setup, view: nm.Layout, stats: nm.RowStats, gamma: Any, grad_y: Tensor, row_shape: tuple[int, ...]
) -> dict[str, Any]:
    """dx, dγ, dβ (dγ and dβ None without affine parameters); formulas in the module docstring."""
    if grad_y.shape != setup.shape:
        raise BadInput(
            f"dL/dy must have the input's shape {_size(setup.shape)}, got {_size(grad_y.shape)}", option="--grad-y"
        )
    g = nm.as_array(grad_y.values, grad_y.shape)
    g_hat = g * gamma if gamma is not None else g
    dx = view.from_rows(
        nm.backward_rows(view.to_rows(g_hat), stats, batch_stats=setup.batch_stats, rms=setup.kind == "rms")
    )
    dgamma = dbeta = None
    if setup.affine:
        x_hat = view.from_rows(stats.x_hat)
        dgamma = (g * x_hat).sum(axis=view.param_axes).reshape(-1) if view.param_axes else (g * x_hat).reshape(-1)
        if setup.kind != "rms":
            dbeta = g.sum(axis=view.param_axes).reshape(-1) if view.param_axes else g.reshape(-1)
    return {"dx": dx, "dgamma": dgamma, "dbeta": dbeta, "g_hat": g_hat}


def _pre_ln_stack(kind: str, x: Any, view: nm.Layout, eps: Value, gamma: Any, beta: Any, blocks: int) -> list[Any]:
    """x_1 … x_K of K pre-LN residual blocks whose sublayers are the identity: x_{l+1} = x_l + LN(x_l)."""
    if blocks and kind not in ("layer", "rms"):
        raise BadInput(f"--blocks stacks pre-LN residual blocks: layer or rms norm, not {kind} norm", option="--blocks")
    if blocks < 0 or blocks > 100:
        raise BadInput(f"expected 0 to 100 blocks, got {blocks}", option="--blocks")
    out = []
    current = x
    for _ in range(blocks):
        normalized = view.from_rows(nm.row_stats(view.to_rows(current), eps, rms=kind == "rms").x_hat)
        if gamma is not None:
            normalized = normalized * gamma + (beta if beta is not None and kind != "rms" else 0)
        current = current + normalized
        out.append(current)
    return out
