"""Tests of ``sgd-limit``: closed forms against NumPy pinv/lstsq, PyTorch optimizer goldens and simulation."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dlsolve.errors import BadInput
from dlsolve.parsing import Matrix, parse_matrix, parse_preconditioner
from dlsolve.solvers import linalg_exact as la
from dlsolve.solvers.sgd_limit import solve_sgd_limit
from dlsolve.solvers.sgd_limit_simulation import simulate

GOLDENS = json.loads((Path(__file__).parent / "data" / "sgd_goldens.json").read_text())["cases"]
EXAM_X = "1,0.1,0.01"


def solve(x: str, **options: object):
    """Call the solver with text options parsed the way the CLI parses them."""
    precond = parse_preconditioner(str(options.pop("precond", "identity")))
    return solve_sgd_limit(parse_matrix(x, "--x"), precond=precond, **options)


def exact_matrix(rows: list[list[int]]) -> Matrix:
    return Matrix(rows=tuple(tuple(Fraction(v) for v in row) for row in rows))


def fr(values: list) -> list[Fraction]:
    """Exact values; floats are read as their shortest decimal (0.35 is 7/20)."""
    return [Fraction(str(v)) if isinstance(v, float) else Fraction(v) for v in values]


# --------------------------------------------------------------------------- the exam, part 4


def test_exam_4i_plain_sgd_is_min_norm():
    answer = solve(EXAM_X, y=fr([1])).answer
    assert answer["exact"] == ["10000/10101", "1000/10101", "100/10101"]
    assert answer["case"] == "min-norm"
    # oracle: the pseudo-inverse solution x / ||x||^2
    x = np.array([[1, 0.1, 0.01]])
    np.testing.assert_allclose(answer["theta"], (np.linalg.pinv(x) @ [1.0]), rtol=1e-12)


@pytest.mark.parametrize("name", ["epoch-rms", "adagrad", "rmsprop", "adam"])
def test_exam_4ii_adaptive_limit_is_on_the_sign_line(name):
    solution = solve(EXAM_X, y=fr([1]), precond=name)
    assert solution.answer["exact"] == ["100/111"] * 3
    assert solution.answer["direction"] == [1.0, 1.0, 1.0]


def test_exam_4ii_student_answer_is_the_limit_of_inverse_squared_preconditioner():
    """(1/3)[1, 10, 100] is the limit for M = diag(1/x_j^2), not for the 1/sqrt preconditioner."""
    answer = solve(EXAM_X, y=fr([1]), precond="diag:1,100,10000").answer
    assert answer["exact"] == ["1/3", "10/3", "100/3"]
    working = " ".join(step.text for step in solve(EXAM_X, y=fr([1]), precond="epoch-rms").steps)
    assert "diag[1, 10, 100]" in working and "--precond diag:1,100,10000" in working
    assert answer["exact"] != solve(EXAM_X, y=fr([1]), precond="epoch-rms").answer["exact"]


def test_exam_4ii_simulation_of_epoch_rms_reaches_the_closed_form():
    """Independent hand simulation of the exam's rule (M from the epoch's mean squared gradient)."""
    x, theta = np.array([1, 0.1, 0.01]), np.zeros(3)
    for step in range(3000):
        gradient = -2 * (1 - x @ theta) * x
        if not gradient.any():
            break  # landed exactly on the solution
        preconditioner = 1 / np.sqrt(gradient**2)  # mean over an epoch of one point
        theta -= 0.05 * 30 / (30 + step) * preconditioner * gradient
    np.testing.assert_allclose(theta, [100 / 111] * 3, atol=2e-3)
    assert abs(theta[0] - theta[2]) < 1e-12  # never leaves the line c [1, 1, 1]


# --------------------------------------------------------------------------- the working, as a board


def _by_kind(solution, kind):
    return [step for step in solution.steps if step.kind == kind]


def test_setup_says_the_update_and_the_data_once():
    """The update, the loss, X, y, θ_0 and p once: in the display, and once in the plain text."""
    from dlsolve.render import board

    solution = solve("1,0,1;0,1,1", y=fr([1, 2]), p=fr(["1/3", "2/3"]))
    (setup,) = _by_kind(solution, "sgd-limit.setup")
    assert setup.text.count("θ_{t+1}") == 1 and "Update" not in setup.text and "←" not in setup.text
    assert "P(i_t = i) = p_i" in setup.text and "p = [1/3 ≈ 0.333333, 2/3 ≈ 0.666667]" in setup.text
    assert r"X = \begin{bmatrix} 1 & 0 & 1 \\ 0 & 1 & 1 \end{bmatrix}" in setup.latex
    assert r"\nabla f_i(\theta) = -2(y_i - x_i^\top\theta)" in setup.latex
    pieces = board.read(setup)
    # the typeset key: the display, and from the text only what it does not say (X is not typeset twice)
    assert not any(isinstance(piece, board.MatrixPiece) for piece in pieces)
    prose = " ".join(board.plain(piece.parts) for piece in pieces if isinstance(piece, board.Prose))
    assert prose == "Exact rational arithmetic."


def test_setup_display_puts_the_loss_on_its_own_line_after_a_long_update():
    (plain,) = _by_kind(solve("1,0;0,1;1,1", y=fr([1, 1, 3])), "sgd-limit.setup")
    (weighted,) = _by_kind(
        solve("1,0;0,1;1,1", y=fr([1, 1, 3]), p=fr(["1/2", "1/4", "1/4"]), reweight=True), "sgd-limit.setup"
    )
    assert plain.latex.split(" \\\\ ")[0].endswith(r"-2(y_i - x_i^\top\theta)\,x_i")
    first, second = weighted.latex.split(" \\\\ ")[:2]
    assert first.endswith(r"w_i = 1/(n p_i)") and second.startswith(r"f_i(\theta) =")
    assert "w_{i_t} ∇f_{i_t}(θ_t)" in weighted.text and "w_i = 1/(n p_i)" in weighted.text


def test_epoch_rms_setup_writes_the_preconditioner_as_a_formula():
    solution = solve(EXAM_X, y=fr([1]), precond="epoch-rms")
    (setup,) = _by_kind(solution, "sgd-limit.setup")
    assert "M_jj = 1/√(mean_i g_ij²)" in setup.text and "mean over the n points" not in setup.text
    assert r"M_{jj} = 1\big/\sqrt{\operatorname{mean}_i g_{ij}^2}" in setup.latex
    (direction,) = _by_kind(solution, "sgd-limit.preconditioner")
    assert "g_t = c_t u, where c_t is a scalar" in direction.text and "(c_t a scalar)" not in direction.text


def test_constraint_is_one_display_with_k_once():
    solution = solve("1,0,1;0,1,1", y=fr([1, 2]), p=fr(["1/3", "2/3"]))
    (constraint,) = _by_kind(solution, "sgd-limit.constraint")
    assert constraint.text.count("K = X M Xᵀ") == 1
    assert constraint.latex.count("K = X M X^\\top") == 1 and constraint.latex.count("bmatrix}") == 2
    assert r"r_0 = y - X\theta_0 = \left(1, 2\right)^\top" in constraint.latex
    assert r"a = K^{-1} r_0 = \left(0, 1\right)^\top" in constraint.latex
    # one data point: K, r_0 and a are numbers, not 1x1 matrices
    (scalar,) = _by_kind(solve(EXAM_X, y=fr([1])), "sgd-limit.constraint")
    assert "K = X M Xᵀ = 1.0101" in scalar.text and "bmatrix" not in scalar.latex
    assert r"a = K^{-1} r_0 = \tfrac{10000}{10101}" in scalar.latex


def test_limit_step_checks_interpolation_and_writes_theta_on_one_line():
    """The check is the end of the limit step (no step of its own); θ* is a row with ᵀ, not a column."""
    solution = solve("1,0,1;0,1,1", y=fr([1, 2]), p=fr(["1/3", "2/3"]))
    kinds = [step.kind for step in solution.steps]
    assert "sgd-limit.check" not in kinds
    assert kinds == [
        "sgd-limit.setup",
        "sgd-limit.span",
        "sgd-limit.constraint",
        "sgd-limit.limit",
        "sgd-limit.independence",
    ]
    (limit,) = _by_kind(solution, "sgd-limit.limit")
    assert "θ* = θ_0 + M Xᵀ K⁻¹ (y − X θ_0) = [0, 1, 1]; check: X θ* = [1, 2] = y." in limit.text
    assert r"= \left(0, 1, 1\right)^\top" in limit.latex and "bmatrix" not in limit.latex
    assert r"X\theta^* = \left(1, 2\right)^\top = y" in limit.latex
    exam = _by_kind(solve(EXAM_X, y=fr([1])), "sgd-limit.limit")[0]
    assert r"\left(\tfrac{10000}{10101}, \tfrac{1000}{10101}, \tfrac{100}{10101}\right)^\top" in exam.latex
    assert "check: X θ* = 1 = y" in exam.text


def test_cases_without_interpolation_keep_their_check_step():
    solution = solve("1;1;1", y=fr([1, 2, 4]))
    (check,) = _by_kind(solution, "sgd-limit.check")
    assert "not zero: no interpolation" in check.text


# --------------------------------------------------------------------------- torch goldens


def _golden_args(case: dict) -> dict:
    return {
        "y": fr(case["y"]),
        "theta0": fr(case["theta0"]),
        "p": fr(case["p"]) if case.get("p") else None,
        "precond": case["precond"],
    }


def _rows_text(rows: list[list[float]]) -> str:
    return ";".join(",".join(repr(v) for v in row) for row in rows)


@pytest.mark.parametrize("case", GOLDENS, ids=[c["id"] for c in GOLDENS])
def test_closed_form_matches_torch_optimizer_endpoint(case):
    answer = solve(_rows_text(case["x"]), **_golden_args(case)).answer
    assert answer["case"] == "min-norm"
    np.testing.assert_allclose(answer["theta"], case["torch_theta"], atol=2e-3)


@pytest.mark.parametrize("case", GOLDENS, ids=[c["id"] for c in GOLDENS])
def test_numpy_simulator_reproduces_torch(case):
    """Same update rule as torch.optim: equal points after a short run (the schedule is the long run's)."""
    x = np.array(case["x"], dtype=float)
    n = x.shape[0]
    trajectory = simulate(
        x,
        np.array(case["y"], dtype=float),
        np.array(case["theta0"], dtype=float),
        probabilities=np.array(case.get("p") or [1 / n] * n),
        sample_weights=np.ones(n),
        objective_weights=np.ones(n) / n,
        precond="fixed" if case["optimizer"] == "sgd" else case["optimizer"],
        steps=case["steps"],
        lr=case["lr"],
        schedule=case["schedule"],
        seed=case.get("seed", 0),
        stop_after=case["short_steps"],
    )
    np.testing.assert_allclose(trajectory.theta, case["torch_theta_short"], rtol=1e-9, atol=1e-12)


@pytest.mark.torch
def test_live_torch_adam_on_one_point():
    torch = pytest.importorskip("torch")
    x = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
    theta = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=0.05)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 30 / (30 + t))
    for _ in range(3000):
        optimizer.zero_grad()
        ((3.0 - x @ theta) ** 2).backward()
        optimizer.step()
        scheduler.step()
    answer = solve("2,-1,0.5", y=fr([3]), theta0=fr([1, 0, -1]), precond="adam").answer
    # theta_0 + c sign(x), c = (3 - x.theta_0) / ||x||_1 = (3 - 1.5) / 3.5 = 3/7, sign(x) = (1, -1, 1)
    assert answer["exact"] == ["10/7", "-3/7", "-4/7"]
    np.testing.assert_allclose(answer["theta"], theta.detach().numpy(), atol=1e-3)


