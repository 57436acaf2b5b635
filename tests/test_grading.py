"""Answer checking: verdicts, the named mistakes that explain wrong answers, sheets and classes.

The wrong answers below are computed here by hand (the mistaken formula written out), not by the
mistake functions under test, so a mistake that recomputes something else fails its test.
"""

from __future__ import annotations

import csv
import json
import random
from fractions import Fraction
from pathlib import Path

import pytest

from dlsolve import registry
from dlsolve.grading.mistakes import MISTAKE_MODULES, mistakes_for
from dlsolve.grading.sheet import Grader, grade_students, read_answers
from dlsolve.problems import load_problems, solve_problem
from dlsolve.step_kinds import all_kinds

ROOT = Path(__file__).resolve().parent.parent


def grade(command: str, args: dict, answer: object):  # type: ignore[no-untyped-def]
    found = registry.get(command)
    assert found is not None
    kwargs = found.bind(args, "test")
    return Grader(command, command, kwargs, found.function(**kwargs)).grade(answer)


_EXAM_TREE = json.dumps(
    {"": {"A": 0.5, "B": 0.4, "C": 0.1}, "A": {"A": 0.4, "</s>": 0.6}, "B": {"</s>": 0.2, "B": 0.8}}
    | {"A A": {"</s>": 1}, "B B": {"</s>": 1}, "C": {"</s>": 1}}
)
_NO_SHRINK_TREE = json.dumps(
    {"": {"A": 0.4, "B": 0.6}, "A": {"</s>": 0.6, "x": 0.4}, "A x": {"</s>": 1}, "B": {"y": 1}}
    | {"B y": {"w": 0.55, "v": 0.45}, "B y w": {"</s>": 0.1, "q": 0.9}, "B y w q": {"</s>": 1}, "B y v": {"</s>": 1}}
)
_MISSES_TREE = json.dumps(
    {"": {"A": 0.4, "B": 0.35, "C": 0.25}, "A": {"a": 0.5, "b": 0.5}, "B": {"a": 0.5, "b": 0.5}, "C": {"</s>": 1}}
    | {f"{first} {second}": {"</s>": 1} for first in "AB" for second in "ab"}
)

