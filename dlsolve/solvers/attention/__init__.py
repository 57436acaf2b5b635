"""Scaled dot-product attention (and multi-head attention from embeddings), step by step.

Conventions (those of ``torch.nn.functional.scaled_dot_product_attention`` and "Attention is all
you need"):

* Rows are tokens. ``Q`` is T x d_k (queries), ``K`` is S x d_k (keys), ``V`` is S x d_v (values).
* From embeddings ``X`` (T x d_model): ``Q = X Wq``, ``K = X Wk``, ``V = X Wv`` with ``Wq`` of shape
  d_model x d_k (the paper's convention; ``nn.Linear``/``nn.MultiheadAttention`` store the transpose,
  ``in_proj_weight = [Wq^T; Wk^T; Wv^T]``). With ``h`` heads the columns of Q, K, V are split into
  ``h`` equal blocks, each head attends on its own, the head outputs are concatenated and multiplied
  by ``Wo`` (``out_proj.weight = Wo^T``). Optional biases are row vectors added to every row:
  ``Q = X Wq + bq``, ``K = X Wk + bk``, ``V = X Wv + bv`` (``in_proj_bias = [bq; bk; bv]``) and
  ``output = concat(heads) Wo + bo`` (``out_proj.bias = bo``).
* Cross-attention: ``K = X_kv Wk + bk`` and ``V = X_kv Wv + bv`` (``x_kv``), or keys and values from
  two sequences of the same length S, ``K = X_kv Wk + bk`` and ``V = X_v Wv + bv`` (``x_v`` too), as
  ``nn.MultiheadAttention(kdim=..., vdim=...)(query=X, key=X_kv, value=X_v)``.
* ``scores = scale * Q K^T + additive mask``, ``scale = 1/sqrt(d_k)`` (d_k per head) unless
  overridden; masked entries are ``-inf``. ``weights = softmax(scores / temperature)`` row by row
  (``--hard``: the temperature -> 0 limit, i.e. weight 1 on the row's maximum, shared equally among
  ties). ``output = weights V`` (then ``Wo``).
* Masks: ``causal`` is PyTorch's ``is_causal`` (top-left aligned: query i may attend to keys
  j <= i); a boolean mask has 1 = may attend (``attn_mask`` of ``scaled_dot_product_attention``); an
  additive mask is added to the scaled scores (``-inf`` blocks); ``key_padding`` flags keys with
  1 = ignore (``key_padding_mask`` of ``nn.MultiheadAttention``: the opposite convention).
* A row whose keys are all masked: ``F.scaled_dot_product_attention`` (PyTorch >= 2.5, and
  ``nn.MultiheadAttention`` with ``need_weights=False``) returns weights and output 0 for it
  (``masked_rows="zero"``, the default); ``nn.MultiheadAttention`` with ``need_weights=True`` returns
  NaN (``masked_rows="nan"``; NaN is ``null`` in JSON). Either way a warning says so.
* Entropy of a row of weights ``H = -sum_j w_j ln w_j`` in nats (0 ln 0 = 0).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution
from dlsolve.solvers.attention.exact import (
    EXACT_MAX_HEADS,
    EXACT_MAX_SIZE,
    check_exact_size,
    exact_attention,
    exact_json,
    sympy_scale,
    sympy_text,
)
from dlsolve.solvers.attention.numeric import argmax_of, attend, entropy_of, output_projection, softmax_rows
from dlsolve.solvers.attention.operands import (
    EXACT_PRODUCT_SIZE,
    Masks,
    Operands,
    build_masks,
    build_operands,
    check_bias,
    shape_text,
)
from dlsolve.solvers.attention.steps import (
    SHOW_ROWS,
    SHOW_SOFTMAX_ROWS,
    Context,
    answer_latex,
    summary_and_quiet,
    working,
)
from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np

#: Largest T x S for which ``scores`` and ``weights`` are listed in the JSON answer.
JSON_MAX_ENTRIES = 250_000
MASKED_ROW_MODES = ("zero", "nan")
MASK_TYPES = ("auto", "bool", "additive")
#: Names other modules and tests import from here (the package's parts).
__all__ = [
    "EXACT_MAX_HEADS",
    "EXACT_MAX_SIZE",
    "EXACT_PRODUCT_SIZE",
    "JSON_MAX_ENTRIES",
    "MASKED_ROW_MODES",
    "MASK_TYPES",
    "SHOW_ROWS",
    "SHOW_SOFTMAX_ROWS",
    "attend",
    "attention",
    "softmax_rows",
    "sympy_text",
]
_sympy_text = sympy_text  # the name tests used before the split


def _json_matrix(array: np.ndarray) -> list[list[float | None]]:
    """Floats with NaN and infinities as ``None`` (JSON has neither)."""
    import numpy as np

    if np.isfinite(array).all():
        return array.tolist()
    return [[value if math.isfinite(value) else None for value in row] for row in array.tolist()]


def _json_vector(values: np.ndarray) -> list[float | None]:
    return [value if math.isfinite(value) else None for value in values.tolist()]


def _unique_labels(labels: list[str]) -> list[str]:
    """Repeated labels get their 1-based position: ``exam(2)``, ``exam(6)``."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return [f"{label}({index})" if counts[label] > 1 else label for index, label in enumerate(labels, 1)]