# --------------------------------------------------------------------------- closed forms vs NumPy


small_int = st.integers(-4, 4)


@st.composite
def underdetermined(draw):
    n = draw(st.integers(1, 3))
    d = draw(st.integers(n + 1, 5))
    rows = draw(st.lists(st.lists(small_int, min_size=d, max_size=d), min_size=n, max_size=n))
    if any(not any(row) for row in rows):
        rows = [[v or 1 for v in row] for row in rows]
    theta_star = draw(st.lists(small_int, min_size=d, max_size=d))
    y = [sum(a * b for a, b in zip(row, theta_star, strict=True)) for row in rows]  # consistent
    theta0 = draw(st.lists(small_int, min_size=d, max_size=d))
    weights = draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    p = [Fraction(w, sum(weights)) for w in weights]
    return rows, y, theta0, p


def _oracle_min_norm(rows, y, theta0, m):
    x, y, theta0 = np.array(rows, float), np.array(y, float), np.array(theta0, float)
    return theta0 + m @ x.T @ np.linalg.pinv(x @ m @ x.T) @ (y - x @ theta0)


@given(underdetermined(), st.sampled_from(["identity", "diag", "matrix"]), st.lists(st.integers(1, 4), min_size=5))
def test_min_norm_matches_pinv_formula_for_any_p(problem, kind, entries):
    rows, y, theta0, p = problem
    d = len(theta0)
    if kind == "identity":
        m, precond = np.eye(d), parse_preconditioner("identity")
    elif kind == "diag":
        m = np.diag(entries[:d])
        precond = parse_preconditioner("diag:" + ",".join(map(str, entries[:d])))
    else:
        a = np.array([[(i * 7 + j * 3 + entries[(i + j) % len(entries)]) % 5 - 2 for j in range(d)] for i in range(d)])
        m = a @ a.T + np.eye(d)
        precond = parse_preconditioner(";".join(",".join(str(int(v)) for v in row) for row in m))
    answer = solve_sgd_limit(exact_matrix(rows), y=fr(y), theta0=fr(theta0), p=p, precond=precond).answer
    assert answer["case"] == "min-norm"
    np.testing.assert_allclose(answer["theta"], _oracle_min_norm(rows, y, theta0, m), atol=1e-9)
    assert all(Fraction(r) == 0 for r in answer["residual"])