# Every named mistake: (command, args, the wrong answer as the mistake gives it, worked by hand).
MISTAKE_CASES = [
    ("conv-shape", {"in": 28, "k": 3, "s": 2, "p": 1}, "13", "no-plus-one"),  # (28+2-2-1)//2 = 13
    ("conv-shape", {"in": 28, "k": 4, "s": 2, "p": 2}, "14", "padding-once"),  # (28+2-3-1)//2+1 = 14 (right: 15)
    ("conv-shape", {"in": 28, "k": 3, "s": 2, "p": 1}, "15", "ceil-for-floor"),  # ceil(27/2)+1 = 15
    ("conv-shape", {"in": 28, "k": 3, "d": 2}, "26", "dilation-ignored"),  # 28-2 = 26 (right: 24)
    ("conv-shape", {"in": 28, "k": 3, "s": 2}, "26", "stride-ignored"),  # 28-3+1 = 26 (right: 13)
    ("conv-shape", {"in": 28, "k": 3, "channels": 3, "filters": 64}, "params=1731", "channels-swapped"),  # 3*64*9+3
    ("conv-shape", {"in": 28, "k": 3, "channels": 3, "filters": 64}, "params=1728", "bias-forgotten"),  # 64*3*9
    ("conv-shape", {"in": 28, "k": 3, "channels": 4, "filters": 8, "groups": 2}, "params=296", "groups-ignored"),
    ("filter apply", {"image": "1,2,0;0,1,3;2,1,0", "kernel": "1,0;0,-1"}, "0,1;1,-1", "kernel-flipped"),
    ("filter apply", {"image": "1,2;3,4", "kernel": "1,1;1,1", "padding": 1}, "10", "padding-ignored"),
    ("filter apply", {"image": "1,2,3;4,5,6;7,8,9", "kernel": "1,0;0,1", "stride": 2}, "6,8;12,14", "stride-ignored"),
    ("filter apply", {"image": "1,2;3,4", "kernel": "1,1;1,1", "bias": 1}, "10", "bias-forgotten"),
    ("filter pool", {"image": "1,3;5,7"}, "4", "average-for-max"),
    ("filter pool", {"image": "1,3;5,7", "op": "avg"}, "7", "max-for-average"),
    ("filter pool", {"image": "1,3;5,7", "size": 2, "stride": 1, "padding": 1}, "7", "padding-ignored"),
    ("filter pool", {"image": "1,2,3;4,5,6;7,8,9"}, "5,6;8,9", "stride-ignored"),
    (
        "attention",
        {"q": "1,0;0,1", "k": "1,0;0,1", "v": "1,0;0,1"},
        "0.731059,0.268941;0.268941,0.731059",
        "no-scaling",
    ),
    (
        "attention",
        {"q": "2,0;0,0", "k": "1,0;0,1", "v": "1,0;0,1", "no-scale": True},
        "0.880797,0.5;0.119203,0.5",
        "softmax-wrong-axis",
    ),
    (
        "attention",
        {"q": "1,0;0,1", "k": "0,1;0,0", "v": "1;0", "no-scale": True},
        "0.268941;0.5",  # scores Q K = [[0, 1], [0, 0]]: rows softmax to (0.27, 0.73), (0.5, 0.5)
        "keys-not-transposed",
    ),
    (
        "attention",
        {"q": "1,0;0,1", "k": "1,0;0,1", "v": "5,5;1,1", "no-scale": True},
        "0.731059,0.268941;0.268941,0.731059",
        "weights-for-output",
    ),
    (
        "sgd-limit",
        {"x": "1,0.1,0.01", "y": "1", "precond": "epoch-rms"},
        "(1/3)[1, 10, 100]",
        "preconditioner-without-square-root",
    ),
    ("sgd-limit", {"x": "1,1", "y": "2", "theta0": "1,-1"}, "1,1", "start-ignored"),  # right: (2, 0)
    ("sgd-limit", {"x": "1,0;1,0", "y": "1,3", "p": "1/4,3/4", "full-batch": False}, "2,0", "sampling-ignored"),
    ("sgd-limit", {"x": "1,1", "y": "2", "precond": "diag:1,3"}, "1,1", "plain-min-norm"),  # right: (1/2, 3/2)
    ("convergence-bound", {"x": "1,0;0,2"}, "rho=0.5", "lambda-max-for-lambda-min"),  # right: 1/32
    # f = (x + y)·x at x = 2, y = 1: ∂f/∂x = (x + y) + x = 5; one path alone gives 3 or 2
    ("backprop", {"f": "(x + y) * x", "at": ["x=2", "y=1"]}, "grad.x=3", "fork-not-added"),
    # f = σ(w·x) at w = 0, x = 2: ∂f/∂w = σ(0)(1 − σ(0))·2 = 1/2; with σ' taken as σ: σ(0)·2 = 1
    ("backprop", {"f": "sigmoid(w * x)", "at": ["w=0", "x=2"]}, "grad.w=1", "sigmoid-derivative-as-sigmoid"),
    ("convergence-bound", {"x": "1,0,0;0,2,0"}, "rho=0", "zero-eigenvalue-as-lambda-min"),
    # optim, by hand: gradients 2 then 1 from w = 1, η = 0.1, μ = 0.9. PyTorch: b = 2, 2.8; w = 0.8, 0.52.
    # Textbook: v = 0.2, 0.28; w = 0.98, 0.952. Nesterov (PyTorch): w = 0.62, 0.268.
    ("optim", {"grads": "2;1", "at": ["w=1"], "opt": "momentum", "lr": "0.1"}, "0.952", "textbook-momentum-for-torch"),
    # Adam, one step of g = 4 from 0, lr 0.1: m = 0.4, v = 0.016 uncorrected: 0.1·0.4/√0.016 = 0.316228 (right: 0.1)
    ("optim", {"grads": "4", "at": ["w=0"], "opt": "adam", "lr": "0.1"}, "-0.316228", "no-bias-correction"),
    (
        "optim",
        {"grads": "2;1", "at": ["w=1"], "opt": "momentum", "lr": "0.1", "convention": "textbook"},
        "0.52",
        "torch-momentum-for-textbook",
    ),
    ("optim", {"grads": "2;1", "at": ["w=1"], "opt": "nesterov", "lr": "0.1"}, "0.52", "nesterov-as-momentum"),
    # w² from 2, η = 0.1, λ = 0.1, 3 steps (torch.optim): Adam 1.7006234, AdamW 1.6443687
    (
        "optim",
        {"f": "w**2", "at": ["w=2"], "opt": "adam", "lr": "0.1", "weight-decay": "0.1", "steps": 3},
        "1.6444",
        "decoupled-for-coupled",
    ),
    (
        "optim",
        {"f": "w**2", "at": ["w=2"], "opt": "adamw", "lr": "0.1", "weight-decay": "0.1", "steps": 3},
        "1.7006",
        "coupled-for-decoupled",
    ),
    # SGD on w² from 2, η = 0.1, λ = 0.2, 2 steps: right 2·0.78² = 1.2168; without decay 2·0.8² = 1.28
    (
        "optim",
        {"f": "w**2", "at": ["w=2"], "lr": "0.1", "weight-decay": "0.2", "steps": 2},
        "1.28",
        "weight-decay-forgotten",
    ),
    ("optim ewma", {"values": "10,10", "beta": "0.5", "bias-correction": True}, "final=10", "bias-correction-confused"),
    # lr-schedule, one epoch early (epoch-counted-from-one) and late (one-step-too-many), by hand
    *[
        ("lr-schedule " + kind, args, answer, name)
        for kind, args, early, late in [
            ("step", {"lr": "0.1", "step-size": 1, "gamma": "0.5", "epochs": 3}, "0.025", "0.00625"),
            ("multistep", {"lr": "0.1", "milestones": "1,2,3,4", "gamma": "0.5", "epochs": 3}, "0.025", "0.00625"),
            ("exponential", {"lr": "0.1", "gamma": "0.5", "epochs": 3}, "0.025", "0.00625"),
            ("cosine", {"lr": "0.1", "t-max": 4, "epochs": 2}, "0.0853553", "0.0146447"),  # 0.05(1 ± √2/2)
            ("cosine-warm-restarts", {"lr": "1", "t0": 4, "epochs": 2}, "0.853553", "0.146447"),
            ("linear", {"lr": "0.1", "start-factor": "0.5", "total-iters": 4, "epochs": 2}, "0.0625", "0.0875"),
            ("onecycle", {"max-lr": "0.1", "total-steps": 10, "epochs": 1}, "0.004", "0.1"),  # right 0.052
            ("inverse-time", {"lr": "0.1", "decay-rate": "1", "epochs": 3}, "0.0333333", "0.02"),  # right 0.025
            ("warmup-cosine", {"lr": "0.1", "warmup": 2, "total-steps": 6, "epochs": 1}, "0", "0.1"),  # right 0.05
        ]
        for answer, name in ((early, "epoch-counted-from-one"), (late, "one-step-too-many"))
    ],
    # rnn, one step from h_0 = 0 (c_0 = 0): blocks as PyTorch stacks them, LSTM i,f,g,o and GRU r,z,n
    # gates i, f, g, o pre 0, 0, 0, 1; read as i, f, o, g: o = σ(0) = 1/2, g = tanh 1, h = tanh(tanh(1)/2)/2
    ("rnn", {"cell": "lstm", "x": "1", "w-ih": "0;0;0;1", "w-hh": "0;0;0;0"}, "0.1817", "lstm-gate-order"),
    # z = σ(1), n = tanh(1): z·n = 0.556770 (right: (1 − z)·n = 0.204824)
    (
        "rnn",
        {"cell": "gru", "x": "1", "w-ih": "0;0;1", "w-hh": "0;0;0", "b-ih": "0,1,0"},
        "0.55677",
        "gru-update-swapped",
    ),
    # r = z = σ(0) = 1/2, b_hn = 1: tanh(W_hn(r·h) + b_hn) = tanh 1, h = tanh(1)/2 (right: tanh(1/2)/2 = 0.231059)
    (
        "rnn",
        {"cell": "gru", "x": "0", "w-ih": "0;0;0", "w-hh": "0;0;0", "b-hh": "0,0,1"},
        "0.380797",
        "gru-reset-before",
    ),
    # zero weights, c_0 = 2: c_1 = 1, h = o·c = 1/2 (right: tanh(1)/2 = 0.380797)
    ("rnn", {"cell": "lstm", "x": "1", "w-ih": "0;0;0;0", "w-hh": "0;0;0;0", "c0": "2"}, "0.5", "lstm-no-tanh"),
    # h = 1·1 + 1·0 (+ b_hh = 2 forgotten) = 1 (right: 3)
    (
        "rnn",
        {"cell": "rnn", "nonlinearity": "none", "x": "1", "w-ih": "1", "w-hh": "1", "b-hh": "2"},
        "1",
        "no-hidden-bias",
    ),
    # greedy on the exam tree: A (0.5) then </s> (0.6); K = 2 finds B B </s> (0.32)
    ("decode beam", {"model": _EXAM_TREE, "beam": 2}, "A </s>", "greedy"),
    # K = 2 kept after A </s> finishes: B y w, B y v at step 3, then B y v </s> (0.27) ends the search
    # (right, the beam shrinking to 1: B y w q </s>, 0.6·0.55·0.9 = 0.297)
    ("decode beam", {"model": _NO_SHRINK_TREE, "beam": 2}, "B y v </s>", "beam-does-not-shrink"),
    # C </s> (0.25) is the most probable sequence; K = 2 prunes C at step 1 and ends with A a </s> (0.2)
    ("decode beam", {"model": _MISSES_TREE, "beam": 2}, "C </s>", "most-probable-sequence"),
    ("decode greedy", {"model": _EXAM_TREE}, "B B </s>", "most-probable-sequence"),  # 0.4·0.8 = 0.32 > 0.3
    # x = [1, 3]: μ = 2, biased σ² = 1, unbiased 2; ε = 2: right y = ±1/√3, with the unbiased one ±1/√4
    ("norm batch", {"x": "1;3", "eps": 2}, "-0.5;0.5", "unbiased-variance-to-normalize"),
    ("norm batch", {"x": "1;3"}, "running_mean=1.8", "keras-momentum"),  # 0.9·2 + 0.1·0 (right: 0.2)
    ("norm batch", {"x": "1;3"}, "running_var=1", "biased-running-variance"),  # 0.9·1 + 0.1·1 (right: 1.1)
    # eval, running 0 and 1, ε = 3: right y = x/2 = [0.5, 1.5]; the batch's statistics give (x − 2)/2
    ("norm batch", {"x": "1;3", "eps": 3, "eval": True}, "-0.5;0.5", "batch-statistics-in-eval"),
    ("dropout", {"x": "1,2,3,4", "p": "0.5", "mask": "1,0,0,1"}, "1,0,0,4", "no-rescale"),  # right: 2,0,0,8
    ("dropout", {"x": "1,2,3,4", "p": "0.5", "eval": True}, "0.5,1,1.5,2", "scaled-at-test"),  # right: x
    # Conv2d(3, 64, 3), relu: right √(2/27); fan_out 576 gives √(2/576), fan_in = C_in = 3 gives √(2/3)
    ("init kaiming-normal", {"layer": "Conv2d(3, 64, 3)", "nonlinearity": "relu"}, "0.0589256", "fan-out-for-fan-in"),
    ("init kaiming-normal", {"layer": "Conv2d(3, 64, 3)", "nonlinearity": "relu"}, "0.816497", "kernel-ignored"),
    ("init xavier-normal", {"layer": "Conv2d(3, 64, 3)"}, "0.172774", "kernel-ignored"),  # √(2/(3 + 64))
]


