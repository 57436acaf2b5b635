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

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Heatmap, Solution, Step, Table
from dlsolve.solvers import linalg_exact as la
from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np

#: Largest number of query or key rows whose matrices are drawn as heatmaps and written in steps.
SHOW_ROWS = 16
#: Largest query/key count for which each row's exponentials and sum are written out.
SHOW_SOFTMAX_ROWS = 6
#: Rows of the score matrix turned into weights at a time (the working buffer stays in cache).
SOFTMAX_CHUNK_ROWS = 128
#: Largest T x S for which ``scores`` and ``weights`` are listed in the JSON answer.
JSON_MAX_ENTRIES = 250_000
#: Largest T, S and width accepted with ``--exact`` (beyond it the expressions are unreadable).
EXACT_MAX_SIZE = 8
#: Most heads accepted with ``--exact`` (each head has its own T x S exact weights).
EXACT_MAX_HEADS = 4
#: Largest T, S, d for which exact (Fraction) matrix products are shown.
EXACT_PRODUCT_SIZE = 16
MASKED_ROW_MODES = ("zero", "nan")
MASK_TYPES = ("auto", "bool", "additive")


# --------------------------------------------------------------------------- small helpers


def _exact_rows(matrix: Matrix | None) -> list[list[Fraction]] | None:
    """The entries as Fractions when every entry is exact and the matrix is small, else None."""
    if matrix is None or not matrix.is_exact:
        return None
    rows, cols = matrix.shape
    if max(rows, cols) > EXACT_PRODUCT_SIZE * 4:
        return None
    return [[Fraction(value) for value in row] for row in matrix.rows]


def _rounded(array: np.ndarray) -> list[list[float]]:
    """Entries rounded to the displayed digits (so ``fmt.matrix`` prints them short)."""
    return [[float(fmt.decimal(value)) for value in row] for row in array.tolist()]


def _json_matrix(array: np.ndarray) -> list[list[float | None]]:
    """Floats with NaN and infinities as ``None`` (JSON has neither)."""
    import numpy as np

    if np.isfinite(array).all():
        return array.tolist()
    return [[value if math.isfinite(value) else None for value in row] for row in array.tolist()]


def _json_vector(values: np.ndarray) -> list[float | None]:
    return [value if math.isfinite(value) else None for value in values.tolist()]


