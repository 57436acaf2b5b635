"""The working of ``attention``: projections, scores, masks, softmax, weights, output (and heads), as steps.

Built on demand (``Solution(steps=...)``): nothing here runs under ``-q`` or in batch answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.solution import Heatmap, Step, Table
from dlsolve.solvers import linalg_exact as la
from dlsolve.solvers.attention.exact import ExactAttention, ExactHead, head_columns, maths_text
from dlsolve.solvers.attention.numeric import HeadResult
from dlsolve.solvers.attention.operands import EXACT_PRODUCT_SIZE, Masks, Operands, shape_text
from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np

STEP_KINDS = {
    "attention.projection": "Q, K, V projected from the embeddings (Q = X W_Q + b_Q, ...)",
    "attention.scores": "the scores S = s Q Kᵀ (with --full also Q Kᵀ written out)",
    "attention.mask": "the masks applied to the scores (blocked scores become −inf)",
    "attention.softmax": "the row-wise softmax (or its hard, argmax limit)",
    "attention.softmax-row": "one query's exponentials, their sum and its weights",
    "attention.weights": "the attention weights A (with --full, the most-attended key and entropy per query)",
    "attention.output": "output = A V",
    "attention.head": "one head's steps (multi-head attention)",
    "attention.concat": "the head outputs concatenated, and the weights averaged over heads",
    "attention.output-projection": "output = concat(heads) Wo + bo",
}

#: Largest number of query or key rows whose matrices are drawn as heatmaps and written in steps.
SHOW_ROWS = 16
#: Largest query/key count for which each row's exponentials and sum are written out.
SHOW_SOFTMAX_ROWS = 6


def _rounded(array: np.ndarray) -> list[list[float]]:
    """Entries rounded to the displayed digits (so ``fmt.matrix`` prints them short)."""
    return [[float(fmt.decimal(value)) for value in row] for row in array.tolist()]


def cell(value: float | Fraction) -> str:
    if isinstance(value, Fraction):
        return fmt.exact(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "-inf" if value < 0 else "inf"
    return fmt.decimal(value)


def _heatmap(
    title: str, rows: list[list[float | Fraction]], row_labels: list[str], col_labels: list[str] | None
) -> Heatmap:
    """A heatmap whose colour follows the values; NaN/inf cells are coloured as 0 and labelled."""
    values = [[float(v) if math.isfinite(float(v)) else 0.0 for v in row] for row in rows]
    cells = [[cell(v) for v in row] for row in rows]
    return Heatmap(values=values, cells=cells, title=title, row_labels=row_labels, col_labels=col_labels)


def _matrix_text(name: str, rows: list[list[Any]] | None, array: np.ndarray) -> str:
    """``name =`` and the matrix on the next lines (exact entries when known)."""
    shown = rows if rows is not None else _rounded(array)
    if any(isinstance(value, str) for row in shown for value in row):  # exact entries written already
        widths = [max(len(row[j]) for row in shown) for j in range(len(shown[0]))]
        lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in shown]
        return f"{name} =\n" + "\n".join(f"  [ {line} ]" for line in lines)
    return f"{name} =\n{fmt.matrix(shown, indent='  ')}"


@dataclass
class Context:
    operands: Operands
    results: list[HeadResult]
    masks: Masks
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
    exact: ExactAttention | None = None
    full: bool = False  #: every matrix also written out in the text (the heatmaps are always there)


def head_steps(context: Context, result: HeadResult, head: int | None) -> list[Step]:
    """Scores, scaling, mask, softmax, weights table, output for one head (``None``: the only head)."""
    exact_head = context.exact.heads[head or 0] if context.exact is not None else None
    steps = [_scores_step(context, result, head)]
    if context.masks.description:
        steps.append(_mask_step(context, result))
    steps.append(_softmax_step(context, result, exact_head))
    steps.append(_pattern_step(context, result, exact_head, head))
    steps.append(_output_step(context, result, head, exact_head))
    return steps


def _raw_exact(context: Context, head: int | None) -> list[list[Fraction]] | None:
    """Exact ``Q_h K_h^T`` of one head's columns (all columns for ``head=None``) when Q, K are exact and small."""
    operands = context.operands
    if operands.q_exact is None or operands.k_exact is None:
        return None
    if max(len(operands.q_exact), len(operands.k_exact), context.d_k) > EXACT_PRODUCT_SIZE:
        return None
    q_head = head_columns(operands.q_exact, head, context.d_k)
    return la.matmul(q_head, la.transpose(head_columns(operands.k_exact, head, context.d_k)))


