"""Learning-rate schedules as ``torch.optim.lr_scheduler`` (PyTorch 2.13) computes them.

Epoch ``e`` means "after ``e`` calls of ``scheduler.step()``": the rate the optimizer uses in epoch
(or step) ``e``. Every schedule is a closed form of ``e``; values are exact (``Fraction``) for exact
inputs where the formula is rational, :class:`~dlsolve.solvers.surds.Surd` where a cosine of a
multiple of π/4 or π/6 appears, and floats otherwise.

========================  ================================================================
kind                      η_e (η = the base rate ``--lr``)
========================  ================================================================
step (StepLR)             η·γ^⌊e/step_size⌋
multistep (MultiStepLR)   η·γ^(number of milestones ≤ e)
exponential               η·γ^e
cosine                    η_min + (η − η_min)(1 + cos(π e/T_max))/2 (periodic beyond T_max,
(CosineAnnealingLR)       as PyTorch's recursive form is)
cosine-warm-restarts      η_min + (η − η_min)(1 + cos(π T_cur/T_i))/2; T_cur counts from the
                          last restart, T_i = T_0·T_mult^(restarts so far)
linear (LinearLR)         η·(s + (f − s)·min(e, N)/N), s = start_factor, f = end_factor
onecycle (OneCycleLR)     phases from η_max/div to η_max (pct_start of the steps), then down to
                          η_max/(div·final_div) (three_phase: back to η_max/div first), each
                          annealed by cos ((start − end)/2·(1 + cos πp) + end) or linearly
inverse-time              η/(1 + r·e/d) (Keras InverseTimeDecay; staircase: ⌊e/d⌋); PyTorch has no
                          class for it (LambdaLR)
warmup-cosine             linear warmup η(s + (1 − s)e/W) for e < W, then cosine from η to η_min
                          over the remaining T − W steps, η_min after T (Keras CosineDecay with
                          warmup_target; transformers' get_cosine_schedule_with_warmup when s = 0
                          and η_min = 0)
========================  ================================================================
"""

from __future__ import annotations

import bisect
import math
from fractions import Fraction
from typing import Any

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solvers import surds
from dlsolve.solvers.lr_schedule_kinds import KINDS as KINDS
from dlsolve.solvers.surds import Surd

Value = Fraction | Surd | float
Scalar = Fraction | float


#: The PyTorch (or Keras) class each kind reproduces.
TORCH_CLASS = {
    "step": "torch.optim.lr_scheduler.StepLR",
    "multistep": "torch.optim.lr_scheduler.MultiStepLR",
    "exponential": "torch.optim.lr_scheduler.ExponentialLR",
    "cosine": "torch.optim.lr_scheduler.CosineAnnealingLR",
    "cosine-warm-restarts": "torch.optim.lr_scheduler.CosineAnnealingWarmRestarts",
    "linear": "torch.optim.lr_scheduler.LinearLR",
    "onecycle": "torch.optim.lr_scheduler.OneCycleLR",
    "inverse-time": "keras.optimizers.schedules.InverseTimeDecay (LambdaLR in PyTorch)",
    "warmup-cosine": "keras.optimizers.schedules.CosineDecay with warmup (LambdaLR in PyTorch)",
}


def _exact(*values: Any) -> bool:
    return all(isinstance(v, Fraction | int) and not isinstance(v, bool) for v in values)


def _power(base: Scalar, exponent: int) -> Scalar:
    return base**exponent


def _cosine(low: Scalar, high: Scalar, ratio: Fraction | float) -> Value:
    """``low + (high − low)(1 + cos(π·ratio))/2``, exact when the cosine is."""
    if _exact(low, high) and isinstance(ratio, Fraction):
        cosine = surds.cos_pi(ratio)
        if cosine is not None:
            return cosine.shift(Fraction(1)).scale(Fraction(high - low) / 2).shift(Fraction(low))
    return float(low) + (float(high) - float(low)) * (1 + math.cos(math.pi * float(ratio))) / 2


def _ratio(numerator: Scalar, denominator: Scalar) -> Fraction | float:
    if _exact(numerator, denominator):
        return Fraction(numerator) / Fraction(denominator)
    return float(numerator) / float(denominator)


def simplify(value: Value) -> Value:
    """A :class:`Surd` with no root becomes its Fraction."""
    if isinstance(value, Surd) and value.is_rational:
        return value.rational
    return value