@given(underdetermined())
def test_min_norm_minimises_the_distance_among_solutions(problem):
    """Any other interpolating point theta* + z (X z = 0) is at least as far from theta_0."""
    rows, y, theta0, _ = problem
    answer = solve_sgd_limit(exact_matrix(rows), y=fr(y), theta0=fr(theta0)).answer
    theta = np.array([float(Fraction(v)) for v in answer["exact"]])
    null_space = np.linalg.svd(np.array(rows, float))[2][np.linalg.matrix_rank(np.array(rows, float)) :]
    for z in null_space:
        assert np.linalg.norm(theta + 0.3 * z - theta0) >= np.linalg.norm(theta - theta0) - 1e-9


def test_rank_deficient_consistent_uses_pseudo_inverse():
    solution = solve("1,1,0;2,2,0", y=fr([1, 2]), theta0=fr([0, 0, 5]))
    assert solution.answer["exact"] == ["0.5", "0.5", "5"]
    assert any("pseudo-inverse" in step.text for step in solution.steps)


def test_inconsistent_uniform_is_ordinary_least_squares():
    rows, y = [[1, 0], [0, 1], [1, 1]], [1, 1, 3]
    answer = solve("1,0;0,1;1,1", y=fr(y)).answer
    assert answer["case"] == "least-squares"
    assert answer["converges_with_constant_step"] is False
    np.testing.assert_allclose(answer["theta"], np.linalg.lstsq(np.array(rows, float), y, rcond=None)[0], atol=1e-12)
    assert answer["exact"] == ["4/3", "4/3"]