def _cell(value: float | Fraction) -> str:
    if isinstance(value, Fraction):
        return fmt.exact(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return fmt.decimal(value, 4)


def _heatmap(
    title: str, rows: list[list[float | Fraction]], row_labels: list[str], col_labels: list[str] | None
) -> Heatmap:
    """A heatmap whose colour follows the values; NaN/inf cells are coloured as 0 and labelled."""
    values = [[float(v) if math.isfinite(float(v)) else 0.0 for v in row] for row in rows]
    cells = [[_cell(v) for v in row] for row in rows]
    return Heatmap(values=values, cells=cells, title=title, row_labels=row_labels, col_labels=col_labels)


def _matrix_text(name: str, rows: list[list[Any]] | None, array: np.ndarray) -> str:
    """``name =`` and the matrix on the next lines (exact entries when known)."""
    shown = rows if rows is not None else _rounded(array)
    return f"{name} =\n{fmt.matrix(shown, indent='  ')}"


def _unique_labels(labels: list[str]) -> list[str]:
    """Repeated labels get their 1-based position: ``exam(2)``, ``exam(6)``."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return [f"{label}({index})" if counts[label] > 1 else label for index, label in enumerate(labels, 1)]


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


# --------------------------------------------------------------------------- numeric core


@dataclass
class HeadResult:
    """One head's attention. Arrays are float64; masked scores are ``-inf``."""

    raw_scores: np.ndarray | None  #: Q K^T (None for large inputs, where it is not kept)
    scores: np.ndarray | None  #: scale * Q K^T + additive mask, masked -> -inf (None when large)
    weights: np.ndarray  #: rows sum to 1 (0 or NaN rows when fully masked)
    output: np.ndarray  #: weights @ V
    argmax: np.ndarray  #: most-attended key per query (-1 when fully masked)
    entropy: np.ndarray  #: nats (NaN when fully masked)
    fully_masked: np.ndarray  #: bool per query


def softmax_rows(
    logits: np.ndarray,
    *,
    hard: bool = False,
    masked_rows: str = "zero",
    in_place: bool = False,
    masked: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise softmax ``w_ij = exp(l_ij - m_i) / sum_k exp(l_ik - m_i)`` (m_i the row maximum).

    ``hard`` gives the limit of softmax(l / T) as T -> 0: ``1/c`` on each of the ``c`` tied maxima.
    Returns ``(weights, entropy_nats, argmax, fully_masked)``; a row of only ``-inf`` is fully masked
    and gets weights 0 (``masked_rows="zero"``) or NaN (``"nan"``), entropy NaN and argmax -1.
    With ``in_place`` ``logits`` is overwritten (used for large inputs); ``masked=False`` promises
    that ``logits`` holds no ``-inf`` (skips a scan).
    """
    import numpy as np

    row_max = logits.max(axis=1)
    fully_masked = np.isneginf(row_max)
    any_masked = bool(fully_masked.any())
    safe_max = np.where(fully_masked, 0.0, row_max)
    argmax = logits.argmax(axis=1)
    if hard:
        ties = logits == row_max[:, None]
        ties &= ~fully_masked[:, None]
        counts = np.maximum(ties.sum(axis=1), 1)
        weights = ties / counts[:, None]
        entropy = np.log(counts.astype(np.float64))
    else:
        weights = logits if in_place else logits.copy()
        entropy = np.empty(len(weights))
        buffer = np.empty((min(SOFTMAX_CHUNK_ROWS, len(weights)), weights.shape[1]))
        for start in range(0, len(weights), SOFTMAX_CHUNK_ROWS):
            shifted = weights[start : start + SOFTMAX_CHUNK_ROWS]  # a view: overwritten by its weights
            shifted -= safe_max[start : start + SOFTMAX_CHUNK_ROWS, None]
            exps = np.exp(shifted, out=buffer[: len(shifted)])
            total = exps.sum(axis=1)
            total[total == 0] = 1.0  # fully masked rows (fixed below)
            if masked and np.isneginf(shifted).any():
                shifted[np.isneginf(shifted)] = 0.0  # 0 * ln 0 = 0 in the entropy
            # H = -sum w ln w with ln w = shifted - ln Z:  H = ln Z - sum(e * shifted) / Z
            entropy[start : start + len(shifted)] = np.log(total) - np.einsum("ij,ij->i", exps, shifted) / total
            np.divide(exps, total[:, None], out=shifted)
    if any_masked:
        weights[fully_masked] = np.nan if masked_rows == "nan" else 0.0
        entropy[fully_masked] = np.nan
        argmax[fully_masked] = -1
    return weights, entropy, argmax, fully_masked


def attend(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    *,
    scale: float,
    allowed: np.ndarray | None = None,
    additive: np.ndarray | None = None,
    temperature: float = 1.0,
    hard: bool = False,
    masked_rows: str = "zero",
    keep_scores: bool = True,
) -> HeadResult:
    """Scaled dot-product attention of one head: ``softmax((scale Q K^T + M) / temperature) V``.

    ``allowed`` (T x S bool, True = may attend) sets blocked scores to ``-inf``; ``additive`` (T x S)
    is added to the scaled scores. ``keep_scores=False`` works in place (no copies) for large inputs.
    """
    import numpy as np

    raw = q @ k.T
    scores = raw * scale if keep_scores else np.multiply(raw, scale, out=raw)
    if additive is not None:
        scores += additive
    if allowed is not None:
        scores[~allowed] = -np.inf
    divide = temperature != 1.0 and not hard
    if keep_scores:
        logits = scores / temperature if divide else scores.copy()
    else:
        logits = np.divide(scores, temperature, out=scores) if divide else scores
    weights, entropy, argmax, fully_masked = softmax_rows(
        logits,
        hard=hard,
        masked_rows=masked_rows,
        in_place=True,
        masked=allowed is not None or additive is not None,
    )
    output = weights @ v
    return HeadResult(
        raw_scores=raw if keep_scores else None,
        scores=scores if keep_scores else None,
        weights=weights,
        output=output,
        argmax=argmax,
        entropy=entropy,
        fully_masked=fully_masked,
    )


# --------------------------------------------------------------------------- validation


@dataclass
class _Operands:
    """Q, K, V as float64 arrays (and exact rows when small and exact), plus how they were made."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    q_exact: list[list[Fraction]] | None
    k_exact: list[list[Fraction]] | None
    v_exact: list[list[Fraction]] | None
    projection_steps: list[Step]
    from_embeddings: bool
    cross: bool = False  #: keys and values from another sequence (``--x-kv``)
    values_apart: bool = False  #: values from a third sequence (``--x-v``; keys from ``--x-kv``)


#: The bias options of the projections, by the matrix they are added to.
BIAS_OPTIONS = {"Q": "--bq", "K": "--bk", "V": "--bv"}


def _operands(
    q: Matrix | None,
    k: Matrix | None,
    v: Matrix | None,
    x: Matrix | None,
    wq: Matrix | None,
    wk: Matrix | None,
    wv: Matrix | None,
    biases: dict[str, list[Scalar] | None],
    x_kv: Matrix | None = None,
    x_v: Matrix | None = None,
) -> _Operands:
    """Check the shapes and build Q, K, V (from X, the projections and their biases when given).

    ``biases`` maps "Q", "K", "V" to ``bq``, ``bk``, ``bv`` (or None); ``x_kv`` is the sequence the
    keys and values come from (cross-attention; default X); with ``x_v`` too, the values come from
    ``x_v`` and only the keys from ``x_kv`` (``V = X_v Wv + bv``).
    """
    if x_v is not None and x_kv is None:
        raise BadInput(
            "--x-v (the sequence the values come from) needs --x-kv (the sequence the keys come from); "
            "for keys and values from one sequence give only --x-kv",
            option="--x-v",
        )
    direct = {"--q": q, "--k": k, "--v": v}
    embedded = {"--x": x, "--wq": wq, "--wk": wk, "--wv": wv}
    given_direct = [name for name, value in direct.items() if value is not None]
    given_embedded = [name for name, value in embedded.items() if value is not None]
    if given_direct and given_embedded:
        raise BadInput(
            f"give either --q/--k/--v or --x/--wq/--wk/--wv, not both (got {', '.join(given_direct + given_embedded)})",
            option=given_embedded[0],
        )
    if given_embedded:
        missing = [name for name, value in embedded.items() if value is None]
        if missing:
            raise BadInput(
                f"from embeddings, --x, --wq, --wk and --wv are all needed; missing {', '.join(missing)}",
                option=missing[0],
            )
        return _project(x, {"Q": wq, "K": wk, "V": wv}, biases, x_kv, x_v)  # type: ignore[arg-type, dict-item]
    if x_kv is not None:
        raise BadInput(
            "--x-kv (the sequence keys and values come from) needs --x, --wq, --wk, --wv (not --q/--k/--v)",
            option="--x-kv",
        )
    for name, bias in biases.items():
        if bias is not None:
            raise BadInput(
                f"{BIAS_OPTIONS[name]} is a projection bias: it needs --x, --wq, --wk, --wv (not --q/--k/--v)",
                option=BIAS_OPTIONS[name],
            )
    missing = [name for name, value in direct.items() if value is None]
    if missing:
        raise BadInput(
            "expected the matrices --q, --k, --v (rows are tokens) or --x, --wq, --wk, --wv; "
            f"missing {', '.join(missing)}",
            option=missing[0],
        )
    assert q is not None and k is not None and v is not None
    if q.shape[1] != k.shape[1]:
        raise BadInput(
            f"Q is {_shape_text(q.shape)} and K is {_shape_text(k.shape)}: "
            "Q and K need the same number of columns (d_k)",
            option="--k",
        )
    if k.shape[0] != v.shape[0]:
        raise BadInput(
            f"K is {_shape_text(k.shape)} and V is {_shape_text(v.shape)}: K and V need the same number of rows "
            "(one per key)",
            option="--v",
        )
    return _Operands(
        q=q.to_numpy(),
        k=k.to_numpy(),
        v=v.to_numpy(),
        q_exact=_exact_rows(q),
        k_exact=_exact_rows(k),
        v_exact=_exact_rows(v),
        projection_steps=[],
        from_embeddings=False,
    )


def _check_bias(bias: list[Scalar] | None, weight: Matrix, weight_name: str, option: str) -> None:
    """A bias added to ``X W`` needs one entry per column of W."""
    if bias is not None and len(bias) != weight.shape[1]:
        raise BadInput(
            f"{option[2:]} has {len(bias)} entries and {weight_name} is {_shape_text(weight.shape)}: the bias needs "
            f"{weight.shape[1]} (one per column of {weight_name})",
            option=option,
        )


def _exact_vector(values: list[Scalar]) -> list[Fraction] | None:
    """The entries as Fractions when all are exact, else None."""
    if not all(isinstance(value, Fraction) for value in values):
        return None
    return [Fraction(value) for value in values]


def _linear(
    inputs: Matrix, weight: Matrix, bias: list[Scalar] | None
) -> tuple[np.ndarray, list[list[Fraction]] | None]:
    """``inputs W + b`` (b added to every row) as float64, and exactly when all are exact and small."""
    import numpy as np

    array = inputs.to_numpy() @ weight.to_numpy()
    if bias is not None:
        array += np.array([float(value) for value in bias])
    inputs_exact, weight_exact = _exact_rows(inputs), _exact_rows(weight)
    bias_exact = _exact_vector(bias) if bias is not None else None
    if (
        inputs_exact is None
        or weight_exact is None
        or (bias is not None and bias_exact is None)
        or max(*inputs.shape, *weight.shape) > EXACT_PRODUCT_SIZE
    ):
        return array, None
    product = la.matmul(inputs_exact, weight_exact)
    if bias_exact is not None:
        product = [[value + offset for value, offset in zip(row, bias_exact, strict=True)] for row in product]
    return array, product


def _project(
    x: Matrix,
    weights: dict[str, Matrix],
    biases: dict[str, list[Scalar] | None],
    x_kv: Matrix | None = None,
    x_v: Matrix | None = None,
) -> _Operands:
    """``Q = X Wq + bq``, ``K = X_kv Wk + bk``, ``V = X_v Wv + bv`` with the step that shows them.

    ``weights`` and ``biases`` are keyed by "Q", "K", "V"; a bias is a row vector added to every row
    (``in_proj_bias = [bq; bk; bv]`` of ``nn.MultiheadAttention``). ``X_kv`` is X (self-attention)
    unless ``x_kv`` is given (cross-attention: ``nn.MultiheadAttention(query=X, key=value=X_kv)``,
    with ``kdim = vdim`` = its width). ``X_v`` is ``X_kv`` unless ``x_v`` is given (keys and values
    from two sequences of equal length S: ``nn.MultiheadAttention(query=X, key=X_kv, value=X_v)``,
    ``kdim`` the width of X_kv, ``vdim`` that of X_v).
    """
    key_source = ("X_kv", x_kv) if x_kv is not None else ("X", x)
    value_source = ("X_v", x_v) if x_v is not None else key_source
    if x_v is not None and x_kv is not None and x_v.shape[0] != x_kv.shape[0]:
        raise BadInput(
            f"X_kv is {_shape_text(x_kv.shape)} and X_v is {_shape_text(x_v.shape)}: keys and values need the same "
            "number of rows (one per key, S; PyTorch requires equal key and value lengths)",
            option="--x-v",
        )
    sources = {"Q": ("X", x), "K": key_source, "V": value_source}  # name and matrix each projection applies to
    for name, weight in weights.items():
        source_name, source = sources[name]
        if weight.shape[0] != source.shape[1]:
            raise BadInput(
                f"{source_name} is {_shape_text(source.shape)} and W{name.lower()} is {_shape_text(weight.shape)}: "
                f"the projection needs {source.shape[1]} rows (one per embedding dimension of {source_name})",
                option=f"--w{name.lower()}",
            )
    if weights["Q"].shape[1] != weights["K"].shape[1]:
        raise BadInput(
            f"Wq is {_shape_text(weights['Q'].shape)} and Wk is {_shape_text(weights['K'].shape)}: they need the "
            "same number of columns (d_k)",
            option="--wk",
        )
    for name, weight in weights.items():
        _check_bias(biases[name], weight, f"W{name.lower()}", BIAS_OPTIONS[name])
    arrays: dict[str, np.ndarray] = {}
    exact: dict[str, list[list[Fraction]] | None] = {}
    for name, weight in weights.items():
        arrays[name], exact[name] = _linear(sources[name][1], weight, biases[name])
    formulas = {
        name: f"{name} = {sources[name][0]} W{name.lower()}" + ("" if biases[name] is None else f" + b{name.lower()}")
        for name in weights
    }
    if x_kv is None:
        lead = f"Each token's embedding (a row of X, {_shape_text(x.shape)}) is projected"
    elif x_v is not None:
        lead = (
            f"Cross-attention: queries from X ({_shape_text(x.shape)}), keys from X_kv ({_shape_text(x_kv.shape)}), "
            f"values from a separate sequence X_v ({_shape_text(x_v.shape)}); key j and value j come from row j "
            "of X_kv and of X_v"
        )
    else:
        lead = (
            f"Cross-attention: queries from X ({_shape_text(x.shape)}), keys and values from the other sequence "
            f"X_kv ({_shape_text(x_kv.shape)}), one row per token"
        )
    lines = [f"{lead}: {', '.join(formulas.values())}."]
    largest_source = max(source.shape[0] for _, source in sources.values())
    shown = max(largest_source, *(n for weight in weights.values() for n in weight.shape)) <= SHOW_ROWS
    if shown:
        for name, bias in biases.items():
            if bias is not None:
                lines.append(f"b{name.lower()} = [{', '.join(_cell(value) for value in bias)}]")
        for name in weights:
            lines.append(_matrix_text(formulas[name], exact[name], arrays[name]))
    else:
        lines.append(", ".join(f"{name}: {_shape_text(arrays[name].shape)}" for name in weights))
    step = Step(
        title="Project the embeddings to queries, keys and values",
        text="\n".join(lines),
        latex=r",\quad ".join(
            f"{name} = {sources[name][0].replace('X_kv', 'X_{kv}').replace('X_v', 'X_{v}')} W_{name}"
            + (f" + b_{name}" if biases[name] is not None else "")
            for name in weights
        ),
    )
    return _Operands(
        q=arrays["Q"],
        k=arrays["K"],
        v=arrays["V"],
        q_exact=exact["Q"],
        k_exact=exact["K"],
        v_exact=exact["V"],
        projection_steps=[step],
        from_embeddings=True,
        cross=x_kv is not None,
        values_apart=x_v is not None,
    )


@dataclass
class _Masks:
    allowed: np.ndarray | None  #: T x S bool, True = may attend
    additive: np.ndarray | None  #: T x S float added to the scaled scores
    additive_exact: list[list[Fraction | float]] | None
    description: list[str]


def _masks(
    queries: int,
    keys: int,
    *,
    causal: bool,
    mask: Matrix | None,
    mask_type: str,
    key_padding: list[Scalar] | None,
) -> _Masks:
    """Combine ``causal``, the boolean or additive ``mask`` and ``key_padding`` into one allowed/additive pair."""
    import numpy as np

    allowed = None
    additive = None
    additive_exact = None
    description = []
    if causal:
        allowed = np.tril(np.ones((queries, keys), dtype=bool))
        description.append("causal (is_causal, top-left aligned): query i may attend to keys j <= i")
    if mask is not None:
        if mask.shape != (queries, keys):
            raise BadInput(
                f"the mask is {_shape_text(mask.shape)} but the scores are {queries}x{keys} (queries x keys)",
                option="--mask",
            )
        entries = [value for row in mask.tolist() for value in row]
        is_boolean = all(value in (0, 1) for value in entries)
        kind = ("bool" if is_boolean else "additive") if mask_type == "auto" else mask_type
        if kind == "bool":
            if not is_boolean:
                raise BadInput("a boolean mask holds only 0 and 1 (1 = may attend)", option="--mask")
            given = np.array([[value == 1 for value in row] for row in mask.tolist()], dtype=bool)
            allowed = given if allowed is None else allowed & given
            description.append("boolean mask (1 = may attend, as attn_mask of scaled_dot_product_attention)")
        else:
            if any(isinstance(value, float) and value > 0 and math.isinf(value) for value in entries):
                raise BadInput("an additive mask may hold -inf but not +inf", option="--mask")
            additive = mask.to_numpy() if not mask.is_large else mask.array
            additive_exact = None if mask.is_large else mask.tolist()
            description.append("additive mask (added to the scaled scores; -inf blocks)")
    if key_padding is not None:
        if len(key_padding) != keys:
            raise BadInput(f"got {len(key_padding)} key-padding flags for {keys} keys", option="--key-padding")
        if any(flag not in (0, 1) for flag in key_padding):
            raise BadInput("key-padding flags are 0 or 1 (1 = ignore this key)", option="--key-padding")
        keep = np.array([flag == 0 for flag in key_padding], dtype=bool)
        padded = np.broadcast_to(keep, (queries, keys))
        allowed = padded.copy() if allowed is None else allowed & padded
        ignored = [str(j + 1) for j, flag in enumerate(key_padding) if flag == 1]
        description.append(
            "key padding (1 = ignore the key, as key_padding_mask of nn.MultiheadAttention): "
            f"ignored keys {', '.join(ignored) or 'none'}"
        )
    return _Masks(allowed, additive, additive_exact, description)


# --------------------------------------------------------------------------- exact (SymPy) weights


@dataclass
class _ExactHead:
    """One head's exact (SymPy) scores, weights and output ``weights V_h`` (None without exact V)."""

    scores: list[list[Any]]  #: masked entries are -oo
    weights: list[list[Any]]
    output: list[list[Any]] | None


@dataclass
class _ExactAttention:
    """The exact answer: every head, the weights as returned (one head's, or the mean over heads as
    ``nn.MultiheadAttention`` averages them) and the final output ``concat(heads) Wo + bo``."""

    heads: list[_ExactHead]
    weights: list[list[Any]]
    output: list[list[Any]] | None  #: None when V (or Wo, bo) is not exact


def _exact_weights(
    raw_exact: list[list[Fraction]],
    v_exact: list[list[Fraction]] | None,
    *,
    scale: Any,
    masks: _Masks,
    temperature: Fraction,
    hard: bool,
    masked_rows: str,
) -> _ExactHead:
    """SymPy scores, weights ``exp(l_ij) / Z_i`` (``Z_i = sum_k exp(l_ik)``) and output of one head.

    The output row ``sum_j w_ij v_j`` is written over the row's common denominator,
    ``(sum_j exp(l_ij) v_j) / Z_i`` (None without exact V).
    """
    import sympy as sp

    scores: list[list[Any]] = []
    weights: list[list[Any]] = []
    output: list[list[Any]] | None = None if v_exact is None else []
    value_columns = (
        [] if v_exact is None else [[sp.Rational(v) for v in column] for column in zip(*v_exact, strict=True)]
    )
    for i, row in enumerate(raw_exact):
        score_row: list[Any] = []
        for j, value in enumerate(row):
            blocked = masks.allowed is not None and not masks.allowed[i, j]
            extra = masks.additive_exact[i][j] if masks.additive_exact is not None else 0
            if blocked or (isinstance(extra, float) and math.isinf(extra)):  # printed as -inf
                score_row.append(-sp.oo)
            else:
                score_row.append(sp.Rational(value) * scale + sp.Rational(extra))
        scores.append(score_row)
        finite = [s for s in score_row if s != -sp.oo]
        if not finite:
            fill = sp.nan if masked_rows == "nan" else sp.Integer(0)
            numerators, denominator = [fill] * len(score_row), sp.Integer(1)
        elif hard:
            best = finite[0]
            for s in finite[1:]:
                if (s - best).is_positive:
                    best = s
            tied = [s != -sp.oo and bool((s - best).is_zero) for s in score_row]
            numerators, denominator = [sp.Integer(int(t)) for t in tied], sp.Integer(sum(tied))
        else:
            logits = [s / sp.Rational(temperature) if s != -sp.oo else s for s in score_row]
            numerators = [sp.exp(s) if s != -sp.oo else sp.Integer(0) for s in logits]
            denominator = sp.Add(*numerators)
        weights.append([numerator / denominator for numerator in numerators])
        if output is not None:
            output.append(
                [
                    sp.factor_terms(sp.Add(*(n * v for n, v in zip(numerators, column, strict=True)))) / denominator
                    for column in value_columns
                ]
            )
    return _ExactHead(scores, weights, output)


def _head_columns(rows: list[list[Fraction]], head: int | None, width: int) -> list[list[Fraction]]:
    """Columns ``head * width .. (head + 1) * width - 1`` of each row (all of them for ``head=None``)."""
    if head is None:
        return rows
    return [row[head * width : (head + 1) * width] for row in rows]


def _exact_attention(
    operands: _Operands,
    heads: int,
    d_k: int,
    d_v: int,
    *,
    scale: Any,
    masks: _Masks,
    temperature: Fraction,
    hard: bool,
    masked_rows: str,
    wo: Matrix | None,
    bo: list[Scalar] | None,
) -> _ExactAttention:
    """Each head's exact attention on its columns of Q, K, V; their mean weights; ``concat(heads) Wo + bo``.

    The output is None when V, Wo or bo is not exact (floats or too large).
    """
    import sympy as sp

    assert operands.q_exact is not None and operands.k_exact is not None
    v_exact = operands.v_exact
    head_results = []
    for head in range(heads):
        q_head = _head_columns(operands.q_exact, head, d_k)
        k_head = _head_columns(operands.k_exact, head, d_k)
        head_results.append(
            _exact_weights(
                la.matmul(q_head, la.transpose(k_head)),
                None if v_exact is None else _head_columns(v_exact, head, d_v),
                scale=scale,
                masks=masks,
                temperature=temperature,
                hard=hard,
                masked_rows=masked_rows,
            )
        )
    if heads == 1:
        weights = head_results[0].weights
    else:
        weights = [
            [sp.Add(*column) / heads for column in zip(*rows, strict=True)]
            for rows in zip(*(result.weights for result in head_results), strict=True)
        ]
    outputs = [result.output for result in head_results]
    output = None
    if all(head_output is not None for head_output in outputs):
        output = [
            [value for head_rows in rows for value in head_rows]
            for rows in zip(*outputs, strict=True)  # type: ignore[call-overload]
        ]
        if wo is not None:
            output = _exact_linear(output, wo, bo)
    return _ExactAttention(head_results, weights, output)


def _exact_linear(rows: list[list[Any]], weight: Matrix, bias: list[Scalar] | None) -> list[list[Any]] | None:
    """``rows W + b`` in SymPy (row vectors times W, b added to each); None when W or b is not exact."""
    import sympy as sp

    weight_exact = _exact_rows(weight)
    bias_exact = [Fraction(0)] * weight.shape[1] if bias is None else _exact_vector(bias)
    if weight_exact is None or bias_exact is None:
        return None
    return [
        [
            sp.Add(
                *(value * sp.Rational(weight_row[j]) for value, weight_row in zip(row, weight_exact, strict=True)),
                sp.Rational(bias_exact[j]),
            )
            for j in range(len(weight_exact[0]))
        ]
        for row in rows
    ]


# --------------------------------------------------------------------------- the solver


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
            f"1/sqrt({d_k}) = {fmt.number(Fraction(1, root))}",
            (f"\\frac{{1}}{{\\sqrt{{{d_k}}}}} = {fmt.latex_number(Fraction(1, root))}"),
        )
    value = 1.0 / math.sqrt(d_k)
    return (
        value,
        None,
        f"1/sqrt({d_k}) ≈ {fmt.decimal(value)}",
        f"\\frac{{1}}{{\\sqrt{{{d_k}}}}} \\approx {fmt.decimal(value)}",
    )


#: Printed SymPy subexpressions (a row's denominator is shared by its weights and outputs, and
#: printing a sum of exponentials orders its terms numerically, which costs milliseconds each time).
_PRINTED: dict[Any, str] = {}
_PRINTED_MAX = 50_000


@functools.cache
def _memo_printer() -> Any:
    """A SymPy StrPrinter (``str``'s text, but e as ``exp(1)``) that prints each subexpression once (``_PRINTED``)."""
    from sympy.printing.str import StrPrinter

    class MemoStrPrinter(StrPrinter):
        def _print_Exp1(self, expr: Any) -> str:  # e as exp(1), like exp(2) beside it (SymPy prints "E")
            return "exp(1)"

        def _print(self, expr: Any, **kwargs: Any) -> str:
            if kwargs:
                return super()._print(expr, **kwargs)
            text = _PRINTED.get(expr)
            if text is None:
                text = _PRINTED[expr] = super()._print(expr)
            return text

    return MemoStrPrinter()


def _sympy_text(expression: Any) -> str:
    """SymPy's text (as ``str``), with ``-inf`` for a masked score and ``NaN`` for an undefined weight."""
    if len(_PRINTED) > _PRINTED_MAX:
        _PRINTED.clear()
    text = _memo_printer().doprint(expression)
    return {"-oo": "-inf", "nan": "NaN"}.get(text, text)


def _sympy_scale(d_k: int, scale_exact: Fraction | None) -> Any:
    import sympy as sp

    if scale_exact is not None:
        return sp.Rational(scale_exact)
    return 1 / sp.sqrt(d_k)


def _check_exact_size(queries: int, keys: int, d_k: int, d_v: int, heads: int, wo: Matrix | None) -> None:
    """Refuse ``--exact`` beyond ``EXACT_MAX_SIZE`` tokens and columns per head, ``EXACT_MAX_HEADS``
    heads or ``EXACT_PRODUCT_SIZE`` columns of Wo: the expressions would be unreadable and slow to build."""
    d_out = wo.shape[1] if wo is not None else 0
    if max(queries, keys, d_k, d_v) <= EXACT_MAX_SIZE and heads <= EXACT_MAX_HEADS and d_out <= EXACT_PRODUCT_SIZE:
        return
    per_head = " per head" if heads > 1 else ""
    raise BadInput(
        f"--exact is limited to {EXACT_MAX_SIZE} tokens, {EXACT_MAX_SIZE} columns per head, {EXACT_MAX_HEADS} heads "
        f"and {EXACT_PRODUCT_SIZE} columns of Wo (got {queries} queries, {keys} keys, d_k={d_k}, d_v={d_v}{per_head}, "
        f"{heads} head{'s' if heads > 1 else ''}"
        + (f", Wo {_shape_text(wo.shape)}" if wo is not None else "")
        + "); symbolic weights beyond that are unreadable, drop --exact",
        option="--exact",
    )


def _sympy_rows(rows: list[list[Any]] | None) -> list[list[str]] | None:
    return None if rows is None else [[_sympy_text(value) for value in row] for row in rows]


def _exact_json(exact: _ExactAttention) -> dict[str, Any]:
    """``{scores, weights, output}`` as strings (``scores`` None with several heads, like the float
    ``scores``); with several heads also ``head_scores``, ``head_weights``, ``head_outputs``."""
    several = len(exact.heads) > 1
    answer: dict[str, Any] = {
        "scores": None if several else _sympy_rows(exact.heads[0].scores),
        "weights": _sympy_rows(exact.weights),
        "output": _sympy_rows(exact.output),
    }
    if several:
        answer["head_scores"] = [_sympy_rows(head.scores) for head in exact.heads]
        answer["head_weights"] = [_sympy_rows(head.weights) for head in exact.heads]
        answer["head_outputs"] = [_sympy_rows(head.output) for head in exact.heads]
    return answer


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
) -> Solution:
    """Attention weights and output, ``softmax((scale Q K^T + M) / temperature) V`` (module docstring).

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
    operands = _operands(q, k, v, x, wq, wk, wv, {"Q": bq, "K": bk, "V": bv}, x_kv, x_v)
    queries, d_k_total = operands.q.shape
    keys, d_v_total = operands.v.shape
    for name, width in (("Q/K", d_k_total), ("V", d_v_total)):
        if width % heads:
            raise BadInput(f"{name} has {width} columns, which do not split into {heads} heads", option="--heads")
    if wo is not None and wo.shape[0] != d_v_total:
        raise BadInput(
            f"the concatenated heads are {queries}x{d_v_total} and Wo is {_shape_text(wo.shape)}: "
            f"Wo needs {d_v_total} rows",
            option="--wo",
        )
    if wo is not None:
        _check_bias(bo, wo, "Wo", "--bo")
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
    masks = _masks(queries, keys, causal=causal, mask=mask, mask_type=mask_type, key_padding=key_padding)
    if exact:
        _check_exact_size(queries, keys, d_k, d_v, heads, wo)
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
    final = _output_projection(concat, wo, bo)
    weights = results[0].weights if heads == 1 else np.mean([r.weights for r in results], axis=0)

    context = _Context(
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
    )
    steps = list(operands.projection_steps)
    exact_answer = None
    if exact:
        context.exact = _exact_attention(
            operands,
            heads,
            d_k,
            d_v,
            scale=_sympy_scale(d_k, scale_exact),
            masks=masks,
            temperature=temperature,
            hard=hard,
            masked_rows=masked_rows,
            wo=wo,
            bo=bo,
        )
        exact_answer = _exact_json(context.exact)
    for head, result in enumerate(results):
        head_steps = _head_steps(context, result, head if heads > 1 else None)
        if heads > 1:
            steps.append(
                Step(
                    title=f"Head {head + 1} (columns {head * d_k + 1}..{(head + 1) * d_k} of Q and K)",
                    substeps=head_steps,
                )
            )
        else:
            steps.extend(head_steps)
    if heads > 1:
        steps.append(_concat_step(context, concat, weights, heads, projected=wo is not None))
    if wo is not None:
        steps.append(_output_projection_step(context, concat, final, wo, bo))
    fully_masked = np.any([r.fully_masked for r in results], axis=0)
    warnings = _warnings(fully_masked, masked_rows, query_labels, hard, temperature)
    argmax = results[0].argmax if heads == 1 else _argmax_of(weights, fully_masked)
    entropy = results[0].entropy if heads == 1 else _entropy_of(weights)
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
    summary, quiet = _summary(context, weights, final, argmax, large)
    return Solution(
        command="attention",
        inputs=_inputs(
            operands, heads, scale_text, masks, temperature, hard, wo, {"bq": bq, "bk": bk, "bv": bv, "bo": bo}
        ),
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=steps,
        warnings=warnings,
        answer_latex=_answer_latex(context, weights, final, large),
    )


def _argmax_of(weights: np.ndarray, fully_masked: np.ndarray) -> np.ndarray:
    import numpy as np

    argmax = np.nan_to_num(weights, nan=-1.0).argmax(axis=1)
    argmax[fully_masked] = -1
    return argmax


def _entropy_of(weights: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(weights > 0, np.log(np.where(weights > 0, weights, 1.0)), 0.0)
    entropy = -(weights * logs).sum(axis=1)
    entropy[np.isnan(weights).any(axis=1) | (weights.sum(axis=1) == 0)] = np.nan
    return entropy


# --------------------------------------------------------------------------- steps and text


@dataclass
class _Context:
    operands: _Operands
    results: list[HeadResult]
    masks: _Masks
    query_labels: list[str]
    key_labels: list[str]
    scale_text: str
    scale_latex: str
    scale_exact: Fraction | None
    scale_value: float
    d_k: int
    temperature: Fraction
    hard: bool
    shown: bool
    masked_rows: str
    exact: _ExactAttention | None = None


def _head_steps(context: _Context, result: HeadResult, head: int | None) -> list[Step]:
    """Scores, scaling, mask, softmax, weights table, output for one head (``None``: the only head)."""
    exact_head = context.exact.heads[head or 0] if context.exact is not None else None
    steps = [_scores_step(context, result, head)]
    if context.masks.description:
        steps.append(_mask_step(context, result))
    steps.append(_softmax_step(context, result, exact_head))
    steps.append(_pattern_step(context, result, exact_head))
    steps.append(_output_step(context, result, head, exact_head))
    return steps


def _raw_exact(context: _Context, head: int | None) -> list[list[Fraction]] | None:
    """Exact ``Q_h K_h^T`` of one head's columns (all columns for ``head=None``) when Q, K are exact and small."""
    operands = context.operands
    if operands.q_exact is None or operands.k_exact is None:
        return None
    if max(len(operands.q_exact), len(operands.k_exact), context.d_k) > EXACT_PRODUCT_SIZE:
        return None
    q_head = _head_columns(operands.q_exact, head, context.d_k)
    return la.matmul(q_head, la.transpose(_head_columns(operands.k_exact, head, context.d_k)))


