"""Multi-head attention bookkeeping: every tensor shape, the parameter count and the multiply-adds.

Conventions:

* Shapes are batch-first, ``[B, T, D]`` (``nn.MultiheadAttention(batch_first=True)``; its default
  ``batch_first=False`` puts the sequence first, ``[T, B, D]``). T query tokens, S key/value tokens.
* ``h`` heads of width ``d_k`` (queries/keys) and ``d_v`` (values); by default ``d_k = d_v = D/h``,
  which is what ``nn.MultiheadAttention`` does (it refuses D not divisible by h). Other ``d_k``/``d_v``
  follow "Attention is all you need" (W_i^Q: D x d_k per head) and have no ``nn.MultiheadAttention``
  equivalent.
* Parameters: ``W_Q`` (D x h d_k), ``W_K`` (kdim x h d_k), ``W_V`` (vdim x h d_v), ``W_O`` (h d_v x D),
  each with a bias when ``bias``; ``add_bias_kv`` adds the learned vectors ``bias_k``, ``bias_v``
  (D each) appended to the keys and values as one extra token (S + 1 keys).
* Multiply-adds (MACs): one multiplication plus one addition of a matrix product; an m x n by n x p
  product costs m n p. FLOPs are about 2 x MACs. Biases, the 1/sqrt(d_k) scaling and the softmax's
  exponentials are listed but not counted as MACs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step, Table

STEP_KINDS = {
    "attention-shapes.head-width": "the per-head widths d_k and d_v (d_model / h by default)",
    "attention-shapes.tensors": "every tensor's shape, batch first",
    "attention-shapes.params": "the parameters of each projection, itemized, and their total",
    "attention-shapes.macs": "the multiply-adds of each matrix product, itemized, and their total",
}


@dataclass(frozen=True)
class MhaSizes:
    """The sizes of one multi-head attention problem (see the module docstring)."""

    batch: int
    seq: int | None  #: None: no sequence given (parameters only)
    seq_kv: int | None
    d_model: int
    heads: int
    d_k: int
    d_v: int
    kdim: int
    vdim: int
    bias: bool
    add_bias_kv: bool

    @property
    def keys(self) -> int:
        """Number of keys attended to (one more with ``add_bias_kv``)."""
        assert self.seq_kv is not None
        return self.seq_kv + (1 if self.add_bias_kv else 0)

    @property
    def torch_equivalent(self) -> bool:
        """True when ``nn.MultiheadAttention(d_model, heads, ...)`` computes exactly this."""
        return self.d_k * self.heads == self.d_model and self.d_v == self.d_k


def parameter_counts(sizes: MhaSizes) -> dict[str, int]:
    """Parameters by tensor, named as in ``nn.MultiheadAttention`` where it has them."""
    h, d_model = sizes.heads, sizes.d_model
    counts = {
        "W_Q": d_model * h * sizes.d_k,
        "W_K": sizes.kdim * h * sizes.d_k,
        "W_V": sizes.vdim * h * sizes.d_v,
    }
    if sizes.bias:
        counts["in_proj_bias"] = 2 * h * sizes.d_k + h * sizes.d_v
    counts["W_O (out_proj.weight)"] = h * sizes.d_v * d_model
    if sizes.bias:
        counts["out_proj.bias"] = d_model
    if sizes.add_bias_kv:
        counts["bias_k"] = d_model
        counts["bias_v"] = d_model
    return counts


def tensor_shapes(sizes: MhaSizes) -> list[tuple[str, list[int], str]]:
    """``(name, shape, how it is made)`` for every tensor, in order."""
    b, t, s, h = sizes.batch, sizes.seq, sizes.keys, sizes.heads
    hdk, hdv = h * sizes.d_k, h * sizes.d_v
    return [
        ("query input", [b, t, sizes.d_model], "given"),
        ("key input", [b, sizes.seq_kv, sizes.kdim], "given"),
        ("value input", [b, sizes.seq_kv, sizes.vdim], "given"),
        ("Q = query W_Q", [b, t, hdk], f"({t} × {sizes.d_model})·({sizes.d_model} × {hdk}) per batch item"),
        ("K = key W_K", [b, sizes.seq_kv, hdk], f"({sizes.seq_kv} × {sizes.kdim})·({sizes.kdim} × {hdk})"),
        ("V = value W_V", [b, sizes.seq_kv, hdv], f"({sizes.seq_kv} × {sizes.vdim})·({sizes.vdim} × {hdv})"),
        *(
            [("K, V with bias_k, bias_v appended", [b, s, hdk], "one extra key/value token")]
            if sizes.add_bias_kv
            else []
        ),
        ("Q split into heads", [b, h, t, sizes.d_k], f"reshape {hdk} = {h} × {sizes.d_k}, move heads forward"),
        ("K split into heads", [b, h, s, sizes.d_k], f"reshape {hdk} = {h} × {sizes.d_k}"),
        ("V split into heads", [b, h, s, sizes.d_v], f"reshape {hdv} = {h} × {sizes.d_v}"),
        ("scores Q Kᵀ/√d_k", [b, h, t, s], f"({t} × {sizes.d_k})·({sizes.d_k} × {s}) per head"),
        ("weights softmax(scores)", [b, h, t, s], "softmax over the last axis (keys)"),
        ("head outputs weights V", [b, h, t, sizes.d_v], f"({t} × {s})·({s} × {sizes.d_v}) per head"),
        ("concat heads", [b, t, hdv], f"{h} heads × {sizes.d_v}"),
        ("output = concat W_O", [b, t, sizes.d_model], f"({t} × {hdv})·({hdv} × {sizes.d_model})"),
        ("returned weights (mean over heads)", [b, t, s], "nn.MultiheadAttention, average_attn_weights=True"),
    ]


def multiply_adds(sizes: MhaSizes) -> dict[str, int]:
    """Multiply-adds of each matrix product (module docstring convention)."""
    b, t, s, h = sizes.batch, sizes.seq, sizes.keys, sizes.heads
    return {
        "Q projection": b * t * sizes.d_model * h * sizes.d_k,
        "K projection": b * sizes.seq_kv * sizes.kdim * h * sizes.d_k,
        "V projection": b * sizes.seq_kv * sizes.vdim * h * sizes.d_v,
        "scores Q K^T": b * h * t * s * sizes.d_k,
        "weights V": b * h * t * s * sizes.d_v,
        "output projection": b * t * h * sizes.d_v * sizes.d_model,
    }


def attention_shapes(
    *,
    batch: int = 1,
    seq: int | None = None,
    d_model: int | None = None,
    heads: int | None = None,
    seq_kv: int | None = None,
    d_k: int | None = None,
    d_v: int | None = None,
    kdim: int | None = None,
    vdim: int | None = None,
    bias: bool = True,
    add_bias_kv: bool = False,
) -> Solution:
    """Shapes, parameters (as ``nn.MultiheadAttention``) and multiply-adds of multi-head attention.

    Without ``seq`` only the parameter count is answered (it does not depend on the sequence length);
    shapes and multiply-adds need ``seq``. Raises InvalidProblem when ``d_model`` is not divisible by
    ``heads`` and no ``d_k`` is given (as PyTorch refuses), BadInput for sizes below 1 and for a
    missing ``d_model`` or ``heads``.
    """
    for option, value in (("--d-model", d_model), ("--heads", heads)):
        if value is None:
            raise BadInput(f"{option} is required (see 'dlsolve attention shapes --help')", option=option)
    assert d_model is not None and heads is not None
    for option, value in (
        ("--batch", batch),
        ("--seq", seq),
        ("--d-model", d_model),
        ("--heads", heads),
        ("--seq-kv", seq_kv),
        ("--d-k", d_k),
        ("--d-v", d_v),
        ("--kdim", kdim),
        ("--vdim", vdim),
    ):
        if value is not None and value < 1:
            raise BadInput(f"expected a whole number >= 1, got {value}", option=option)
    if d_k is None and d_model % heads:
        raise InvalidProblem(
            f"d_model = {d_model} is not divisible by {heads} heads (nn.MultiheadAttention requires "
            "embed_dim % num_heads == 0); give --d-k for a general per-head width",
            option="--heads",
        )
    head_k = d_k if d_k is not None else d_model // heads
    sizes = MhaSizes(
        batch=batch,
        seq=seq,
        seq_kv=seq_kv if seq_kv is not None else seq,
        d_model=d_model,
        heads=heads,
        d_k=head_k,
        d_v=d_v if d_v is not None else head_k,
        kdim=kdim if kdim is not None else d_model,
        vdim=vdim if vdim is not None else d_model,
        bias=bias,
        add_bias_kv=add_bias_kv,
    )
    params = parameter_counts(sizes)
    total_params = sum(params.values())
    head_width = (
        f"d_k = d_v = {sizes.d_k} per head" if sizes.d_k == sizes.d_v else f"d_k = {sizes.d_k}, d_v = {sizes.d_v}"
    )
    warnings = []
    if not sizes.torch_equivalent:
        warnings.append(
            f"h d_k = {sizes.heads * sizes.d_k}, d_v = {sizes.d_v} vs d_model = {d_model}: nn.MultiheadAttention "
            "always uses d_k = d_v = d_model / h, so it has no equivalent of these sizes"
        )
    inputs: dict[str, Any] = {  # the sizes given, and the defaults only where they differ from the usual
        "batch": batch if seq is not None else None,
        "seq": seq,
        "seq_kv": seq_kv,
        "d_model": d_model,
        "heads": heads,
        "d_k": d_k,
        "d_v": d_v,
        "kdim": kdim,
        "vdim": vdim,
        "bias": None if bias else False,
        "add_bias_kv": add_bias_kv or None,
    }
    answer: dict[str, Any] = {
        "output_shape": None,
        "scores_shape": None,
        "weights_shape": None,
        "shapes": None,
        "head_dim": sizes.d_k,
        "d_v": sizes.d_v,
        "params": total_params,
        "params_by_tensor": params,
        "macs": None,
        "macs_by_step": None,
        "torch_equivalent": sizes.torch_equivalent,
    }
    if seq is None:
        if batch != 1:
            warnings.append("--batch only matters with --seq (shapes and multiply-adds); the parameters do not")
        return Solution(
            command="attention shapes",
            inputs=inputs,
            answer=answer,
            summary=f"{head_width}; {total_params:,} parameters (they do not depend on the sequence length; give "
            "--seq for the shapes and multiply-adds)",
            quiet=f"params {total_params}",
            steps=lambda: [_sizes_step(sizes), _params_step(sizes, params, total_params)],
            warnings=warnings,
            answer_latex=rf"\text{{params}} = {_latex_count(total_params)}",
        )
    shapes = tensor_shapes(sizes)
    macs = multiply_adds(sizes)
    total_macs = sum(macs.values())

    def working() -> list[Step]:
        return [
            _sizes_step(sizes),
            Step(
                kind="attention-shapes.tensors",
                title="Tensor shapes (batch first)",
                text=f"Output {fmt.shape(output_shape)}; scores and weights {fmt.shape(answer['scores_shape'])} "
                f"(batch, heads, T, S); every tensor, and how it is made, in the table below.",
                blocks=[
                    Table(columns=["tensor", "shape", "how"], rows=[[n, fmt.shape(s), how] for n, s, how in shapes])
                ],
            ),
            _params_step(sizes, params, total_params),
            _macs_step(sizes, macs, total_macs),
        ]

    output_shape = [batch, seq, d_model]
    summary = (
        f"{head_width}; output {fmt.shape(output_shape)}, weights {fmt.shape([batch, heads, seq, sizes.keys])} "
        "per head; "
        f"{total_params:,} parameters; {total_macs:,} multiply-adds"
    )
    answer.update(
        {
            "output_shape": output_shape,
            "scores_shape": [batch, heads, seq, sizes.keys],
            "weights_shape": [batch, seq, sizes.keys],
            "shapes": {name: shape for name, shape, _ in shapes},
            "macs": total_macs,
            "macs_by_step": macs,
        }
    )
    return Solution(
        command="attention shapes",
        inputs=inputs,
        answer=answer,
        summary=summary,
        quiet=f"output {fmt.shape(output_shape)}; params {total_params}; macs {total_macs}",
        steps=working,
        warnings=warnings,
        answer_latex=rf"\text{{params}} = {_latex_count(total_params)},\quad "
        rf"\text{{MACs}} = {_latex_count(total_macs)}",
    )


def _sizes_step(sizes: MhaSizes) -> Step:
    if sizes.torch_equivalent:
        text = f"d_k = d_v = d_model / h = {sizes.d_model} / {sizes.heads} = {sizes.d_k} per head."
    else:
        text = f"d_k = {sizes.d_k}, d_v = {sizes.d_v} per head (given), h d_k = {sizes.heads * sizes.d_k}."
    if sizes.add_bias_kv and sizes.seq_kv is not None:
        text += f"\nadd_bias_kv appends one learned key/value token: {sizes.seq_kv} + 1 = {sizes.keys} keys."
    elif sizes.add_bias_kv:
        text += "\nadd_bias_kv appends one learned key/value token (bias_k, bias_v) to the keys and values."
    return Step(
        kind="attention-shapes.head-width",
        title="Head width",
        text=text,
        latex=rf"d_k = d_v = \frac{{d_{{model}}}}{{h}} = \frac{{{sizes.d_model}}}{{{sizes.heads}}} = {sizes.d_k} "
        r"\text{ per head}"
        if sizes.torch_equivalent
        else rf"d_k = {sizes.d_k},\ d_v = {sizes.d_v}",
    )


def _itemized(counts: dict[str, int], formulas: dict[str, str], total: int) -> tuple[str, list[list[str]]]:
    """The sum once by name (``W_Q + W_K + ... = 1,050,624``) and the table rows (name, formula, count;
    a total row) that substitute it: each term once, in the table."""
    rows = [[name, formulas[name], f"{count:,}"] for name, count in counts.items()]
    names = [name.split(" (")[0] for name in counts]
    return f"{' + '.join(names)} = {total:,}", [*rows, ["total", "", f"{total:,}"]]


def _latex_name(name: str) -> str:
    """``W_Q``, ``\\text{in\\_proj\\_bias}``, ``\\text{scores } Q K^T``: a table row's name in a display."""
    name = name.split(" (")[0]
    if re.fullmatch(r"W_[A-Z]", name):
        return name
    if name.endswith("Q K^T"):
        return r"\text{scores } Q K^T"
    return r"\text{" + name.replace("_", r"\_") + "}"