def _scale_of(d_k: int, scale: Fraction | None, no_scale: bool) -> tuple[float, Fraction | None, str, str]:
    """``(value, exact Fraction or None, text, latex)`` of the score scale."""
    if no_scale:
        return 1.0, Fraction(1), "1 (no scaling)", "1"
    if scale is not None:
        return float(scale), Fraction(scale), fmt.number(scale), fmt.latex_number(scale)
    root = math.isqrt(d_k)
    if root * root == d_k:
        return (
            1.0 / root,
            Fraction(1, root),
            f"1/√{d_k} = {fmt.number(Fraction(1, root))}",
            (f"\\frac{{1}}{{\\sqrt{{{d_k}}}}} = {fmt.latex_number(Fraction(1, root))}"),
        )
    value = 1.0 / math.sqrt(d_k)
    return (
        value,
        None,
        f"1/√{d_k} ≈ {fmt.decimal(value)}",
        f"\\frac{{1}}{{\\sqrt{{{d_k}}}}} \\approx {fmt.decimal(value)}",
    )


def attention(
    q: Matrix | None = None,
    k: Matrix | None = None,
    v: Matrix | None = None,
    *,
    x: Matrix | None = None,
    x_kv: Matrix | None = None,
    x_v: Matrix | None = None,
    wq: Matrix | None = None,
    wk: Matrix | None = None,
    wv: Matrix | None = None,
    wo: Matrix | None = None,
    bq: list[Scalar] | None = None,
    bk: list[Scalar] | None = None,
    bv: list[Scalar] | None = None,
    bo: list[Scalar] | None = None,
    heads: int = 1,
    scale: Fraction | None = None,
    no_scale: bool = False,
    causal: bool = False,
    mask: Matrix | None = None,
    mask_type: str = "auto",
    key_padding: list[Scalar] | None = None,
    temperature: Fraction = Fraction(1),
    hard: bool = False,
    exact: bool = False,
    tokens: list[str] | None = None,
    key_tokens: list[str] | None = None,
    masked_rows: str = "zero",
    full: bool = False,
) -> Solution:
    """Attention weights and output, ``softmax((scale Q K^T + M) / temperature) V`` (module docstring).

    The answer holds every number; the working (built on demand) shows each matrix once, as a labelled
    table, and with ``full`` also writes every matrix out in the text and each query's line.

    Raises BadInput for inconsistent shapes (naming both), bad masks, or ``exact`` on inputs too large
    or not exact.
    """
    import numpy as np

    if scale is not None and no_scale:
        raise BadInput("give --scale or --no-scale, not both", option="--scale")
    if temperature <= 0:
        raise BadInput(f"the temperature must be positive, got {fmt.exact(temperature)}", option="--temperature")
    if heads < 1:
        raise BadInput(f"expected at least 1 head, got {heads}", option="--heads")
    if masked_rows not in MASKED_ROW_MODES:
        raise BadInput(f"expected one of {', '.join(MASKED_ROW_MODES)}", option="--masked-rows")
    if mask_type not in MASK_TYPES:
        raise BadInput(f"expected one of {', '.join(MASK_TYPES)}", option="--mask-type")
    if heads > 1 and x is None:
        raise BadInput("several heads need the embeddings and projections (--x, --wq, --wk, --wv)", option="--heads")
    if wo is not None and x is None:
        raise BadInput("--wo (output projection) needs --x, --wq, --wk, --wv", option="--wo")
    if bo is not None and wo is None:
        raise BadInput("--bo is the bias of the output projection: it needs --wo", option="--bo")
    operands = build_operands(q, k, v, x, wq, wk, wv, {"Q": bq, "K": bk, "V": bv}, x_kv, x_v)
    queries, d_k_total = operands.q.shape
    keys, d_v_total = operands.v.shape
    for name, width in (("Q/K", d_k_total), ("V", d_v_total)):
        if width % heads:
            raise BadInput(f"{name} has {width} columns, which do not split into {heads} heads", option="--heads")
    if wo is not None and wo.shape[0] != d_v_total:
        raise BadInput(
            f"the concatenated heads are {queries}x{d_v_total} and Wo is {shape_text(wo.shape)}: "
            f"Wo needs {d_v_total} rows",
            option="--wo",
        )
    if wo is not None:
        check_bias(bo, wo, "Wo", "--bo")
    d_k, d_v = d_k_total // heads, d_v_total // heads
    if tokens is not None and len(tokens) != queries:
        raise BadInput(f"got {len(tokens)} token labels for {queries} queries (rows of Q)", option="--tokens")
    if key_tokens is not None and len(key_tokens) != keys:
        raise BadInput(f"got {len(key_tokens)} key labels for {keys} keys (rows of K)", option="--key-tokens")
    query_labels = _unique_labels(tokens) if tokens else [f"q{i}" for i in range(1, queries + 1)]
    if key_tokens:
        key_labels = _unique_labels(key_tokens)
    elif tokens and keys == queries and not operands.cross:
        key_labels = query_labels
    else:
        key_labels = [f"k{j}" for j in range(1, keys + 1)]
    masks = build_masks(queries, keys, causal=causal, mask=mask, mask_type=mask_type, key_padding=key_padding)
    if exact:
        check_exact_size(queries, keys, d_k, d_v, heads, wo)
        if operands.q_exact is None or operands.k_exact is None:
            products = (
                f" and, from embeddings, X, X_kv{', X_v' if operands.values_apart else ''} and the projections of "
                f"at most {EXACT_PRODUCT_SIZE} rows and columns"
                if operands.from_embeddings
                else ""
            )
            raise BadInput(f"--exact needs exact (integer, decimal or fraction) inputs{products}", option="--exact")
    scale_value, scale_exact, scale_text, scale_latex = _scale_of(d_k, scale, no_scale)
    large = queries * keys > JSON_MAX_ENTRIES
    shown = max(queries, keys) <= SHOW_ROWS
    temperature_value = float(temperature)
    results = []
    for head in range(heads):
        columns_k = slice(head * d_k, (head + 1) * d_k)
        columns_v = slice(head * d_v, (head + 1) * d_v)
        results.append(
            attend(
                operands.q[:, columns_k],
                operands.k[:, columns_k],
                operands.v[:, columns_v],
                scale=scale_value,
                allowed=masks.allowed,
                additive=masks.additive,
                temperature=temperature_value,
                hard=hard,
                masked_rows=masked_rows,
                keep_scores=not large,
            )
        )
    concat = results[0].output if heads == 1 else np.concatenate([r.output for r in results], axis=1)
    final = output_projection(concat, wo, bo)
    weights = results[0].weights if heads == 1 else np.mean([r.weights for r in results], axis=0)

    context = Context(
        operands=operands,
        results=results,
        masks=masks,
        query_labels=query_labels,
        key_labels=key_labels,
        scale_text=scale_text,
        scale_latex=scale_latex,
        scale_exact=scale_exact,
        scale_value=scale_value,
        d_k=d_k,
        temperature=temperature,
        hard=hard,
        shown=shown,
        masked_rows=masked_rows,
        full=full,
    )
    exact_answer = None
    if exact:
        context.exact = exact_attention(
            operands,
            heads,
            d_k,
            d_v,
            scale=sympy_scale(d_k, scale_exact),
            masks=masks,
            temperature=temperature,
            hard=hard,
            masked_rows=masked_rows,
            wo=wo,
            bo=bo,
        )
        exact_answer = exact_json(context.exact)
    fully_masked = np.any([r.fully_masked for r in results], axis=0)
    warnings = _warnings(fully_masked, masked_rows, query_labels, hard, temperature)
    argmax = results[0].argmax if heads == 1 else argmax_of(weights, fully_masked)
    entropy = results[0].entropy if heads == 1 else entropy_of(weights)
    answer: dict[str, Any] = {
        "weights": None if large else _json_matrix(weights),
        "output": _json_matrix(final),
        "scores": None if large or heads > 1 else _json_matrix(results[0].scores),  # type: ignore[arg-type]
        "raw_scores": None if large or heads > 1 else _json_matrix(results[0].raw_scores),  # type: ignore[arg-type]
        "scale": scale_value,
        "d_k": d_k,
        "heads": heads,
        "argmax": [int(a) if a >= 0 else None for a in argmax.tolist()],
        "entropy": _json_vector(entropy),
        "fully_masked_rows": [int(i) for i in np.flatnonzero(fully_masked)],
    }
    if tokens or key_tokens:
        answer["argmax_tokens"] = [key_labels[a] if a >= 0 else None for a in argmax.tolist()]
    if operands.from_embeddings:
        answer.update(
            {name: _json_matrix(array) for name, array in (("q", operands.q), ("k", operands.k), ("v", operands.v))}
        )
    if heads > 1:
        answer["head_weights"] = None if large else [_json_matrix(r.weights) for r in results]
        answer["head_scores"] = None if large else [_json_matrix(r.scores) for r in results]  # type: ignore[arg-type]
    if exact_answer is not None:
        answer["exact"] = exact_answer
    if large:
        warnings.append(
            f"the {queries}x{keys} scores and weights are too large to list in the answer (more than "
            f"{JSON_MAX_ENTRIES} entries); the output, argmax and entropy are complete"
        )
    summary, quiet = summary_and_quiet(context, weights, final, argmax, large)
    return Solution(
        command="attention",
        inputs=_inputs(
            operands, heads, scale_text, masks, temperature, hard, wo, {"bq": bq, "bk": bk, "bv": bv, "bo": bo}
        ),
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=lambda: working(context, concat, weights, final, wo, bo),
        warnings=warnings,
        answer_latex=answer_latex(context, weights, final, large),
    )


