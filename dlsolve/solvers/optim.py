"""``dlsolve optim``: optimizer steps by hand, exactly as torch.optim takes them.

The update rules and their conventions are in :mod:`dlsolve.solvers.optim_rules`. The gradient
source is either given rows (``--grads``, one row per step, all parameters in order) or an
:class:`Objective` (``params -> (loss, gradient)``, from an expression). SGD, momentum and Nesterov
are exact for exact inputs; the adaptive rules take square roots and run in float64, with the first
step's roots shown as surds where they are exact.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Protocol

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import FrozenRecord, Plot, Series, Solution, Step, Table
from dlsolve.solvers import optim_rules as rules
from dlsolve.solvers.optim_objective import Diverged, EngineObjective
from dlsolve.solvers.optim_working import first_step_text, rule_latex, rule_text, weight_decay_step

STEP_KINDS = {
    "optim.rule": "the optimizer's update rule, its hyper-parameters and the convention",
    "optim.first-step": "the update rule substituted for the first step",
    "optim.steps": "one row per step: gradient, optimizer state, update, new parameters, loss",
    "optim.weight-decay": "weight decay as an L2 penalty (coupled) or not (AdamW's decoupled decay)",
    "optim.divergence": "the iterates grow: the step size is too large for this function",
}

#: Most steps a run may take.
MAX_STEPS = 10**6
#: Exact runs (SGD, momentum, Nesterov on exact inputs) up to this many steps; floats beyond.
MAX_EXACT_STEPS = 200
#: A coordinate beyond this (or inf/NaN) ends the run: the iterates diverged.
BLOW_UP = 1e100
#: The working calls the iterates growing when f ends this many times above f(θ₀) > 0 (given
#: gradients: when ‖θ‖ ends this many times above max(1, ‖θ₀‖), still rising).
GROWTH = 10
#: Rows of the step table before the middle is elided (``full`` shows them all).
HEAD_ROWS, TAIL_ROWS = 10, 5

Scalar = Fraction | float


class Param(FrozenRecord):
    """One optimized tensor: its name, shape (``()`` for a scalar) and values in row-major order."""

    _fields = ("name", "shape", "values")

    def __init__(self, name: str, shape: tuple[int, ...], values: list[Scalar]) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "values", list(values))


class Objective(Protocol):
    """f as a gradient source: called with the flat parameter vector, returns (loss, gradient)."""

    text: str  # as typed
    formula: str  # in board notation
    exact: bool

    def __call__(self, theta: Any) -> tuple[Any, Any]: ...


def _given_gradients(rows: Any) -> rules.GradFn:
    """A gradient source that returns row t at step t (the point is ignored)."""
    iterator = iter(rows)

    def gradient(_theta: Any) -> tuple[None, Any]:
        return None, next(iterator)

    return gradient


# --------------------------------------------------------------------------- validation

#: Which optimizers each option applies to.
APPLIES = {
    "--momentum": ("sgd", "momentum", "nesterov", "rmsprop"),
    "--dampening": ("sgd", "momentum", "nesterov"),
    "--betas": ("adam", "adamw"),
    "--amsgrad": ("adam", "adamw"),
    "--eps": ("adagrad", "rmsprop", "adam", "adamw"),
    "--alpha": ("rmsprop",),
    "--centered": ("rmsprop",),
    "--initial-accumulator": ("adagrad",),
    "--lr-decay": ("adagrad",),
}


def _config(opt: str, given: dict[str, Any], convention: str) -> rules.Config:
    """Check every option as torch.optim's constructors do and fill in torch's defaults."""
    if opt not in rules.OPTIMIZERS:
        raise BadInput(f"unknown optimizer {opt!r}; expected one of {', '.join(rules.OPTIMIZERS)}", option="--opt")
    # "no-bias-correction" is not a user's choice: answer checking recomputes Adam without m̂, v̂ with it
    if convention not in ("torch", "textbook", "no-bias-correction"):
        raise BadInput(f"expected torch or textbook, got {convention!r}", option="--convention")
    for option, value in given.items():
        if value not in (None, False) and option in APPLIES and opt not in APPLIES[option]:
            raise BadInput(f"{option} applies to {', '.join(APPLIES[option])}, not {opt}", option=option)
    lr = given["--lr"] if given["--lr"] is not None else rules.DEFAULT_LR[opt]
    if lr <= 0:
        raise BadInput(f"expected a learning rate > 0, got {fmt.decimal(lr)}", option="--lr")
    momentum = given["--momentum"]
    if momentum is None:
        momentum = Fraction(9, 10) if opt in ("momentum", "nesterov") else Fraction(0)
    dampening = given["--dampening"] if given["--dampening"] is not None else Fraction(0)
    for option, value in (
        ("--momentum", momentum),
        ("--weight-decay", given["--weight-decay"] or 0),
        ("--eps", given["--eps"] or 0),
        ("--alpha", given["--alpha"] or 0),
        ("--initial-accumulator", given["--initial-accumulator"] or 0),
        ("--lr-decay", given["--lr-decay"] or 0),
    ):
        if value < 0:
            raise BadInput(f"expected a value >= 0, got {fmt.decimal(value)} (PyTorch refuses it)", option=option)
    if opt == "momentum" and momentum == 0:
        raise BadInput("momentum needs --momentum > 0 (use --opt sgd for plain SGD)", option="--momentum")
    if opt == "nesterov" and momentum <= 0:
        raise BadInput(
            "Nesterov momentum requires a momentum and zero dampening (PyTorch refuses momentum 0)", option="--momentum"
        )
    if opt == "nesterov" and dampening != 0:
        raise BadInput(
            "Nesterov momentum requires a momentum and zero dampening (PyTorch refuses it)", option="--dampening"
        )
    if convention == "textbook" and dampening != 0:
        raise BadInput("the textbook momentum form has no dampening (it uses 1 − β instead)", option="--dampening")
    betas = given["--betas"] if given["--betas"] is not None else (Fraction(9, 10), Fraction(999, 1000))
    if len(betas) != 2:
        raise BadInput(f"expected two betas b1,b2, got {len(betas)} value(s)", option="--betas")
    for index, beta in enumerate(betas):
        if not 0 <= beta < 1:
            raise BadInput(
                f"Invalid beta parameter at index {index}: {fmt.decimal(beta)} (must be in [0, 1))", option="--betas"
            )
    eps = given["--eps"]
    if eps is None:
        eps = Fraction(1, 10**10) if opt == "adagrad" else Fraction(1, 10**8)
    weight_decay = given["--weight-decay"]
    if weight_decay is None:
        weight_decay = Fraction(1, 100) if opt == "adamw" else Fraction(0)
    return rules.Config(
        opt,
        lr,
        momentum=momentum,
        dampening=dampening,
        beta1=betas[0],
        beta2=betas[1],
        eps=eps,
        alpha=given["--alpha"] if given["--alpha"] is not None else Fraction(99, 100),
        weight_decay=weight_decay,
        amsgrad=bool(given["--amsgrad"]),
        initial_accumulator=given["--initial-accumulator"] or Fraction(0),
        lr_decay=given["--lr-decay"] or Fraction(0),
        centered=bool(given["--centered"]),
        convention=convention,
    )


def _is_exact(value: Any) -> bool:
    return fmt.is_exact(value)


# --------------------------------------------------------------------------- the run


class Run(FrozenRecord):
    """A finished run: θ after each step (row 0 is θ₀), the per-step values kept for the table."""

    _fields = ("thetas", "losses", "shown", "rule", "diverged_at", "final_loss")

    def __init__(
        self,
        thetas: list[Any],
        losses: list[Any],
        shown: dict[int, dict[str, Any]],
        rule: rules.Rule,
        diverged_at: int | None,
        final_loss: Any,
    ) -> None:
        for name, value in zip(self._fields, (thetas, losses, shown, rule, diverged_at, final_loss), strict=True):
            object.__setattr__(self, name, value)


def run(
    config: rules.Config,
    theta0: Any,
    grad_fn: rules.GradFn,
    steps: int,
    exact: bool,
    keep_all: bool,
    objective: Objective | None = None,
) -> Run:
    """Take ``steps`` steps; stop early when a coordinate blows up (the run diverged)."""
    import numpy as np

    rule = rules.make_rule(config, len(theta0), exact)
    theta = theta0
    thetas = [theta0]
    losses: list[Any] = []
    shown: dict[int, dict[str, Any]] = {}
    diverged_at = None
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            keep = keep_all or t <= HEAD_ROWS or t > steps - TAIL_ROWS
            rule.record = keep
            try:
                theta, values, loss = rule.step(theta, grad_fn)
            except Diverged:
                diverged_at = t
                break
            except InvalidProblem as error:
                where = f"at step {t} (θ = {vector_text(theta)})"
                raise InvalidProblem(f"{where}: {error.message}", option=error.option) from None
            thetas.append(theta)
            losses.append(loss)
            if keep:
                shown[t] = values
            if not exact and t % 64 == 0 and not np.all(np.abs(theta) <= BLOW_UP):
                break
        if not exact:
            # the first θ_i beyond BLOW_UP (checked every 64 steps, and here for the rest)
            first = max(1, (len(thetas) - 1) // 64 * 64 - 64)
            bad = next((i for i in range(first, len(thetas)) if not np.all(np.abs(thetas[i]) <= BLOW_UP)), None)
            if bad is not None:
                diverged_at = bad
                del thetas[bad:]
                del losses[bad - 1 :]
        final_loss = None
        if objective is not None and diverged_at is None:
            try:
                final_loss = objective(theta)[0]
            except Diverged:
                diverged_at = len(thetas) - 1
    return Run(thetas, losses, shown, rule, diverged_at, final_loss)


# --------------------------------------------------------------------------- formatting


def _number(value: Any) -> str:
    return fmt.exact(value).replace("-", "−") if _is_exact(value) else fmt.decimal(float(value)).replace("-", "−")


def vector_text(values: Any) -> str:
    """A flat vector on the board: one number alone, else ``[a, b]``."""
    items = list(values)
    if len(items) == 1:
        return _number(items[0])
    return "[" + ", ".join(_number(v) for v in items) + "]"


def _shaped(values: list[Any], shape: tuple[int, ...]) -> Any:
    if not shape:
        return values[0]
    if len(shape) == 1:
        return values
    width = math.prod(shape[1:])
    return [_shaped(values[i * width : (i + 1) * width], shape[1:]) for i in range(shape[0])]


def _split(params: list[Param], flat: list[Any]) -> dict[str, Any]:
    """The flat vector (JSON numbers, from :func:`_flat_list`) as ``{name: value}`` in each parameter's shape."""
    out: dict[str, Any] = {}
    offset = 0
    for param in params:
        size = len(param.values)
        out[param.name] = _shaped(flat[offset : offset + size], param.shape)
        offset += size
    return out