def _latex_count(value: int) -> str:
    return f"{value:,}".replace(",", "{,}")


def _params_step(sizes: MhaSizes, params: dict[str, int], total: int) -> Step:
    h, d = sizes.heads, sizes.d_model
    formulas = {
        "W_Q": f"{d} × {h * sizes.d_k}",
        "W_K": f"{sizes.kdim} × {h * sizes.d_k}",
        "W_V": f"{sizes.vdim} × {h * sizes.d_v}",
        "in_proj_bias": f"{h * sizes.d_k} + {h * sizes.d_k} + {h * sizes.d_v}",
        "W_O (out_proj.weight)": f"{h * sizes.d_v} × {d}",
        "out_proj.bias": f"{d}",
        "bias_k": f"{d}",
        "bias_v": f"{d}",
    }
    line, rows = _itemized(params, formulas, total)
    lines = [f"params = {line}"]
    same_dims = sizes.kdim == d and sizes.vdim == d
    layout = (
        f"nn.MultiheadAttention stores W_Q, W_K, W_V stacked (transposed) in in_proj_weight [{3 * d}, {d}]"
        if same_dims
        else "kdim/vdim differ from d_model, so nn.MultiheadAttention stores q_proj_weight, k_proj_weight, "
        "v_proj_weight separately"
    )
    if not sizes.bias:
        lines.append("(bias=False: no projection biases)")
    lines.append(layout + ".")
    return Step(
        kind="attention-shapes.params",
        title="Parameters",
        text="\n".join(lines),
        latex=r"\#\text{params} = " + " + ".join(map(_latex_name, params)) + f" = {_latex_count(total)}",
        blocks=[Table(columns=["tensor", "size", "parameters"], rows=rows)],
    )