def _root_cell(value: Fraction, root: int) -> str:
    """An exact score ``value / √root``: ``1/√5``, ``−2/√5``, ``3/(2√5)`` (0 as ``0``)."""
    if value == 0:
        return "0"
    sign = "−" if value < 0 else ""
    numerator, denominator = abs(value).numerator, abs(value).denominator
    if denominator == 1:
        return f"{sign}{numerator}/√{root}"
    return f"{sign}{numerator}/({denominator}√{root})"


def _scores_step(context: Context, result: HeadResult, head: int | None) -> Step:
    """``S = s Q Kᵀ``: by default one matrix, the scores that go into the softmax (the masked
    scores of the next step when there is a mask); ``full`` also writes ``Q Kᵀ`` and ``S`` out."""
    labels = (context.query_labels, context.key_labels)
    rows, keys = result.weights.shape
    default_scale = context.scale_text.startswith("1/√")
    scale_latex = (r"\frac{1}{\sqrt{d_k}} = " if default_scale else "") + context.scale_latex
    latex = rf"S = s\, Q K^\top,\quad s = {scale_latex}"
    scale = ("1/√d_k = " if default_scale else "") + context.scale_text
    lead = f"Every query's dot product with every key, scaled: S = s Q Kᵀ; s = {scale}."
    if result.raw_scores is None or result.scores is None:
        return Step(
            kind="attention.scores",
            title="Scores and scaling",
            text=f"{lead}\nS is {rows}x{keys} (too large to show).",
            latex=latex,
        )
    raw_exact = _raw_exact(context, head)
    scaled_exact: list[list[Any]] | None = None
    if raw_exact is not None and context.masks.additive is None:
        if context.scale_exact is not None:
            scaled_exact = [[value * context.scale_exact for value in row] for row in raw_exact]
        elif default_scale:  # 1/√d_k, d_k not a square: exact entries k/√d_k
            scaled_exact = [[_root_cell(value, context.d_k) for value in row] for row in raw_exact]
    text = [lead]
    blocks = []
    masked_next = bool(context.masks.description)  # the masked scores (next step) go into the softmax
    if context.shown:
        scaled = result.raw_scores * context.scale_value
        if context.full:
            text.append(_matrix_text("Q Kᵀ", raw_exact, result.raw_scores))
            text.append(_matrix_text("S", scaled_exact, scaled))
        if context.full or not masked_next:
            values: list[list[Any]] = scaled.tolist()
            heatmap = _heatmap("scores S (query x key)", values, *labels)
            if scaled_exact is not None:
                heatmap.cells = [
                    [entry if isinstance(entry, str) else cell(entry) for entry in row] for row in scaled_exact
                ]
            blocks.append(heatmap)
    return Step(
        kind="attention.scores",
        title="Scores S = s Q Kᵀ" + (f" (head {head + 1})" if head is not None else ""),
        text="\n".join(text),
        latex=latex,
        blocks=blocks,
    )