def _trajectory(params: list[Param], thetas: list[Any], exact: bool) -> list[dict[str, Any]]:
    """``[{name: value}]`` for every θ; float runs convert all rows at once (10,000 steps are common)."""
    if exact or not thetas:
        return [_split(params, _flat_list(theta, exact)) for theta in thetas]
    import numpy as np

    rows = np.vstack(thetas).tolist()
    if len(params) == 1 and len(params[0].shape) == 1:
        name = params[0].name
        return [{name: row} for row in rows]
    return [_split(params, row) for row in rows]


def _flat_list(array: Any, exact: bool) -> list[Any]:
    return [fmt.json_number(v) for v in array] if exact else array.tolist()


# --------------------------------------------------------------------------- the solver


def optim(
    opt: str,
    params: list[Param],
    *,
    grads: list[list[Scalar]] | None = None,
    objective: Objective | None = None,
    steps: int | None = None,
    lr: Scalar | None = None,
    momentum: Scalar | None = None,
    dampening: Scalar | None = None,
    betas: list[Scalar] | None = None,
    eps: Scalar | None = None,
    alpha: Scalar | None = None,
    weight_decay: Scalar | None = None,
    amsgrad: bool = False,
    initial_accumulator: Scalar | None = None,
    lr_decay: Scalar | None = None,
    centered: bool = False,
    convention: str = "torch",
    use_float: bool = False,
    full: bool = False,
) -> Solution:
    """``steps`` steps of optimizer ``opt`` from ``params``, gradients from ``grads`` rows or ``objective``."""
    import numpy as np

    given = {
        "--lr": lr,
        "--momentum": momentum,
        "--dampening": dampening,
        "--betas": betas,
        "--eps": eps,
        "--alpha": alpha,
        "--weight-decay": weight_decay,
        "--amsgrad": amsgrad,
        "--initial-accumulator": initial_accumulator,
        "--lr-decay": lr_decay,
        "--centered": centered,
    }
    config = _config(opt, given, convention)
    if not params:
        raise BadInput("no parameters to optimize: give their starting values with --at name=value", option="--at")
    if (grads is None) == (objective is None):
        raise BadInput("give the gradients (--grads, one row per step) or the function (--f)", option="--grads")
    size = sum(len(p.values) for p in params)
    if grads is not None:
        for index, row in enumerate(grads, start=1):
            if len(row) != size:
                names = ", ".join(f"{p.name} ({len(p.values)})" for p in params)
                raise BadInput(
                    f"row {index} has {len(row)} value(s); expected {size}, one per parameter entry: {names}",
                    option="--grads",
                )
        if steps is None:
            steps = len(grads)
        elif steps > len(grads):
            raise BadInput(f"{steps} steps need {steps} gradient rows, got {len(grads)}", option="--steps")
    if steps is None:
        steps = 1
    if steps < 1:
        raise BadInput(f"expected at least 1 step, got {steps}", option="--steps")
    if steps > MAX_STEPS:
        raise BadInput(f"at most {MAX_STEPS} steps, got {steps}", option="--steps")

    hyper = [config.lr, config.momentum, config.dampening, config.weight_decay]
    inputs_exact = all(_is_exact(v) for p in params for v in p.values) and all(_is_exact(v) for v in hyper)
    if grads is not None:
        inputs_exact = inputs_exact and all(_is_exact(v) for row in grads for v in row)
    elif not isinstance(objective, EngineObjective):
        inputs_exact = inputs_exact and bool(objective.exact)  # type: ignore[union-attr]
    flat0 = [v for p in params for v in p.values]
    wanted = inputs_exact and not use_float and opt in rules.EXACT_RULES and steps <= MAX_EXACT_STEPS
    irrational = False
    if isinstance(objective, EngineObjective) and wanted:
        inputs_exact = objective.probe_exact(flat0)
        irrational = not inputs_exact
    exact = wanted and inputs_exact
    keep_all = full or steps <= HEAD_ROWS + TAIL_ROWS
    too_large = False
    if exact:
        from dlsolve.engine import ExactTooLarge

        theta0 = np.array([Fraction(v) for v in flat0], dtype=object)
        source = (
            _given_gradients(np.array([[Fraction(v) for v in row] for row in grads], dtype=object))
            if grads is not None
            else objective
        )
        try:
            result = run(config, theta0, source, steps, True, keep_all, objective)  # type: ignore[arg-type]
        except ExactTooLarge:
            exact, too_large = False, True
    if not exact:
        theta0 = np.array([float(v) for v in flat0])
        source = (
            _given_gradients(np.array([[float(v) for v in row] for row in grads])) if grads is not None else objective
        )
        result = run(config, theta0, source, steps, False, keep_all, objective)  # type: ignore[arg-type]
    if exact:
        arithmetic = "exact arithmetic"
    elif too_large:
        arithmetic = "float64 (the exact values grew too large)"
    elif irrational:
        arithmetic = "float64 (f or its gradient is not rational here)"
    elif not inputs_exact:
        arithmetic = "float64"
    elif opt not in rules.EXACT_RULES:
        arithmetic = "float64 (the rule takes square roots)"
    elif use_float:
        arithmetic = "float64 (--float)"
    else:
        arithmetic = f"float64 (exact arithmetic up to {MAX_EXACT_STEPS} steps)"
    return _solution(config, params, result, grads, objective, exact, arithmetic, steps, full)


