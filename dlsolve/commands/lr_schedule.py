"""``dlsolve lr-schedule KIND``: the learning rate at every epoch, as torch.optim.lr_scheduler gives it.

One subcommand per schedule, each with the options of its PyTorch class (declared once here and
shared). The formulas are in :mod:`dlsolve.solvers.lr_schedule_rules`.
"""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Ints, option
from dlsolve.registry import command
from dlsolve.solution import Solution


def _count(value: Any, flag: str) -> int:
    return parsing.parse_int(value, flag, minimum=0)


def _anneal(value: Any, flag: str) -> str:
    return parsing.parse_choice(value, flag, ("cos", "linear"))


Lr = Annotated[Any, option("--lr", parse=parsing.parse_scalar, help="Base learning rate η (the optimizer's lr).")]
Epochs = Annotated[
    int | None, option("--epochs", parse=_count, help="List epochs 0 to N (epoch e: after e scheduler.step() calls).")
]
Gamma = Annotated[Any, option("--gamma", parse=parsing.parse_scalar, help="Decay factor γ (default 0.1).")]
EtaMin = Annotated[Any, option("--eta-min", parse=parsing.parse_scalar, help="Lowest rate η_min (default 0).")]
TotalSteps = Annotated[int | None, option("--total-steps", parse=_count, help="Total steps of the schedule.")]
Full = Annotated[bool, option("--full", help="Every epoch in the table.")]


def _solve(kind: str, **options: Any) -> Solution:
    from dlsolve.solvers.lr_schedule import lr_schedule

    return lr_schedule(kind, **{key: value for key, value in options.items() if value is not None})