def _scores_step(context: _Context, result: HeadResult, head: int | None) -> Step:
    labels = (context.query_labels, context.key_labels)
    rows, keys = result.weights.shape
    if result.raw_scores is None or result.scores is None:
        return Step(
            title="Scores and scaling",
            text=f"scores = Q K^T times {context.scale_text}: a {rows}x{keys} matrix (too large to show)",
            latex=rf"S = {context.scale_latex}\, Q K^\top",
        )
    raw_exact = _raw_exact(context, head)
    scaled_exact = None
    if raw_exact is not None and context.scale_exact is not None and context.masks.additive is None:
        scaled_exact = [[value * context.scale_exact for value in row] for row in raw_exact]
    text = [f"Dot product of every query with every key (d_k = {context.d_k}): Q K^T is {rows}x{keys}."]
    blocks = []
    if context.shown:
        text.append(_matrix_text("Q K^T", raw_exact, result.raw_scores))
        scaled = result.raw_scores * context.scale_value
        text.append(f"Scale by {context.scale_text}:")
        text.append(_matrix_text(f"scores = Q K^T * {context.scale_text.split(' ')[0]}", scaled_exact, scaled))
        blocks.append(_heatmap("scaled scores (queries x keys)", scaled_exact or scaled.tolist(), *labels))
    else:
        text.append(f"Scale by {context.scale_text}.")
    return Step(
        title="Scores Q K^T and scaling" + (f" (head {head + 1})" if head is not None else ""),
        text="\n".join(text),
        latex=rf"S = s\, Q K^\top,\quad s = {context.scale_latex}",
        blocks=blocks,
    )