def test_inconsistent_non_uniform_p_is_weighted_and_reweight_gives_ols():
    rows, y, p = np.array([[1.0, 0], [0, 1], [1, 1]]), np.array([1.0, 1, 3]), np.array([0.5, 0.25, 0.25])
    weighted = solve("1,0;0,1;1,1", y=fr([1, 1, 3]), p=fr(["1/2", "1/4", "1/4"])).answer
    assert weighted["case"] == "weighted-least-squares"
    scale = np.sqrt(p)[:, None]
    expected = np.linalg.lstsq(rows * scale, y * scale[:, 0], rcond=None)[0]
    np.testing.assert_allclose(weighted["theta"], expected, atol=1e-12)
    ols = solve("1,0;0,1;1,1", y=fr([1, 1, 3]), p=fr(["1/2", "1/4", "1/4"]), reweight=True).answer
    assert ols["case"] == "least-squares"
    np.testing.assert_allclose(ols["theta"], np.linalg.lstsq(rows, y, rcond=None)[0], atol=1e-12)


def test_rank_deficient_inconsistent_picks_nearest_to_theta0():
    # rows (1,1) twice with different targets: LS solutions theta_1 + theta_2 = 2, nearest to (3, 0) is (2.5, -0.5)
    answer = solve("1,1;1,1", y=fr([1, 3]), theta0=fr([3, 0])).answer
    assert answer["exact"] == ["2.5", "-0.5"]
    x, y, theta0 = np.array([[1.0, 1], [1, 1]]), np.array([1.0, 3]), np.array([3.0, 0])
    np.testing.assert_allclose(answer["theta"], theta0 + np.linalg.pinv(x) @ (y - x @ theta0), atol=1e-12)


