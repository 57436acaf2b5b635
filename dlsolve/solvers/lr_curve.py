"""Diagnose learning rates from loss curves (``dlsolve lr-curve``).

Each curve ``y_0, ..., y_{n-1}`` (one loss value per step or epoch) is put in one regime, checked
in this order, with documented thresholds:

1. **diverging** (learning rate too high): a NaN/inf value (or beyond ``BLOW_UP`` = 1e100); or the
   final level is at least ``DIVERGE_GROWTH`` = 1.5 times the first value; or the loss rises
   steadily at the end (at least ``RISE_FRACTION`` = 75% of the steps of the last half go up) and
   the last value is more than ``RISE_ABOVE_MIN`` = 5% above the minimum.
2. **oscillating** without progress (learning rate too high): in the last half the loss changes
   direction at least ``ZIGZAG`` = 50% of the time, its least-squares trend over the last half is
   smaller than its mean step size (no progress), and the swings are large: the mean step is at
   least ``SWING_OF_DROP`` = 25% of the total decrease ``y_0 - final``, or the loss alternates
   strictly (``STRICT_ZIGZAG`` = 90% reversals, the period-2 cycle of gradient descent beyond its
   stability limit) with steps of at least ``STRICT_SWING`` = 2% of the loss.
3. **too slow** (learning rate too low): no decrease at all, or still falling fast, far from a
   plateau: at its final speed (least-squares slope of the last third) it would fall at least
   ``STILL_MOVING`` = 50% of the decrease so far again in as many steps.
4. **healthy** otherwise: it fell and flattened out.

The final level is the median of the last ``max(2, n // 5)`` values. Theory behind the tests: for
gradient descent on an L-smooth loss, a step ``eta > 2/L`` diverges on a quadratic; ``eta < 2/L``
decreases the loss at every step (the descent lemma), so the loss curve cannot oscillate there
(the iterates can); it oscillates when ``eta > 2/lambda_max`` of the Hessian at the minimum but
the gradient stays bounded (logistic regression), or from gradient noise (SGD); tiny ``eta`` falls
almost linearly.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Plot, Series, Solution, Step, Table

if TYPE_CHECKING:
    from dlsolve.values import LossSeries

DIVERGE_GROWTH = 1.5
RISE_FRACTION = 0.75
RISE_ABOVE_MIN = 0.05
ZIGZAG = 0.5
SWING_OF_DROP = 0.25
STRICT_ZIGZAG = 0.9
STRICT_SWING = 0.02
STILL_MOVING = 0.5
#: A loss larger than this (in absolute value) has blown up, like inf.
BLOW_UP = 1e100
#: A curve needs this many values to be classified.
MIN_POINTS = 4

DIVERGING, OSCILLATING, TOO_SLOW, HEALTHY = "diverging", "oscillating", "too slow", "healthy"
VERDICT = {DIVERGING: "too high", OSCILLATING: "too high", TOO_SLOW: "too low", HEALTHY: "ok"}


@dataclass
class Diagnosis:
    """The regime of one curve with the numbers that decided it."""

    label: str
    values: list[float]
    regime: str
    reason: str
    evidence: dict[str, float | int | None]

    @property
    def verdict(self) -> str:
        return VERDICT[self.regime]

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "regime": self.regime,
            "lr": self.verdict,
            "reason": self.reason,
            "evidence": self.evidence,
        }


def _slope(values: list[float]) -> float:
    """Least-squares slope of ``values`` against ``0, 1, ...`` (per step)."""
    count = len(values)
    if count < 2:
        return 0.0
    mean_x = (count - 1) / 2
    mean_y = math.fsum(values) / count
    numerator = math.fsum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    denominator = math.fsum((i - mean_x) ** 2 for i in range(count))
    return numerator / denominator


def _zigzag(values: list[float]) -> float:
    """Fraction of consecutive non-zero steps that change direction (0 monotone, 1 alternating)."""
    steps = [b - a for a, b in itertools.pairwise(values) if b != a]
    pairs = list(itertools.pairwise(steps))
    if not pairs:
        return 0.0
    return sum(1 for a, b in pairs if (a > 0) != (b > 0)) / len(pairs)


def _usable(value: float) -> bool:
    """A finite loss below ``BLOW_UP`` (larger values count as a blow-up, like inf)."""
    return math.isfinite(value) and abs(value) <= BLOW_UP


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def classify(label: str, values: list[float]) -> Diagnosis:
    """Put one loss curve in its regime (see the module docstring for the rules and thresholds)."""
    bad = next((i for i, v in enumerate(values) if not _usable(v)), None)
    finite = values if bad is None else values[:bad]
    count = len(finite)
    first = finite[0] if finite else math.nan
    final = statistics.median(finite[-max(2, count // 5) :]) if finite else math.nan
    lowest = min(finite) if finite else math.nan
    late = finite[count // 2 :]
    late_steps = [b - a for a, b in itertools.pairwise(late)]
    rising = sum(1 for step in late_steps if step > 0) / len(late_steps) if late_steps else 0.0
    zigzag = _zigzag(late)
    mean_step = math.fsum(abs(step) for step in late_steps) / len(late_steps) if late_steps else 0.0
    trend = abs(_slope(late)) * (len(late) - 1)
    drop = first - final
    final_slope = _slope(finite[-max(2, count // 3) :]) if count >= 2 else 0.0
    still_moving = (-final_slope * (count - 1) / drop) if drop > 0 else None
    evidence: dict[str, float | int | None] = {
        "points": len(values),
        "first": _finite(first),
        "final": _finite(final),
        "min": _finite(lowest),
        "first_nonfinite_step": bad,
        "growth": _finite(final / first) if first and count else None,
        "rising_fraction_late": rising,
        "zigzag_late": zigzag,
        "mean_step_late": _finite(mean_step),
        "trend_late": _finite(trend),
        "swing_to_drop": _finite(mean_step / drop) if drop > 0 else None,
        "final_slope": _finite(final_slope),
        "still_moving": _finite(still_moving) if still_moving is not None else None,
    }

    def diagnosis(regime: str, reason: str) -> Diagnosis:
        return Diagnosis(label, values, regime, reason, evidence)

    if bad is not None:
        return diagnosis(DIVERGING, f"value {_value_text(values[bad])} at step {bad}: the loss blew up")
    if first > 0 and final >= DIVERGE_GROWTH * first:
        return diagnosis(
            DIVERGING, f"final level {fmt.decimal(final)} ≥ {DIVERGE_GROWTH} × first value {fmt.decimal(first)}"
        )
    if late_steps and rising >= RISE_FRACTION and finite[-1] > (1 + RISE_ABOVE_MIN) * lowest and lowest >= 0:
        return diagnosis(
            DIVERGING,
            f"{rising:.0%} of the last half's steps go up (≥ {RISE_FRACTION:.0%}) and the last value is "
            f"{fmt.decimal(finite[-1] / lowest if lowest else math.inf)} × the minimum",
        )
    no_progress = trend < mean_step
    large_swings = (drop <= 0 and mean_step > 0) or (drop > 0 and mean_step >= SWING_OF_DROP * drop)
    strict_cycle = zigzag >= STRICT_ZIGZAG and mean_step >= STRICT_SWING * abs(final)
    if zigzag >= ZIGZAG and no_progress and (large_swings or strict_cycle):
        why = (
            f"mean step {fmt.decimal(mean_step)} ≥ {SWING_OF_DROP} × total decrease {fmt.decimal(max(drop, 0))}"
            if large_swings
            else f"strict alternation ({zigzag:.0%} reversals) with steps {fmt.decimal(mean_step)} ≥ "
            f"{STRICT_SWING:.0%} of the loss {fmt.decimal(final)}"
        )
        return diagnosis(
            OSCILLATING,
            f"the last half changes direction {zigzag:.0%} of the time (≥ {ZIGZAG:.0%}), trend "
            f"{fmt.decimal(trend)} < mean step {fmt.decimal(mean_step)}; {why}",
        )
    if drop <= 0:
        return diagnosis(TOO_SLOW, f"no decrease: final level {fmt.decimal(final)} vs first {fmt.decimal(first)}")
    if still_moving is not None and still_moving >= STILL_MOVING:
        return diagnosis(
            TOO_SLOW,
            f"still falling at {fmt.decimal(-final_slope)} per step: {still_moving:.0%} of the decrease so far "
            f"again in {count - 1} more steps (≥ {STILL_MOVING:.0%}), far from a plateau",
        )
    return diagnosis(
        HEALTHY,
        f"fell from {fmt.decimal(first)} to {fmt.decimal(final)} and flattened (final speed would add only "
        f"{(still_moving or 0):.0%} of the decrease in as many steps)",
    )


def _value_text(value: float) -> str:
    """A loss as the board writes it: ``NaN``, ``inf``, ``−inf`` or a short decimal."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "−inf"
    return fmt.decimal(value)


