"""convergence-bound: hand-worked tables, torch/SciPy goldens, live torch, Hypothesis properties, CLI, fuzz."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from dlsolve.errors import BadInput
from dlsolve.parsing import Matrix, parse_matrix
from dlsolve.solution import Step
from dlsolve.solvers.convergence import solve_convergence_bound, solve_symbolic
from dlsolve.step_kinds import all_kinds

GOLDENS = json.loads((Path(__file__).parent / "data" / "convergence_goldens.json").read_text())["cases"]


def solve(x: str, **options):
    return solve_convergence_bound(parse_matrix(x, "--x"), **options)


def matrix_text(rows) -> str:
    return ";".join(",".join(str(v) for v in row) for row in rows)


# --------------------------------------------------------------------------- worked by hand

# X = [[1,0,0],[0,2,0]], p uniform: H = diag(1/2, 2, 0); eta* = (1/2)/(2*2*4) = 1/32, rho* = (1/4)/8.
# Exact: point 1 scales e1 by 1 - 2 eta, point 2 scales e2 by 1 - 8 eta; factor = (1 + (1 - 2 eta)^2)/2
# = 481/512 at 1/32; min over eta where |1 - 2 eta| = |1 - 8 eta|: eta = 1/5, factor 0.68.
# X = [[1,1,0],[0,1,1]]: X X^T = [[2,1],[1,2]] (eigenvalues 3, 1) so H has 3/2, 1/2; R^2 = 2.
# One point x = [3, 4]: lambda = R^2 = 25, eta* = 1/50, rho* = 1: one step solves exactly.
HAND = [
    (
        "1,0,0;0,2,0",
        {},
        {
            "lambda_min": 0.5,
            "lambda_max": 2,
            "R2": 4,
            "beta": 8,
            "eta": 1 / 32,
            "rho": 1 / 32,
            "bound_factor": 31 / 32,
            "exact_factor": 481 / 512,
            "eta_exact_best": 0.2,
            "exact_factor_best": 0.68,
            "kaczmarz_rate": 0.8,
        },
    ),
    ("1,1,0;0,1,1", {}, {"lambda_min": 0.5, "lambda_max": 1.5, "R2": 2, "eta": 1 / 12, "rho": 1 / 12}),
    ("1,1,0;0,1,1", {"half": True}, {"eta": 1 / 6, "rho": 1 / 12, "eta_max": 1 / 3}),
    ("1,1,0;0,1,1", {"eta": Fraction(1, 10)}, {"rho": 4 / 10 * 0.5 - 4 / 100 * 3, "eta": 0.1}),
    ("3,4", {}, {"lambda_min": 25, "R2": 25, "eta": 1 / 50, "rho": 1, "bound_factor": 0, "exact_factor": 0}),
    ("3,4", {"eps": Fraction(1, 1000)}, {"steps_to_eps": 1, "steps_to_eps_exact": 1}),
    ("1,0,0;0,2,0", {"eps": Fraction(1, 1000)}, {"steps_to_eps": 218, "steps_to_eps_exact": 111}),
    # importance: p = (1/5, 4/5), H = diag(1/5, 16/5)
    ("1,0,0;0,2,0", {"p": "importance"}, {"lambda_min": 0.2, "lambda_max": 3.2, "beta": 12.8}),
]


@pytest.mark.parametrize(("x", "options", "expected"), HAND)
def test_hand_worked(x, options, expected):
    answer = solve(x, **options).answer
    for key, value in expected.items():
        assert answer[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_exact_values_stay_exact():
    answer = solve("1,0,0;0,2,0").answer
    assert answer["exact"]["exact_factor"] == "481/512"
    assert answer["exact"]["bound_factor"] == "0.96875"
    assert answer["exact"]["lambda_min"] == "0.5"


def test_irrational_eigenvalues_fall_back_to_float():
    answer = solve("2,1;1,3;0,1;1,1").answer
    assert "lambda_min" not in answer["exact"]
    assert answer["exact"]["R2"] == "10"


def test_lambda_min_is_smallest_nonzero_eigenvalue_when_d_exceeds_n():
    # d = 3 > n = 2: H is singular, 0 is an eigenvalue but lambda_min must be 1/2
    answer = solve("1,1,0;0,1,1").answer
    assert answer["rank"] == 2
    assert answer["lambda_min"] == pytest.approx(0.5)


def test_comparison_has_both_schemes_and_given_p():
    answer = solve("1,0,0;0,2,0", p=[Fraction(1, 4), Fraction(3, 4)]).answer
    assert set(answer["comparison"]) == {"given", "uniform", "importance"}
    assert answer["comparison"]["given"]["lambda_min"] == pytest.approx(0.25)


def test_unnormalised_probabilities_are_normalised_with_a_warning():
    solution = solve("1,0,0;0,2,0", p=[Fraction(1), Fraction(3)])
    assert solution.answer["p"] == [0.25, 0.75]
    assert any("normalised" in w for w in solution.warnings)


# --------------------------------------------------------------------------- goldens (torch autograd + SciPy)


@pytest.mark.parametrize("case", GOLDENS, ids=[f"golden{i}" for i in range(len(GOLDENS))])
def test_goldens(case):
    p = case["p"] if isinstance(case["p"], str) else [Fraction(v) for v in case["p"]]
    eta = Fraction(case["eta"]) if case["eta"] else None
    answer = solve(matrix_text(case["x"]), p=p, eta=eta, half=case["half"]).answer
    for key in ("lambda_min", "lambda_max", "R2", "beta", "exact_factor"):
        assert answer[key] == pytest.approx(case[key], rel=1e-7, abs=1e-12), key
    assert answer["eta"] == pytest.approx(case["eta_value"], rel=1e-9)
    # the golden minimum (SciPy, bounded Brent) is an upper bound of the true minimum
    assert answer["exact_factor_best"] <= case["exact_factor_best"] + 1e-9
    assert answer["exact_factor_best"] == pytest.approx(case["exact_factor_best"], rel=1e-6, abs=1e-12)


@pytest.mark.torch
def test_live_torch_one_step_expectation():
    """One real SGD step per point with autograd, averaged with p: equals factor * L in the worst direction."""
    torch = pytest.importorskip("torch")
    x_rows = [[1, 2, 0], [0, 1, 1]]
    solution = solve(matrix_text(x_rows), eta=Fraction(1, 20))
    x = torch.tensor(x_rows, dtype=torch.float64)
    p = torch.full((2,), 0.5, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -1.0, 2.0], dtype=torch.float64)
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(200):
        theta = torch.tensor(rng.standard_normal(3), dtype=torch.float64, requires_grad=True)
        loss = (p * (y - x @ theta) ** 2).sum()
        expected = 0.0
        for i in range(2):
            (grad,) = torch.autograd.grad((y[i] - x[i] @ theta) ** 2, theta)
            after = theta.detach() - 0.05 * grad
            expected += float(p[i] * (p * (y - x @ after) ** 2).sum())
        ratio = expected / float(loss.detach())
        assert ratio <= solution.answer["exact_factor"] + 1e-12
        assert ratio <= solution.answer["bound_factor"] + 1e-12
        worst = max(worst, ratio)
    assert worst > solution.answer["exact_factor"] - 0.05


# --------------------------------------------------------------------------- properties


def exact_next_loss(rows, p, e, eta, c):
    """Sum over i of p_i L(e - eta c r_i x_i): the exact expectation, straight from the update rule."""

    def loss(err):
        return Fraction(c, 2) * sum(
            pi * sum(a * b for a, b in zip(row, err, strict=True)) ** 2 for pi, row in zip(p, rows, strict=True)
        )

    total = Fraction(0)
    for pi, row in zip(p, rows, strict=True):
        residual = sum(a * b for a, b in zip(row, e, strict=True))
        total += pi * loss([ei - eta * c * residual * xi for ei, xi in zip(e, row, strict=True)])
    return total, loss(e)


small_ints = st.integers(-3, 3)


@st.composite
def problems(draw):
    n = draw(st.integers(1, 3))
    d = draw(st.integers(1, 4))
    rows = [[draw(small_ints) for _ in range(d)] for _ in range(n)]
    assume(all(any(row) for row in rows))
    weights = [draw(st.integers(1, 5)) for _ in range(n)]
    p = [Fraction(w, sum(weights)) for w in weights]
    eta = Fraction(draw(st.integers(1, 40)), draw(st.sampled_from([100, 400, 1000])))
    z = [Fraction(draw(small_ints)) for _ in range(n)]
    half = draw(st.booleans())
    return rows, p, eta, z, half


@given(problems())
def test_expected_next_loss_never_exceeds_the_claimed_bounds(problem):
    rows, p, eta, z, half = problem
    c = 1 if half else 2
    answer = solve(matrix_text(rows), p=[Fraction(v) for v in p], eta=eta, half=half).answer
    e = [sum(zi * row[j] for zi, row in zip(z, rows, strict=True)) for j in range(len(rows[0]))]  # row space
    expected, loss = exact_next_loss([[Fraction(v) for v in row] for row in rows], p, e, eta, c)
    bound = Fraction(answer["exact"]["bound_factor"]) if "bound_factor" in answer["exact"] else answer["bound_factor"]
    assert expected <= bound * loss + Fraction(1, 10**9) * loss
    factor = Fraction(answer["exact"]["exact_factor"]) if "exact_factor" in answer["exact"] else answer["exact_factor"]
    assert expected <= factor * loss + Fraction(1, 10**9) * loss
    assert answer["exact_factor"] <= answer["bound_factor"] + 1e-12


@pytest.mark.slow  # an optimisation per example: the thorough profile
@given(
    st.lists(
        st.lists(st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 2)), min_size=4, max_size=4),
        min_size=2,
        max_size=3,
    ),
    st.sampled_from(["uniform", "importance"]),
    st.floats(0.001, 0.2),
)
def test_exact_factor_equals_the_maximum_ratio_found_by_optimisation(rows, scheme, eta):
    """Maximise E[L_{t+1}] / L_t with Nelder-Mead over residuals r = X e (rank n: r is free in R^n)."""
    scipy_optimize = pytest.importorskip("scipy.optimize")
    x = np.array(rows)
    assume(np.all(np.abs(x).sum(axis=1) > 0.1))
    assume(np.linalg.cond(x @ x.T) < 1e3)
    matrix = Matrix(rows=tuple(tuple(float(v) for v in row) for row in rows))
    answer = solve_convergence_bound(matrix, p=scheme, eta=eta).answer
    p = np.array(answer["p"])
    gram = x @ x.T

    def ratio(r):
        loss = p @ (r * r)
        if loss <= 1e-300:
            return 0.0
        after = [r - eta * 2 * r[i] * gram[:, i] for i in range(len(p))]
        return float(sum(p[i] * (p @ (a * a)) for i, a in enumerate(after)) / loss)

    rng = np.random.default_rng(0)
    options = {"xatol": 1e-12, "fatol": 1e-15, "maxiter": 4000}
    best = max(
        -scipy_optimize.minimize(
            lambda r: -ratio(r), rng.standard_normal(len(p)), method="Nelder-Mead", options=options
        ).fun
        for _ in range(6)
    )
    assert best <= answer["exact_factor"] + 1e-9 * max(1, answer["exact_factor"])
    assert best == pytest.approx(answer["exact_factor"], rel=1e-7, abs=1e-9)


@given(problems())
def test_symbolic_and_numeric_paths_agree(problem):
    import sympy

    rows, p, _eta, _z, half = problem
    numeric = solve(matrix_text(rows), p=[Fraction(v) for v in p], half=half).answer
    formulas = solve_symbolic(half).answer["symbolic"]
    symbols = {name: sympy.Symbol(name, positive=True) for name in ("lambda_min", "lambda_max", "R2", "eta")}
    values = {
        symbols["lambda_min"]: numeric["lambda_min"],
        symbols["lambda_max"]: numeric["lambda_max"],
        symbols["R2"]: numeric["R2"],
        symbols["eta"]: numeric["eta"],
    }

    def evaluate(key):
        # test-only: parse dlsolve's own formula output (R^2 is one symbol there)
        return float(sympy.sympify(formulas[key].replace("R^2", "R2"), locals=symbols).subs(values))

    for key in ("eta_best", "rho_best", "eta_max"):
        assert evaluate(key) == pytest.approx(numeric[key], rel=1e-9), key
    assert evaluate("rho") == pytest.approx(numeric["rho"], rel=1e-9, abs=1e-12)


@pytest.mark.slow  # an optimisation per example: the thorough profile
@given(problems(), st.floats(0.2, 5))
def test_best_exact_step_beats_other_step_sizes(problem, scale):
    rows, p, _eta, _z, half = problem
    answer = solve(matrix_text(rows), p=[Fraction(v) for v in p], half=half).answer
    other = solve(
        matrix_text(rows), p=[Fraction(v) for v in p], half=half, eta=Fraction(answer["eta_exact_best"] * scale)
    ).answer
    assert answer["exact_factor_best"] <= other["exact_factor"] + 1e-9


# --------------------------------------------------------------------------- simulation


def test_simulation_mean_loss_tracks_the_exact_factor():
    solution = solve("1,0,0;0,2,0", simulate_runs=400, simulate_steps=30, seed=3)
    simulation = solution.answer["simulation"]
    means = simulation["mean_loss"]
    assert len(means) == 31
    assert means[0] == pytest.approx(2.5)  # y = X 1 = (1, 2): L_0 = (1 + 4)/2
    factor = solution.answer["exact_factor"]
    # E[L_t] <= factor^t L_0; the Monte Carlo mean may exceed it only by sampling noise
    assert all(m <= 1.15 * factor**t * means[0] for t, m in enumerate(means))
    assert simulation["empirical_ratio"] <= factor * 1.02
    plots = [b for step in solution.steps for b in step.blocks if b.type == "plot"]
    assert plots and len(plots[0].series) == 3


def test_simulation_uses_given_y_and_is_seeded():
    one = solve("1,1,0;0,1,1", y=[Fraction(2), Fraction(0)], simulate_runs=20, simulate_steps=5, seed=7).answer
    two = solve("1,1,0;0,1,1", y=[Fraction(2), Fraction(0)], simulate_runs=20, simulate_steps=5, seed=7).answer
    assert one["simulation"]["mean_loss"] == two["simulation"]["mean_loss"]
    assert one["simulation"]["mean_loss"][0] == pytest.approx(2.0)  # (4 + 0)/2


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("x", "options", "option"),
    [
        ("1,0;0,0", {}, "--x"),
        ("1,0;0,1", {"p": [Fraction(1)]}, "--p"),
        ("1,0;0,1", {"p": [Fraction(1), Fraction(0)]}, "--p"),
        ("1,0;0,1", {"p": [Fraction(1), Fraction(-1)]}, "--p"),
        ("1,0;2,0", {"y": [Fraction(1), Fraction(1)]}, "--y"),
        ("1,0;0,1", {"y": [Fraction(1)]}, "--y"),
        ("1,0;0,1", {"eps": Fraction(2)}, "--eps"),
        ("1,0;0,1", {"simulate_runs": 10**6, "simulate_steps": 10**3}, "--runs"),
    ],
)
def test_bad_input(x, options, option):
    with pytest.raises(BadInput) as error:
        solve(x, **options)
    assert error.value.option == option


def test_consistent_y_is_accepted():
    solve("1,0;2,0", y=[Fraction(1), Fraction(2)])


def test_large_step_warns_and_reports_no_guarantee():
    solution = solve("1,0,0;0,2,0", eta=Fraction(1, 2), eps=Fraction(1, 10))
    assert solution.answer["rho"] < 0
    assert solution.answer["steps_to_eps"] is None
    assert solution.warnings


# --------------------------------------------------------------------------- CLI


def test_cli_json_and_quiet(cli):
    result = cli("convergence-bound", "--x", "1,0,0;0,2,0", "--json")
    assert result.exit_code == 0
    assert result.json()["answer"]["exact"]["exact_factor"] == "481/512"
    quiet = cli("convergence-bound", "--x", "1,0,0;0,2,0", "-q")
    assert "exact_factor=481/512" in quiet.stdout


def test_cli_symbolic_needs_no_data(cli):
    result = cli("convergence-bound", "--symbolic", "--json")
    assert result.exit_code == 0
    answer = result.json()["answer"]
    assert answer["symbolic"]["eta_best"] == "lambda_min/(2*R^2*lambda_max)"
    assert answer["symbolic"]["rho_best"] == "lambda_min**2/(R^2*lambda_max)"
    assert answer["identity_checked"] is True
    half = cli("convergence-bound", "--symbolic", "--half", "--json").json()["answer"]["symbolic"]
    assert half["eta_best"] == "lambda_min/(R^2*lambda_max)"


def test_cli_options_and_output_modes(cli):
    args = ["convergence-bound", "--x", "1,1,0;0,1,1", "--p", "importance", "--eta", "1/20", "--eps", "0.01"]
    for mode in ("--latex", "--markdown"):
        assert cli(*args, mode).exit_code == 0
    result = cli(*args, "--simulate", "--runs", "30", "--steps", "10", "--json")
    assert result.exit_code == 0
    assert len(result.json()["answer"]["simulation"]["mean_loss"]) == 11
    assert cli(*args, "--half").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--x", "1,0;0,0"],
        ["--x", "1,0;0,1", "--p", "0.5"],
        ["--x", "1,0;0,1", "--eta", "0"],
        ["--x", "1,0;0,1", "--eta", "-1"],
        ["--x", "1,0;2,0", "--y", "1,1"],
        ["--x", "1,0;0,1", "--p", "sometimes"],
    ],
)
def test_cli_bad_input_exits_2(cli, args):
    result = cli("convergence-bound", *args, "--json")
    assert result.exit_code == 2
    assert "error" in result.json()


def test_cli_large_npy_input(cli, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "x.npy"
    np.save(path, rng.standard_normal((150, 80)))
    result = cli("convergence-bound", "--x", f"@{path}", "--json")
    assert result.exit_code == 0
    answer = result.json()["answer"]
    x = np.load(path)
    eigenvalues = np.linalg.eigvalsh(x.T @ x / 150)
    assert answer["lambda_min"] == pytest.approx(eigenvalues[0], rel=1e-9)
    assert answer["exact_factor"] <= answer["bound_factor"]


OPTIONS = ["--x", "--p", "--eta", "--y", "--eps", "--runs", "--steps", "--seed"]
numbers = st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-999, 999)) | st.integers(-5, 5).map(str)
number_lists = st.lists(numbers, min_size=1, max_size=4).map(",".join)
option_text = st.text(max_size=25) | numbers | number_lists | st.sampled_from(["uniform", "importance", "0", "-1", ""])


@example("--eta", "1e153")  # η² λ_max R² beyond float range: was an internal OverflowError
@given(st.sampled_from(OPTIONS), option_text)
def test_fuzz_any_text_gives_a_clean_exit(option, text):
    from tests.conftest import run_cli

    args = ["convergence-bound", "--x", "1,2;3,4;0,1", option, text, "--json"]
    if option in ("--runs", "--steps", "--seed"):
        args += ["--simulate", "--runs", "3", "--steps", "3"] if option == "--seed" else ["--simulate"]
    result = run_cli(*args)
    assert result.exit_code in (0, 1, 2), result.stdout + result.stderr
    json.loads(result.stdout)


@pytest.mark.parametrize("shape", [(500, 410), (410, 700)], ids=["d<n", "d>n"])
def test_iterative_path_matches_scipy_generalised_eigenvalue(shape):
    """A pencil larger than DENSE_MAX goes through Davidson; compare with scipy.linalg.eigh(M, H).

    Also at the reported best step size: its factor must be the true one there (an eigensolver that
    stops early reports a smaller, wrong factor).
    """
    scipy_linalg = pytest.importorskip("scipy.linalg")

    rng = np.random.default_rng(5)
    n, d = shape
    x = rng.standard_normal((n, d))
    x[:, 0] *= 3  # an uneven spectrum
    eta = 0.002
    answer = solve_convergence_bound(Matrix(array=x), eta=eta).answer
    p = np.full(n, 1 / n)
    hmat = x.T @ (x * p[:, None])
    leverages = np.einsum("ij,jk,ik->i", x, hmat, x)
    kmat = x.T @ (x * (p * leverages)[:, None])
    # the row space: H's eigenvectors with nonzero eigenvalues (H is singular when d > n)
    values, vectors = np.linalg.eigh(hmat)
    basis = vectors[:, values > values.max() * 1e-10]
    h_row = basis.T @ hmat @ basis

    def factor(step):
        mmat = hmat - 4 * step * hmat @ hmat + 4 * step**2 * kmat
        return scipy_linalg.eigh(basis.T @ mmat @ basis, h_row, eigvals_only=True)[-1]

    assert answer["exact_factor"] == pytest.approx(factor(eta), rel=1e-9)
    assert answer["exact_factor_best"] == pytest.approx(factor(answer["eta_exact_best"]), rel=0, abs=1e-14)
    assert answer["lambda_min"] == pytest.approx(values[values > values.max() * 1e-10][0], rel=1e-9)
    assert answer["beta"] == pytest.approx(leverages.max(), rel=1e-9)


def test_half_convention_simulation_and_heatmap():
    solution = solve("1,0,0;0,2,0", half=True, simulate_runs=10, simulate_steps=3)
    assert solution.answer["simulation"]["mean_loss"][0] == pytest.approx(1.25)  # (1/2)(1/2 * 1 + 1/2 * 4)
    heatmaps = [b for step in solution.steps for b in step.blocks if b.type == "heatmap"]
    assert heatmaps[0].cells == [["0.5", "0", "0"], ["0", "2", "0"], ["0", "0", "0"]]


def test_identity_check_can_fail() -> None:
    """The SymPy identity check is a real check: a wrong E[A] or E[B] constant makes it fail."""
    from fractions import Fraction

    from dlsolve.solvers.convergence_symbolic import check_identity

    assert check_identity(2) and check_identity(1)
    assert not check_identity(2, b_coefficient=Fraction(8, 3))
    assert not check_identity(2, a_coefficient=Fraction(2))
    assert check_identity(1, a_coefficient=Fraction(1), b_coefficient=Fraction(1, 2))


@pytest.mark.parametrize(("seed", "scales"), [(0, [1.0, 1e-3, 1e-6]), (1, [2.0, 1e-6]), (2, [1.0, 0.5, 1e-6, 1e-6])])
def test_ill_conditioned_contraction_is_computed_stably(seed, scales):
    """λ_min/λ_max ≈ 1e-12: 1 − factor is about 1e-25, far below float64's resolution near 1.

    dlsolve must report it (answer.exact_contraction), never warn of growth on a rounding error, and
    say that the factor prints as 1. Oracle: the generalised eigenvalue of (M, H) at 80 digits (mpmath),
    M = H − 2cηH² + c²η² Σ p_i h_i x_i x_iᵀ, at dlsolve's η. Agreement to 1e-3: the float64 spectrum of
    an H with condition number 1e12 is itself accurate to about 1e-4 (relative) in λ_min.
    """
    import mpmath as mp

    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(scales), len(scales))))
    x = q @ np.diag(scales)
    solution = solve_convergence_bound(Matrix(array=x))
    answer = solution.answer
    assert answer["lambda_min"] / answer["lambda_max"] == pytest.approx(min(scales) ** 2 / max(scales) ** 2, rel=1e-3)
    with mp.workdps(80):
        c, n, d = 2, len(x), len(scales)
        eta, p = mp.mpf(answer["eta"]), mp.mpf(1) / n
        rows = [mp.matrix([[mp.mpf(v) for v in row]]) for row in x.tolist()]
        h_matrix = sum((p * r.T * r for r in rows), mp.zeros(d, d))
        k_matrix = sum((p * (r * h_matrix * r.T)[0] * r.T * r for r in rows), mp.zeros(d, d))
        m_matrix = h_matrix - 2 * c * eta * h_matrix * h_matrix + (c * eta) ** 2 * k_matrix
        values, vectors = mp.eigsy(h_matrix)
        root_inverse = vectors * mp.diag([1 / mp.sqrt(v) for v in values]) * vectors.T
        contraction = float(1 - max(mp.eigsy(root_inverse * m_matrix * root_inverse)[0]))
    assert 0 < contraction < 1e-20
    assert answer["exact_contraction"] == pytest.approx(contraction, rel=1e-3)
    assert answer["exact_factor"] == 1.0  # 1 − 1e-25 in float64
    assert not any("can grow" in w for w in solution.warnings)
    assert any("below float64's resolution" in w and "exact contraction" in w for w in solution.warnings)
    assert answer["eta_exact_best"] > 0 and answer["exact_factor_best"] <= 1.0


def test_rounding_level_factor_is_not_called_growth():
    """A factor equal to 1 within rounding says so instead of warning that the loss can grow."""
    from dlsolve.solvers.convergence import Factor, _factor_warnings, analyse_scheme

    scheme = analyse_scheme("uniform", np.eye(2), None, [0.5, 0.5], 2)
    unresolved = _factor_warnings(Fraction(1, 8), scheme, 0.1, Factor(1 + 1e-17, -1e-17, 1e-16))
    assert not any("can grow" in w for w in unresolved)
    assert any("within float64 rounding" in w for w in unresolved)
    growth = _factor_warnings(Fraction(1, 8), scheme, 0.1, Factor(1.5, -0.5, 1e-16))
    assert any("can grow" in w for w in growth)


def _walk(steps):  # type: ignore[no-untyped-def]
    return [s for step in steps for s in (step, *_walk(step.substeps))]


def _dump(data) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def test_full_working_has_declared_kinds_and_more_steps() -> None:
    """convergence-bound's full working (the CLI's --full) adds steps; every one has a declared kind."""
    from dlsolve.solvers.convergence import solve_convergence_bound

    x = parse_matrix("1,0,1;0,1,1", "--x")
    concise = solve_convergence_bound(x, p=[1 / 3, 2 / 3], eps=0.001)
    full = solve_convergence_bound(x, p=[1 / 3, 2 / 3], eps=0.001, full=True)
    assert _dump(concise.answer) == _dump(full.answer)
    concise_kinds = [step.kind for step in _walk(concise.steps)]
    full_kinds = [step.kind for step in _walk(full.steps)]
    extras = {
        "convergence.identity-check",
        "convergence.tight-bound",
        "convergence.exact-factor",
        "convergence.comparison",
        "convergence.kaczmarz",
    }
    assert not extras & set(concise_kinds)
    assert extras <= set(full_kinds)
    assert concise_kinds[-2:] == ["convergence.bound", "convergence.steps-to-eps"]
    declared = all_kinds()
    assert all(kind in declared for kind in full_kinds)


def test_quiet_answers_even_when_the_working_would_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """-q never builds the working: a working that raises does not stop the answer."""
    from dlsolve.solvers import convergence_steps
    from dlsolve.solvers.convergence import solve_convergence_bound

    def broken(context: Any) -> list[Step]:
        raise RuntimeError("the working was built")

    monkeypatch.setattr(convergence_steps, "working", broken)
    solution = solve_convergence_bound(parse_matrix("1,0,0;0,2,0", "--x"))
    assert "rho=1/32" in solution.quiet
    with pytest.raises(RuntimeError):
        solution.steps  # noqa: B018


def test_quiet_has_no_sympy_on_the_float_path() -> None:
    """convergence-bound -q on float data never imports SymPy (the derivation is working only)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from dlsolve.parsing import Matrix\n"
        "from dlsolve.solvers.convergence import solve_convergence_bound\n"
        "s = solve_convergence_bound(Matrix(array=np.random.default_rng(0).standard_normal((30, 20))))\n"
        "print(s.quiet)\n"
        "print('sympy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "False", result.stdout


