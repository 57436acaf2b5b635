"""Tests of ``decode greedy|beam``: hand-checked trees, the model loader, and random small trees checked
against a brute-force enumeration written here (not the solver's own exhaustive search)."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlsolve.errors import BadInput
from dlsolve.solvers.decode import STEP_KINDS, decode
from dlsolve.token_model import load_token_model

EOS = "</s>"
EXAM = {
    "": {"A": 0.5, "B": 0.4, "C": 0.1},
    "A": {"A": 0.4, EOS: 0.6},
    "B": {EOS: 0.2, "B": 0.8},
    "A A": {EOS: 1},
    "B B": {EOS: 1},
    "C": {EOS: 1},
}


def model_from(data: dict[str, dict[str, Any]], tmp_path: Path, suffix: str = ".json") -> dict:
    path = tmp_path / f"model{suffix}"
    if suffix == ".json":
        path.write_text(json.dumps(data), encoding="utf-8")
    else:
        lines = []
        for prefix, distribution in data.items():
            entries = ", ".join(f"{json.dumps(token)} = {value}" for token, value in distribution.items())
            lines.append(f"{json.dumps(prefix)} = {{ {entries} }}")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_token_model(str(path))


# --------------------------------------------------------------------------- hand-checked


def test_greedy_takes_the_locally_best_token_and_misses_the_best_sequence(tmp_path):
    """Greedy: A (0.5) then </s> (0.6): P = 0.3; B B </s> has P = 0.4·0.8 = 0.32."""
    solution = decode(model_from(EXAM, tmp_path), "greedy")
    assert solution.answer["best"]["tokens"] == ["A", EOS]
    assert solution.answer["best"]["prob_exact"] == "0.3"
    assert solution.answer["exhaustive_best"]["tokens"] == ["B", "B", EOS]
    assert solution.answer["misses_best"] is True
    compare = next(step for step in solution.steps if step.kind == "decode.compare").text
    assert "misses it" in compare


def test_beam_two_finds_it_and_the_beam_shrinks(tmp_path):
    """K = 2: step 2 keeps B B (0.32) and finishes A </s> (0.3), which leaves the beam; step 3 has width 1."""
    solution = decode(model_from(EXAM, tmp_path, ".toml"), "beam", beam=2)
    answer = solution.answer
    assert [h["tokens"] for h in answer["ranking"]] == [["B", "B", EOS], ["A", EOS]]
    assert answer["best"]["prob"] == pytest.approx(0.32)
    assert answer["greedy_differs"] is True and answer["misses_best"] is False
    steps = [step for step in solution.steps if step.kind == "decode.step"]
    assert len(steps) == 3
    assert "finished (leave the beam): A </s>" in steps[1].text
    statuses = {row[0]: row[-1] for row in steps[1].blocks[0].rows}
    assert statuses == {"B B": "kept", "A </s>": "finished", "A A": "pruned", "B </s>": "pruned"}
    assert {step.kind for step in solution.steps} <= set(STEP_KINDS)
    # "Final ranking?": the Answer box ranks every finished hypothesis
    assert solution.summary.endswith("; ranking: B B </s> (0.32), A </s> (0.3)")
    assert solution.quiet == "B B </s> P=0.32 logP=-1.13943 | ranking: B B </s> P=0.32; A </s> P=0.3"
    setup = next(step for step in solution.steps if step.kind == "decode.setup").text
    assert "keep the best K − F candidates (F: hypotheses finished so far)" in setup
    assert "table of" not in setup and "ranked by" not in setup  # no bookkeeping; by probability is the rule
    with_penalty = decode(model_from(EXAM, tmp_path), "beam", beam=2, length_penalty=Fraction(1))
    assert "ranked by score = log P / L^α with α = 1" in with_penalty.steps[0].text


def test_ranking_table_is_full_only_unless_scored(tmp_path):
    """The Answer box ranks the finished hypotheses (greedy has one): the table is --full detail, or the
    working of a length penalty's scores."""
    model = model_from(EXAM, tmp_path)
    concise = [step.kind for step in decode(model, "greedy").steps]
    assert concise == ["decode.setup", "decode.step", "decode.step", "decode.compare"]
    assert "decode.ranking" in [step.kind for step in decode(model, "greedy", full=True).steps]
    assert "ranking:" not in decode(model, "greedy").summary
    assert "decode.ranking" not in [step.kind for step in decode(model, "beam", beam=2).steps]
    scored = decode(model, "beam", beam=2, length_penalty=Fraction(1))
    assert "decode.ranking" in [step.kind for step in scored.steps]