def _mask_step(context: _Context, result: HeadResult) -> Step:
    assert result.scores is not None or not context.shown
    text = ["Masks applied (a blocked score becomes -inf, so its weight is exp(-inf) = 0):"]
    text += [f"- {line}" for line in context.masks.description]
    blocks = []
    if context.shown and result.scores is not None:
        text.append(_matrix_text("masked scores", None, result.scores))
        blocks.append(_heatmap("masked scores", result.scores.tolist(), context.query_labels, context.key_labels))
    return Step(
        title="Mask",
        text="\n".join(text),
        latex=r"S_{ij} \leftarrow -\infty \text{ where query } i \text{ may not attend to key } j",
        blocks=blocks,
    )


def _softmax_step(context: _Context, result: HeadResult, exact_head: _ExactHead | None) -> Step:
    rows, keys = result.weights.shape
    temperature = context.temperature
    if context.hard:
        text = [
            "Hard attention (the limit of softmax(scores / T) as T -> 0): each query puts weight 1 on its "
            "highest-scoring key; k tied maxima get 1/k each."
        ]
        return Step(
            title="Hard attention (argmax)",
            text="\n".join(text),
            latex=r"w_{ij} = \lim_{T\to 0} \mathrm{softmax}_j(S_{ij}/T)",
        )
    lead = "Row-wise softmax: w_ij = exp(s_ij) / sum_k exp(s_ik)"
    if temperature != 1:
        lead = f"Row-wise softmax at temperature T = {fmt.number(temperature)}: w_ij = exp(s_ij/T) / sum_k exp(s_ik/T)"
    substeps = []
    if max(rows, keys) <= SHOW_SOFTMAX_ROWS and result.scores is not None:
        logits = result.scores / float(temperature)
        for i in range(rows):
            substeps.append(_softmax_row_step(context, result, exact_head, logits[i], i))
    latex = (
        r"w_{ij} = \frac{e^{s_{ij}/T}}{\sum_k e^{s_{ik}/T}}"
        if temperature != 1
        else (r"w_{ij} = \frac{e^{s_{ij}}}{\sum_k e^{s_{ik}}}")
    )
    return Step(title="Softmax of each row", text=lead, latex=latex, substeps=substeps)