# --------------------------------------------------------------------------- the working, as a board


def _kind(solution, kind: str) -> Step:
    (step,) = [step for step in _walk(solution.steps) if step.kind == kind]
    return step


EXAM_5 = ("1,0,1;0,1,1", [Fraction(1, 3), Fraction(2, 3)])


@pytest.mark.parametrize(
    ("half", "rho", "rho_latex", "eta_best", "eta_max"),
    [
        (
            False,
            "ρ(η) = 4ηλ_min − 4η²λ_max R²",
            r"\rho(\eta) = 4\eta\lambda_{\min} - 4\eta^2\lambda_{\max}R^2",
            "η* = λ_min/(2λ_max R²)",
            "0 < η < λ_min/(λ_max R²)",
        ),
        (
            True,
            "ρ(η) = 2ηλ_min − η²λ_max R²",
            r"\rho(\eta) = 2\eta\lambda_{\min} - \eta^2\lambda_{\max}R^2",
            "η* = λ_min/(λ_max R²)",
            "0 < η < 2λ_min/(λ_max R²)",
        ),
    ],
)
def test_rho_is_written_as_a_ta_writes_it(half, rho, rho_latex, eta_best, eta_max) -> None:
    """ρ(η) leading term first, no ``·`` after a number (never SymPy's ``−4·R²·η²·λ_max + 4·η·λ_min``)."""
    x, p = EXAM_5
    step = _kind(solve(x, p=p, half=half), "convergence.rho")
    assert rho in step.text and rho_latex in step.latex
    assert eta_best in step.text and "ρ* = λ_min²/(λ_max R²)" in step.text and eta_max in step.text
    assert "·" not in step.text and "R²·η²" not in step.text and "−4·R²" not in step.text
    assert "giving" not in step.text  # the display says η* and ρ*; the text no more
    assert "ρ_β" not in step.text  # the tighter β is for --full
    assert "ρ_β(η) = " in _kind(solve(x, p=p, half=half, full=True), "convergence.rho").text
    # --symbolic's answer reads the same way
    assert solve_symbolic(half).summary.startswith(rho)