def _norm(theta: Any) -> float:
    return math.hypot(*(float(v) for v in theta))  # hypot scales: no overflow below float's range


def _growing(result: Run, known_loss: bool) -> bool:
    """The iterates grow: f (when known) ends GROWTH times above f(θ₀) > 0, else (given gradients)
    ‖θ‖ ends GROWTH times above max(1, ‖θ₀‖), still rising at the last step."""
    thetas = result.thetas
    if len(thetas) < 3:
        return False
    if known_loss:
        if result.final_loss is None:
            return False
        first, last = float(result.losses[0]), float(result.final_loss)
        return first > 0 and last > GROWTH * first
    return _norm(thetas[-1]) > max(_norm(thetas[-2]), GROWTH * max(1.0, _norm(thetas[0])))


def _solution(
    config: rules.Config,
    params: list[Param],
    result: Run,
    grads: list[list[Scalar]] | None,
    objective: Objective | None,
    exact: bool,
    arithmetic: str,
    steps: int,
    full: bool,
) -> Solution:
    taken = len(result.thetas) - 1
    final = result.thetas[-1]
    trajectory = _trajectory(params, result.thetas[1:], exact)
    state = {
        key: (value if isinstance(value, int) or value is None else _split(params, _flat_list(value, exact)))
        for key, value in result.rule.state().items()
    }
    if exact:
        losses = [None if loss is None else fmt.json_number(loss) for loss in result.losses]
    else:
        losses = [None if loss is None else float(loss) for loss in result.losses]
    known_loss = objective is not None
    start_norm, end_norm = _norm(result.thetas[0]), _norm(final)
    growing = result.diverged_at is not None or _growing(result, known_loss)
    warnings: list[str] = []
    if result.diverged_at is not None:
        warnings.append(
            f"the iterates diverged: at step {result.diverged_at} a parameter passed {BLOW_UP:g} or f overflowed; "
            f"the run stops after step {taken} (the step size is too large for this function)"
        )
    elif growing:
        loss_growth = ""
        if known_loss and result.final_loss is not None:
            loss_growth = f", f from {_number(result.losses[0])} to {_number(result.final_loss)}"
        warnings.append(
            f"the iterates grow: ‖θ‖ = {fmt.decimal(start_norm)} at the start, {fmt.decimal(end_norm)} after {taken} "
            f"steps{loss_growth} (the step size is too large for this function)"
        )
    flat_final = _flat_list(final, exact)
    answer: dict[str, Any] = {
        "optimizer": config.opt,
        "trajectory": trajectory,
        "final": _split(params, _flat_list(final, exact)),
        "theta": flat_final if len(flat_final) > 1 else flat_final[0],
        "state": state,
        "loss": losses if known_loss else None,
        "steps": taken,
        "diverged": growing,
    }
    if known_loss and result.final_loss is not None:
        answer["final_loss"] = fmt.json_number(result.final_loss if exact else float(result.final_loss))
    if exact:
        texts = _split_text(params, list(final))
        answer["exact"] = {p.name: v.replace("−", "-") for p, v in zip(params, texts, strict=True)}
    if config.weight_decay:
        coupled = config.opt != "adamw"
        answer["weight_decay"] = {
            "coupled": coupled,
            "l2_coefficient": fmt.json_number(config.weight_decay / 2) if coupled else None,
            "shrink_factor": fmt.json_number(1 - config.lr * config.weight_decay),
        }
    final_text = ", ".join(f"{p.name} = {t}" for p, t in zip(params, _split_text(params, list(final)), strict=True))
    summary = f"after {taken} step{'' if taken == 1 else 's'} of {config.opt}: {final_text}"
    if known_loss and result.final_loss is not None:
        summary += f"; f = {_number(result.final_loss)}"
    summary += _short_run_text(params, result, known_loss, taken)
    if config.weight_decay and config.opt != "adamw":
        summary += f"; weight decay λ = L2 penalty (λ/2)‖θ‖² with λ/2 = {_number(config.weight_decay / 2)}"
    elif config.weight_decay:
        summary += f"; decoupled decay θ(1 − ηλ) = {_number(1 - config.lr * config.weight_decay)}·θ, not an L2 penalty"
    if growing:
        summary += "; the iterates grow"
    quiet = final_text.replace(" = ", "=").replace("−", "-")
    if config.weight_decay and config.opt != "adamw":
        quiet += f" l2_coefficient={fmt.exact(config.weight_decay / 2)}"
    if growing:
        quiet += " diverged"
    if _short_run_text(params, result, known_loss, taken):  # the optimizer state a grader checks, torch's names
        for key, value in result.rule.state().items():
            if key != "step" and value is not None and not isinstance(value, int):
                shown = _split_text(params, _flat_list(value, exact))
                quiet += f" {key}=" + ", ".join(shown).replace("−", "-")

    def build() -> list[Step]:
        names = ", ".join(p.name for p in params)
        steps_list = [
            Step(
                f"{config.opt}: the update rule",
                rule_text(config, names, grads is not None, objective.formula if objective else None, arithmetic),
                latex=rule_latex(config),
                kind="optim.rule",
            ),
            Step(
                "Step 1, substituted",
                first_step_text(
                    config,
                    result.thetas[0],
                    result.shown[1],
                    result.losses[0],
                    grads,
                    vector_text,
                    [v for p in params for v in p.values],
                ),
                kind="optim.first-step",
            ),
            _table_step(config, result, known_loss, full, taken),
        ]
        if config.weight_decay:
            steps_list.append(weight_decay_step(config))
        # growing iterates are said by the warning (every view shows it) and the answer: no step repeats it
        return steps_list

    return Solution(
        command="optim",
        inputs={
            "optimizer": config.opt,
            "lr": _number(config.lr),
            "steps": str(steps),
        }
        | ({"f": objective.text} if objective is not None else {})
        | (_constants_text(objective) if isinstance(objective, EngineObjective) else {})
        | {f"{p.name}₀": tensor_text(p.values, p.shape) for p in params},
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=build,
        warnings=warnings,
    )


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
#: A run of at most this many steps has every iterate, loss and the last optimizer state in its answer.
SHORT_RUN = 5
#: ... when the parameters have at most this many entries.
SHORT_RUN_ENTRIES = 4