@pytest.mark.parametrize(
    ("command", "args", "wrong", "name"), MISTAKE_CASES, ids=[c[3] + ":" + c[0] for c in MISTAKE_CASES]
)
def test_each_mistake_reproduces_its_wrong_answer_and_not_the_right_one(command, args, wrong, name) -> None:  # type: ignore[no-untyped-def]
    verdict = grade(command, args, wrong)
    assert verdict.verdict == "wrong", (verdict.expected, verdict.given)
    assert name in [m.name for m in verdict.diagnoses], verdict.diagnosis_text
    right = grade(command, args, verdict.expected if "=" not in wrong else f"{wrong.split('=')[0]}={verdict.expected}")
    assert right.verdict == "correct" and not right.diagnoses


def test_every_registered_mistake_has_a_case_and_a_declared_step() -> None:
    kinds = all_kinds()
    names = {(command, mistake.name) for command in MISTAKE_MODULES for mistake in mistakes_for(command)}
    assert names == {(c[0], c[3]) for c in MISTAKE_CASES}
    for command in MISTAKE_MODULES:
        for mistake in mistakes_for(command):
            assert mistake.explanation and mistake.step
            if any(kind.startswith(mistake.step.split(".")[0] + ".") for kind in kinds):
                assert mistake.step in kinds, f"{mistake}: step kind {mistake.step!r} is not declared"