def test_board_formulas_are_read_off_sympys_expressions() -> None:
    """The board's forms come from the derived expressions: another expression gives other text, and
    one that is not of the expected shape is refused rather than written wrong."""
    import dataclasses

    import sympy as sp

    from dlsolve.errors import InternalError
    from dlsolve.solvers import convergence_symbolic as cs

    derivation = cs.derive(2)
    eta, lmin, lmax, r2 = (derivation.symbols[k] for k in ("eta", "lambda_min", "lambda_max", "R2"))
    other = dataclasses.replace(derivation, rho=3 * eta * lmin - sp.Rational(1, 2) * eta**2 * lmax * r2)
    assert cs.board_formulas(other)["rho"] == (
        "3ηλ_min − (1/2)η²λ_max R²",
        r"3\eta\lambda_{\min} - \tfrac{1}{2}\eta^2\lambda_{\max}R^2",
    )
    with pytest.raises(InternalError):
        cs.board_formulas(dataclasses.replace(derivation, rho=derivation.rho + 1))
    with pytest.raises(InternalError):
        cs.board_formulas(dataclasses.replace(derivation, eta_best=sp.sqrt(lmin) / (lmax * r2)))


def test_one_step_labels_are_in_the_display_so_the_key_shows_each_formula_once() -> None:
    from dlsolve.render import board

    x, p = EXAM_5
    solution = solve(x, p=p)
    one_step = _kind(solution, "convergence.one-step")
    assert r"\text{(cross term)}" in one_step.latex and r"\text{(quadratic term)}" in one_step.latex

    def prose(kind: str) -> str:
        pieces = board.read(_kind(solution, kind))
        return " ".join(board.plain(piece.parts) for piece in pieces if isinstance(piece, board.Prose))

    # what the typeset key prints beside each display: no formula of the display again
    assert prose("convergence.one-step").startswith("Expanding") and "A =" not in prose("convergence.one-step")
    assert prose("convergence.rho") == ""  # ρ(η), η*, ρ* and the range: the display alone
    assert prose("convergence.expect-b") == ""
    assert prose("convergence.bound").startswith("(--full adds")