def _short_run_text(params: list[Param], result: Run, known_loss: bool, taken: int) -> str:
    """What a grader checks for a short run: θ after every step, f at every iterate, and the
    optimizer's state after the last step (m, v, m̂, v̂ of Adam; b of momentum), as ``; ...`` clauses."""
    if not 0 < taken <= SHORT_RUN or sum(len(p.values) for p in params) > SHORT_RUN_ENTRIES:
        return ""
    text = ""
    if taken > 1:
        per_step = [_split_text(params, list(theta)) for theta in result.thetas[1:]]
        last_index = str(taken).translate(_SUBSCRIPTS)
        text += "; " + ", ".join(
            f"{p.name}₁, …, {p.name}{last_index} = " + ", ".join(step[i] for step in per_step)
            for i, p in enumerate(params)
        )
    if known_loss and taken > 1 and all(loss is not None for loss in result.losses):
        losses = [*result.losses, result.final_loss] if result.final_loss is not None else list(result.losses)
        text += f"; f(θ_t), t = 0…{len(losses) - 1}: " + ", ".join(_number(loss) for loss in losses)
    last = result.shown.get(taken, {})
    state = [
        f"{symbol} = {_cell(last[key])}"
        for key, symbol in result.rule.columns
        if key in last and key not in ("grad", "update", "lookahead", "direction", "clr")
    ]
    if state:
        text += f"; after step {taken}: " + ", ".join(state)
    return text