def _mask_step(context: Context, result: HeadResult) -> Step:
    assert result.scores is not None or not context.shown
    text = ["Masks applied (a blocked score becomes -inf, so its weight is exp(-inf) = 0):"]
    text += [f"- {line}" for line in context.masks.description]
    blocks = []
    if context.shown and result.scores is not None:
        if context.full:
            text.append(_matrix_text("masked scores", None, result.scores))
        blocks.append(
            _heatmap("masked scores S (query x key)", result.scores.tolist(), context.query_labels, context.key_labels)
        )
    return Step(
        kind="attention.mask",
        title="Mask",
        text="\n".join(text),
        latex=r"S_{ij} \leftarrow -\infty \text{ where query } i \text{ may not attend to key } j",
        blocks=blocks,
    )


def _softmax_step(context: Context, result: HeadResult, exact_head: ExactHead | None) -> Step:
    rows, keys = result.weights.shape
    temperature = context.temperature
    if context.hard:
        text = [
            "Each query puts weight 1 on its highest-scoring key; k tied maxima get 1/k each "
            "(the limit of softmax(S/T) as T → 0)."
        ]
        return Step(
            kind="attention.softmax",
            title="Hard attention (argmax)",
            text="\n".join(text),
            latex=r"w_{ij} = \lim_{T\to 0} \mathrm{softmax}_j(S_{ij}/T)",
        )
    lead = "Row-wise softmax: w_ij = exp(s_ij) / Σ_k exp(s_ik)"
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
    return Step(kind="attention.softmax", title="Softmax of each row", text=lead, latex=latex, substeps=substeps)


def _softmax_row_step(
    context: Context, result: HeadResult, exact_head: ExactHead | None, logits: np.ndarray, i: int
) -> Step:
    """One query's exponentials, their sum and its weights."""
    label = context.query_labels[i]
    finite = [value for value in logits.tolist() if math.isfinite(value)]
    if not finite:
        what = "NaN (nn.MultiheadAttention)" if context.masked_rows == "nan" else "0 (F.scaled_dot_product_attention)"
        return Step(
            kind="attention.softmax-row",
            title=f"Query {label}",
            text=f"every key is masked: no softmax is defined; weights are {what}",
        )
    shift = max(finite) if max(abs(v) for v in finite) > 30 else 0.0
    name = "exp(s - max)" if shift else "exp(s)"
    exps = [math.exp(value - shift) if math.isfinite(value) else 0.0 for value in logits.tolist()]
    total = sum(exps)
    parts = [f"{key}: {fmt.decimal(e)}" for key, e in zip(context.key_labels, exps, strict=True)]
    weights = ", ".join(fmt.decimal(w) for w in result.weights[i].tolist())
    text = f"{name}: {'; '.join(parts)}\nsum = {fmt.decimal(total)}\nweights = [{weights}]"
    if exact_head is not None:
        text += "\nexact: [" + ", ".join(maths_text(w) for w in exact_head.weights[i]) + "]"
    return Step(kind="attention.softmax-row", title=f"Query {label}", text=text)


