"""The exam answer key's expected values, recomputed without dlsolve.

problems/midterm.toml states its `expected` values; here they are recomputed by oracles that share no
code with dlsolve: SciPy's correlate2d, NumPy's pseudo-inverse and eigenvalues, a direct simulation
of the optimizers, and PyTorch where it is installed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import correlate2d

KEY = {p["id"]: p for p in tomllib.loads((Path(__file__).parents[1] / "problems/midterm.toml").read_text())["problem"]}


def matrix(text: str) -> np.ndarray:
    return np.array([[float(v) for v in row.split(",")] for row in text.split(";")])


def test_filter_outputs_match_scipy() -> None:
    for part in ("1c", "1g"):
        args = KEY[part]["args"]
        # conv2d's bias (1g) is added to every cell after the cross-correlation
        output = correlate2d(matrix(args["image"]), matrix(args["kernel"]), mode="valid") + args.get("bias", 0)
        assert output.tolist() == KEY[part]["expected"]["output"]


@pytest.mark.torch
def test_1g_zero_input_gives_the_bias_in_torch() -> None:
    torch = pytest.importorskip("torch")
    args, expected = KEY["1g"]["args"], KEY["1g"]["expected"]
    image = torch.tensor(matrix(args["image"]))[None, None]
    kernel = torch.tensor(matrix(args["kernel"]))[None, None]
    bias = torch.tensor([float(args["bias"])], dtype=torch.float64)
    assert torch.nn.functional.conv2d(image, kernel, bias)[0, 0].tolist() == expected["output"]
    assert expected["bias"] == args["bias"]
    # the sheet's claim for layer f of 1(e), ConvTranspose2d(8, 1, 2, stride=2), fed layer e's zeros
    layer_f = torch.nn.ConvTranspose2d(8, 1, 2, stride=2)
    torch.nn.init.constant_(layer_f.bias, float(args["bias"]))
    output = layer_f(torch.zeros(10, 8, 16, 16))
    assert list(output.shape) == [10, 1, 32, 32]
    assert bool((output == 1).all())


def simulate(x: np.ndarray, y: float, precond: str, lr: float, steps: int) -> np.ndarray:
    """Gradient descent on f = (y - x.theta)^2 from 0; 'epoch-rms' rescales by 1/RMS of each coordinate."""
    theta = np.zeros_like(x)
    for _ in range(steps):
        gradient = -2 * (y - x @ theta) * x
        scale = 1 / np.sqrt(gradient**2) if precond == "epoch-rms" else np.ones_like(x)
        theta = theta - lr * scale * gradient
    return theta


def test_implicit_bias_answers_match_simulation() -> None:
    x = np.array([1, 0.1, 0.01])
    plain = simulate(x, 1.0, "identity", 0.4, 2000)
    assert np.allclose(plain, KEY["4-i"]["expected"]["theta"], atol=1e-9)
    assert np.allclose(plain, np.linalg.pinv(x[None, :]) @ [1.0], atol=1e-12)
    # One point per epoch: the epoch's mean squared gradient is that step's squared gradient.
    # A decaying step makes the sign-like iteration settle instead of oscillating.
    theta = np.zeros(3)
    for t in range(20000):
        gradient = -2 * (1 - x @ theta) * x
        if not np.any(gradient):
            break
        theta -= 0.5 / (t + 1) * gradient / np.sqrt(gradient**2)
    assert np.allclose(theta, KEY["4-ii"]["expected"]["theta"], atol=1e-3)
    sheet = np.array([1, 10, 100]) / 3
    assert abs(x @ sheet - 1) < 1e-12  # the sheet's point interpolates too ...
    assert np.linalg.norm(theta - sheet) > 30  # ... but the optimizer does not go there


def test_min_norm_limit_matches_pinv_and_sgd_simulation() -> None:
    args = KEY["5-i"]["args"]
    X, y = matrix(args["x"]), np.array([1.0, 2.0])
    assert np.allclose(np.linalg.pinv(X) @ y, KEY["5-i"]["expected"]["theta"])
    rng = np.random.default_rng(0)
    theta = np.zeros(3)
    for i in rng.choice(2, size=4000, p=[1 / 3, 2 / 3]):
        theta -= 0.1 * -2 * (y[i] - X[i] @ theta) * X[i]
    assert np.allclose(theta, KEY["5-i"]["expected"]["theta"], atol=1e-8)


def test_contraction_constants_match_numpy() -> None:
    X, p = matrix(KEY["5-ii"]["args"]["x"]), np.array([1 / 3, 2 / 3])
    H = (X.T * p) @ X
    eigenvalues = np.linalg.eigvalsh(H)
    nonzero = eigenvalues[eigenvalues > 1e-12]
    lam_min, lam_max, r2 = nonzero.min(), nonzero.max(), max(np.sum(X**2, axis=1))
    eta = lam_min / (2 * lam_max * r2)
    rho = 4 * eta * lam_min - 4 * eta**2 * lam_max * r2
    expected = KEY["5-ii"]["expected"]
    for name, value in {"lambda_min": lam_min, "lambda_max": lam_max, "R2": r2, "eta": eta, "rho": rho}.items():
        assert value == pytest.approx(expected[name], rel=1e-9)
    # and the bound really holds for the expected next loss, for errors in the row space
    for error in np.random.default_rng(1).normal(size=(200, 2)) @ X:
        loss = error @ H @ error
        next_loss = sum(
            p[i] * ((error - eta * 2 * (X[i] @ error) * X[i]) @ H @ (error - eta * 2 * (X[i] @ error) * X[i]))
            for i in range(2)
        )
        assert next_loss <= (1 - rho) * loss + 1e-12


@pytest.mark.torch
def test_conv_shapes_and_params_match_torch() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    for part, kernel, stride, padding in (("1a-i", 3, 1, 0), ("1a-ii", 4, 2, 1)):
        layer = nn.Conv2d(3, 128, kernel, stride=stride, padding=padding)
        assert list(layer(torch.zeros(32, 3, 28, 28)).shape) == KEY[part]["expected"]["shape"]
    encoder_decoder = [
        nn.Conv2d(1, 16, 3, padding=1),
        nn.Conv2d(16, 32, 3, stride=2, padding=1),
        nn.Conv2d(32, 128, 3, stride=2, padding=1),
        nn.ConvTranspose2d(128, 8, 2, stride=2),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ConvTranspose2d(8, 1, 2, stride=2),
    ]
    tensor = torch.zeros(10, 1, 32, 32)
    for layer, expected in zip(encoder_decoder, KEY["1e"]["expected"]["layers"], strict=True):
        tensor = layer(tensor)
        assert list(tensor.shape) == expected["shape"]
        assert sum(p.numel() for p in layer.parameters()) == expected["params"]
    final = nn.Conv2d(24, 1, 3, padding=1)
    assert list(final(torch.zeros(16, 24, 32, 32)).shape) == KEY["1f"]["expected"]["shape"]
    assert sum(p.numel() for p in final.parameters()) == KEY["1f"]["expected"]["params"]
    zero_input = nn.Conv2d(8, 1, 3, padding=1)
    assert torch.allclose(zero_input(torch.zeros(1, 8, 4, 4)), zero_input.bias.detach().expand(1, 1, 4, 4))