def _softmax_row_step(
    context: _Context, result: HeadResult, exact_head: _ExactHead | None, logits: np.ndarray, i: int
) -> Step:
    """One query's exponentials, their sum and its weights."""
    label = context.query_labels[i]
    finite = [value for value in logits.tolist() if math.isfinite(value)]
    if not finite:
        what = "NaN (nn.MultiheadAttention)" if context.masked_rows == "nan" else "0 (F.scaled_dot_product_attention)"
        return Step(title=f"Query {label}", text=f"every key is masked: no softmax is defined; weights are {what}")
    shift = max(finite) if max(abs(v) for v in finite) > 30 else 0.0
    name = "exp(s - max)" if shift else "exp(s)"
    exps = [math.exp(value - shift) if math.isfinite(value) else 0.0 for value in logits.tolist()]
    total = sum(exps)
    parts = [f"{key}: {fmt.decimal(e)}" for key, e in zip(context.key_labels, exps, strict=True)]
    weights = ", ".join(fmt.decimal(w) for w in result.weights[i].tolist())
    text = f"{name}: {'; '.join(parts)}\nsum = {fmt.decimal(total)}\nweights = [{weights}]"
    if exact_head is not None:
        text += "\nexact: [" + ", ".join(_sympy_text(w) for w in exact_head.weights[i]) + "]"
    return Step(title=f"Query {label}", text=text)


