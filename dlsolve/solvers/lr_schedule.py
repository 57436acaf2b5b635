"""``dlsolve lr-schedule KIND``: the learning rate at every epoch, as torch.optim.lr_scheduler gives it.

The formulas and conventions are in :mod:`dlsolve.solvers.lr_schedule_rules`. Epoch ``e`` (0 to
``--epochs``) is the rate after ``e`` calls of ``scheduler.step()``; OneCycleLR lists steps
``0 .. total_steps − 1`` by default. Exact inputs give exact rates (surds for cos(π/4), cos(π/6)).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Plot, Series, Solution, Step, Table
from dlsolve.solvers import lr_schedule_rules as rules
from dlsolve.solvers.surds import Surd, exact_text, value_latex, value_text

STEP_KINDS = {
    "lr-schedule.formula": "the schedule's formula with its parameters, and one epoch worked out",
    "lr-schedule.values": "the learning rate at every epoch (table and plot)",
}

#: Most epochs a schedule lists (the table and the JSON answer hold one value per epoch).
MAX_EPOCHS = 100_000
#: A plot only for more rates than this: the typeset keys list a short series' values in a second table.
PLOT_AFTER = 12
#: Rows of the table before the middle is elided (``full`` shows every row).
SHOWN_ROWS = 24

Scalar = Fraction | float
Value = rules.Value


def _json(value: Value) -> int | float | str:
    return fmt.json_number(float(value) if isinstance(value, Surd) else value)


def _exact_text(value: Value) -> str | None:
    if isinstance(value, Surd):
        return value.exact_text()
    if isinstance(value, float):
        return None
    return fmt.exact(value)


def _example_latex(text: str) -> str | None:
    """The worked epoch ``η_6 = 0.1·0.5^⌊6/2⌋ = 0.1·0.5^3 = 0.0125`` in LaTeX (None when the line is
    prose or uses notation this does not know), so the key writes it once, under the formula."""
    line = text.rstrip(".")
    restart = re.fullmatch(r"epoch (\d+): (\d+) restart\(s\) so far, T_i = (\d+), T_cur = (\d+): (η_.*)", line)
    if restart:  # cosine-warm-restarts: where in its cycle the worked epoch is, then the formula
        epoch, restarts, t_i, t_cur, rest = restart.groups()
        worked = _example_latex(rest)
        head = rf"\text{{epoch {epoch}: {restarts} restart(s) so far}},\ T_i = {t_i},\ T_{{\text{{cur}}}} = {t_cur}:\ "
        return head + worked if worked else None
    if not line.startswith("η_"):
        return None
    line = re.sub(r"\((\d+) milestone\(s\) ≤ (\d+)\)", r"\\ (\1\\text{ milestone(s) } \\le \2)", line)
    line = re.sub(r"\^⌊([^⌋]*)⌋", r"^{\\lfloor \1\\rfloor}", line)
    line = re.sub(r"\^(\d+)", r"^{\1}", line)
    line = re.sub(r"η_(\w+)", r"\\eta_{\1}", line)
    line = re.sub(r"√(\d+)", r"\\sqrt{\1}", line)
    for old, new in (("·", r"\cdot "), ("−", "-"), ("π", r"\pi "), ("cos(", r"\operatorname{cos}("), ("≈", r"\approx")):
        line = line.replace(old, new)
    return None if any(ord(char) > 127 for char in line) else line


def _need(value: Any, option: str, kind: str) -> Any:
    if value is None:
        raise BadInput(f"lr-schedule {kind} needs {option}", option=option)
    return value


def _positive_int(value: int, option: str) -> int:
    if value < 1:
        raise BadInput(f"expected a whole number >= 1, got {value}", option=option)
    return value


def _factor(value: Scalar, option: str, low: Scalar, high: Scalar, *, low_open: bool = False) -> Scalar:
    if value > high or value < low or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise BadInput(
            f"expected a value in {bracket}{fmt.exact(low)}, {fmt.exact(high)}], got {fmt.decimal(value)}",
            option=option,
        )
    return value


def lr_schedule(
    kind: str,
    *,
    lr: Scalar | None = None,
    epochs: int | None = None,
    step_size: int | None = None,
    gamma: Scalar | None = None,
    milestones: list[int] | None = None,
    t_max: int | None = None,
    eta_min: Scalar = Fraction(0),
    t_0: int | None = None,
    t_mult: int = 1,
    start_factor: Scalar = Fraction(1, 3),
    end_factor: Scalar = Fraction(1),
    total_iters: int = 5,
    max_lr: Scalar | None = None,
    total_steps: int | None = None,
    pct_start: Scalar = Fraction(3, 10),
    anneal_strategy: str = "cos",
    div_factor: Scalar = Fraction(25),
    final_div_factor: Scalar = Fraction(10**4),
    three_phase: bool = False,
    cycle_momentum: bool = True,
    base_momentum: Scalar = Fraction(17, 20),
    max_momentum: Scalar = Fraction(19, 20),
    decay_rate: Scalar | None = None,
    decay_steps: Scalar = Fraction(1),
    staircase: bool = False,
    warmup: int | None = None,
    warmup_start: Scalar = Fraction(0),
    full: bool = False,
) -> Solution:
    """The learning rate at epochs ``0 .. epochs`` of schedule ``kind`` (see the rules module)."""
    if kind not in rules.KINDS:
        raise BadInput(f"unknown schedule {kind!r}; expected one of {', '.join(rules.KINDS)}", option="KIND")
    if kind == "onecycle":
        lr = max_lr if max_lr is not None else lr
        rate_option = "--max-lr"
    else:
        rate_option = "--lr"
    base = _need(lr, rate_option, kind)
    rules.check_rate(base, rate_option)
    rules.check_rate(eta_min, "--eta-min", positive=False)
    parameters: dict[str, str] = {rate_option.lstrip("-").replace("-", "_"): exact_text(base)}
    momentum: Callable[[int], Value] | None = None
    default_epochs = 10
    formula: str
    formula_latex: str
    function: Callable[[int], Value]
    notes: list[str] = []

    if kind == "step":
        size = _positive_int(_need(step_size, "--step-size", kind), "--step-size")
        factor = Fraction(1, 10) if gamma is None else gamma
        parameters |= {"step_size": str(size), "gamma": exact_text(factor)}
        function = lambda e: rules.step_lr(base, e, size, factor)  # noqa: E731
        formula, formula_latex = (
            "η_e = η·γ^⌊e/step_size⌋",
            r"\eta_e = \eta\,\gamma^{\lfloor e/\text{step\_size} \rfloor}",
        )
        default_epochs = 3 * size

        def example(e: int) -> str:
            shown = f"{exact_text(base)}·{exact_text(factor)}"
            return f"η_{e} = {shown}^⌊{e}/{size}⌋ = {shown}^{e // size}"

    elif kind == "multistep":
        marks = sorted(_need(milestones, "--milestones", kind))
        if any(m < 0 for m in marks):
            raise BadInput("milestones must be >= 0", option="--milestones")
        factor = Fraction(1, 10) if gamma is None else gamma
        parameters |= {"milestones": ", ".join(map(str, marks)), "gamma": exact_text(factor)}
        function = lambda e: rules.multistep_lr(base, e, marks, factor)  # noqa: E731
        formula = "η_e = η·γ^(number of milestones ≤ e)"
        formula_latex = r"\eta_e = \eta\,\gamma^{\#\{m \in \text{milestones} : m \le e\}}"
        default_epochs = (marks[-1] + 1) if marks else 10

        def example(e: int) -> str:
            passed = sum(1 for m in marks if m <= e)
            return f"η_{e} = {exact_text(base)}·{exact_text(factor)}^{passed} ({passed} milestone(s) ≤ {e})"

    elif kind == "exponential":
        factor = _need(gamma, "--gamma", kind)
        parameters |= {"gamma": exact_text(factor)}
        function = lambda e: rules.exponential_lr(base, e, factor)  # noqa: E731
        formula, formula_latex = "η_e = η·γ^e", r"\eta_e = \eta\,\gamma^{e}"

        def example(e: int) -> str:
            return f"η_{e} = {exact_text(base)}·{exact_text(factor)}^{e}"

    elif kind == "cosine":
        period = _positive_int(_need(t_max, "--t-max", kind), "--t-max")
        parameters |= {"T_max": str(period), "eta_min": exact_text(eta_min)}
        function = lambda e: rules.cosine_lr(base, e, period, eta_min)  # noqa: E731
        formula = "η_e = η_min + (η − η_min)·(1 + cos(π·e/T_max))/2"
        formula_latex = (
            r"\eta_e = \eta_{\min} + \tfrac{1}{2}(\eta - \eta_{\min})\left(1 + \cos\frac{\pi e}{T_{\max}}\right)"
        )
        default_epochs = period
        if epochs is not None and epochs > period:
            notes.append(
                f"Beyond T_max = {period} the rate rises again "
                "(the cosine is periodic, as PyTorch's recursive form is)."
            )

        def example(e: int) -> str:
            low = exact_text(eta_min)
            return f"η_{e} = {low} + ({exact_text(base)} − {low})·(1 + cos(π·{e}/{period}))/2"

    elif kind == "cosine-warm-restarts":
        first = _positive_int(_need(t_0, "--t0", kind), "--t0")
        multiplier = _positive_int(t_mult, "--t-mult")
        parameters |= {"T_0": str(first), "T_mult": str(multiplier), "eta_min": exact_text(eta_min)}
        function = lambda e: rules.warm_restarts_lr(base, e, first, multiplier, eta_min)  # noqa: E731
        formula = (
            "η_e = η_min + (η − η_min)·(1 + cos(π·T_cur/T_i))/2, T_cur = epochs since the last restart, "
            "T_i = T_0·T_mult^(restarts so far)"
        )
        # the text's formula in its words, so the key writes it once
        formula_latex = (
            r"\eta_e = \eta_{\min} + (\eta - \eta_{\min})\,\frac{1 + \cos(\pi T_{\text{cur}}/T_i)}{2},\quad "
            r"T_{\text{cur}} = \text{epochs since the last restart},\quad "
            r"T_i = T_0\cdot T_{\text{mult}}^{\text{restarts so far}}"
        )
        default_epochs = first * (1 + multiplier)

        def example(e: int) -> str:
            t_cur, t_i, restarts = rules.warm_restart_position(e, first, multiplier)
            return (
                f"epoch {e}: {restarts} restart(s) so far, T_i = {t_i}, T_cur = {t_cur}: "
                f"η_{e} = {exact_text(eta_min)} + "
                f"({exact_text(base)} − {exact_text(eta_min)})·(1 + cos(π·{t_cur}/{t_i}))/2"
            )

    elif kind == "linear":
        start = _factor(start_factor, "--start-factor", 0, 1, low_open=True)
        end = _factor(end_factor, "--end-factor", 0, 1)
        _positive_int(total_iters, "--total-iters")
        parameters |= {
            "start_factor": exact_text(start),
            "end_factor": exact_text(end),
            "total_iters": str(total_iters),
        }
        function = lambda e: rules.linear_lr(base, e, start, end, total_iters)  # noqa: E731
        formula = "η_e = η·(s + (f − s)·min(e, N)/N), s = start_factor, f = end_factor, N = total_iters"
        formula_latex = r"\eta_e = \eta\left(s + (f - s)\frac{\min(e, N)}{N}\right)"
        default_epochs = total_iters + 1

        def example(e: int) -> str:
            done = min(e, total_iters)
            s = exact_text(start)
            return f"η_{e} = {exact_text(base)}·({s} + ({exact_text(end)} − {s})·{done}/{total_iters})"

    elif kind == "onecycle":
        steps_total = _positive_int(_need(total_steps, "--total-steps", kind), "--total-steps")
        _factor(pct_start, "--pct-start", 0, 1)
        if anneal_strategy not in ("cos", "linear"):
            raise BadInput(f"expected cos or linear, got {anneal_strategy!r}", option="--anneal-strategy")
        rules.check_rate(div_factor, "--div-factor")
        rules.check_rate(final_div_factor, "--final-div-factor")
        cycle = rules.OneCycle(
            base,
            steps_total,
            pct_start,
            anneal_strategy,
            div_factor,
            final_div_factor,
            three_phase,
            base_momentum,
            max_momentum,
        )
        parameters |= {
            "total_steps": str(steps_total),
            "pct_start": exact_text(pct_start),
            "anneal_strategy": anneal_strategy,
            "initial_lr = max_lr/div_factor": exact_text(cycle.initial_lr),
            "min_lr = initial_lr/final_div_factor": exact_text(cycle.min_lr),
        }
        if three_phase:
            parameters["three_phase"] = "yes"
        function = cycle.lr
        if cycle_momentum:
            momentum = cycle.momentum
        bounds = ", ".join(f"phase {i + 1} ends at step {fmt.number(end)}" for i, (end, *_r) in enumerate(cycle.phases))
        anneal = (
            "η_e = end + (start − end)·(1 + cos(π·p))/2 (cos)"
            if anneal_strategy == "cos"
            else "η_e = start + (end − start)·p (linear)"
        )
        formula = (
            "each phase anneals from its start to its end rate: p = (e − phase start)/(phase end − phase start), "
            f"{anneal}; {bounds}"
        )
        # the text's formula in its names (phase start, end), so the key writes it once
        formula_latex = r"p = \frac{e - \text{phase start}}{\text{phase end} - \text{phase start}},\quad " + (
            r"\eta_e = \text{end} + (\text{start} - \text{end})\,\frac{1 + \cos(\pi p)}{2}\ (\text{cos})"
            if anneal_strategy == "cos"
            else r"\eta_e = \text{start} + (\text{end} - \text{start})\,p\ (\text{linear})"
        )
        default_epochs = steps_total - 1
        if epochs is not None and epochs > steps_total:
            raise BadInput(
                f"Tried to step {epochs} times. The specified number of total steps is {steps_total} (PyTorch refuses)",
                option="--epochs",
            )
        if cycle_momentum:
            notes.append(
                f"Momentum (or Adam's β₁) is cycled the other way, between {exact_text(max_momentum)} and "
                f"{exact_text(base_momentum)}."
            )

        def example(e: int) -> str:
            index, pct = cycle.phase(e)
            _end, start_lr, end_lr, *_m = cycle.phases[index]
            return (
                f"step {e} is in phase {index + 1}, p = {exact_text(pct)}, from {exact_text(start_lr)} to "
                f"{exact_text(end_lr)}"
            )

    elif kind == "inverse-time":
        rate = _need(decay_rate, "--decay-rate", kind)
        rules.check_rate(rate, "--decay-rate", positive=False)
        rules.check_rate(decay_steps, "--decay-steps")
        parameters |= {"decay_rate": exact_text(rate), "decay_steps": exact_text(decay_steps)}
        if staircase:
            parameters["staircase"] = "yes"
        function = lambda e: rules.inverse_time_lr(base, e, rate, decay_steps, staircase)  # noqa: E731
        if staircase:
            formula, formula_latex = "η_e = η/(1 + r·⌊e/d⌋)", r"\eta_e = \frac{\eta}{1 + r\lfloor e/d \rfloor}"
        else:
            formula, formula_latex = "η_e = η/(1 + r·e/d)", r"\eta_e = \frac{\eta}{1 + r\,e/d}"

        def example(e: int) -> str:
            shown = f"⌊{e}/{exact_text(decay_steps)}⌋" if staircase else f"{e}/{exact_text(decay_steps)}"
            return f"η_{e} = {exact_text(base)}/(1 + {exact_text(rate)}·{shown})"

    else:  # warmup-cosine
        warm = _need(warmup, "--warmup", kind)
        if warm < 0:
            raise BadInput(f"expected a whole number >= 0, got {warm}", option="--warmup")
        steps_total = _need(total_steps, "--total-steps", kind)
        if steps_total <= warm:
            raise BadInput(
                f"expected more total steps than warmup steps ({warm}), got {steps_total}", option="--total-steps"
            )
        start = _factor(warmup_start, "--warmup-start", 0, 1)
        parameters |= {
            "warmup": str(warm),
            "total_steps": str(steps_total),
            "warmup_start": exact_text(start),
            "eta_min": exact_text(eta_min),
        }
        function = lambda e: rules.warmup_cosine_lr(base, e, warm, steps_total, start, eta_min)  # noqa: E731
        formula = (
            "η_e = η·(s + (1 − s)·e/W) for e < W; η_min + (η − η_min)·(1 + cos(π·(e − W)/(T − W)))/2 for "
            "W ≤ e ≤ T; η_min after T"
        )
        formula_latex = (
            r"\eta_e = \begin{cases} \eta\,(s + (1 - s)\,e/W) & e < W \\ \eta_{\min} + \tfrac{1}{2}(\eta - \eta_{\min})"
            r"\left(1 + \cos\frac{\pi (e - W)}{T - W}\right) & W \le e \le T \end{cases}"
        )
        default_epochs = steps_total

        def example(e: int) -> str:
            if e < warm:
                return (
                    f"warmup: η_{e} = {exact_text(base)}·({exact_text(start)} + (1 − {exact_text(start)})·{e}/{warm})"
                )
            return (
                f"η_{e} = {exact_text(eta_min)} + ({exact_text(base)} − {exact_text(eta_min)})·"
                f"(1 + cos(π·{min(e, steps_total) - warm}/{steps_total - warm}))/2"
            )

    count = default_epochs if epochs is None else epochs
    if count < 0:
        raise BadInput(f"expected a whole number >= 0, got {count}", option="--epochs")
    if count > MAX_EPOCHS:
        raise BadInput(f"at most {MAX_EPOCHS} epochs, got {count}", option="--epochs")
    values = [rules.simplify(function(e)) for e in range(count + 1)]
    momenta = [rules.simplify(momentum(e)) for e in range(count + 1)] if momentum else None
    return _solution(kind, parameters, values, momenta, formula, formula_latex, example, notes, full)


def _worked_epoch(values: list[Value]) -> int:
    """The epoch worked out on the board: the last one whose rate differs from the first, else the last."""
    for e in range(len(values) - 1, 0, -1):
        if float(values[e]) != float(values[0]):
            return e
    return len(values) - 1


def _rows(values: list[Value], momenta: list[Value] | None, full: bool) -> list[list[str]]:
    """One row per epoch, or per run of equal rates (``0–1``) for piecewise-constant schedules."""
    rows: list[list[str]] = []
    start = 0
    for e in range(1, len(values) + 1):
        same = e < len(values) and values[e] == values[start] and (momenta is None or momenta[e] == momenta[start])
        if same:
            continue
        label = str(start) if e - 1 == start else f"{start}–{e - 1}"
        rows.append([label, value_text(values[start])] + ([value_text(momenta[start])] if momenta else []))
        start = e
    if not full and len(rows) > SHOWN_ROWS:
        half = SHOWN_ROWS // 2
        rows = [*rows[:half], ["…"] * len(rows[0]), *rows[-half:]]
    return rows


def _solution(
    kind: str,
    parameters: dict[str, str],
    values: list[Value],
    momenta: list[Value] | None,
    formula: str,
    formula_latex: str,
    example: Callable[[int], str],
    notes: list[str],
    full: bool,
) -> Solution:
    final = values[-1]
    last = len(values) - 1
    unit = "step" if kind in ("onecycle", "warmup-cosine") else "epoch"  # schedules stepped per batch
    exact = [_exact_text(v) for v in values]
    answer: dict[str, Any] = {
        "kind": kind,
        "lr": [_json(v) for v in values],
        "final": _json(final),
        "epochs": last,
    }
    if all(text is not None for text in exact):
        answer["exact"] = [text.replace("−", "-") for text in exact]  # type: ignore[union-attr]
    if momenta is not None:
        answer["momentum"] = [_json(v) for v in momenta]
    low, high = min(values, key=float), max(values, key=float)
    summary = (
        f"{kind}: learning rate {value_text(values[0])} at {unit} 0, {value_text(final)} at {unit} {last} "
        f"(min {value_text(low)}, max {value_text(high)})"
    )
    if len(values) <= PLOT_AFTER:  # every rate asked for, in order
        summary = f"{kind}: learning rates at {unit}s 0 to {last}: " + ", ".join(value_text(v) for v in values)
    shown = ", ".join(exact_text(v) for v in values[:8]) + (", …" if len(values) > 8 else "")
    quiet = f"final={exact_text(final)} lr=[{shown}]"

    def build() -> list[Step]:
        worked = 1 if "cos" in formula and len(values) > 1 else _worked_epoch(values)
        setting = ", ".join(f"{name} = {value}" for name, value in parameters.items())
        text = f"{rules.TORCH_CLASS[kind]}: {formula}.\n{setting}.\n{example(worked)} = {value_text(values[worked])}."
        if notes:
            text += "\n" + "\n".join(notes)
        columns = [unit, "learning rate"] + (["momentum"] if momenta is not None else [])
        plot = Plot(
            [Series("learning rate", [float(e) for e in range(len(values))], [float(v) for v in values])],
            title=f"{kind} schedule",
            xlabel=unit,
            ylabel="learning rate",
        )
        # a short schedule is its table: the typeset keys would list a plot's values in a second table
        blocks: list[Table | Plot] = [Table(columns, _rows(values, momenta, full), title=f"learning rate per {unit}")]
        if len(values) > PLOT_AFTER:
            blocks.append(plot)
        worked_text = f"{example(worked)} = {value_text(values[worked])}"
        worked_latex = _example_latex(worked_text)
        latex = (
            r"\begin{gathered} " + formula_latex + r" \\ " + worked_latex + r" \end{gathered}"
            if worked_latex
            else formula_latex + r",\qquad \eta_{" + str(worked) + "} = " + value_latex(values[worked])
        )
        # cos upright as \operatorname{cos} (it prints as \cos does), so the key reads the word the text writes
        latex = re.sub(r"\\cos\b", r"\\operatorname{cos}", latex)
        return [
            Step(
                f"The {kind} schedule",
                text,
                latex=latex,
                kind="lr-schedule.formula",
            ),
            Step(
                f"Learning rate at {unit}s 0 to {last}",
                f"From {value_text(values[0])} to {value_text(final)}; equal consecutive {unit}s share a row.",
                blocks=blocks,
                kind="lr-schedule.values",
            ),
        ]

    return Solution(
        command=f"lr-schedule {kind}",
        inputs={name: value for name, value in parameters.items() if " " not in name} | {f"{unit}s": str(last)},
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=build,
        answer_latex=r"\eta_{" + str(last) + "} = " + value_latex(final),
    )
