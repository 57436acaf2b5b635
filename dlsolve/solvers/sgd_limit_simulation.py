"""NumPy simulation of (preconditioned, adaptive) SGD on least squares, for ``sgd-limit``.

Conventions (the same as :mod:`dlsolve.solvers.sgd_limit`): rows ``x_i`` of ``X``, targets ``y``,
``f_i(theta) = (y_i - x_i^T theta)^2``, so ``grad f_i = -2 (y_i - x_i^T theta) x_i``. At step ``t``
a point ``i`` is drawn with probability ``p_i`` and the stochastic gradient is
``g = w_i grad f_i(theta) + lambda theta`` (``w_i = 1/(n p_i)`` with reweighting, else 1; ``lambda``
the weight decay, added to the gradient as ``torch.optim`` does). With ``full_batch`` the gradient
is that of the mean loss, ``(1/n) sum_i grad f_i + lambda theta``.

Update rules (``eta_t`` the step size of step ``t``; the adaptive ones match ``torch.optim`` with
default hyper-parameters, no momentum for RMSprop):

* fixed ``M``: ``theta <- theta - eta_t M g``;
* ``adagrad``: ``G <- G + g^2``, ``theta <- theta - eta_t g / (sqrt(G) + 1e-10)``;
* ``rmsprop``: ``v <- 0.99 v + 0.01 g^2``, ``theta <- theta - eta_t g / (sqrt(v) + 1e-8)``;
* ``adam``: ``m <- 0.9 m + 0.1 g``, ``v <- 0.999 v + 0.001 g^2``,
  ``theta <- theta - eta_t (m / (1 - 0.9^t)) / (sqrt(v / (1 - 0.999^t)) + 1e-8)``;
* ``epoch-rms``: an epoch is ``n`` steps (one full-batch step with ``full_batch``). At the start of
  every epoch ``M = diag(1 / sqrt(mean_i g_i(theta)_j^2))`` over the gradients of all points at the
  current ``theta`` (0 where that mean is 0: the coordinate's gradient is 0); it stays fixed during
  the epoch. With one data point this is sign descent: ``theta <- theta - eta sign(g)``.

Step sizes: ``constant`` (``eta_t = eta``) or ``decay`` (``eta_t = eta tau / (tau + t)`` with
``tau = max(1, steps / 100)``), which makes the noise of SGD and the oscillation of normalised
methods die out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass
class SimulationSettings:
    """How ``sgd-limit`` runs the simulation: number of steps, step size, schedule and seed."""

    steps: int
    lr: float
    schedule: str
    seed: int


#: ``torch.optim`` default hyper-parameters.
ADAGRAD_EPS = 1e-10
RMSPROP_ALPHA, RMSPROP_EPS = 0.99, 1e-8
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
#: Number of recorded points of the loss and distance curves.
RECORDED_POINTS = 200


@dataclass
class Trajectory:
    """The endpoint of a simulation and the sampled curves of loss and distance to a target."""

    theta: np.ndarray
    recorded_steps: list[int]
    losses: list[float]
    distances: list[float]


def decay_factor(step: int, steps: int) -> float:
    """``tau / (tau + step)`` with ``tau = max(1, steps / 100)`` (the ``decay`` schedule)."""
    tau = max(1.0, steps / 100)
    return tau / (tau + step)


def objective(x: np.ndarray, y: np.ndarray, weights: np.ndarray, weight_decay: float, theta: np.ndarray) -> float:
    """``F(theta) = sum_i c_i (y_i - x_i^T theta)^2 + (lambda / 2) ||theta||^2`` (``c = weights``)."""
    residual = y - x @ theta
    return float(weights @ residual**2 + 0.5 * weight_decay * theta @ theta)


def simulate(
    x: np.ndarray,
    y: np.ndarray,
    theta0: np.ndarray,
    *,
    probabilities: np.ndarray,
    sample_weights: np.ndarray,
    objective_weights: np.ndarray,
    precond: str,
    matrix: np.ndarray | None = None,
    weight_decay: float = 0.0,
    full_batch: bool = False,
    steps: int = 1000,
    lr: float = 0.1,
    schedule: str = "constant",
    seed: int = 0,
    target: np.ndarray | None = None,
    stop_after: int | None = None,
) -> Trajectory:
    """Run ``steps`` updates from ``theta0`` and record loss and distance to ``target``.

    ``precond`` is ``fixed`` (use ``matrix``; None means the identity) or an adaptive name;
    ``sample_weights`` are the ``w_i``; ``objective_weights`` the ``c_i`` of the recorded loss.
    ``stop_after`` ends the run early (the schedule still uses ``steps``). A diverging run stops
    at the first non-finite value.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    n, d = x.shape
    theta = theta0.astype(np.float64, copy=True)
    draws = np.zeros(steps, dtype=np.int64) if full_batch else rng.choice(n, size=steps, p=probabilities)
    first = np.zeros(d)
    second = np.zeros(d)
    epoch_scale = np.ones(d)
    epoch_length = 1 if full_batch else n
    record_every = max(1, steps // RECORDED_POINTS)
    recorded_steps: list[int] = []
    losses: list[float] = []
    distances: list[float] = []

    def record(step: int) -> None:
        recorded_steps.append(step)
        losses.append(objective(x, y, objective_weights, weight_decay, theta))
        distances.append(float(np.linalg.norm(theta - target)) if target is not None else float("nan"))

    def gradient(index: int) -> np.ndarray:
        if full_batch:
            return -2.0 * (x.T @ (y - x @ theta)) / n + weight_decay * theta
        row = x[index]
        return -2.0 * sample_weights[index] * (y[index] - row @ theta) * row + weight_decay * theta

    last = steps if stop_after is None else min(steps, stop_after)
    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(last):
            if step % record_every == 0:
                record(step)
            eta = lr * (decay_factor(step, steps) if schedule == "decay" else 1.0)
            if precond == "epoch-rms" and step % epoch_length == 0:
                point_weights = np.ones(n) if full_batch else sample_weights
                per_point = -2.0 * (point_weights * (y - x @ theta))[:, None] * x + weight_decay * theta
                root_mean_square = np.sqrt(np.mean(per_point**2, axis=0))
                epoch_scale = np.divide(1.0, root_mean_square, out=np.zeros(d), where=root_mean_square > 0)
            grad = gradient(int(draws[step]))
            if precond == "fixed":
                theta -= eta * (grad if matrix is None else matrix @ grad)
            elif precond == "adagrad":
                second += grad**2
                theta -= eta * grad / (np.sqrt(second) + ADAGRAD_EPS)
            elif precond == "rmsprop":
                second = RMSPROP_ALPHA * second + (1 - RMSPROP_ALPHA) * grad**2
                theta -= eta * grad / (np.sqrt(second) + RMSPROP_EPS)
            elif precond == "adam":
                first = ADAM_BETA1 * first + (1 - ADAM_BETA1) * grad
                second = ADAM_BETA2 * second + (1 - ADAM_BETA2) * grad**2
                corrected_second = np.sqrt(second / (1 - ADAM_BETA2 ** (step + 1)))
                theta -= eta * (first / (1 - ADAM_BETA1 ** (step + 1))) / (corrected_second + ADAM_EPS)
            elif precond == "epoch-rms":
                theta -= eta * epoch_scale * grad
            else:
                raise ValueError(f"unknown preconditioner {precond!r}")
            if not np.all(np.isfinite(theta)):
                break
    with np.errstate(over="ignore", invalid="ignore"):
        record(last)
    return Trajectory(theta, recorded_steps, losses, distances)