def _pattern_step(context: _Context, result: HeadResult, exact_head: _ExactHead | None) -> Step:
    """The weights heatmap (labelled) and, per query, the most-attended key and the entropy."""
    import numpy as np

    rows, keys = result.weights.shape
    blocks: list[Any] = []
    text = [f"Attention weights ({rows} queries x {keys} keys); each row sums to 1."]
    if context.shown:
        cells: list[list[Any]]
        if context.hard:
            cells = [
                [Fraction(w).limit_denominator(keys) if math.isfinite(w) else w for w in row]
                for row in result.weights.tolist()
            ]
        else:
            cells = result.weights.tolist()
        blocks.append(_heatmap("weights (query x key)", cells, context.query_labels, context.key_labels))
        text.append(_matrix_text("weights", [list(row) for row in cells] if context.hard else None, result.weights))
    table_rows = []
    for i in range(min(rows, 64)):
        target = int(result.argmax[i])
        entropy = float(result.entropy[i])
        if target < 0:
            table_rows.append([context.query_labels[i], "(all masked)", "-", "-"])
            continue
        row_weights = result.weights[i]
        tied = np.flatnonzero(row_weights == row_weights[target]).tolist()
        table_rows.append(
            [
                context.query_labels[i],
                " / ".join(context.key_labels[j] for j in tied),
                fmt.decimal(float(result.weights[i, target])),
                fmt.decimal(entropy) if math.isfinite(entropy) else "-",
            ]
        )
    blocks.append(
        Table(
            columns=["query", "attends most to", "weight", "entropy (nats)"],
            rows=table_rows,
            title="most-attended key per query" + (" (first 64 rows)" if rows > 64 else ""),
        )
    )
    lines = [f"{row[0]} -> {row[1]} (weight {row[2]}, entropy {row[3]})" for row in table_rows[:SHOW_ROWS]]
    text += lines
    text.append(f"(entropy is 0 for one-hot attention and ln {keys} ≈ {fmt.decimal(math.log(keys))} for uniform)")
    exact_in_rows = not context.hard and max(rows, keys) <= SHOW_SOFTMAX_ROWS
    if exact_head is not None and context.shown and not exact_in_rows:
        text.append("Exact weights:")
        text += _exact_lines(context, exact_head.weights)
    return Step(
        title="Attention weights: who attends to whom",
        text="\n".join(text),
        latex=r"A = \mathrm{softmax}(S),\quad H_i = -\sum_j w_{ij} \ln w_{ij}",
        blocks=blocks,
    )