def test_length_penalty_prefers_longer_sequences(tmp_path):
    """α = 1: score = log P / L. A </s>: log 0.3 / 2 = −0.602; B B </s>: log 0.32 / 3 = −0.380."""
    data = {"": {"A": 0.5, "B": 0.5}, "A": {EOS: 0.3, "A": 0.7}, "B": {"B": 1}, "B B": {EOS: 0.32, "C": 0.68}}
    data |= {"A A": {EOS: 1}, "B B C": {EOS: 1}}
    plain = decode(model_from(data, tmp_path), "beam", beam=3)
    penalised = decode(model_from(data, tmp_path), "beam", beam=3, length_penalty=1)
    assert plain.answer["best"]["tokens"] == ["A", "A", EOS]  # P = 0.35
    assert penalised.answer["best"]["tokens"] == ["B", "B", "C", EOS]  # log 0.34 / 4 = −0.270
    assert penalised.answer["best"]["score"] == pytest.approx(-0.2697, abs=1e-4)


def test_max_len_cuts_hypotheses(tmp_path):
    data = {"": {"A": 1}, "A": {"A": 0.9, EOS: 0.1}, "A A": {"A": 1}}
    answer = decode(model_from(data, tmp_path), "greedy", max_len=2).answer
    assert answer["best"] == {
        "tokens": ["A", "A"],
        "prob": 0.9,
        "logprob": pytest.approx(-0.1053605),
        "prob_exact": "0.9",
        "cut": True,
    }


def test_log_probs(tmp_path):
    path = tmp_path / "logs.json"
    path.write_text(json.dumps({"": {"x": -0.5, EOS: math.log(1 - math.exp(-0.5))}, "x": {EOS: 0.0}}), encoding="utf-8")
    answer = decode(load_token_model(str(path), log_probs=True), "greedy").answer
    assert answer["best"]["tokens"] == ["x", EOS]
    assert answer["best"]["logprob"] == pytest.approx(-0.5)


@pytest.mark.parametrize(
    ("data", "kwargs", "option", "message"),
    [
        ({"": {"A": 0.5, "B": 0.4}}, {}, "--model", "sum to 0.9, not 1"),
        ({"": {"A": 0.5, "B": 0.5}}, {}, "--model", "the prefix 'A' has no next-token distribution"),
        ({"": {EOS: 1}}, {"beam": 0}, "--beam", "at least 1"),
        ({"A": {EOS: 1}}, {}, "--model", 'the prefix ""'),
        ({"": {EOS: 1}}, {"max_len": 0}, "--max-len", "at least 1"),
    ],
)
def test_bad_input(tmp_path, data, kwargs, option, message):
    with pytest.raises(BadInput) as error:
        decode(model_from(data, tmp_path), "beam", **kwargs)
    assert error.value.option == option
    assert message in error.value.message


def test_nearly_summing_distribution_warns(tmp_path):
    data = {"": {"A": 0.333, "B": 0.333, "C": 0.333}, "A": {EOS: 1}, "B": {EOS: 1}, "C": {EOS: 1}}
    solution = decode(model_from(data, tmp_path), "greedy")
    assert solution.warnings and "sum to 0.999" in solution.warnings[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"": {"A": 1.5}}', "between 0 and 1"),
        ('{"": {"A B": 1}}', "one word"),
        ('{"": 3}', "table of next tokens"),
        ("[1, 2]", "table of prefixes"),
        ('{"": {"A": "__import__(1)"}}', "expected a number"),
    ],
)
def test_loader_refuses(tmp_path, text: str, message: str):
    path = tmp_path / "model.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BadInput) as error:
        load_token_model(str(path))
    assert message in str(error.value)


# --------------------------------------------------------------------------- random trees against brute force


@st.composite
def trees(draw) -> dict[str, dict[str, Fraction]]:
    """A random tree of depth <= 3 over tokens a, b, c; every reachable prefix has a distribution."""
    model: dict[str, dict[str, Fraction]] = {}

    def grow(prefix: tuple[str, ...]) -> None:
        tokens = ["a", "b", "c", EOS] if len(prefix) < 3 else [EOS]
        chosen = draw(st.lists(st.sampled_from(tokens), min_size=1, max_size=len(tokens), unique=True))
        weights = draw(st.lists(st.integers(1, 9), min_size=len(chosen), max_size=len(chosen)))
        model[" ".join(prefix)] = {t: Fraction(w, sum(weights)) for t, w in zip(chosen, weights, strict=True)}
        for token in chosen:
            if token != EOS:
                grow((*prefix, token))

    grow(())
    return model


def every_sequence(model: dict, prefix: tuple[str, ...] = (), prob: Fraction = Fraction(1)) -> list:
    """(probability, tokens) of every complete sequence, by plain recursion."""
    found = []
    for token, p in model[" ".join(prefix)].items():
        if token == EOS:
            found.append((prob * p, (*prefix, token)))
        else:
            found.extend(every_sequence(model, (*prefix, token), prob * p))
    return found


def reference_greedy(model: dict) -> tuple[str, ...]:
    prefix: tuple[str, ...] = ()
    while True:
        distribution = model[" ".join(prefix)]
        token = max(distribution, key=lambda t: distribution[t])  # the first listed among ties
        prefix = (*prefix, token)
        if token == EOS:
            return prefix