def test_two_mistakes_giving_the_same_number_are_both_reported() -> None:
    verdict = grade("conv-shape", {"in": 5, "k": 3, "s": 2, "p": 2}, "3")  # right: 4
    assert {"no-plus-one", "padding-once"} <= {m.name for m in verdict.diagnoses}
    assert " or " in verdict.diagnosis_text and verdict.to_dict()["diagnosis"]["also"]


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        ("0.9009", "correct"),  # rounds 100/111 at 4 places
        ("0.9", "correct"),  # rounds it at 1 place
        ("0.901", "correct"),
        ("0.9008", "wrong"),
        ("100/111", "correct"),
        ("[100/111, 100/111, 100/111]", "correct"),
        ("(100/111)[1, 1, 1]", "correct"),
        ("???", "unreadable"),
        ("", "missing"),
    ],
)
def test_exact_answers_compare_exactly_and_decimals_at_their_precision(answer: str, verdict: str) -> None:
    args = {"x": "1,0.1,0.01", "y": "1", "precond": "epoch-rms"}
    given = answer if "[" in answer or answer in ("", "???") else ", ".join([answer] * 3)
    assert grade("sgd-limit", args, given).verdict == verdict


def test_float_answers_within_the_tolerance() -> None:
    args = {"x": "1,0,1;0,1,1", "p": "1/3,2/3"}
    assert grade("convergence-bound", args, "0.0566").verdict == "correct"  # rho = 0.0566243
    assert grade("convergence-bound", args, "0.06").verdict == "wrong"