def test_bound_step_substitutes_once_and_radicals_read_as_written() -> None:
    x, p = EXAM_5
    solution = solve(x, p=p)
    bound = _kind(solution, "convergence.bound")
    assert "ρ(η) ≈ 1.6906η − 12.6188η²" in bound.text and "Best" not in bound.text
    assert "η* = λ_min/(2λ_max R²) = 1/2 − √3/4 ≈ 0.0669873" in bound.text
    assert "1 − ρ* = 5√3/6 − 1/2 ≈ 0.943376" in bound.text and "5·√3" not in bound.text
    assert r"1-\rho^* = \frac{5 \sqrt{3}}{6} - \frac{1}{2}" in bound.latex
    assert "ρ = 3/2 − 5√3/6 ≈ 0.0566243" in solution.summary
    spectrum = _kind(solution, "convergence.spectrum")
    assert r"\lambda_{\max} = 1 + \frac{\sqrt{3}}{3}" in spectrum.latex
    # H typeset once in the keys: in the display, so its heatmap block is left out of them
    from dlsolve.render import board

    (heatmap,) = spectrum.blocks
    assert board.shown_in(heatmap, spectrum.latex)
    # the nonzero-eigenvalue argument is said once (in the derivation), the eigenvalues once
    assert "Why nonzero" not in spectrum.text and spectrum.text.count("1 + √3/3") == 1
    assert "row space" in _kind(solution, "convergence.expect-a").text
    exact = _kind(solve("1,0;0,2", eta=Fraction(1, 20), half=True), "convergence.bound")
    assert "λ_max R² = 8: ρ(η) = η − 8η²." in exact.text