@command("lr-schedule step")
def step(
    lr: Lr = None,
    step_size: Annotated[int | None, option("--step-size", parse=_count, help="Epochs between decays.")] = None,
    gamma: Gamma = None,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """StepLR: η_e = η·γ^⌊e/step_size⌋.

    Example: dlsolve lr-schedule step --lr 0.1 --step-size 2 --gamma 0.5 --epochs 6
    """
    return _solve("step", lr=lr, step_size=step_size, gamma=gamma, epochs=epochs, full=full)


@command("lr-schedule multistep")
def multistep(
    lr: Lr = None,
    milestones: Annotated[
        Ints | None,
        option("--milestones", parse=parsing.parse_int_list, help="Epochs where the rate is multiplied by γ."),
    ] = None,
    gamma: Gamma = None,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """MultiStepLR: η_e = η·γ^(number of milestones ≤ e).

    Example: dlsolve lr-schedule multistep --lr 0.1 --milestones 3,6 --gamma 0.1 --epochs 8
    """
    return _solve("multistep", lr=lr, milestones=milestones, gamma=gamma, epochs=epochs, full=full)


@command("lr-schedule exponential")
def exponential(lr: Lr = None, gamma: Gamma = None, epochs: Epochs = None, full: Full = False) -> Solution:
    """ExponentialLR: η_e = η·γ^e.

    Example: dlsolve lr-schedule exponential --lr 0.1 --gamma 0.9 --epochs 5
    """
    return _solve("exponential", lr=lr, gamma=gamma, epochs=epochs, full=full)


@command("lr-schedule cosine")
def cosine(
    lr: Lr = None,
    t_max: Annotated[int | None, option("--t-max", parse=_count, help="Half period T_max in epochs.")] = None,
    eta_min: EtaMin = None,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """CosineAnnealingLR: η_e = η_min + (η − η_min)(1 + cos(πe/T_max))/2, surds at multiples of π/4, π/6.

    Example: dlsolve lr-schedule cosine --lr 0.1 --t-max 4
    """
    return _solve("cosine", lr=lr, t_max=t_max, eta_min=eta_min, epochs=epochs, full=full)


@command("lr-schedule cosine-warm-restarts")
def cosine_warm_restarts(
    lr: Lr = None,
    t0: Annotated[int | None, option("--t0", parse=_count, help="Length T_0 of the first cycle.")] = None,
    t_mult: Annotated[int, option("--t-mult", parse=_count, help="Cycle length factor T_mult (default 1).")] = 1,
    eta_min: EtaMin = None,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """CosineAnnealingWarmRestarts: cosine over T_i epochs, then a restart with T_i ← T_mult·T_i.

    Example: dlsolve lr-schedule cosine-warm-restarts --lr 1 --t0 2 --t-mult 2 --epochs 6
    """
    return _solve("cosine-warm-restarts", lr=lr, t_0=t0, t_mult=t_mult, eta_min=eta_min, epochs=epochs, full=full)


@command("lr-schedule linear")
def linear(
    lr: Lr = None,
    start_factor: Annotated[
        Any, option("--start-factor", parse=parsing.parse_scalar, help="Factor at epoch 0, in (0, 1] (default 1/3).")
    ] = None,
    end_factor: Annotated[
        Any, option("--end-factor", parse=parsing.parse_scalar, help="Factor from total_iters on (default 1).")
    ] = None,
    total_iters: Annotated[
        int | None, option("--total-iters", parse=_count, help="Epochs of the linear change (default 5).")
    ] = None,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """LinearLR: η_e = η·(s + (f − s)·min(e, N)/N).

    Example: dlsolve lr-schedule linear --lr 0.1 --start-factor 0.25 --total-iters 4
    """
    return _solve(
        "linear", lr=lr, start_factor=start_factor, end_factor=end_factor, total_iters=total_iters, epochs=epochs,
        full=full,
    )  # fmt: skip


@command("lr-schedule onecycle")
def onecycle(
    max_lr: Annotated[Any, option("--max-lr", parse=parsing.parse_scalar, help="Peak rate max_lr.")] = None,
    total_steps: TotalSteps = None,
    pct_start: Annotated[
        Any, option("--pct-start", parse=parsing.parse_scalar, help="Fraction of the steps going up (default 0.3).")
    ] = None,
    anneal_strategy: Annotated[
        str | None, option("--anneal-strategy", parse=_anneal, help="cos (default) | linear.")
    ] = None,
    div_factor: Annotated[
        Any, option("--div-factor", parse=parsing.parse_scalar, help="initial_lr = max_lr/div_factor (default 25).")
    ] = None,
    final_div_factor: Annotated[
        Any,
        option("--final-div-factor", parse=parsing.parse_scalar, help="min_lr = initial_lr/final_div_factor (1e4)."),
    ] = None,
    three_phase: Annotated[bool, option("--three-phase", help="Back down to initial_lr before annealing.")] = False,
    base_momentum: Annotated[
        Any, option("--base-momentum", parse=parsing.parse_scalar, help="Momentum at the peak (default 0.85).")
    ] = None,
    max_momentum: Annotated[
        Any, option("--max-momentum", parse=parsing.parse_scalar, help="Momentum at the ends (default 0.95).")
    ] = None,
    no_cycle_momentum: Annotated[bool, option("--no-cycle-momentum", help="Leave the momentum alone.")] = False,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """OneCycleLR: up from max_lr/div_factor to max_lr, then annealed down to min_lr (cos or linear).

    Example: dlsolve lr-schedule onecycle --max-lr 0.1 --total-steps 10
    """
    return _solve(
        "onecycle", max_lr=max_lr, total_steps=total_steps, pct_start=pct_start, anneal_strategy=anneal_strategy,
        div_factor=div_factor, final_div_factor=final_div_factor, three_phase=three_phase,
        base_momentum=base_momentum, max_momentum=max_momentum, cycle_momentum=not no_cycle_momentum,
        epochs=epochs, full=full,
    )  # fmt: skip


@command("lr-schedule inverse-time")
def inverse_time(
    lr: Lr = None,
    decay_rate: Annotated[Any, option("--decay-rate", parse=parsing.parse_scalar, help="Decay rate r.")] = None,
    decay_steps: Annotated[
        Any, option("--decay-steps", parse=parsing.parse_scalar, help="Steps d per unit of decay (default 1).")
    ] = None,
    staircase: Annotated[bool, option("--staircase", help="Decay in whole units: ⌊e/d⌋.")] = False,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """Inverse-time decay (Keras InverseTimeDecay): η_e = η/(1 + r·e/d).

    Example: dlsolve lr-schedule inverse-time --lr 0.1 --decay-rate 0.5 --epochs 4
    """
    return _solve(
        "inverse-time", lr=lr, decay_rate=decay_rate, decay_steps=decay_steps, staircase=staircase, epochs=epochs,
        full=full,
    )  # fmt: skip


@command("lr-schedule warmup-cosine")
def warmup_cosine(
    lr: Lr = None,
    warmup: Annotated[int | None, option("--warmup", parse=_count, help="Warmup steps W.")] = None,
    total_steps: TotalSteps = None,
    warmup_start: Annotated[
        Any, option("--warmup-start", parse=parsing.parse_scalar, help="Rate at step 0 as a fraction of η (default 0).")
    ] = None,
    eta_min: EtaMin = None,
    epochs: Epochs = None,
    full: Full = False,
) -> Solution:
    """Linear warmup then cosine decay to η_min at --total-steps (Keras CosineDecay with warmup_target).

    Example: dlsolve lr-schedule warmup-cosine --lr 0.1 --warmup 2 --total-steps 6
    """
    return _solve(
        "warmup-cosine", lr=lr, warmup=warmup, total_steps=total_steps, warmup_start=warmup_start, eta_min=eta_min,
        epochs=epochs, full=full,
    )  # fmt: skip
