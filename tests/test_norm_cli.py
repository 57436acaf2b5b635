"""CLI tests of `norm`, `dropout` and `init`: the issue's examples, JSON answer fields, exit statuses."""

from __future__ import annotations

import math

import pytest

BN = ["norm", "batch", "--x", "1,2;3,6;5,10", "--gamma", "1,2", "--beta", "0,1", "--eps", "1e-5", "--momentum", "0.1",
      "--running-mean", "0,0", "--running-var", "1,1"]  # fmt: skip


def test_batch_norm_train_json_fields(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*BN, "--json")
    assert result.exit_code == 0, result.stderr
    answer = result.json()["answer"]
    assert {"y", "mean", "var", "running_mean", "running_var"} <= set(answer)
    assert answer["mean"] == [3, 6] and answer["running_mean"] == [0.3, 0.6] and answer["running_var"] == [1.3, 2.5]
    assert math.isclose(answer["y"][2][1], 3.4494885945856684, rel_tol=1e-12)  # PyTorch's value
    kinds = [step["kind"] for step in result.json()["steps"]]
    assert kinds == ["norm.statistics", "norm.normalize", "norm.affine", "norm.running-stats"]


def test_batch_norm_backward_and_quiet(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("norm", "batch", "--x", "1,2;3,6", "--backward", "--grad-y", "1,0;0,1", "--json")
    answer = result.json()["answer"]
    assert answer["dbeta"] == [1, 1] and len(answer["dx"]) == 2 and len(answer["dgamma"]) == 2
    quiet = cli("norm", "batch", "--x", "1,2;3,6", "--grad-y", "1,0;0,1", "-q")
    assert quiet.exit_code == 0 and "dx =" in quiet.stdout and "dbeta = [1, 1]" in quiet.stdout


def test_other_layers_from_the_command_line(cli) -> None:  # type: ignore[no-untyped-def]
    layer = cli("norm", "layer", "--x", "1,2,3;4,5,6", "--gamma", "1,1,1", "--beta", "0,0,0", "--json").json()
    assert layer["answer"]["mean"] == [2, 5]
    group = cli("norm", "group", "--x", "1,2;3,4;;5,6;7,8", "--groups", "2", "--json").json()
    assert group["answer"]["mean"] == [[1.5, 3.5], [5.5, 7.5]]  # N,C,L = 2x2x2: each (sample, channel)
    instance = cli("norm", "instance", "--x", "1,2,4;3,5,9;;0,2,1;4,4,7", "--json").json()
    assert instance["answer"]["mean"] == [[float(7 / 3), float(17 / 3)], [1, 5]]
    rms = cli("norm", "rms", "--x", "3,4", "--eps", "0", "--json").json()
    assert rms["answer"]["mean_square"] == [12.5]
    assert (
        cli("norm", "batch", "--x", "1,2;3,4", "--running-mean", "0,0", "--running-var", "1,1", "--eval").exit_code == 0
    )


def test_dropout_and_init(cli) -> None:  # type: ignore[no-untyped-def]
    dropout = cli("dropout", "--x", "1,2,3,4", "--p", "0.5", "--mask", "1,0,0,1", "--json").json()["answer"]
    assert dropout["y"] == [[2, 0, 0, 8]] and dropout["scale"] == 2
    assert cli("dropout", "--x", "1,2,3,4", "--p", "0.5", "--eval", "-q").stdout.split() == [
        "[",
        "1",
        "2",
        "3",
        "4",
        "]",
    ]
    he = cli("init", "kaiming-normal", "--layer", "Conv2d(3, 64, 3)", "--nonlinearity", "relu", "--json").json()[
        "answer"
    ]
    assert {"std", "bound", "gain", "fan_in", "fan_out"} <= set(he)
    assert (he["fan_in"], he["fan_out"]) == (27, 576) and math.isclose(he["std"], math.sqrt(2 / 27))
    xavier = cli("init", "xavier-uniform", "--fan-in", "256", "--fan-out", "128", "-q")
    assert xavier.stdout.strip() == "std=0.0721688 bound=0.125"


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["norm", "batch", "--x", "1,2;3,4", "--eps", "0"], 1, "batch_norm eps must be positive during training"),
        (["norm", "batch", "--x", "1,2"], 1, "Expected more than 1 value per channel when training"),
        (["norm", "group", "--x", "1,2,3;4,5,6", "--groups", "2"], 1, "must be divisible by num_groups"),
        (["norm", "batch", "--x", "1,2;3,4", "--gamma", "1,2,3"], 2, "--gamma"),
        (["norm", "batch", "--x", "1,2;3,4", "--running-var", "1"], 2, "--running-var"),
        (["norm", "batch", "--x", "1,2;3,4", "--backward"], 2, "--grad-y"),
        (["dropout", "--x", "1,2", "--p", "1", "--mask", "1,0"], 2, "--p"),
        (["dropout", "--x", "1,2", "--p", "0.5", "--mask", "1,2"], 2, "--mask"),
        (["init", "kaiming-normal", "--layer", "BatchNorm2d(3)"], 1, "fewer than 2 dimensions"),
        (["init", "kaiming-normal", "--fan-in", "9", "--nonlinearity", "softmax"], 2, "--nonlinearity"),
    ],
)
def test_refusals(cli, args: list[str], status: int, words: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.exit_code == status, result.stdout + result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