def _pattern_step(context: Context, result: HeadResult, exact_head: ExactHead | None, head: int | None) -> Step:
    """The weights heatmap (labelled); with ``full`` also, per query, the most-attended key and the
    entropy (the answer names the most-attended keys and their ties)."""
    import numpy as np

    rows, keys = result.weights.shape
    blocks: list[Any] = []
    queries = f"{rows} quer{'y' if rows == 1 else 'ies'} x {keys} key{'' if keys == 1 else 's'}"
    text = [f"Each row of A ({queries}) sums to 1."]
    if context.shown:
        cells: list[list[Any]]
        if context.hard:
            cells = [
                [Fraction(w).limit_denominator(keys) if math.isfinite(w) else w for w in row]
                for row in result.weights.tolist()
            ]
        else:
            cells = result.weights.tolist()
        blocks.append(_heatmap("weights A (query x key)", cells, context.query_labels, context.key_labels))
        if context.full:
            text.append(_matrix_text("A", [list(row) for row in cells] if context.hard else None, result.weights))
    latex = "" if context.hard else r"A = \mathrm{softmax}(S)"  # hard: step 3 writes w_ij as the limit
    if context.full or head is not None:  # one head's pattern is not the answer's (the mean over heads)
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
        if context.full:
            latex += (r",\quad " if latex else "") + r"H_i = -\sum_j w_{ij} \ln w_{ij}"
            blocks.append(
                Table(
                    columns=["query", "attends most to", "weight", "entropy (nats)"],
                    rows=table_rows,
                    title="most-attended key per query" + (" (first 64 rows)" if rows > 64 else ""),
                )
            )
            text += [f"{row[0]} → {row[1]} (weight {row[2]}, entropy {row[3]})" for row in table_rows[:SHOW_ROWS]]
            text.append(
                f"(entropy is 0 for one-hot attention and ln {keys} ≈ {fmt.decimal(math.log(keys))} for uniform)"
            )
        else:
            text.append(f"Most attended: {pattern_text(context, result.weights, result.argmax)}.")
    exact_in_rows = not context.hard and max(rows, keys) <= SHOW_SOFTMAX_ROWS
    # the answer has the exact weights of a single head
    if exact_head is not None and context.shown and not exact_in_rows and (head is not None or context.full):
        text.append("Exact weights:")
        text += _exact_lines(context, exact_head.weights)
    return Step(
        kind="attention.weights",
        title="Attention weights: who attends to whom",
        text="\n".join(text),
        latex=latex,
        blocks=blocks,
    )


def _output_step(context: Context, result: HeadResult, head: int | None, exact_head: ExactHead | None) -> Step:
    rows, width = result.output.shape
    text = ["Each output row is the weighted average of the value rows: output = A V."]
    blocks = []
    if not (context.shown and width <= SHOW_ROWS):
        text[0] += f" It is {rows}x{width}."
    else:
        if context.full:
            text.append(_matrix_text("A V", None, result.output))
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
        kind="attention.output",
        title="Output = A V" + (f" (head {head + 1})" if head is not None else ""),
        text="\n".join(text),
        latex=r"\mathrm{output} = A V",
        blocks=blocks,
    )


def _exact_lines(context: Context, rows: list[list[Any]]) -> list[str]:
    """One indented line per query: ``label: [exact, exact, ...]``."""
    return [
        f"  {label}: [" + ", ".join(maths_text(value) for value in row) + "]"
        for label, row in zip(context.query_labels, rows, strict=True)
    ]


def concat_step(context: Context, concat: np.ndarray, weights: np.ndarray, heads: int, *, projected: bool) -> Step:
    """Concatenated head outputs and the mean weights (exact too with ``--exact``; the exact
    concatenation is the output unless ``projected`` by Wo)."""
    text = [
        f"Concatenate the {heads} head outputs side by side: {shape_text(concat.shape)}.",
        "nn.MultiheadAttention returns the weights averaged over heads (average_attn_weights=True):",
    ]
    blocks = []
    if context.shown:
        if context.full:
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
        kind="attention.concat",
        title="Concatenate the heads",
        text="\n".join(text),
        latex=r"\mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)",
        blocks=blocks,
    )


def output_projection_step(
    context: Context, concat: np.ndarray, final: np.ndarray, wo: Matrix, bo: list[Scalar] | None
) -> Step:
    """``output = concat(heads) Wo + bo`` (exact too with ``--exact`` and exact Wo, bo)."""
    formula = "concat(heads) Wo" + (" + bo" if bo is not None else "")
    text = [f"output = {formula} ({shape_text(concat.shape)} times {shape_text(wo.shape)})"]
    if bo is not None and context.shown:
        text.append(f"bo = [{', '.join(cell(value) for value in bo)}]")
    if context.shown and final.shape[1] <= SHOW_ROWS:
        text.append(_matrix_text("output", None, final))
    else:
        text.append(f"shape {shape_text(final.shape)}")
    if context.exact is not None and context.exact.output is not None:
        text.append("Exact:")
        text += _exact_lines(context, context.exact.output)
    return Step(
        kind="attention.output-projection",
        title="Output projection",
        text="\n".join(text),
        latex=r"\mathrm{output} = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h) W_O"
        + (" + b_O" if bo is not None else ""),
    )