def _split_text(params: list[Param], flat: list[Any]) -> list[str]:
    """Each parameter's part of ``flat`` on the board, in its shape: ``1``, ``[1, 2]``, ``[[1, 0], [0, 1]]``."""
    texts = []
    offset = 0
    for param in params:
        size = len(param.values)
        texts.append(tensor_text(flat[offset : offset + size], param.shape))
        offset += size
    return texts


def tensor_text(values: list[Any], shape: tuple[int, ...]) -> str:
    """Values in row-major order shown in ``shape`` (a vector as ``[a, b]``, a matrix by rows)."""
    if len(shape) < 2:
        return vector_text(values)
    width = math.prod(shape[1:])
    parts = [tensor_text(values[i * width : (i + 1) * width], shape[1:]) for i in range(shape[0])]
    if len(shape) == 2:  # a matrix by rows, as --at reads it: [1, 2; 3, 4]
        return "[" + "; ".join(part[1:-1] for part in parts) + "]"
    return "[" + ", ".join(parts) + "]"


#: Columns of the step table shown only with ``full``: the step-1 substitution has them, and for
#: the adaptive rules the new θ follows from the state shown.
BRIEF_HIDDEN = {"m_hat", "v_hat", "avg"}
#: A plot of the loss (or ‖θ‖) only for more points than this: the typeset keys list a short
#: series' values in a table under the plot, which would repeat the step table.
PLOT_AFTER = 12


