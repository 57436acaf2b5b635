"""``dlsolve optim ewma``: the exponentially weighted moving average, step by step.

v₀ = 0, v_t = β·v_{t−1} + (1 − β)·x_t, and the bias-corrected v̂_t = v_t/(1 − βᵗ) (as Adam
corrects its moments). Exact for exact inputs.
"""

from __future__ import annotations

from fractions import Fraction

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Plot, Series, Solution, Step, Table
from dlsolve.solvers.surds import exact_text, value_latex, value_text

STEP_KINDS = {
    "ewma.first": "the recurrence v_t = βv_{t−1} + (1 − β)x_t substituted for the first value(s)",
    "ewma.table": "v_t (and the bias-corrected v̂_t) for every t",
}

Scalar = Fraction | float
#: A plot only for more values than this: the typeset keys list a short series' values in a second table.
PLOT_AFTER = 12


def _tex(text: str) -> str:
    return text.replace("−", "-")


def ewma(values: list[Scalar], beta: Scalar, *, bias_correction: bool = False, full: bool = False) -> Solution:
    """v_t = βv_{t−1} + (1 − β)x_t from v₀ = 0; v̂_t = v_t/(1 − βᵗ) with ``bias_correction``."""
    if not values:
        raise BadInput("expected at least one value", option="--values")
    if not 0 <= beta < 1:
        raise BadInput(f"expected β in [0, 1), got {fmt.decimal(beta)}", option="--beta")
    averages: list[Scalar] = []
    corrected: list[Scalar] = []
    v: Scalar = Fraction(0) if isinstance(beta, Fraction) else 0.0
    for t, x in enumerate(values, start=1):
        v = beta * v + (1 - beta) * x
        averages.append(v)
        corrected.append(v / (1 - beta**t))
    answer = {
        "v": [fmt.json_number(a) for a in averages],
        "v_hat": [fmt.json_number(c) for c in corrected],
        "final": fmt.json_number(averages[-1]),
        "final_corrected": fmt.json_number(corrected[-1]),
    }
    n = len(values)
    summary = f"v_{n} = {value_text(averages[-1])}, bias-corrected v̂_{n} = {value_text(corrected[-1])}"
    quiet = f"v={exact_text(averages[-1])} v_hat={exact_text(corrected[-1])}"

    def build() -> list[Step]:
        b, one_minus = exact_text(beta), exact_text(1 - beta)
        lines = []
        latex_lines = []
        previous: Scalar = 0
        for t in range(1, min(n, 2) + 1):
            x, v_t = values[t - 1], averages[t - 1]
            lines.append(f"v_{t} = {b}·{exact_text(previous)} + {one_minus}·{exact_text(x)} = {value_text(v_t)}")
            latex_lines.append(
                rf"v_{t} = {_tex(b)}\cdot {_tex(exact_text(previous))} + {_tex(one_minus)}\cdot {_tex(exact_text(x))}"
                rf" = {value_latex(v_t)}"
            )
            if bias_correction:
                lines.append(
                    f"v̂_{t} = v_{t}/(1 − {b}^{t}) = {exact_text(v_t)}/{exact_text(1 - beta**t)} = "
                    f"{value_text(corrected[t - 1])}"
                )
                latex_lines[-1] += (
                    rf",\quad \hat v_{t} = \frac{{v_{t}}}{{1 - {_tex(b)}^{{{t}}}}} = "
                    rf"\frac{{{_tex(exact_text(v_t))}}}{{{_tex(exact_text(1 - beta**t))}}} = "
                    + value_latex(corrected[t - 1])
                )
            previous = v_t
        text = "v₀ = 0, v_t = β·v_{t−1} + (1 − β)·x_t" + (", v̂_t = v_t/(1 − βᵗ)" if bias_correction else "")
        text += f" with β = {b}:\n" + "\n".join(lines)
        if bias_correction:
            text += (
                "\nWithout the correction the average starts biased towards v₀ = 0: its weights (1 − β)β^(t−i) "
                "sum to 1 − βᵗ, and dividing by that sum removes the bias."
            )
        columns = ["t", "x_t", "v_t"] + (["v̂_t"] if bias_correction else [])
        rows = [
            [str(t), value_text(values[t - 1]), value_text(averages[t - 1])]
            + ([value_text(corrected[t - 1])] if bias_correction else [])
            for t in range(1, n + 1)
        ]
        if not full and len(rows) > 24:
            rows = [*rows[:12], ["…"] * len(columns), *rows[-12:]]
        ts = [float(t) for t in range(1, n + 1)]
        series = [Series("x_t", ts, [float(x) for x in values]), Series("v_t", ts, [float(a) for a in averages])]
        if bias_correction:
            series.append(Series("v̂_t", ts, [float(c) for c in corrected]))
        return [
            Step(
                "The exponentially weighted average",
                text,
                # the rule and the worked values in the text's names: the key writes them once
                latex=r"\begin{gathered} v_0 = 0,\quad v_t = \beta v_{t-1} + (1 - \beta) x_t"
                + (r",\quad \hat v_t = \frac{v_t}{1 - \beta^t}" if bias_correction else "")
                + rf"\ \text{{with }} \beta = {_tex(b)} \\ "
                + r" \\ ".join(latex_lines)
                + r" \end{gathered}",
                kind="ewma.first",
            ),
            Step(
                f"All {n} values",
                "The average at every t; its last row is the answer.",
                # a plot only for a long series: the typeset keys list a short one's values in a second table
                blocks=[Table(columns, rows, title="exponentially weighted average")]
                + ([Plot(series, "EWMA", "t", "value")] if n > PLOT_AFTER else []),
                kind="ewma.table",
            ),
        ]

    return Solution(
        command="optim ewma",
        inputs={"values": ", ".join(exact_text(x) for x in values), "beta": exact_text(beta)},
        answer=answer,
        summary=summary if bias_correction else f"v_{n} = {value_text(averages[-1])}",
        quiet=quiet,
        steps=build,
    )