@given(st.lists(st.lists(small_int, min_size=3, max_size=3), min_size=1, max_size=4), st.integers(1, 6))
def test_ridge_matches_solve_and_ignores_theta0(rows, decay_twice):
    rows = [[v or 1 for v in row] for row in rows]
    n = len(rows)
    y = list(range(1, n + 1))
    decay = Fraction(decay_twice, 2)
    first = solve_sgd_limit(exact_matrix(rows), y=fr(y), weight_decay=decay, full_batch=True).answer
    second = solve_sgd_limit(exact_matrix(rows), y=fr(y), theta0=fr([5, -1, 2]), weight_decay=decay).answer
    x = np.array(rows, float)
    expected = np.linalg.solve(x.T @ x / n + float(decay) / 2 * np.eye(3), x.T @ np.array(y, float) / n)
    assert first["case"] == second["case"] == "ridge"
    np.testing.assert_allclose(first["theta"], expected, atol=1e-10)
    assert first["exact"] == second["exact"]


# --------------------------------------------------------------------------- confirmed by simulation


@given(underdetermined(), st.sampled_from(["identity", "diag:1,2,3,1,2", "diag:3,1,1,2,1"]), st.integers(0, 9))
def test_closed_form_confirmed_by_sgd_simulation(problem, precond, seed):
    rows, y, theta0, p = problem
    d = len(theta0)
    if precond.startswith("diag"):
        precond = "diag:" + ",".join(precond[5:].split(",")[:d])
    # Well conditioned as SGD sees it (sampling weights and preconditioner included), so that 1000
    # steps converge: the singular values of diag(sqrt p) X M^(1/2), not of X alone.
    m_root = np.sqrt([float(v) for v in precond[5:].split(",")]) if precond.startswith("diag") else np.ones(d)
    weighted = np.sqrt([float(v) for v in p])[:, None] * np.array(rows, dtype=float) * m_root
    singular_values = np.linalg.svd(weighted, compute_uv=False)
    assume(singular_values[-1] > 0.2 * singular_values[0])
    solution = solve_sgd_limit(
        exact_matrix(rows),
        y=fr(y),
        theta0=fr(theta0),
        p=p,
        precond=parse_preconditioner(precond),
        simulate=True,
        steps=1000,
        seed=seed,
    )
    simulation = solution.answer["simulation"]
    assert simulation["schedule"] == "constant"
    # the implicit bias: theta_T - theta_0 lies in M rowspace(X) (exactly, up to rounding) ...
    x = np.array(rows, dtype=float)
    m = np.diag([float(v) for v in precond[5:].split(",")]) if precond.startswith("diag") else np.eye(d)
    moved = np.linalg.solve(m, np.array(simulation["theta"]) - np.array(theta0, dtype=float))
    in_row_space = x.T @ np.linalg.lstsq(x.T, moved, rcond=None)[0]
    np.testing.assert_allclose(moved, in_row_space, atol=1e-8)
    # ... and the iterates approach the closed form (slowly when the rows are nearly parallel)
    np.testing.assert_allclose(simulation["theta"], solution.answer["theta"], atol=1e-2)


def test_full_matrix_preconditioner_confirmed_by_simulation():
    solution = solve(
        "1,2,0,1;0,1,1,-1", y=fr([1, 2]), theta0=fr([1, 0, 0, 1]), precond="2,1,0,0;1,2,0,0;0,0,1,0;0,0,0,3"
    )
    x, m = (
        np.array([[1.0, 2, 0, 1], [0, 1, 1, -1]]),
        np.array([[2.0, 1, 0, 0], [1, 2, 0, 0], [0, 0, 1, 0], [0, 0, 0, 3]]),
    )
    expected = _oracle_min_norm(x, [1, 2], [1, 0, 0, 1], m)
    np.testing.assert_allclose(solution.answer["theta"], expected, atol=1e-12)
    simulated = solve(
        "1,2,0,1;0,1,1,-1",
        y=fr([1, 2]),
        theta0=fr([1, 0, 0, 1]),
        precond="2,1,0,0;1,2,0,0;0,0,1,0;0,0,0,3",
        p=fr(["0.8", "0.2"]),
        simulate=True,
        steps=3000,
    )
    np.testing.assert_allclose(simulated.answer["simulation"]["theta"], expected, atol=1e-6)