def _macs_step(sizes: MhaSizes, macs: dict[str, int], total: int) -> Step:
    b, t, s, h = sizes.batch, sizes.seq, sizes.keys, sizes.heads
    formulas = {
        "Q projection": f"B T D h d_k = {b}·{t}·{sizes.d_model}·{h}·{sizes.d_k}",
        "K projection": f"B S kdim h d_k = {b}·{sizes.seq_kv}·{sizes.kdim}·{h}·{sizes.d_k}",
        "V projection": f"B S vdim h d_v = {b}·{sizes.seq_kv}·{sizes.vdim}·{h}·{sizes.d_v}",
        "scores Q K^T": f"B h T S d_k = {b}·{h}·{t}·{s}·{sizes.d_k}",
        "weights V": f"B h T S d_v = {b}·{h}·{t}·{s}·{sizes.d_v}",
        "output projection": f"B T h d_v D = {b}·{t}·{h}·{sizes.d_v}·{sizes.d_model}",
    }
    line, rows = _itemized(macs, formulas, total)
    lines = [f"MACs = {line} multiply-adds; FLOPs ≈ 2 · MACs = {2 * total:,}"]
    lines.append(
        f"Not counted: scaling by 1/√d_k ({b * h * t * s:,} multiplications), softmax "
        f"({b * h * t * s:,} exponentials), bias additions."
    )
    return Step(
        kind="attention-shapes.macs",
        title="Multiply-adds (one multiplication + one addition of a matrix product)",
        text="\n".join(lines),
        latex=r"\text{MACs} = "
        + " + ".join(map(_latex_name, macs))
        + rf" = {_latex_count(total)} \text{{ multiply-adds}},\quad "
        + rf"\text{{FLOPs}} \approx 2 \cdot \text{{MACs}} = {_latex_count(2 * total)}",
        blocks=[Table(columns=["step", "formula", "multiply-adds"], rows=rows)],
    )