def step_lr(lr: Scalar, epoch: int, step_size: int, gamma: Scalar) -> Value:
    return lr * _power(gamma, epoch // step_size)


def multistep_lr(lr: Scalar, epoch: int, milestones: list[int], gamma: Scalar) -> Value:
    return lr * _power(gamma, bisect.bisect_right(sorted(milestones), epoch))


def exponential_lr(lr: Scalar, epoch: int, gamma: Scalar) -> Value:
    return lr * _power(gamma, epoch)


def cosine_lr(lr: Scalar, epoch: int, t_max: int, eta_min: Scalar) -> Value:
    return _cosine(eta_min, lr, _ratio(epoch, t_max))


def warm_restart_position(epoch: int, t_0: int, t_mult: int) -> tuple[int, int, int]:
    """``(T_cur, T_i, restarts)`` after ``epoch`` plain ``step()`` calls of CosineAnnealingWarmRestarts."""
    t_cur, t_i, restarts = epoch, t_0, 0
    while t_cur >= t_i:
        t_cur -= t_i
        t_i *= t_mult
        restarts += 1
    return t_cur, t_i, restarts


def warm_restarts_lr(lr: Scalar, epoch: int, t_0: int, t_mult: int, eta_min: Scalar) -> Value:
    t_cur, t_i, _ = warm_restart_position(epoch, t_0, t_mult)
    return _cosine(eta_min, lr, Fraction(t_cur, t_i))


def linear_lr(lr: Scalar, epoch: int, start_factor: Scalar, end_factor: Scalar, total_iters: int) -> Value:
    done = min(epoch, total_iters)
    return lr * (start_factor + (end_factor - start_factor) * _ratio(done, total_iters))


def inverse_time_lr(lr: Scalar, epoch: int, decay_rate: Scalar, decay_steps: Scalar, staircase: bool) -> Value:
    progress = _ratio(epoch, decay_steps)
    if staircase:
        progress = math.floor(progress)
    return lr / (1 + decay_rate * progress)


def warmup_cosine_lr(
    lr: Scalar, epoch: int, warmup: int, total_steps: int, warmup_start: Scalar, eta_min: Scalar
) -> Value:
    if epoch < warmup:
        return lr * (warmup_start + (1 - warmup_start) * _ratio(epoch, warmup))
    if epoch >= total_steps:
        return eta_min
    return _cosine(eta_min, lr, _ratio(epoch - warmup, total_steps - warmup))


class OneCycle:
    """OneCycleLR's phases: ``[(end_step, start_lr, end_lr, start_momentum, end_momentum)]``.

    As PyTorch: phase 1 ends at step ``pct_start·total − 1``, (three_phase: phase 2 at
    ``2·pct_start·total − 2``), the last at ``total − 1``; in a phase ``p = (e − start)/(end − start)``.
    """

    def __init__(
        self,
        max_lr: Scalar,
        total_steps: int,
        pct_start: Scalar,
        anneal_strategy: str,
        div_factor: Scalar,
        final_div_factor: Scalar,
        three_phase: bool,
        base_momentum: Scalar,
        max_momentum: Scalar,
    ) -> None:
        self.initial_lr = max_lr / div_factor
        self.min_lr = self.initial_lr / final_div_factor
        self.max_lr = max_lr
        self.anneal_strategy = anneal_strategy
        self.total_steps = total_steps
        first_end = pct_start * total_steps - 1
        if three_phase:
            self.phases = [
                (first_end, self.initial_lr, max_lr, max_momentum, base_momentum),
                (2 * pct_start * total_steps - 2, max_lr, self.initial_lr, base_momentum, max_momentum),
                (total_steps - 1, self.initial_lr, self.min_lr, max_momentum, max_momentum),
            ]
        else:
            self.phases = [
                (first_end, self.initial_lr, max_lr, max_momentum, base_momentum),
                (total_steps - 1, max_lr, self.min_lr, base_momentum, max_momentum),
            ]

    def phase(self, step: int) -> tuple[int, Fraction | float]:
        """The phase index and the fraction ``p`` of it done at ``step`` (PyTorch's loop)."""
        start: Scalar = 0
        for index, (end, *_rest) in enumerate(self.phases):
            if step <= end or index == len(self.phases) - 1:
                if end == start:
                    raise InvalidProblem(
                        f"phase {index + 1} of the cycle has zero length (ends at step {end}): PyTorch's "
                        "OneCycleLR divides by zero (float division by zero); change --pct-start or --total-steps",
                        option="--pct-start",
                    )
                return index, _ratio(step - start, end - start)
            start = end
        raise AssertionError("unreachable")

    def _anneal(self, start: Scalar, end: Scalar, pct: Fraction | float) -> Value:
        if self.anneal_strategy == "cos":
            return _cosine(end, start, pct)
        if isinstance(pct, float):
            return (float(end) - float(start)) * pct + float(start)
        return (end - start) * pct + start

    def lr(self, step: int) -> Value:
        index, pct = self.phase(step)
        _end, start_lr, end_lr, _m0, _m1 = self.phases[index]
        return self._anneal(start_lr, end_lr, pct)

    def momentum(self, step: int) -> Value:
        index, pct = self.phase(step)
        *_lrs, start_momentum, end_momentum = self.phases[index]
        return self._anneal(start_momentum, end_momentum, pct)


def check_rate(value: Scalar, option: str, *, positive: bool = True) -> None:
    if positive and value <= 0:
        raise BadInput(f"expected a learning rate > 0, got {float(value):g}", option=option)
    if not positive and value < 0:
        raise BadInput(f"expected a value >= 0, got {float(value):g}", option=option)
