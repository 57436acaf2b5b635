"""Attention's numeric core in float64: scores, row-wise softmax (or its hard limit), output, argmax, entropy.

``attend`` is one head: ``softmax((scale Q K^T + M) / temperature) V`` with blocked scores at ``-inf``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np

#: Rows of the score matrix turned into weights at a time (the working buffer stays in cache).
SOFTMAX_CHUNK_ROWS = 128


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


def argmax_of(weights: np.ndarray, fully_masked: np.ndarray) -> np.ndarray:
    import numpy as np

    argmax = np.nan_to_num(weights, nan=-1.0).argmax(axis=1)
    argmax[fully_masked] = -1
    return argmax


def entropy_of(weights: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(weights > 0, np.log(np.where(weights > 0, weights, 1.0)), 0.0)
    entropy = -(weights * logs).sum(axis=1)
    entropy[np.isnan(weights).any(axis=1) | (weights.sum(axis=1) == 0)] = np.nan
    return entropy


def output_projection(concat: np.ndarray, wo: Matrix | None, bo: list[Scalar] | None) -> np.ndarray:
    """``concat(heads) Wo + bo`` (``out_proj`` of ``nn.MultiheadAttention``: weight Wo^T, bias bo)."""
    import numpy as np

    if wo is None:
        return concat
    final = concat @ wo.to_numpy()
    if bo is not None:
        final += np.array([float(value) for value in bo])
    return final
