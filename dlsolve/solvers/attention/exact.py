"""Attention in exact arithmetic (SymPy): scores, weights ``exp(l_ij) / Z_i`` and outputs, and their text.

Used with ``--exact`` on small exact inputs (at most ``EXACT_MAX_SIZE`` tokens and columns per head,
``EXACT_MAX_HEADS`` heads): the exact weights are part of the answer.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solvers import linalg_exact as la
from dlsolve.solvers.attention.operands import EXACT_PRODUCT_SIZE, Masks, Operands, exact_rows, exact_vector, shape_text
from dlsolve.values import Matrix, Scalar

#: Largest T, S and width accepted with ``--exact`` (beyond it the expressions are unreadable).
EXACT_MAX_SIZE = 8
#: Most heads accepted with ``--exact`` (each head has its own T x S exact weights).
EXACT_MAX_HEADS = 4


@dataclass
class ExactHead:
    """One head's exact (SymPy) scores, weights and output ``weights V_h`` (None without exact V)."""

    scores: list[list[Any]]  #: masked entries are -oo
    weights: list[list[Any]]
    output: list[list[Any]] | None


@dataclass
class ExactAttention:
    """The exact answer: every head, the weights as returned (one head's, or the mean over heads as
    ``nn.MultiheadAttention`` averages them) and the final output ``concat(heads) Wo + bo``."""

    heads: list[ExactHead]
    weights: list[list[Any]]
    output: list[list[Any]] | None  #: None when V (or Wo, bo) is not exact


def _exact_weights(
    raw_exact: list[list[Fraction]],
    v_exact: list[list[Fraction]] | None,
    *,
    scale: Any,
    masks: Masks,
    temperature: Fraction,
    hard: bool,
    masked_rows: str,
) -> ExactHead:
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
    return ExactHead(scores, weights, output)


def head_columns(rows: list[list[Fraction]], head: int | None, width: int) -> list[list[Fraction]]:
    """Columns ``head * width .. (head + 1) * width - 1`` of each row (all of them for ``head=None``)."""
    if head is None:
        return rows
    return [row[head * width : (head + 1) * width] for row in rows]


def exact_attention(
    operands: Operands,
    heads: int,
    d_k: int,
    d_v: int,
    *,
    scale: Any,
    masks: Masks,
    temperature: Fraction,
    hard: bool,
    masked_rows: str,
    wo: Matrix | None,
    bo: list[Scalar] | None,
) -> ExactAttention:
    """Each head's exact attention on its columns of Q, K, V; their mean weights; ``concat(heads) Wo + bo``.

    The output is None when V, Wo or bo is not exact (floats or too large).
    """
    import sympy as sp

    assert operands.q_exact is not None and operands.k_exact is not None
    v_exact = operands.v_exact
    head_results = []
    for head in range(heads):
        q_head = head_columns(operands.q_exact, head, d_k)
        k_head = head_columns(operands.k_exact, head, d_k)
        head_results.append(
            _exact_weights(
                la.matmul(q_head, la.transpose(k_head)),
                None if v_exact is None else head_columns(v_exact, head, d_v),
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
    return ExactAttention(head_results, weights, output)


def _exact_linear(rows: list[list[Any]], weight: Matrix, bias: list[Scalar] | None) -> list[list[Any]] | None:
    """``rows W + b`` in SymPy (row vectors times W, b added to each); None when W or b is not exact."""
    import sympy as sp

    weight_exact = exact_rows(weight)
    bias_exact = [Fraction(0)] * weight.shape[1] if bias is None else exact_vector(bias)
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


def sympy_text(expression: Any) -> str:
    """SymPy's text (as ``str``), with ``-inf`` for a masked score and ``NaN`` for an undefined weight."""
    if len(_PRINTED) > _PRINTED_MAX:
        _PRINTED.clear()
    text = _memo_printer().doprint(expression)
    return {"-oo": "-inf", "nan": "NaN"}.get(text, text)


def maths_text(expression: Any) -> str:
    """An exact score, weight or output as maths (``e^(√2/2)/(1 + e^(√2/2))``), ``−∞`` for a masked
    score and ``NaN`` for an undefined weight (the JSON answer keeps SymPy's text: :func:`sympy_text`)."""
    import sympy as sp

    if expression == -sp.oo:
        return "−∞"
    if expression is sp.nan:
        return "NaN"
    return fmt.symbolic(expression)


def sympy_scale(d_k: int, scale_exact: Fraction | None) -> Any:
    import sympy as sp

    if scale_exact is not None:
        return sp.Rational(scale_exact)
    return 1 / sp.sqrt(d_k)


def check_exact_size(queries: int, keys: int, d_k: int, d_v: int, heads: int, wo: Matrix | None) -> None:
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
        + (f", Wo {shape_text(wo.shape)}" if wo is not None else "")
        + "); symbolic weights beyond that are unreadable, drop --exact",
        option="--exact",
    )


def _sympy_rows(rows: list[list[Any]] | None) -> list[list[str]] | None:
    return None if rows is None else [[sympy_text(value) for value in row] for row in rows]


def exact_json(exact: ExactAttention) -> dict[str, Any]:
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
