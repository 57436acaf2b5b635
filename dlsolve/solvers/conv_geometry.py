"""Output sizes of convolution and pooling windows, per spatial dimension, in PyTorch's or Keras's rules.

PyTorch (``in`` input size, ``k`` kernel, ``s`` stride, ``d`` dilation, ``p`` the padding on *each*
side, or ``p_b``/``p_a`` before/after when they differ, as ``F.pad`` then the layer computes)::

    conv        out = ⌊(in + p_b + p_a − d(k − 1) − 1)/s⌋ + 1            (p_b = p_a = p: in + 2p)
    transposed  out = (in − 1)s − p_b − p_a + d(k − 1) + output_padding + 1
    max/avg pool as conv (floor mode); ceil_mode=True takes ⌈·⌉ and drops a last window that would
                start in the right padding, i.e. when (out − 1)s ≥ in + p_b

``padding='same'`` (stride 1 only) pads d(k − 1) in total, the odd one after: out = in. Pool padding is
at most half the kernel on each side; AvgPool3d refuses an input smaller than the kernel.

TensorFlow/Keras (padding is ``'same'`` or ``'valid'`` only, any stride)::

    VALID       out = ⌊(in − d(k − 1) − 1)/s⌋ + 1                        (pools: d = 1)
    SAME        out = ⌈in/s⌉, total padding max((out − 1)s + d(k − 1) + 1 − in, 0), the extra one at
                the bottom/right
    transposed  VALID: (in − 1)s + max(d(k − 1) + 1, s); SAME: in·s; with output_padding o:
                VALID (in − 1)s + d(k − 1) + 1 + o, SAME (in − 1)s + (d(k − 1) + 1) mod 2 + o

Refusals (:func:`refusal`) are the framework's own, with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from dlsolve.errors import InvalidProblem
from dlsolve.solution import Step

KINDS = ("conv", "transposed", "maxpool", "avgpool")
KIND_NAMES = {"conv": "Conv", "transposed": "ConvTranspose", "maxpool": "MaxPool", "avgpool": "AvgPool"}
KERAS_NAMES = {"conv": "Conv", "transposed": "Conv{n}DTranspose", "maxpool": "MaxPooling", "avgpool": "AveragePooling"}
FRAMEWORKS = ("pytorch", "keras")
#: Names of the spatial dimensions by number of dimensions.
DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
#: Which input lines a dimension's size counts (for warnings).
DIM_NOUNS = {"L": "positions", "D": "depth slices", "H": "rows", "W": "columns"}

STEP_KINDS = {
    "conv.output-size": "the output-size formula, substituted, for one spatial dimension (or all alike)",
    "conv.params": "the parameter count of a conv layer (weights and bias)",
    "conv.macs": "the multiply-accumulate count of a layer (torchinfo's Mult-Adds)",
}

#: One dimension's padding: the same on both sides, or (before, after).
Pad = int | tuple[int, int]


def layer_name(kind: str, dims: int, framework: str = "pytorch") -> str:
    """``Conv2d`` (PyTorch) or ``Conv2D`` (Keras)."""
    if framework == "keras":
        return KERAS_NAMES[kind].format(n=dims) if kind == "transposed" else f"{KERAS_NAMES[kind]}{dims}D"
    return f"{KIND_NAMES[kind]}{dims}d"


# --------------------------------------------------------------------------- per-dimension formulas


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """``floor((in + 2p - d(k-1) - 1) / s) + 1`` (no validity check)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def transposed_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> int:
    """``(in - 1)s - 2p + d(k-1) + output_padding + 1`` (no validity check)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool) -> int:
    """PyTorch's ``pooling_output_shape``: floor or ceil mode with the last-window rule."""
    return _pool_size(size, kernel, stride, (padding, padding), dilation, ceil)


def _pool_size(size: int, kernel: int, stride: int, pads: tuple[int, int], dilation: int, ceil: bool) -> int:
    numerator = size + pads[0] + pads[1] - dilation * (kernel - 1) - 1 + (stride - 1 if ceil else 0)
    out = numerator // stride + 1
    if ceil and (out - 1) * stride >= size + pads[0]:
        out -= 1
    return out