def test_full_batch_inconsistent_simulation_reaches_ols():
    solution = solve("1,0;0,1;1,1", y=fr([1, 1, 3]), full_batch=True, simulate=True, steps=500)
    assert solution.answer["converges_with_constant_step"] is True
    np.testing.assert_allclose(solution.answer["simulation"]["theta"], [4 / 3, 4 / 3], atol=1e-9)


def test_decaying_sgd_simulation_approaches_weighted_least_squares():
    solution = solve(
        "1,0;0,1;1,1", y=fr([1, 1, 3]), p=fr(["1/2", "1/4", "1/4"]), simulate=True, steps=40000, lr=Fraction(1, 4)
    )
    assert solution.answer["simulation"]["schedule"] == "decay"
    np.testing.assert_allclose(solution.answer["simulation"]["theta"], solution.answer["theta"], atol=0.03)


def test_constant_step_sgd_on_inconsistent_system_keeps_moving():
    solution = solve("1,0;0,1;1,1", y=fr([1, 1, 3]), simulate=True, steps=2000, schedule="constant", lr=Fraction(1, 8))
    assert solution.answer["simulation"]["distance"] > 1e-3  # the noise floor


def test_adaptive_on_several_independent_points_is_a_labelled_simulation():
    solution = solve("1,0;0,1", y=fr([1, 2]), precond="adagrad", steps=500)
    assert solution.answer["case"] == "simulation"
    assert solution.answer["exact"] is None
    assert "no closed form" in solution.summary
    np.testing.assert_allclose(solution.answer["theta"], [1, 2], atol=1e-3)  # adagrad still interpolates here


def test_adaptive_parallel_rows_closed_form():
    answer = solve("1,-2;2,-4", y=fr([3, 6]), precond="rmsprop").answer
    # direction sign(u) = (1, -1); 3 = (1, -2).(c, -c) = 3c
    assert answer["exact"] == ["1", "-1"]


# --------------------------------------------------------------------------- float and large paths


def test_large_npy_path_matches_lstsq(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 200))
    y = rng.standard_normal(60)
    path = tmp_path / "X.npy"
    np.save(path, x)
    answer = solve("@" + str(path), y=[Fraction(v) for v in y]).answer
    assert answer["exact"] is None and answer["case"] == "min-norm"
    np.testing.assert_allclose(answer["theta"], np.linalg.lstsq(x, y, rcond=None)[0], atol=1e-9)


def test_float_path_agrees_with_exact_path(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, np.array([[1.0, 2.0, 0.5], [0.0, 1.0, -1.0]]))
    exact = solve("1,2,0.5;0,1,-1", y=fr([1, 2]), precond="diag:1,2,4").answer
    floats = solve("@" + str(path), y=fr([1, 2]), precond="diag:1,2,4").answer
    assert floats["exact"] is None
    np.testing.assert_allclose(floats["theta"], exact["theta"], atol=1e-12)
    inconsistent = solve("@" + str(path), y=fr([1, 2]), weight_decay=Fraction(1)).answer
    assert inconsistent["case"] == "ridge"


def test_linalg_exact_pinv_matches_numpy():
    rows = la.to_fractions([[1, 2, 3], [2, 4, 6], [1, 0, 1]])
    np.testing.assert_allclose(
        np.array(la.pinv(rows), dtype=float), np.linalg.pinv(np.array(rows, dtype=float)), atol=1e-12
    )
    assert la.rank(rows) == 2
    assert la.is_positive_definite(la.to_fractions([[2, 1], [1, 2]]))
    assert not la.is_positive_definite(la.to_fractions([[1, 2], [2, 1]]))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"x": "1,2;3,4", "y": fr([1])}, "--y"),
        ({"x": "1,2", "theta0": fr([1, 2, 3])}, "--theta0"),
        ({"x": "1,2;3,4", "p": fr(["0.5", "0.6"])}, "--p"),
        ({"x": "1,2;3,4", "p": fr(["1.5", "-0.5"])}, "--p"),
        ({"x": "1,2", "precond": "1,2;2,1"}, "--precond"),
        ({"x": "1,2", "precond": "1,2;3,4"}, "--precond"),
        ({"x": "1,2", "precond": "diag:1,0"}, "--precond"),
        ({"x": "1,2", "precond": "diag:1,2,3"}, "--precond"),
        ({"x": "1,2", "weight_decay": Fraction(-1)}, "--weight-decay"),
    ],
)
def test_bad_input_names_the_option(options, option):
    x = options.pop("x")
    with pytest.raises(BadInput) as error:
        solve(x, **options)
    assert error.value.option == option


