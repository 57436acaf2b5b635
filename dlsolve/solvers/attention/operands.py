"""Attention's operands: Q, K, V given directly or projected from embeddings (with biases), and the masks.

Every shape check names the option and both shapes. Q, K and V are float64 arrays, and also exact rows
(Fractions) when every input is exact and small (at most ``EXACT_PRODUCT_SIZE`` rows and columns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from dlsolve.errors import BadInput
from dlsolve.solvers import linalg_exact as la
from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np

#: Largest T, S, d for which exact (Fraction) matrix products are kept and shown.
EXACT_PRODUCT_SIZE = 16


def exact_rows(matrix: Matrix | None) -> list[list[Fraction]] | None:
    """The entries as Fractions when every entry is exact and the matrix is small, else None."""
    if matrix is None or not matrix.is_exact:
        return None
    rows, cols = matrix.shape
    if max(rows, cols) > EXACT_PRODUCT_SIZE * 4:
        return None
    return [[Fraction(value) for value in row] for row in matrix.rows]


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


@dataclass
class Projection:
    """The shapes and biases of ``Q = X Wq + bq``, ``K = X_kv Wk + bk``, ``V = X_v Wv + bv`` (for the working)."""

    sources: dict[str, tuple[str, tuple[int, ...]]]  #: "Q"/"K"/"V" -> (name of the sequence, its shape)
    weights: dict[str, tuple[int, ...]]  #: "Q"/"K"/"V" -> shape of the projection matrix
    biases: dict[str, list[Scalar] | None]
    query_shape: tuple[int, ...]
    keys_from: tuple[int, ...] | None  #: shape of X_kv (cross-attention)
    values_from: tuple[int, ...] | None  #: shape of X_v (values from a third sequence)


@dataclass
class Operands:
    """Q, K, V as float64 arrays (and exact rows when small and exact), plus how they were made."""

    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    q_exact: list[list[Fraction]] | None
    k_exact: list[list[Fraction]] | None
    v_exact: list[list[Fraction]] | None
    projection: Projection | None  #: how Q, K, V were made from embeddings (None: given directly)
    from_embeddings: bool
    cross: bool = False  #: keys and values from another sequence (``--x-kv``)
    values_apart: bool = False  #: values from a third sequence (``--x-v``; keys from ``--x-kv``)


#: The bias options of the projections, by the matrix they are added to.
BIAS_OPTIONS = {"Q": "--bq", "K": "--bk", "V": "--bv"}


def build_operands(
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
) -> Operands:
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
            f"Q is {shape_text(q.shape)} and K is {shape_text(k.shape)}: Q and K need the same number of columns (d_k)",
            option="--k",
        )
    if k.shape[0] != v.shape[0]:
        raise BadInput(
            f"K is {shape_text(k.shape)} and V is {shape_text(v.shape)}: K and V need the same number of rows "
            "(one per key)",
            option="--v",
        )
    return Operands(
        q=q.to_numpy(),
        k=k.to_numpy(),
        v=v.to_numpy(),
        q_exact=exact_rows(q),
        k_exact=exact_rows(k),
        v_exact=exact_rows(v),
        projection=None,
        from_embeddings=False,
    )


def check_bias(bias: list[Scalar] | None, weight: Matrix, weight_name: str, option: str) -> None:
    """A bias added to ``X W`` needs one entry per column of W."""
    if bias is not None and len(bias) != weight.shape[1]:
        raise BadInput(
            f"{option[2:]} has {len(bias)} entries and {weight_name} is {shape_text(weight.shape)}: the bias needs "
            f"{weight.shape[1]} (one per column of {weight_name})",
            option=option,
        )


def exact_vector(values: list[Scalar]) -> list[Fraction] | None:
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
    inputs_exact, weight_exact = exact_rows(inputs), exact_rows(weight)
    bias_exact = exact_vector(bias) if bias is not None else None
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
) -> Operands:
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
            f"X_kv is {shape_text(x_kv.shape)} and X_v is {shape_text(x_v.shape)}: keys and values need the same "
            "number of rows (one per key, S; PyTorch requires equal key and value lengths)",
            option="--x-v",
        )
    sources = {"Q": ("X", x), "K": key_source, "V": value_source}  # name and matrix each projection applies to
    for name, weight in weights.items():
        source_name, source = sources[name]
        if weight.shape[0] != source.shape[1]:
            raise BadInput(
                f"{source_name} is {shape_text(source.shape)} and W{name.lower()} is {shape_text(weight.shape)}: "
                f"the projection needs {source.shape[1]} rows (one per embedding dimension of {source_name})",
                option=f"--w{name.lower()}",
            )
    if weights["Q"].shape[1] != weights["K"].shape[1]:
        raise BadInput(
            f"Wq is {shape_text(weights['Q'].shape)} and Wk is {shape_text(weights['K'].shape)}: they need the "
            "same number of columns (d_k)",
            option="--wk",
        )
    for name, weight in weights.items():
        check_bias(biases[name], weight, f"W{name.lower()}", BIAS_OPTIONS[name])
    arrays: dict[str, np.ndarray] = {}
    exact: dict[str, list[list[Fraction]] | None] = {}
    for name, weight in weights.items():
        arrays[name], exact[name] = _linear(sources[name][1], weight, biases[name])
    projection = Projection(
        sources={name: (source_name, source.shape) for name, (source_name, source) in sources.items()},
        weights={name: weight.shape for name, weight in weights.items()},
        biases=biases,
        query_shape=x.shape,
        keys_from=None if x_kv is None else x_kv.shape,
        values_from=None if x_v is None else x_v.shape,
    )
    return Operands(
        q=arrays["Q"],
        k=arrays["K"],
        v=arrays["V"],
        q_exact=exact["Q"],
        k_exact=exact["K"],
        v_exact=exact["V"],
        projection=projection,
        from_embeddings=True,
        cross=x_kv is not None,
        values_apart=x_v is not None,
    )


@dataclass
class Masks:
    allowed: np.ndarray | None  #: T x S bool, True = may attend
    additive: np.ndarray | None  #: T x S float added to the scaled scores
    additive_exact: list[list[Fraction | float]] | None
    description: list[str]


def build_masks(
    queries: int,
    keys: int,
    *,
    causal: bool,
    mask: Matrix | None,
    mask_type: str,
    key_padding: list[Scalar] | None,
) -> Masks:
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
                f"the mask is {shape_text(mask.shape)} but the scores are {queries}x{keys} (queries x keys)",
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
    return Masks(allowed, additive, additive_exact, description)