def keras_same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF's SAME padding: total max((⌈in/s⌉ − 1)s + d(k − 1) + 1 − in, 0), the extra one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def keras_transposed_size(
    size: int, kernel: int, stride: int, dilation: int, same: bool, output_padding: int | None
) -> int:
    """Keras's ``Conv*Transpose`` output length (``_get_output_shape_given_tf_padding``)."""
    effective = dilation * (kernel - 1) + 1
    if output_padding is None:
        return size * stride if same else (size - 1) * stride + max(effective, stride)
    return (size - 1) * stride + (effective % 2 if same else effective) + output_padding


# --------------------------------------------------------------------------- a layer's geometry


class Geometry(NamedTuple):
    """The spatial settings of one conv/pool layer, one value per spatial dimension.

    ``padding`` is a tuple (an int or a (before, after) pair per dimension), or ``"same"``;
    with ``framework="keras"`` it is ``"same"`` or ``"valid"``. ``dilation`` is all ones for avg
    pools; ``output_padding`` is all zeros except for transposed convolutions (Keras: None entries
    mean "not given", Keras's default rule).
    """

    kind: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[Pad, ...] | str
    dilation: tuple[int, ...]
    output_padding: tuple[int | None, ...]
    ceil: bool = False
    framework: str = "pytorch"

    @property
    def dims(self) -> int:
        return len(self.kernel)

    @property
    def keras(self) -> bool:
        return self.framework == "keras"

    def pads(self, sizes: Sequence[int] | None = None) -> list[tuple[int, int]]:
        """Padding (before, after) per dimension; 'same' puts the odd one after (Keras's needs ``sizes``)."""
        if self.keras:
            if self.padding != "same" or self.kind == "transposed":
                return [(0, 0)] * self.dims
            assert sizes is not None
            return [
                keras_same_pads(n, k, s, d)
                for n, k, s, d in zip(sizes, self.kernel, self.stride, self.dilation, strict=True)
            ]
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel, self.dilation, strict=True)]
            return [(total // 2, total - total // 2) for total in totals]
        assert not isinstance(self.padding, str)
        return [p if isinstance(p, tuple) else (p, p) for p in self.padding]


def _cross(values: Sequence[int]) -> str:
    return " x ".join(str(v) for v in values)


def _keras_refusal(g: Geometry, sizes: Sequence[int]) -> str | None:
    """Keras's reason for refusing ``g`` on ``sizes`` (its messages, shortened)."""
    if any(k < 1 for k in g.kernel):
        return f"The argument `kernel_size` cannot contain 0. Received kernel_size={tuple(g.kernel)}"
    if any(s < 1 for s in g.stride):
        return f"The argument `strides` cannot contains 0. Received strides={tuple(g.stride)}"
    if any(d < 1 for d in g.dilation):
        return f"dilation_rate must be positive, got {tuple(g.dilation)}"
    if g.kind in ("conv", "transposed") and any(s > 1 for s in g.stride) and any(d > 1 for d in g.dilation):
        return (
            "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
            f"Received: strides={tuple(g.stride)} and dilation_rate={tuple(g.dilation)}"
        )
    if g.kind == "transposed":
        for i, (op, s) in enumerate(zip(g.output_padding, g.stride, strict=True)):
            if op is not None and op >= s:
                return (
                    f"`output_padding` must be strictly less than `strides` for all dimensions. "
                    f"At dimension {i}, `output_padding` is {op} but `strides` is {s}"
                )
        return None
    if g.padding == "valid" and any(out <= 0 for out in raw_output(g, sizes)):
        return (
            f"Computed output size would be zero or negative: input {list(sizes)}, kernel {list(g.kernel)}, "
            f"strides {list(g.stride)}, padding='valid'"
        )
    return None


def refusal(geometry: Geometry, sizes: Sequence[int]) -> str | None:
    """The framework's reason for refusing ``geometry`` on spatial ``sizes``, or None when it applies."""
    g = geometry
    if g.keras:
        return _keras_refusal(g, sizes)
    kind = g.kind
    if isinstance(g.padding, str):
        if kind != "conv":
            return f"{KIND_NAMES[kind]} does not support string padding {g.padding!r}; padding must be whole numbers"
        if any(s != 1 for s in g.stride):
            return "padding='same' is not supported for strided convolutions"
    elif any(min(pair) < 0 for pair in g.pads()):
        return "negative padding is not supported" if kind in ("conv", "transposed") else "pad must be non-negative"
    if any(s < 1 for s in g.stride):
        return "non-positive stride is not supported" if kind in ("conv", "transposed") else "stride should not be zero"
    if any(d < 1 for d in g.dilation):
        return f"dilation should be greater than zero, but got {list(g.dilation)}"
    if any(k < 1 for k in g.kernel):
        return f"kernel size should be greater than zero, but got kernel size {list(g.kernel)}"
    if kind == "conv":
        padded = [n + before + after for n, (before, after) in zip(sizes, g.pads(), strict=True)]
        effective = [d * (k - 1) + 1 for k, d in zip(g.kernel, g.dilation, strict=True)]
        if any(e > n for e, n in zip(effective, padded, strict=True)):
            return (
                f"Calculated padded input size per channel: ({_cross(padded)}). Kernel size: ({_cross(effective)}). "
                "Kernel size can't be greater than actual input size"
            )
        return None
    if kind == "transposed":
        if any(op is not None and op < 0 for op in g.output_padding):
            return "output padding must be non-negative"
        if any(
            op is not None and op >= s and op >= d
            for op, s, d in zip(g.output_padding, g.stride, g.dilation, strict=True)
        ):
            return (
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding {list(g.output_padding)}, stride {list(g.stride)}, dilation {list(g.dilation)}"
            )
    else:
        pads = g.pads()
        # asymmetric padding is F.pad then the pool: AvgPool3d then sees the padded input
        seen = sizes if all(b == a for b, a in pads) else [n + b + a for n, (b, a) in zip(sizes, pads, strict=True)]
        if kind == "avgpool" and g.dims == 3 and any(n < k for n, k in zip(seen, g.kernel, strict=True)):
            image = " ".join(f"{axis}: {n}" for axis, n in zip("THW", seen, strict=True))
            kernel = " ".join(f"k{axis}: {k}" for axis, k in zip("THW", g.kernel, strict=True))
            return f"input image ({image}) smaller than kernel size ({kernel})"
        for (before, after), k in zip(g.pads(), g.kernel, strict=True):
            if 2 * max(before, after) > k:
                return (
                    f"pad should be smaller than or equal to half of kernel size, but got pad={max(before, after)}, "
                    f"kernel_size={k}{f' and dilation={g.dilation[0]}' if kind == 'maxpool' else ''}"
                )
    outs = raw_output(g, sizes)
    if any(out < 1 for out in outs):
        if kind == "transposed":
            return (
                f"Given input size per channel: ({_cross(sizes)}). Calculated output size per channel: "
                f"({_cross(outs)}). Output size is too small"
            )
        given, calculated = "x".join(map(str, sizes)), "x".join(map(str, outs))
        return f"Given input size: ({given}). Calculated output size: ({calculated}). Output size is too small"
    return None


def raw_output(geometry: Geometry, sizes: Sequence[int]) -> list[int]:
    """The output size per dimension by the formula, without checking validity."""
    g = geometry
    outs = []
    pads = g.pads(sizes)
    for index, size in enumerate(sizes):
        k, s, d = g.kernel[index], g.stride[index], g.dilation[index]
        before, after = pads[index]
        op = g.output_padding[index]
        if g.keras:
            if g.kind == "transposed":
                outs.append(keras_transposed_size(size, k, s, d, g.padding == "same", op))
            elif g.padding == "same":
                outs.append(-(-size // s))
            else:
                outs.append((size - d * (k - 1) - 1) // s + 1)
        elif g.padding == "same":
            outs.append(size)
        elif g.kind == "conv":
            outs.append((size + before + after - d * (k - 1) - 1) // s + 1)
        elif g.kind == "transposed":
            outs.append((size - 1) * s - before - after + d * (k - 1) + (op or 0) + 1)
        else:
            outs.append(_pool_size(size, k, s, (before, after), d, g.ceil))
    return outs


def spatial_output(
    geometry: Geometry, sizes: Sequence[int], *, where: str = "", option: str | None = None
) -> list[int]:
    """Output size per spatial dimension; InvalidProblem with the framework's reason when it refuses."""
    reason = refusal(geometry, sizes)
    if reason is not None:
        raise InvalidProblem(f"{where}{reason}", option=option)
    return raw_output(geometry, sizes)


def floor_warnings(geometry: Geometry, sizes: Sequence[int], outs: Sequence[int]) -> list[str]:
    """One warning per dimension where the floor drops input lines that no window covers."""
    names = DIM_NAMES[len(sizes)]
    return [
        f"the floor drops the last {count} input {DIM_NOUNS[name]} along {name}: no window covers them"
        for name, count in zip(names, dropped_inputs(geometry, sizes, outs), strict=True)
        if count
    ]


def dropped_inputs(geometry: Geometry, sizes: Sequence[int], outs: Sequence[int]) -> list[int]:
    """Per dimension, how many real input lines at the end no window covers (the floor's loss)."""
    if geometry.kind == "transposed":
        return [0] * len(sizes)
    dropped = []
    pads = geometry.pads(sizes)
    for index, (size, out) in enumerate(zip(sizes, outs, strict=True)):
        before = pads[index][0]
        k, s, d = geometry.kernel[index], geometry.stride[index], geometry.dilation[index]
        covered_end = (out - 1) * s + d * (k - 1) + 1  # exclusive, in padded coordinates
        dropped.append(max(0, before + size - covered_end))
    return dropped


# --------------------------------------------------------------------------- working


def params_working(
    transposed: bool, kernel: Sequence[int], channels: int, filters: int, groups: int, bias: bool
) -> tuple[int, str, str]:
    """A conv layer's trainable parameters with the formula, the numbers and the total, as (total, text, LaTeX).

    conv: ``C_out·(C_in/groups)·k_h·k_w + C_out``; transposed: ``C_in·(C_out/groups)·k_h·k_w + C_out`` (the
    bias, one per output channel; the kernel's sides k, k_h·k_w or k_d·k_h·k_w by dimension). ``/groups`` is
    written only when groups ≠ 1. Text and LaTeX say the same
    words, so a typeset key shows the line once.
    """
    product = 1
    for k in kernel:
        product *= k
    first, second = (channels, filters) if transposed else (filters, channels)
    names = ("in", "out") if transposed else ("out", "in")
    total = first * (second // groups) * product + (filters if bias else 0)
    kernel_text = "·".join(map(str, kernel))
    # the kernel's sides by name: k (1-D), k_h·k_w (2-D), k_d·k_h·k_w (3-D)
    sides = ["k"] if len(kernel) == 1 else [f"k_{name.lower()}" for name in DIM_NAMES[len(kernel)]]
    ksym, lksym = "·".join(sides), "\\cdot ".join(side.replace("_", "_{") + "}" * ("_" in side) for side in sides)
    out_name, in_name = (f"C_{{\\mathrm{{{name}}}}}" for name in names)
    if groups == 1:
        formula, numbers = f"C_{names[0]}·C_{names[1]}·{ksym}", f"{first}·{second}·{kernel_text}"
        lformula = f"{out_name}\\cdot {in_name}\\cdot {lksym}"
    else:
        formula, numbers = f"C_{names[0]}·(C_{names[1]}/groups)·{ksym}", f"{first}·({second}/{groups})·{kernel_text}"
        lformula = f"{out_name}\\cdot ({in_name}/\\mathrm{{groups}})\\cdot {lksym}"
    lnumbers = numbers.replace("·", "\\cdot ")
    if bias:
        text = f"params = {formula} + C_out (bias) = {numbers} + {filters} = {total}"
        latex = (
            f"\\text{{params}} = {lformula} + C_{{\\mathrm{{out}}}}\\,(\\text{{bias}}) "
            f"= {lnumbers} + {filters} = {total}"
        )
    else:
        text = f"params = {formula} = {numbers} = {total} (no bias)"
        latex = f"\\text{{params}} = {lformula} = {lnumbers} = {total}\\ (\\text{{no bias}})"
    return total, text, latex


def dimension_steps(geometry: Geometry, sizes: Sequence[int]) -> list[Step]:
    """One step per spatial dimension, or one for all when every dimension has the same numbers."""
    names = DIM_NAMES[len(sizes)]
    per_dim = (geometry.kernel, geometry.stride, geometry.dilation, geometry.output_padding, geometry.pads(sizes))
    settings = {(size, *(values[i] for values in per_dim)) for i, size in enumerate(sizes)}
    if len(settings) == 1 and len(sizes) > 1:
        return [dimension_step(geometry, sizes, 0, names)]
    return [dimension_step(geometry, sizes, index, (name,)) for index, name in enumerate(names)]


def dimension_step(geometry: Geometry, sizes: Sequence[int], index: int, names: Sequence[str]) -> Step:
    """The formula for dimension ``index`` (shared by the dimensions ``names``) with its numbers substituted.

    The dilation appears only when d ≠ 1: ``⌊(in + 2p − k)/s⌋ + 1`` is the d = 1 form.
    """
    g = geometry
    name = " = ".join(f"{n}_out" for n in names)[:-4]
    latex_name = " = ".join(f"{n}_{{out}}" for n in names)[: -len("_{out}")]
    title = f"Output size along {', '.join(names)}"
    size, k, s, d = sizes[index], g.kernel[index], g.stride[index], g.dilation[index]
    out = raw_output(
        g._replace(
            kernel=(k,),
            stride=(s,),
            dilation=(d,),
            output_padding=(g.output_padding[index],),
            padding=g.padding if isinstance(g.padding, str) else (g.padding[index],),
        ),
        [size],
    )[0]
    if g.keras:
        return _keras_step(g, size, k, s, d, g.output_padding[index], out, name, latex_name, title)
    before, after = g.pads()[index]
    if g.padding == "same":
        span = f"{d}·({k}−1)" if d != 1 else f"k − 1 = {k} − 1"
        text = (
            f"{', '.join(names)}: padding='same' pads {'d(k−1)' if d != 1 else 'k − 1'} = {span} = {before + after} "
            f"in total ({before} before, {after} after), so {name}_out = in = {size}"
        )
        return Step(title, text, f"{latex_name}_{{out}} = {size}", kind="conv.output-size")
    symmetric = before == after
    pad_text = "2p" if symmetric else "p_b + p_a"
    pad_num = f"2·{before}" if symmetric else f"{before} + {after}"
    pad_latex = f"2\\cdot {before}" if symmetric else f"{before} + {after}"
    if g.kind == "transposed":
        # (in − 1)·s − 2p + d(k − 1) + output_padding + 1; with d = 1 and no output_padding, (in − 1)·s − 2p + k
        op = g.output_padding[index] or 0
        tpad_text = "2p" if symmetric else "(p_b + p_a)"
        minus_pads = pad_num if symmetric else f"({pad_num})"
        lminus_pads = pad_latex if symmetric else f"({pad_latex})"
        lpad_text = "2p" if symmetric else "(p_b + p_a)"
        if d == 1 and op == 0:
            formula, numbers = f"(in − 1)·s − {tpad_text} + k", f"({size} − 1)·{s} − {minus_pads} + {k}"
            lformula, lnumbers = f"(in - 1)\\cdot s - {lpad_text} + k", f"({size}-1)\\cdot {s} - {lminus_pads} + {k}"
        else:
            span_sym, span_num = ("d(k − 1)", f"{d}·({k} − 1)") if d != 1 else ("(k − 1)", f"({k} − 1)")
            span_latex = f"{d}\\cdot({k}-1)" if d != 1 else f"({k}-1)"
            formula = f"(in − 1)·s − {tpad_text} + {span_sym} + output_padding + 1"
            numbers = f"({size} − 1)·{s} − {minus_pads} + {span_num} + {op} + 1"
            lformula = (
                f"(in - 1)\\cdot s - {lpad_text} + {'d(k-1)' if d != 1 else '(k-1)'} + \\mathrm{{output\\_padding}} + 1"
            )
            lnumbers = f"({size}-1)\\cdot {s} - {lminus_pads} + {span_latex} + {op} + 1"
        text = f"{name}_out = {formula} = {numbers} = {out}"
        latex = f"{latex_name}_{{out}} = {lformula} = {lnumbers} = {out}"
        return Step(title, text, latex, kind="conv.output-size")
    numerator = size + before + after - d * (k - 1) - 1
    ceil = g.ceil and g.kind != "conv"
    bracket = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    lbracket = ("\\left\\lceil", "\\right\\rceil") if ceil else ("\\left\\lfloor", "\\right\\rfloor")
    quotient = -(-numerator // s) if ceil else numerator // s
    if d == 1:
        formula, substituted = f"(in + {pad_text} − k)/s", f"({size} + {pad_num} − {k})/{s}"
        lformula, lsubstituted = "in + 2p - k" if symmetric else "in + p_b + p_a - k", f"{size} + {pad_latex} - {k}"
    else:
        formula = f"(in + {pad_text} − d(k − 1) − 1)/s"
        substituted = f"({size} + {pad_num} − {d}·({k} − 1) − 1)/{s}"
        lformula = ("in + 2p" if symmetric else "in + p_b + p_a") + " - d(k-1) - 1"
        lsubstituted = f"{size} + {pad_latex} - {d}\\cdot({k}-1) - 1"
    text = (
        f"{name}_out = {bracket[0]}{formula}{bracket[1]} + 1 = {bracket[0]}{substituted}{bracket[1]} + 1 "
        f"= {bracket[0]}{numerator}/{s}{bracket[1]} + 1 = {quotient + 1}"
    )
    latex = (
        f"{latex_name}_{{out}} = {lbracket[0]} \\frac{{{lformula}}}{{s}} {lbracket[1]} + 1 = "
        f"{lbracket[0]} \\frac{{{lsubstituted}}}{{{s}}} {lbracket[1]} + 1 = {quotient + 1}"
    )
    if ceil and out != quotient + 1:
        text += (
            f"; the last window would start at (out − 1)·s = {quotient}·{s} = {quotient * s} ≥ in + p = "
            f"{size + before}, inside the right padding only, so PyTorch drops it: {name}_out = {out}"
        )
        latex += f" \\to {out}"
    return Step(title, text, latex, kind="conv.output-size")


def _keras_step(
    g: Geometry, size: int, k: int, s: int, d: int, op: int | None, out: int, name: str, latex_name: str, title: str
) -> Step:
    """TF/Keras's rule for one dimension, substituted."""
    span = f"{d}·({k} − 1) + 1" if d != 1 else f"{k}"
    span_sym = "d(k − 1) + 1" if d != 1 else "k"
    effective = d * (k - 1) + 1
    if g.kind == "transposed":
        if op is None and g.padding == "same":
            text = f"{name}_out = in·s = {size}·{s} = {out} (Keras SAME, no output_padding)"
        elif op is None:
            text = (
                f"{name}_out = (in − 1)·s + max({span_sym}, s) = ({size} − 1)·{s} + max({effective}, {s}) = {out} "
                "(Keras VALID, no output_padding)"
            )
        elif g.padding == "same":
            text = (
                f"{name}_out = (in − 1)·s + ({span_sym}) mod 2 + output_padding = ({size} − 1)·{s} + "
                f"{effective} mod 2 + {op} = {out} (Keras SAME)"
            )
        else:
            text = (
                f"{name}_out = (in − 1)·s + {span_sym} + output_padding = ({size} − 1)·{s} + {effective} + {op} "
                f"= {out} (Keras VALID)"
            )
        return Step(title, text, f"{latex_name}_{{out}} = {out}", kind="conv.output-size")
    if g.padding == "same":
        before, after = keras_same_pads(size, k, s, d)
        text = (
            f"{name}_out = ⌈in/s⌉ = ⌈{size}/{s}⌉ = {out} (TF/Keras SAME); total padding "
            f"max((out − 1)·s + {span_sym} − in, 0) = max(({out} − 1)·{s} + {effective} − {size}, 0) "
            f"= {before + after}: {before} before, {after} after (the extra one at the bottom/right)"
        )
        latex = f"{latex_name}_{{out}} = \\left\\lceil \\frac{{{size}}}{{{s}}} \\right\\rceil = {out}"
        return Step(title, text, latex, kind="conv.output-size")
    numerator = size - effective
    text = (
        f"{name}_out = ⌊(in − {span_sym})/s⌋ + 1 = ⌊({size} − {span})/{s}⌋ + 1 = ⌊{numerator}/{s}⌋ + 1 = {out} "
        "(TF/Keras VALID: no padding)"
    )
    latex = f"{latex_name}_{{out}} = \\left\\lfloor \\frac{{{size} - {effective}}}{{{s}}} \\right\\rfloor + 1 = {out}"
    return Step(title, text, latex, kind="conv.output-size")