# --------------------------------------------------------------------------- CLI


def test_cli_exam_json_and_quiet(cli):
    result = cli("sgd-limit", "--x", EXAM_X, "--y", "1", "--precond", "epoch-rms", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["answer"]["exact"] == ["100/111"] * 3
    quiet = cli("sgd-limit", "--x", EXAM_X, "-q")
    assert quiet.stdout.startswith("theta = [10000/10101")


def test_cli_default_y_is_a_warning_and_simulate_plots(cli):
    result = cli("sgd-limit", "--x", EXAM_X, "--simulate", "--steps", "300", "--json")
    data = result.json()
    assert any("--y" in warning for warning in data["warnings"])
    plots = [block for step in data["steps"] for block in step["blocks"] if block["type"] == "plot"]
    assert plots and len(plots[0]["series"]) == 2


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--x", "1,2;3,4", "--y", "1"], 2),
        (["--x", "1,2", "--precond", "1,2;2,1"], 2),
        (["--x", "1,2;1,2", "--p", "0.5,0.6"], 2),
        (["--x", "1,2", "--precond", "nonsense"], 2),
        (["--x", "1,2", "--steps", "0", "--simulate"], 2),
        (["--x", "1,2", "--simulate", "--lr", "100", "--schedule", "constant"], 1),
        (["--x", "1e999,1"], 2),
        (["--x", "1e-140,1e-140", "--y", "1e140", "--weight-decay", "1e-149"], 0),
        (["--x", "1,2", "--simulate", "--steps", "1e9"], 2),
    ],
)
def test_cli_exit_codes(cli, args, code):
    result = cli("sgd-limit", *args)
    assert result.exit_code == code, result.stderr
    assert "Traceback" not in result.stderr


def test_cli_help_has_a_runnable_example(cli):
    result = cli("sgd-limit", "--help")
    assert "dlsolve sgd-limit --x" in result.stdout


def test_cli_all_output_modes(cli):
    for mode in ("--latex", "--markdown", "-q"):
        result = cli("sgd-limit", "--x", "1,1,0;0,1,1", "--y", "1,2", mode)
        assert result.exit_code == 0 and result.stdout.strip()


text = st.text(alphabet=st.sampled_from(list("0123456789,;.-/* e[]abdgi:x")), max_size=16)


@given(
    st.sampled_from(
        ["--x", "--y", "--theta0", "--p", "--precond", "--weight-decay", "--steps", "--lr", "--seed", "--schedule"]
    ),
    text,
)
def test_cli_fuzz_never_crashes(option, value):
    from tests.conftest import run_cli

    base = {"--x": "1,0.5;0,1", "--y": "1,2"}
    base[option] = value
    args = [item for pair in base.items() for item in pair]
    if option in ("--steps", "--lr", "--seed", "--schedule"):
        args += ["--simulate"] + (["--steps", "50"] if option != "--steps" else [])
    result = run_cli("sgd-limit", *args, "--json")
    assert result.exit_code in (0, 1, 2), result.stdout
    json.loads(result.stdout)


@pytest.mark.parametrize(("n", "d"), [(20, 30), (30, 6), (16, 16)])
def test_many_rows_exact_basis_path_matches_lstsq(n, d):
    rng = np.random.default_rng(n + d)
    rows = rng.integers(-3, 4, size=(n, d))
    rows[rows.sum(axis=1) == 0, 0] += 1  # no zero rows
    rows[np.all(rows == 0, axis=1), 0] = 1
    y = rng.integers(-3, 4, size=n)
    answer = solve_sgd_limit(exact_matrix(rows.tolist()), y=fr(y.tolist())).answer
    assert answer["exact"] is not None
    expected = np.linalg.lstsq(rows.astype(float), y.astype(float), rcond=None)[0]
    np.testing.assert_allclose(answer["theta"], expected, atol=1e-9)
    assert answer["case"] == ("min-norm" if n <= d else "least-squares")  # random square X is invertible