def _output_step(context: _Context, result: HeadResult, head: int | None, exact_head: _ExactHead | None) -> Step:
    rows, width = result.output.shape
    text = [f"Each output row is the weighted average of the value rows: output = weights V ({rows}x{width})."]
    blocks = []
    if context.shown and width <= SHOW_ROWS:
        text.append(_matrix_text("weights V", None, result.output))
        blocks.append(
            _heatmap(
                "output (row: query)",
                result.output.tolist(),
                context.query_labels,
                [f"d{c}" for c in range(1, width + 1)],
            )
        )
    if exact_head is not None and exact_head.output is not None:
        text.append("Exact:")
        text += _exact_lines(context, exact_head.output)
    return Step(
        title="Output = weights V" + (f" (head {head + 1})" if head is not None else ""),
        text="\n".join(text),
        latex=r"\mathrm{output} = A V",
        blocks=blocks,
    )


def _exact_lines(context: _Context, rows: list[list[Any]]) -> list[str]:
    """One indented line per query: ``label: [exact, exact, ...]``."""
    return [
        f"  {label}: [" + ", ".join(_sympy_text(value) for value in row) + "]"
        for label, row in zip(context.query_labels, rows, strict=True)
    ]


def _concat_step(context: _Context, concat: np.ndarray, weights: np.ndarray, heads: int, *, projected: bool) -> Step:
    """Concatenated head outputs and the mean weights (exact too with ``--exact``; the exact
    concatenation is the output unless ``projected`` by Wo)."""
    text = [
        f"Concatenate the {heads} head outputs side by side: {_shape_text(concat.shape)}.",
        "nn.MultiheadAttention returns the weights averaged over heads (average_attn_weights=True):",
    ]
    blocks = []
    if context.shown:
        text.append(_matrix_text("mean weights", None, weights))
        blocks.append(
            _heatmap("weights averaged over heads", weights.tolist(), context.query_labels, context.key_labels)
        )
    if context.exact is not None:
        text.append("Exact mean weights:")
        text += _exact_lines(context, context.exact.weights)
        if context.exact.output is not None and not projected:
            text.append("Exact concatenated output:")
            text += _exact_lines(context, context.exact.output)
    return Step(
        title="Concatenate the heads",
        text="\n".join(text),
        latex=r"\mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)",
        blocks=blocks,
    )