def pattern_text(context: Context, weights: np.ndarray, argmax: np.ndarray) -> str:
    """``q1 → k1, exam(6) → exam(2) / exam(6) (tie, 1/2 each)``: the most-attended key(s) of each query."""
    import numpy as np

    keys = weights.shape[1]
    parts = []
    for i, target in enumerate(argmax.tolist()[:SHOW_ROWS]):
        label = context.query_labels[i]
        if target < 0:
            parts.append(f"{label} → (all masked)")
            continue
        tied = np.flatnonzero(weights[i] == weights[i, target]).tolist()
        text = f"{label} → {' / '.join(context.key_labels[j] for j in tied)}"
        if len(tied) > 1:
            share = float(weights[i, target])
            exact = Fraction(share).limit_denominator(keys)
            shown = f"{exact.numerator}/{exact.denominator}" if float(exact) == share else fmt.decimal(share)
            text += f" (tie, {shown} each)"
        parts.append(text)
    if len(argmax) > SHOW_ROWS:
        parts.append("…")
    return ", ".join(parts)


def _rows_text(rows: list[list[str]]) -> str:
    return "\n".join("  [" + ", ".join(row) + "]" for row in rows)


def summary_and_quiet(
    context: Context, weights: np.ndarray, output: np.ndarray, argmax: np.ndarray, large: bool
) -> tuple[str, str]:
    """The answer box and ``-q``: the weights and the output as rows (exact with ``--exact``, fractions for
    hard attention), and the most-attended key of each query with its ties; shapes only when large."""
    pattern = pattern_text(context, weights, argmax)
    if large or not context.shown:
        summary = f"weights {shape_text(weights.shape)}, output {shape_text(output.shape)}; most attended: {pattern}"
        return summary, summary
    keys = weights.shape[1]

    def number(value: float) -> str:
        if not math.isfinite(value):
            return "NaN"
        if context.hard:
            return fmt.exact(Fraction(value).limit_denominator(keys))
        return fmt.decimal(value)

    def exact_number(value: Any) -> str:
        text = maths_text(value)
        if not (value.is_number and value.is_finite) or value.is_Rational:
            return text
        return f"{text} ≈ {fmt.decimal(float(value))}"

    if context.exact is not None:
        weight_rows = [[exact_number(w) for w in row] for row in context.exact.weights]
    else:
        weight_rows = [[number(w) for w in row] for row in weights.tolist()]
    output_rows = [[fmt.decimal(o) if math.isfinite(o) else "NaN" for o in row] for row in output.tolist()]
    body = (
        f"weights (rows: queries {', '.join(context.query_labels)}) =\n{_rows_text(weight_rows)}\n"
        f"output =\n{_rows_text(output_rows)}\nmost attended: {pattern}"
    )
    return body, body


def answer_latex(context: Context, weights: np.ndarray, output: np.ndarray, large: bool) -> str:
    if large or not context.shown:
        return ""
    decimal_weights = fmt.latex_matrix(_rounded(weights))
    output_latex = rf"\mathrm{{output}} = {fmt.latex_matrix(_rounded(output))}"
    if context.exact is None:
        return rf"A = {decimal_weights},\quad {output_latex}"
    import sympy as sp

    body = r" \\ ".join(" & ".join(sp.latex(w) for w in row) for row in context.exact.weights)
    return rf"A = \begin{{bmatrix}} {body} \end{{bmatrix}} \approx {decimal_weights},\quad {output_latex}"


def _equal(a: np.ndarray, b: np.ndarray, a_exact: list[list[Any]] | None, b_exact: list[list[Any]] | None) -> bool:
    if a_exact is not None and b_exact is not None:
        return a_exact == b_exact
    return a.shape == b.shape and bool((a == b).all())