def _window(diagnosis: Diagnosis) -> int:
    """How many of the last finite values the final level is the median of: ``max(2, n // 5)``."""
    return max(2, len(_finite_prefix(diagnosis.values)) // 5)


def _read_text(diagnoses: list[Diagnosis]) -> str:
    """The final-level convention, said once (the lengths are in the input line, the numbers in the
    tables)."""
    windows = {_window(d) for d in diagnoses}
    here = (
        f"the last {windows.pop()} here"
        if len(windows) == 1
        else "here " + ", ".join(f"{d.label} {_window(d)}" for d in diagnoses)
    )
    return (
        f"The final level of a run is the median of its last max(2, ⌊n/5⌋) finite values ({here}), "
        "so one noisy last value does not decide."
    )


#: The steps this module writes (see :mod:`dlsolve.step_kinds`).
STEP_KINDS = {
    "lr-curve.read": "the curves as given (lengths, the final-level convention), with the plot",
    "lr-curve.classify": "the rules and thresholds, and the evidence table of every run",
    "lr-curve.run": "one run's regime, its learning rate and the numbers that decided it",
    "lr-curve.verdict": "the usable run with the lowest final loss (the regimes are the answer)",
}


def solve(runs: list[tuple[str, list[float]]]) -> Solution:
    """Classify each run's loss curve and say whose learning rate is too high or too low."""
    if not runs:
        raise BadInput("expected at least one loss series, e.g. --loss 2.3,1.9,1.7,1.6", option="--loss")
    for label, values in runs:
        if len(values) < MIN_POINTS:
            raise BadInput(
                f"run {label!r} has {len(values)} value(s); at least {MIN_POINTS} are needed to see a trend",
                option="--loss",
            )
        if not _usable(values[0]):
            raise BadInput(f"run {label!r} starts with {values[0]}: the first loss must be finite", option="--loss")
    diagnoses = [classify(label, values) for label, values in runs]
    too_high = [d.label for d in diagnoses if d.verdict == "too high"]
    too_low = [d.label for d in diagnoses if d.verdict == "too low"]
    healthy = [d.label for d in diagnoses if d.verdict == "ok"]
    candidates = [d for d in diagnoses if d.regime == HEALTHY] or [d for d in diagnoses if d.regime == TOO_SLOW]
    best = min(candidates, key=lambda d: d.evidence["final"] or math.inf).label if candidates else None

    def working() -> list[Step]:
        def cell(value: Any) -> str:
            return "-" if value is None else fmt.decimal(value, 3) if isinstance(value, float) else str(value)

        evidence_rows = [
            [
                d.label,
                cell(d.evidence["first"]),
                cell(d.evidence["final"]),
                cell(d.evidence["growth"]),
                cell(d.evidence["zigzag_late"]),
                cell(d.evidence["swing_to_drop"]),
                cell(d.evidence["still_moving"]),
            ]
            for d in diagnoses
        ]
        plot = Plot(
            [
                Series(d.label, [float(i) for i in range(len(f))], f)
                for d in diagnoses
                for f in [_finite_prefix(d.values)]
            ],
            title="loss curves",
            xlabel="step",
            ylabel="loss",
            logy=_use_log_scale(diagnoses),
        )
        steps = [
            Step("Read the curves", _read_text(diagnoses), blocks=[plot], kind="lr-curve.read"),
            Step(
                "Classify each curve (diverging → oscillating → too slow → healthy, first rule that applies)",
                f"Thresholds: diverging if NaN/inf, final ≥ {DIVERGE_GROWTH} × first, or ≥ {RISE_FRACTION:.0%} "
                f"of the last half's steps rising; oscillating if ≥ {ZIGZAG:.0%} direction changes in the last "
                f"half with no trend and swings ≥ {SWING_OF_DROP} × the total decrease (or strict alternation); "
                f"too slow if no decrease or still moving ≥ {STILL_MOVING:.0%} of the decrease so far.\n"
                "growth = final / first; swing/drop = mean |y_{t+1} − y_t| (last half) / (first − final); "
                "still moving = −slope(last third) · (n − 1) / (first − final).",
                latex=r"\text{growth} = \frac{\text{final}}{\text{first}},\quad "
                r"\text{swing/drop} = \frac{\operatorname{mean}_{\text{last half}} |y_{t+1} - y_t|}"
                r"{\text{first} - \text{final}},"
                r"\quad \text{still moving} = \frac{-\text{slope}_{\text{last third}} \cdot (n-1)}"
                r"{\text{first} - \text{final}}",
                blocks=[
                    Table(
                        ["run", "first", "final", "growth", "zigzag (late)", "swing/drop", "still moving"],
                        evidence_rows,
                        title="Evidence",
                    )
                ],
                substeps=[
                    Step(f"{d.label}: {d.regime} (learning rate {d.verdict})", d.reason, kind="lr-curve.run")
                    for d in diagnoses
                ],
                kind="lr-curve.classify",
            ),
        ]
        if best is not None:
            final = next(d.evidence["final"] for d in diagnoses if d.label == best)
            steps.append(
                Step(
                    "Best run",
                    f"Lowest final loss among the usable runs: {best} ({cell(final)}).",
                    kind="lr-curve.verdict",
                )
            )
        return steps

    summary = "; ".join(f"{d.label}: {d.regime} (learning rate {d.verdict})" for d in diagnoses)
    return Solution(
        command="lr-curve",
        inputs={"runs": ", ".join(f"{label} ({len(values)} values)" for label, values in runs)},
        answer={
            "runs": [d.to_dict() for d in diagnoses],
            "too_high": too_high,
            "too_low": too_low,
            "healthy": healthy,
            "best": best,
        },
        summary=summary,
        quiet="; ".join(f"{d.label}: {d.regime}" for d in diagnoses),
        steps=working,
    )


def _finite_prefix(values: list[float]) -> list[float]:
    bad = next((i for i, v in enumerate(values) if not _usable(v)), len(values))
    return values[:bad]


def _use_log_scale(diagnoses: list[Diagnosis]) -> bool:
    shown = [v for d in diagnoses for v in _finite_prefix(d.values)]
    return bool(shown) and min(shown) > 0 and max(shown) / min(shown) > 100


def solve_series(loss: list[LossSeries], labels: list[str] | None = None) -> Solution:
    """:func:`solve` on the runs the ``--loss`` options give, labelled.

    A typed run takes the next of ``labels`` (in order); a CSV column its header; the others the
    first free letters A, B, C, ..., Z, AA, AB, ... as on exam plots. Labels must be unique.
    """
    names = list(labels or [])
    runs: list[tuple[str | None, list[float]]] = []
    typed = 0
    for series in loss:
        if series.typed:
            runs.extend((names[typed] if typed < len(names) else None, values) for _, values in series.runs)
            typed += 1
        else:
            runs.extend(series.runs)
    if len(names) > typed:
        raise BadInput(f"{len(names)} labels for {typed} typed run(s); give one --label per --loss", option="--label")
    defaults = iter(_default_labels({name for name, _ in runs if name is not None}, len(runs)))
    labelled = [(name if name is not None else next(defaults), values) for name, values in runs]
    seen = [name for name, _ in labelled]
    duplicate = next((name for name in seen if seen.count(name) > 1), None)
    if duplicate is not None:
        raise BadInput(f"two runs are labelled {duplicate!r}; labels must be unique", option="--label")
    return solve(labelled)


def _default_labels(taken: set[str], count: int) -> list[str]:
    """``count`` run labels A, B, ..., Z, AA, AB, ... (as on exam plots), skipping those ``taken``."""
    import string

    names = ("".join(p) for size in itertools.count(1) for p in itertools.product(string.ascii_uppercase, repeat=size))
    return list(itertools.islice((name for name in names if name not in taken), count))