def _table_step(config: rules.Config, result: Run, known_loss: bool, full: bool, taken: int) -> Step:
    hidden = set() if full else BRIEF_HIDDEN | ({"update"} if config.opt not in rules.EXACT_RULES else set())
    if not config.lr_decay:
        hidden.add("clr")
    columns = [(key, symbol) for key, symbol in result.rule.columns if key not in hidden]
    header = ["t"] + [symbol for _key, symbol in columns] + ["θ_t"] + (["f(θ_{t−1})"] if known_loss else [])
    rows: list[list[str]] = []
    previous = 0
    for t in sorted(result.shown):
        if t > taken:
            break
        if t != previous + 1:
            rows.append(["…"] * len(header))
        values = result.shown[t]
        row = [str(t)] + [_cell(values[key]) for key, _symbol in columns] + [vector_text(result.thetas[t])]
        if known_loss:
            row.append(_number(result.losses[t - 1]))
        rows.append(row)
        previous = t
    xs = [float(t) for t in range(taken + 1)]
    plot: Plot | None
    if taken + 1 <= PLOT_AFTER:
        plot = None  # a few steps: the table is the board (a plot would come with a second table of the same values)
    elif known_loss and result.losses and all(math.isfinite(float(v)) for v in result.losses):
        values = [float(v) for v in result.losses]
        if result.final_loss is not None:
            values.append(float(result.final_loss))
        plot = Plot(
            [Series("f(θ_t)", xs[: len(values)], values)],
            "loss per step",
            "step",
            "loss",
            logy=min(values) > 0 and max(values) / min(values) > 100,
        )
    else:
        plot = Plot([Series("‖θ_t‖", xs, [_norm(theta) for theta in result.thetas])], "‖θ‖ per step", "step", "‖θ‖")
    text = (
        f"{taken} step{'' if taken == 1 else 's'}; each row: the gradient g (with any coupled weight decay), "
        "the optimizer state after the "
        + ("step" if "update" in hidden else "step, the update Δθ")
        + " and the new parameters θ_t"
        + ("; f(θ_{t−1}) is the loss where g was taken" if known_loss else "")
        + _full_hint(config, full, taken > HEAD_ROWS + TAIL_ROWS)
        + "."
    )
    blocks: list[Table | Plot] = [Table(header, rows, title=f"{config.opt} steps")] + ([plot] if plot else [])
    return Step("Every step", text, blocks=blocks, kind="optim.steps")