def projection_step(operands: Operands) -> Step:
    """``Q = X W_Q + b_Q``, ``K = X_kv W_K + b_K``, ``V = X_v W_V + b_V``: the formulas and, when small,
    the matrices."""
    projection = operands.projection
    assert projection is not None
    sources, biases = projection.sources, projection.biases
    arrays = {"Q": operands.q, "K": operands.k, "V": operands.v}
    exact = {"Q": operands.q_exact, "K": operands.k_exact, "V": operands.v_exact}
    formulas = {
        name: f"{name} = {sources[name][0]} W_{name}" + ("" if biases[name] is None else f" + b_{name}")
        for name in projection.weights
    }
    x_shape, kv_shape, v_shape = projection.query_shape, projection.keys_from, projection.values_from
    if kv_shape is None:
        lead = f"Each token's embedding (a row of X, {shape_text(x_shape)}) is projected"
    elif v_shape is not None:
        lead = (
            f"Cross-attention: queries from X ({shape_text(x_shape)}), keys from X_kv ({shape_text(kv_shape)}), "
            f"values from a separate sequence X_v ({shape_text(v_shape)}); key j and value j come from row j "
            "of X_kv and of X_v"
        )
    else:
        lead = (
            f"Cross-attention: queries from X ({shape_text(x_shape)}), keys and values from the other sequence "
            f"X_kv ({shape_text(kv_shape)}), one row per token"
        )
    lines = [f"{lead}: {', '.join(formulas.values())}."]
    largest_source = max(shape[0] for _, shape in sources.values())
    shown = max(largest_source, *(n for shape in projection.weights.values() for n in shape)) <= SHOW_ROWS
    if shown:
        for name, bias in biases.items():
            if bias is not None:
                lines.append(f"b_{name} = [{', '.join(cell(value) for value in bias)}]")
        groups: list[list[str]] = []  # equal matrices (identity projections of one X) are written once
        for name in projection.weights:
            same = next((g for g in groups if _equal(arrays[g[0]], arrays[name], exact[g[0]], exact[name])), None)
            if same is None:
                groups.append([name])
            else:
                same.append(name)
        for group in groups:
            label = formulas[group[0]] if len(group) == 1 else " = ".join(group)
            lines.append(_matrix_text(label, exact[group[0]], arrays[group[0]]))
    else:
        lines.append(", ".join(f"{name}: {shape_text(arrays[name].shape)}" for name in projection.weights))
    return Step(
        kind="attention.projection",
        title="Project the embeddings to queries, keys and values",
        text="\n".join(lines),
        latex=r",\quad ".join(
            f"{name} = {sources[name][0].replace('X_kv', 'X_{kv}').replace('X_v', 'X_{v}')} W_{name}"
            + (f" + b_{name}" if biases[name] is not None else "")
            for name in projection.weights
        ),
    )


def working(
    context: Context,
    concat: np.ndarray,
    weights: np.ndarray,
    final: np.ndarray,
    wo: Matrix | None,
    bo: list[Scalar] | None,
) -> list[Step]:
    """Every step: the projections (from embeddings), each head's steps, the concatenation and ``Wo``."""
    heads = len(context.results)
    steps = [] if context.operands.projection is None else [projection_step(context.operands)]
    for head, result in enumerate(context.results):
        written = head_steps(context, result, head if heads > 1 else None)
        if heads > 1:
            d_k = context.d_k
            steps.append(
                Step(
                    kind="attention.head",
                    title=f"Head {head + 1} (columns {head * d_k + 1}..{(head + 1) * d_k} of Q and K)",
                    substeps=written,
                )
            )
        else:
            steps.extend(written)
    if heads > 1:
        steps.append(concat_step(context, concat, weights, heads, projected=wo is not None))
    if wo is not None:
        steps.append(output_projection_step(context, concat, final, wo, bo))
    return steps