def test_big_exact_input_falls_back_to_float64_with_a_warning():
    rows = [[(i * j) % 7 + 1 for j in range(80)] for i in range(60)]
    solution = solve_sgd_limit(exact_matrix(rows), y=fr([1] * 60))
    assert solution.answer["exact"] is None
    assert any("float64" in warning for warning in solution.warnings)


def test_noise_floor_matches_constant_step_simulation():
    """Excess loss of constant-step SGD on an inconsistent system ~ (eta/4) E[g^T M g] for small eta."""
    answer = solve("1,0;0,1;1,1", y=fr([1, 1, 3]), precond="diag:1,2").answer
    x, y, m = np.array([[1.0, 0], [0, 1], [1, 1]]), np.array([1.0, 1, 3]), np.array([1.0, 2.0])
    best = np.array(answer["theta"])
    excess = lambda theta: np.mean((y - x @ theta) ** 2) - np.mean((y - x @ best) ** 2)  # noqa: E731
    rng, theta, eta, total = np.random.default_rng(1), best.copy(), 0.01, 0.0
    draws = rng.integers(0, 3, size=60000)
    for step, i in enumerate(draws):
        theta -= eta * m * (-2 * (y[i] - x[i] @ theta) * x[i])
        if step >= 10000:
            total += excess(theta)
    assert total / 50000 == pytest.approx(eta / 4 * answer["gradient_noise"], rel=0.15)


int_matrix = st.integers(1, 4).flatmap(
    lambda rows: st.integers(1, 4).flatmap(
        lambda cols: st.lists(st.lists(small_int, min_size=cols, max_size=cols), min_size=rows, max_size=rows)
    )
)


@given(int_matrix)
def test_linalg_exact_against_numpy(rows):
    exact = la.to_fractions(rows)
    array = np.array(rows, dtype=float)
    np.testing.assert_allclose(np.array(la.pinv(exact), dtype=float), np.linalg.pinv(array), atol=1e-9)
    assert la.rank(exact) == np.linalg.matrix_rank(array)
    square = la.matmul(la.transpose(exact), exact)  # A^T A + I is SPD, A^T A - I usually not
    shifted = [[v + (i == j) for j, v in enumerate(row)] for i, row in enumerate(square)]
    assert la.is_positive_definite(shifted)
    lowered = [[v - (i == j) for j, v in enumerate(row)] for i, row in enumerate(square)]
    assert la.is_positive_definite(lowered) == bool(np.linalg.eigvalsh(np.array(lowered, dtype=float)).min() > 1e-9)
    rhs = la.matvec(exact, [Fraction(j + 1) for j in range(len(rows[0]))])
    solution = la.solve(exact, rhs)
    assert solution is not None and la.matvec(exact, solution) == rhs


@pytest.mark.parametrize("exact", [True, False])
@pytest.mark.parametrize("y_zero_row", ["0", "3"])
def test_all_zero_rows_are_answered_with_a_warning(exact, y_zero_row):
    """A row of zeros is legitimate data (constant loss, zero gradient): answered, with a warning.

    Oracle: NumPy's pseudo-inverse, pinv(X) y (min-norm interpolant, or the least-squares solution when
    the zero row's target is not 0: its term (y_i - 0)^2 is a constant)."""
    rows = [[1, 2, 0], [0, 0, 0], [2, 1, 1]]
    y = [1, y_zero_row, 2]
    text = ";".join(",".join(str(v) for v in row) for row in rows)
    x = parse_matrix(text, "--x") if exact else Matrix(array=np.array(rows, dtype=float))
    solution = solve_sgd_limit(x, y=fr(y), full_batch=True)
    expected = np.linalg.pinv(np.array(rows, dtype=float)) @ np.array([float(v) for v in y])
    assert np.allclose(solution.answer["theta"], expected, atol=1e-12)
    assert any("row(s) 2 of X are all zeros" in w for w in solution.warnings)
    assert solution.answer["case"] == ("min-norm" if y_zero_row == "0" else "least-squares")
    assert (solution.answer["exact"] is not None) == exact
    assert solution.steps  # the working builds too