def _warnings(
    fully_masked: np.ndarray, masked_rows: str, labels: list[str], hard: bool, temperature: Fraction
) -> list[str]:
    warnings = []
    if fully_masked.any():
        names = ", ".join(labels[i] for i in fully_masked.nonzero()[0].tolist())
        if masked_rows == "nan":
            warnings.append(
                f"every key is masked for query {names}: softmax of all -inf is undefined; as "
                "nn.MultiheadAttention (need_weights=True) does, its weights and output are NaN (null in JSON)"
            )
        else:
            warnings.append(
                f"every key is masked for query {names}: softmax of all -inf is undefined; as "
                "F.scaled_dot_product_attention (PyTorch >= 2.5) does, its weights and output are 0 "
                "(nn.MultiheadAttention with need_weights=True gives NaN: --masked-rows nan)"
            )
    if hard and temperature != 1:
        warnings.append("--hard is the temperature -> 0 limit; --temperature is ignored")
    return warnings


def _inputs(
    operands: Operands,
    heads: int,
    scale_text: str,
    masks: Masks,
    temperature: Fraction,
    hard: bool,
    wo: Matrix | None,
    biases: dict[str, list[Scalar] | None],
) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "Q": shape_text(operands.q.shape),
        "K": shape_text(operands.k.shape),
        "V": shape_text(operands.v.shape),
        "heads": heads if heads > 1 else None,
        "scale": scale_text,
    }
    if operands.from_embeddings:
        if operands.values_apart:
            inputs["from"] = "embeddings (cross-attention: keys from X_kv, values from X_v)"
        else:
            inputs["from"] = "embeddings" + (" (cross-attention: keys and values from X_kv)" if operands.cross else "")
    if wo is not None:
        inputs["Wo"] = shape_text(wo.shape)
    given_biases = [name for name, bias in biases.items() if bias is not None]
    if given_biases:
        inputs["biases"] = ", ".join(given_biases)
    if masks.description:
        inputs["masks"] = "; ".join(line.split(" (")[0] for line in masks.description)
    if temperature != 1:
        inputs["temperature"] = fmt.exact(temperature)
    if hard:
        inputs["hard"] = True
    return inputs