#: Constants with more entries than this are shown by their shape on the input line.
SHOWN_CONSTANT_ENTRIES = 12


def _constants_text(objective: EngineObjective) -> dict[str, str]:
    """f's constants for the input line: their values, or their shape when large (``[100×100]``)."""
    import numpy as np

    texts = {}
    for name, value in objective.constants_float.items():
        shape = tuple(np.shape(value))
        if math.prod(shape) > SHOWN_CONSTANT_ENTRIES:
            texts[name] = "[" + "×".join(map(str, shape)) + "]"
            continue
        exact = objective.constants_exact
        source = np.asarray(exact[name] if exact is not None else value, dtype=object).reshape(-1)
        texts[name] = tensor_text(list(source), shape)
    return texts


def _full_hint(config: rules.Config, full: bool, elided: bool) -> str:
    """What ``--full`` would add to the table, if anything."""
    extra = (["every step"] if elided else []) + (["m̂, v̂ and Δθ"] if config.opt in ("adam", "adamw") else [])
    return "" if full or not extra else "; --full shows " + " and ".join(extra)


def _cell(value: Any) -> str:
    if isinstance(value, int | float | Fraction):
        return _number(value)
    return vector_text(value)


def params_from_values(values: dict[str, Any], names: list[str] | None = None) -> list[Param]:
    """The optimized tensors for given gradients: every ``--at`` value, or those ``names`` picks."""
    import numpy as np

    if names is None:
        names = list(values)
    missing = [name for name in names if name not in values]
    if missing:
        raise BadInput(f"{', '.join(missing)} has no starting value; give one with --at NAME=VALUE", option="--params")
    unused = [name for name in values if name not in names]
    if unused:
        raise BadInput(f"{', '.join(unused)} is not optimized and there is no f to use it in", option="--at")
    params = []
    for name in names:
        array = np.array(values[name], dtype=object)
        params.append(Param(name, tuple(array.shape), list(array.reshape(-1))))
    return params


def from_expression(
    text: str, values: dict[str, Any], names: list[str] | None = None
) -> tuple[list[Param], EngineObjective]:
    """The optimized tensors and f's gradient source from ``--f``, ``--at`` values and ``--params``.

    ``values`` maps names to numbers or nested lists (rows); ``names`` defaults to every name of f
    that has a value; every other name is a constant.
    """
    from dlsolve.engine import parse_expression

    graph_names = parse_expression(text, "--f").names
    if names is None:
        names = [name for name in graph_names if name in values]
    for name in names:
        if name not in graph_names:
            raise BadInput(f"{name} does not appear in f = {text}", option="--params")
        if name not in values:
            raise BadInput(f"{name} has no starting value; give one with --at {name}=VALUE", option="--at")
    unused = [name for name in values if name not in graph_names]
    if unused:
        raise BadInput(f"{', '.join(unused)} does not appear in f = {text}", option="--at")
    params = params_from_values({name: values[name] for name in names}, names)
    constants = {name: value for name, value in values.items() if name not in names}
    return params, EngineObjective(text, [(p.name, p.shape) for p in params], constants)