def test_the_exam_sheet_is_marked_and_4ii_diagnosed(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("solve", "problems/midterm.toml", "--answers", "problems/midterm-sheet.toml", "--json")
    assert result.exit_code == 0, result.stderr
    verdicts = {p["id"]: p for p in result.json()["answer"]["problems"]}
    assert verdicts["4-ii"]["verdict"] == "wrong"
    assert verdicts["4-ii"]["diagnosis"]["mistake"] == "preconditioner-without-square-root"
    assert {pid for pid, p in verdicts.items() if p["verdict"] == "correct"} >= {
        "1a-i",
        "1a-ii",
        "1b",
        "2b",
        "4-i",
        "5-i",
    }
    assert {pid for pid, p in verdicts.items() if p["verdict"] == "missing"} == {"1c", "3", "5-ii"}


def test_one_answer_on_any_command(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("conv-shape", "--in", "28", "--k", "3", "--s", "2", "--answer", "13", "-q").exit_code == 0
    wrong = cli("conv-shape", "--in", "28", "--k", "3", "--s", "2", "--p", "1", "--answer", "13", "-q")
    assert wrong.exit_code == 1 and "no-plus-one" in wrong.stdout


def test_bad_answers_files(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "class.csv"
    bad.write_text("name,problem,answer\na,1a-i,3\n")
    result = cli("solve", "problems/midterm.toml", "--answers", str(bad))
    assert result.exit_code == 2 and "student" in result.stderr and "--answers" in result.stderr
    unknown = tmp_path / "sheet.toml"
    unknown.write_text('"9z" = "1"\n"1a-i" = "nonsense ((("\n')
    result = cli("solve", "problems/midterm.toml", "--only", "1a-i", "--answers", str(unknown), "--json")
    assert result.exit_code == 0 and "9z" in result.json()["warnings"][0]
    assert result.json()["answer"]["problems"][0]["verdict"] in ("unreadable", "wrong")


# --------------------------------------------------------------------------- a generated class

CLASS_PROBLEMS = [
    # (id, command, args, right, {mistake: wrong answer worked by hand})
    ("c1", "conv-shape", {"in": 32, "k": 5, "s": 1, "p": 0}, "28", {"no-plus-one": "27", "padding-once": None}),
    ("c2", "conv-shape", {"in": 28, "k": 3, "s": 2, "p": 1}, "14", {"no-plus-one": "13", "ceil-for-floor": "15"}),
    (
        "c3",
        "conv-shape",
        {"in": 28, "k": 3, "channels": 3, "filters": 16},
        "params=448",
        {"bias-forgotten": "params=432", "channels-swapped": "params=435"},
    ),
    ("c4", "filter pool", {"image": "1,3;5,7"}, "7", {"average-for-max": "4"}),
    (
        "c5",
        "sgd-limit",
        {"x": "1,0.1,0.01", "y": "1", "precond": "epoch-rms"},
        "100/111,100/111,100/111",
        {"preconditioner-without-square-root": "1/3,10/3,100/3"},
    ),
]


def test_a_generated_class_of_200_students_is_graded_and_every_injected_mistake_found(tmp_path: Path) -> None:
    rng = random.Random(7)
    problems_file = tmp_path / "class.toml"
    problems_file.write_text(
        "".join(
            f'[[problem]]\nid = "{pid}"\ntitle = "t"\nquestion = "q"\ncommand = "{command}"\n'
            f"args = {{ {', '.join(f'{key} = {json.dumps(value)}' for key, value in args.items())} }}\n"
            'expected = { error = "none" }\n\n'
            for pid, command, args, _, _ in CLASS_PROBLEMS
        )
    )
    rows, injected = [], {}
    for student in range(200):
        for pid, _, _, right, wrongs in CLASS_PROBLEMS:
            options = [("right", right)] + [(name, answer) for name, answer in wrongs.items() if answer]
            kind, answer = rng.choice(options)
            rows.append([f"s{student}", pid, answer])
            injected[(f"s{student}", pid)] = kind
    answers_csv = tmp_path / "answers.csv"
    with answers_csv.open("w", newline="") as stream:
        csv.writer(stream).writerows([["student", "problem", "answer"], *rows])
    outcomes = [solve_problem(problem) for problem in load_problems([problems_file])]
    results, warnings = grade_students(outcomes, read_answers(str(answers_csv)))
    assert not warnings and len(results) == 200
    for student, verdicts in results.items():
        for verdict in verdicts:
            kind = injected[(student, verdict.problem)]
            if kind == "right":
                assert verdict.verdict == "correct", (student, verdict.to_dict())
            else:
                assert verdict.verdict == "wrong" and kind in [m.name for m in verdict.diagnoses], verdict.to_dict()


def test_class_view_and_gradebook(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    answers = tmp_path / "class.csv"
    answers.write_text(
        'student,problem,answer\nann,1a-i,"32,128,26,26"\nben,1a-i,"32,128,25,25"\nben,4-ii,"1/3,10/3,100/3"\n'
    )
    book = tmp_path / "grades.csv"
    result = cli("solve", "problems/midterm.toml", "--answers", str(answers), "--gradebook", str(book), "--json")
    assert result.exit_code == 0, result.stderr
    per_problem = {p["id"]: p for p in result.json()["answer"]["per_problem"]}
    assert per_problem["1a-i"]["correct"] == 1 and per_problem["4-ii"]["mistakes"] == {
        "preconditioner-without-square-root": 1
    }
    table = list(csv.reader(book.read_text().splitlines()))
    assert table[0][0] == "student" and table[0][-2:] == ["score", "total"]
    assert [row[0] for row in table[1:]] == ["ann", "ben"]
    assert Fraction(table[1][-2]) == 1