@settings(max_examples=min(settings().max_examples, 25))  # four searches a tree
@given(trees(), st.integers(1, 4))
def test_random_trees_against_brute_force(model: dict, width: int):
    sequences = every_sequence(model)
    best_prob = max(p for p, _ in sequences)
    answer = decode(model, "beam", beam=width).answer
    assert Fraction(answer["exhaustive_best"]["prob_exact"]) == best_prob
    found = Fraction(answer["best"]["prob_exact"])
    assert found <= best_prob
    assert answer["misses_best"] == (found < best_prob)
    ranking = [Fraction(h["prob_exact"]) for h in answer["ranking"]]
    assert ranking == sorted(ranking, reverse=True) and len(ranking) <= width
    truth = dict((tokens, p) for p, tokens in sequences)
    assert all(truth[tuple(h["tokens"])] == Fraction(h["prob_exact"]) for h in answer["ranking"])
    greedy = decode(model, "greedy").answer["best"]
    assert tuple(greedy["tokens"]) == reference_greedy(model)
    assert answer["greedy"]["tokens"] == greedy["tokens"]
    wide = decode(model, "beam", beam=len(sequences)).answer["best"]
    assert Fraction(wide["prob_exact"]) == best_prob  # a beam as wide as the tree is exhaustive


# --------------------------------------------------------------------------- CLI


def test_cli_decode_beam_json_and_quiet(cli):
    tree = str(Path(__file__).resolve().parents[1] / "problems" / "sequence_tree.json")
    result = cli("decode", "beam", "--beam", "2", "--model", tree, "--json")
    assert result.exit_code == 0, result.stderr
    answer = result.json()["answer"]
    assert answer["best"]["tokens"] == ["B", "B", EOS] and answer["greedy_differs"] is True
    quiet = cli("decode", "greedy", "--model", tree, "-q")
    assert quiet.stdout.strip() == "A </s> P=0.3 logP=-1.20397"


def test_cli_decode_toml_log_probs_and_eos(cli, tmp_path):
    path = tmp_path / "tree.toml"
    path.write_text('"" = { a = -0.2231435513142097, END = -1.6094379124341003 }\na = { END = 0 }\n', encoding="utf-8")
    result = cli("decode", "greedy", "--model", str(path), "--log-probs", "--eos", "END", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["answer"]["best"]["tokens"] == ["a", "END"]


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["decode", "beam", "--beam", "0", "--model", '{"": {"</s>": 1}}'], "--beam"),
        (["decode", "greedy", "--model", '{"": {"A": 0.5, "B": 0.1}}'], "--model"),
        (["decode", "greedy", "--model", '{"": {"A": 1}}'], "--model"),
        (["decode", "greedy", "--model", "no-such-file.json"], "--model"),
    ],
)
def test_cli_decode_bad_input_exit_2(cli, args: list[str], option: str):
    result = cli(*args)
    assert result.exit_code == 2
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_length_penalty_out_of_range_is_bad_input(cli):
    result = cli("decode", "greedy", "--model", '{"": {"</s>": 1}}', "--length-penalty", "1e400")
    assert result.exit_code == 2 and "--length-penalty" in result.stderr


def test_ties_are_said(tmp_path):
    """</s> and A </s> both have P = 1/2: the answer names the tie instead of hiding it."""
    solution = decode(model_from({"": {"A": 0.5, EOS: 0.5}, "A": {EOS: 1}}, tmp_path), "beam", beam=3)
    assert solution.answer["tied"] == [["A", EOS]]
    assert "tied with A </s>" in solution.summary
    assert "tied with" in next(step for step in solution.steps if step.kind == "decode.compare").text


@settings(max_examples=min(settings().max_examples, 15))
@given(trees())
def test_log_probabilities_decode_as_the_probabilities(model: dict):
    """The same tree given as natural log-probabilities: the same search, the same best sequence."""
    logs = {prefix: {token: math.log(p) for token, p in d.items()} for prefix, d in model.items()}
    from dlsolve.token_model import token_model

    exact = decode(model, "beam", beam=2).answer["best"]
    floats = decode(token_model(logs, log_probs=True), "beam", beam=2).answer["best"]
    assert floats["logprob"] == pytest.approx(exact["logprob"])
    if floats["tokens"] != exact["tokens"]:  # only a tie, broken the other way by rounding
        assert floats["prob"] == pytest.approx(exact["prob"])


def test_wide_steps_show_the_best_candidates_unless_full():
    model = {"": {f"t{i}": Fraction(1, 20) for i in range(20)}} | {f"t{i}": {EOS: Fraction(1)} for i in range(20)}
    step = next(s for s in decode(model, "beam", beam=2).steps if s.kind == "decode.step")
    assert len(step.blocks[0].rows) == 13 and step.blocks[0].rows[-1][0] == "… 8 more, pruned"
    full = next(s for s in decode(model, "beam", beam=2, full=True).steps if s.kind == "decode.step")
    assert len(full.blocks[0].rows) == 20