def _output_projection(concat: np.ndarray, wo: Matrix | None, bo: list[Scalar] | None) -> np.ndarray:
    """``concat(heads) Wo + bo`` (``out_proj`` of ``nn.MultiheadAttention``: weight Wo^T, bias bo)."""
    import numpy as np

    if wo is None:
        return concat
    final = concat @ wo.to_numpy()
    if bo is not None:
        final += np.array([float(value) for value in bo])
    return final


def _output_projection_step(
    context: _Context, concat: np.ndarray, final: np.ndarray, wo: Matrix, bo: list[Scalar] | None
) -> Step:
    """``output = concat(heads) Wo + bo`` (exact too with ``--exact`` and exact Wo, bo)."""
    formula = "concat(heads) Wo" + (" + bo" if bo is not None else "")
    text = [f"output = {formula} ({_shape_text(concat.shape)} times {_shape_text(wo.shape)})"]
    if bo is not None and context.shown:
        text.append(f"bo = [{', '.join(_cell(value) for value in bo)}]")
    if context.shown and final.shape[1] <= SHOW_ROWS:
        text.append(_matrix_text("output", None, final))
    else:
        text.append(f"shape {_shape_text(final.shape)}")
    if context.exact is not None and context.exact.output is not None:
        text.append("Exact:")
        text += _exact_lines(context, context.exact.output)
    return Step(
        title="Output projection",
        text="\n".join(text),
        latex=r"\mathrm{output} = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h) W_O"
        + (" + b_O" if bo is not None else ""),
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


def _summary(
    context: _Context, weights: np.ndarray, output: np.ndarray, argmax: np.ndarray, large: bool
) -> tuple[str, str]:
    pattern = ", ".join(
        f"{context.query_labels[i]}->{context.key_labels[a] if a >= 0 else '(masked)'}"
        for i, a in enumerate(argmax.tolist()[:SHOW_ROWS])
    )
    if len(argmax) > SHOW_ROWS:
        pattern += ", ..."
    summary = f"weights {_shape_text(weights.shape)}, output {_shape_text(output.shape)}; most attended: {pattern}"
    if large or not context.shown:
        return summary, summary
    rows = "; ".join(", ".join(fmt.decimal(w) if math.isfinite(w) else "NaN" for w in row) for row in weights.tolist())
    out = "; ".join(", ".join(fmt.decimal(o) if math.isfinite(o) else "NaN" for o in row) for row in output.tolist())
    quiet = f"weights = {rows}\noutput = {out}"
    if context.exact is not None:
        exact_rows = "; ".join(", ".join(_sympy_text(w) for w in row) for row in context.exact.weights)
        quiet += f"\nexact weights = {exact_rows}"
    return summary, quiet


def _answer_latex(context: _Context, weights: np.ndarray, output: np.ndarray, large: bool) -> str:
    if large or not context.shown:
        return ""
    decimal_weights = fmt.latex_matrix(_rounded(weights))
    output_latex = rf"\mathrm{{output}} = {fmt.latex_matrix(_rounded(output))}"
    if context.exact is None:
        return rf"A = {decimal_weights},\quad {output_latex}"
    import sympy as sp

    body = r" \\ ".join(" & ".join(sp.latex(w) for w in row) for row in context.exact.weights)
    return rf"A = \begin{{bmatrix}} {body} \end{{bmatrix}} \approx {decimal_weights},\quad {output_latex}"


def _inputs(
    operands: _Operands,
    heads: int,
    scale_text: str,
    masks: _Masks,
    temperature: Fraction,
    hard: bool,
    wo: Matrix | None,
    biases: dict[str, list[Scalar] | None],
) -> dict[str, Any]:
    inputs: dict[str, Any] = {
        "Q": _shape_text(operands.q.shape),
        "K": _shape_text(operands.k.shape),
        "V": _shape_text(operands.v.shape),
        "heads": heads,
        "scale": scale_text,
    }
    if operands.from_embeddings:
        if operands.values_apart:
            inputs["from"] = "embeddings (cross-attention: keys from X_kv, values from X_v)"
        else:
            inputs["from"] = "embeddings" + (" (cross-attention: keys and values from X_kv)" if operands.cross else "")
    if wo is not None:
        inputs["Wo"] = _shape_text(wo.shape)
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
