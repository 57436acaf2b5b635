"""``dropout``: inverted dropout as PyTorch runs it, and the classic variant, with a given mask.

* Inverted (PyTorch's ``nn.Dropout``, the default): training y = x·mask/(1 − p), eval y = x.
* Classic (``convention="classic"``, the original paper): training y = x·mask, test y = (1 − p)·x.

mask entries are 1 (kept, probability 1 − p) or 0 (dropped, probability p). The expected value:
E[mask] = 1 − p, so inverted dropout has E[y] = x in training and needs nothing at test time; classic
dropout has E[y] = (1 − p)·x in training, which the test-time scaling by 1 − p matches.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step
from dlsolve.solvers import norm_math as nm
from dlsolve.solvers.norm_math import Value
from dlsolve.values import Tensor

STEP_KINDS = {
    "dropout.scale": "the keep probability and the scale applied in training or at test time",
    "dropout.apply": "y from x and the mask, one worked entry",
    "dropout.expectation": "the expected-value argument that makes training and test outputs agree",
}


def dropout(
    x: Tensor, p: Value, mask: Tensor | None = None, *, training: bool = True, convention: str = "inverted"
) -> Solution:
    """y of dropout with drop probability ``p`` and the given 0/1 ``mask`` (formulas above)."""
    if not 0 <= p < 1:
        raise BadInput(f"dropout probability has to be in [0, 1), got {fmt.exact(p)}", option="--p")
    if convention not in ("inverted", "classic"):
        raise BadInput(f"expected inverted or classic, got {convention!r}", option="--convention")
    x_arr = nm.as_array(x.values, x.shape)
    keep = 1 - p
    warnings: list[str] = []
    mask_arr = None
    if mask is not None:
        if mask.shape != x.shape:
            raise BadInput(f"the mask must have x's shape {list(x.shape)}, got {list(mask.shape)}", option="--mask")
        if any(v not in (0, 1) for v in mask.values):
            bad = next(v for v in mask.values if v not in (0, 1))
            raise BadInput(f"mask entries must be 0 (dropped) or 1 (kept), got {fmt.exact(bad)}", option="--mask")
        mask_arr = nm.as_array([Fraction(int(v)) for v in mask.values], x.shape)
        if not training:
            warnings.append("eval mode: the mask is not used (dropout is off at test time)")
    inverted = convention == "inverted"
    scale: Value = (1 / keep if inverted else Fraction(1)) if training else (Fraction(1) if inverted else keep)
    if training and mask_arr is None:
        y = None
        warnings.append("training mode with no --mask: y depends on the random mask; give --mask to compute it")
    elif training:
        y = x_arr * mask_arr * scale
    else:
        y = x_arr * scale
    answer: dict[str, Any] = {
        "y": None if y is None else nm.to_json(y),
        "scale": fmt.json_number(scale),
        "keep_prob": fmt.json_number(keep),
        "expected": nm.to_json(x_arr * (Fraction(1) if inverted else keep)),
        "convention": convention,
        "mode": "train" if training else "eval",
    }
    if mask_arr is not None and training:
        answer["kept"] = int(sum(mask_arr.flat))
    if y is not None and nm.is_exact_array(y):
        answer["exact"] = {"y": nm.to_strings(y)}
    rule = _rule(inverted, training)
    summary = f"{convention} dropout, {'train' if training else 'eval'}: {rule} (scale {nm.cell(scale)})"
    if y is not None:  # the matrix as rows (each matrix once: the Output step then leaves it out)
        summary += f"\ny =\n{nm.array_text(y)}"
    quiet = "y unknown without --mask" if y is None else nm.array_text(y, "")

    def steps() -> list[Step]:
        out = [
            Step(
                "Scale",
                f"{convention.capitalize()} dropout, {'training' if training else 'eval'} mode: {rule}; "
                f"keep probability 1 − p = {fmt.number(keep)}; scale = {fmt.number(scale)}",
                rf"y = {_rule_latex(inverted, training)},\quad \text{{scale}} = {fmt.latex_number(scale)}",
                kind="dropout.scale",
            )
        ]
        if y is not None:
            index = next((i for i, v in enumerate((mask_arr if training else x_arr).flat) if v), 0)
            position = nm.unravel(index, x.shape)
            worked = f"{nm.cell(x_arr[position])}" + (f"·{nm.cell(mask_arr[position])}" if training else "")
            worked += f"·{nm.cell(scale)}" if scale != 1 else ""
            out.append(
                Step(
                    "Output",
                    f"e.g. y{list(position)} = {worked} = {nm.cell(y[position])}\ny =\n{nm.array_text(y)}",
                    kind="dropout.apply",
                )
            )
        expectation = (
            f"E[mask] = 1 − p = {fmt.number(keep)}, so in training E[y] = x·(1 − p)/(1 − p) = x: the expected "
            "activation is unchanged and the test-time network is the plain identity."
            if inverted
            else f"E[mask] = 1 − p = {fmt.number(keep)}, so in training E[y] = (1 − p)·x; scaling by 1 − p at test "
            "time gives the test output the same expected value."
        )
        out.append(Step("Expected value", expectation, kind="dropout.expectation"))
        return out

    return Solution(
        command="dropout",
        inputs={"shape": list(x.shape), "p": fmt.exact(p), "mode": answer["mode"], "convention": convention},
        answer=answer,
        summary=summary,
        answer_latex="" if y is None else nm.latex_answer([("y", y)]),
        quiet=quiet,
        steps=steps,
        warnings=warnings,
    )


def _rule(inverted: bool, training: bool) -> str:
    if inverted:
        return "y = x ⊙ mask/(1 − p)" if training else "y = x (identity)"
    return "y = x ⊙ mask" if training else "y = (1 − p)·x"


def _rule_latex(inverted: bool, training: bool) -> str:
    """The rule in the text's names (``mask``, not ``m``), so that a key shows it once."""
    if inverted:
        return r"\frac{x \odot \text{mask}}{1-p}" if training else r"x \text{ (identity)}"
    return r"x \odot \text{mask}" if training else "(1-p)\\,x"
