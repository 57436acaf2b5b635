"""``cost``: memory, checkpointing, communication, FLOPs and steps, against documented figures,
simulations and torch goldens (tests/data/make_cost_goldens.py)."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.parsing import parse_layers
from dlsolve.solvers import cost, cost_comm

GOLDENS = json.loads((Path(__file__).parent / "data" / "cost_goldens.json").read_text())["cases"]


@pytest.mark.parametrize(
    ("stage", "gigabytes"),
    # ZeRO (Rajbhandari et al. 2020), Figure 1: 7.5B parameters, 64 GPUs, mixed-precision Adam (K = 12)
    [(0, 120), (1, 31.4), (2, 16.6), (3, 1.9)],
)
def test_zero_stages_match_the_papers_figure(stage: int, gigabytes: float) -> None:
    solution = (
        cost.memory(params=7_500_000_000, dtype="fp16", optimizer="adam", mixed_precision=True, zero=stage, gpus=64)
        if stage
        else cost.memory(params=7_500_000_000, dtype="fp16", optimizer="adam", mixed_precision=True)
    )
    assert round(solution.answer["total_bytes"] / 1e9, 1) == pytest.approx(gigabytes, abs=0.05)


def test_weights_memory_in_bits_and_bytes() -> None:
    answer = cost.memory(params=1_000_000, dtype="fp16", optimizer="sgd").answer
    assert answer["params_bytes"] == 2_000_000 and answer["optimizer_bytes"] == 0
    int4 = cost.memory(params=7, dtype="int4", optimizer="sgd").answer
    assert int4["params_bytes"] == 3.5


@pytest.mark.parametrize("case", GOLDENS, ids=[c["net"][:30] for c in GOLDENS])
def test_activations_are_the_torch_output_elements(case: dict) -> None:  # type: ignore[type-arg]
    answer = cost.memory(net=parse_layers(case["net"]), input_shape=case["input"], optimizer="sgd").answer
    assert answer["activations"] == case["activations"] and answer["params"] == case["params"]
    assert answer["activations_bytes"] == 4 * case["activations"]


def _simulate_checkpointing(n: int, k: int) -> tuple[int, int, int]:
    """Forward once keeping layers k, 2k, ...; backward rebuilding each segment from its checkpoint."""
    kept = {i for i in range(1, n + 1) if i % k == 0}
    recomputed, peak = 0, 0
    segment_starts = list(range(0, n, k))
    for start in reversed(segment_starts):
        rebuilt = [i for i in range(start + 1, min(start + k, n + 1)) if i not in kept]
        recomputed += len(rebuilt)
        peak = max(peak, len(kept) + len(rebuilt))
    return len(kept), recomputed, peak


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_checkpointing_counts_match_a_simulation(case: tuple[int, int]) -> None:
    n, k = case
    answer = cost.checkpoint(layers=n, every=k).answer
    assert (answer["stored"], answer["recomputed"], answer["peak_activations"]) == _simulate_checkpointing(n, k)


def test_checkpoint_exam_numbers() -> None:
    answer = cost.checkpoint(layers=20, every=5).answer
    assert (answer["stored"], answer["recomputed"], answer["forward_ops"]) == (4, 16, 36)
    assert cost.checkpoint(layers=16, every=4).answer["best_every"] == 4  # √16


def _simulate_ring(workers: int, chunks: int) -> tuple[int, int, list[list[int]]]:
    """Reduce-scatter then all-gather around a ring; (messages, chunks sent per worker, the data)."""
    data = [[(w + 1) * (c + 1) for c in range(chunks)] for w in range(workers)]
    messages, sent = 0, [0] * workers
    for step in range(workers - 1):  # reduce-scatter
        outgoing = [(w, (w - step) % workers, data[w][(w - step) % workers]) for w in range(workers)]
        for w, chunk, value in outgoing:
            data[(w + 1) % workers][chunk] += value
            messages, sent[w] = messages + 1, sent[w] + 1
    for step in range(workers - 1):  # all-gather
        outgoing = [(w, (w + 1 - step) % workers, data[w][(w + 1 - step) % workers]) for w in range(workers)]
        for w, chunk, value in outgoing:
            data[(w + 1) % workers][chunk] = value
            messages, sent[w] = messages + 1, sent[w] + 1
    return messages, sent[0], data


@pytest.mark.parametrize("workers", [2, 3, 4, 8, 16])
def test_ring_allreduce_matches_a_simulation_of_the_ring(workers: int) -> None:
    messages, chunks_sent, data = _simulate_ring(workers, workers)
    totals = [sum((w + 1) * (c + 1) for w in range(workers)) for c in range(workers)]
    assert all(row == totals for row in data)  # every worker ends with the sum
    costs = cost_comm.scheme_costs("ring-allreduce", workers, Fraction(workers * 1000))
    assert costs["messages"] == messages and costs["steps"] == 2 * (workers - 1)
    assert costs["bytes_sent_per_worker"] == chunks_sent * 1000


def test_other_schemes_and_time() -> None:
    server = cost_comm.comm(workers=4, size=Fraction(100), scheme="parameter-server").answer
    assert (server["messages"], server["bytes_sent_per_worker"], server["server_bytes"]) == (8, 100, 800)
    assert cost_comm.comm(workers=4, size=Fraction(100), scheme="all-to-all").answer["messages"] == 12
    assert cost_comm.comm(workers=8, size=Fraction(100), scheme="tree").answer["steps"] == 6
    ring = cost_comm.comm(workers=8, size=Fraction(10**9), bandwidth=Fraction(10**9), latency=Fraction(0)).answer
    assert ring["seconds"] == pytest.approx(2 * 7 / 8)


def test_flops_6nd() -> None:
    answer = cost_comm.flops(params=Fraction(175 * 10**9), tokens=Fraction(300 * 10**9)).answer
    assert answer["flops"] == pytest.approx(3.15e23)
    timed = cost_comm.flops(
        params=Fraction(10**9), tokens=Fraction(10**9), peak_tflops=Fraction(100), mfu=Fraction(1, 2)
    )
    assert timed.answer["seconds"] == pytest.approx(6e18 / 50e12)


@given(st.integers(1, 5000), st.integers(1, 300), st.booleans(), st.integers(1, 8), st.integers(1, 4))
def test_steps_match_iterating_a_loader(examples: int, batch: int, drop_last: bool, accumulate: int, gpus: int) -> None:
    per = batch * gpus
    sizes = [min(per, examples - start) for start in range(0, examples, per)]
    iterations = len([s for s in sizes if s == per or not drop_last])
    if iterations == 0:
        return
    answer = cost.steps(examples=examples, batch=batch, drop_last=drop_last, accumulate=accumulate, gpus=gpus).answer
    stepped = sum(1 for i in range(iterations) if (i + 1) % accumulate == 0 or i == iterations - 1)
    assert answer["iterations_per_epoch"] == iterations and answer["optimizer_steps"] == stepped
    assert answer["effective_batch"] == batch * accumulate * gpus


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["memory", "--params", "10", "--dtype", "fp64"], "--dtype"),
        (["memory", "--params", "10", "--zero", "4", "--gpus", "2"], "--zero"),
        (["memory", "--params", "0"], "--params"),
        (["checkpoint", "--layers", "5", "--every", "6"], "--every"),
        (["comm", "--workers", "4", "--size", "-1"], "--size"),
        (["comm", "--workers", "4", "--size", "1", "--scheme", "gossip"], "--scheme"),
        (["steps", "--examples", "0", "--batch", "3"], "--examples"),
    ],
)
def test_bad_input_names_the_option(cli, args: list[str], option: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("cost", *args)
    assert result.exit_code == 2 and option in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_flops_of_a_network_from_its_macs(cli) -> None:  # type: ignore[no-untyped-def]
    # Conv2d(3, 16, 3) on 8x3x32x32: 8·30·30 positions × 432 weights; Linear: 8 × 14400·10 (no bias adds)
    macs = 8 * 30 * 30 * 432 + 8 * 14400 * 10
    result = cli(
        "cost",
        "flops",
        "--net",
        "Conv2d(3, 16, 3); Flatten(); Linear(14400, 10)",
        "--input",
        "8,3,32,32",
        "--steps",
        "100",
        "--json",
    )
    answer = result.json()["answer"]
    assert (answer["macs"], answer["flops_per_step"], answer["flops"]) == (macs, 6 * macs, 600 * macs)
    assert answer["torchinfo_macs"] == 8 * 30 * 30 * 448 + 8 * (14400 * 10 + 10)  # what conv-shape shows
    assert cli("cost", "flops", "--net", "Linear(2, 2)").exit_code == 2  # no --input


# --------------------------------------------------------------------------- the board


def test_memory_answer_has_the_byte_counts_with_units() -> None:
    """The Answer box carries what a grader checks: each component's bytes with a unit, the weights in bits."""
    summary = cost.memory(params=1_300_000, dtype="fp16", optimizer="sgd").summary
    assert "parameters 2,600,000 bytes (2.6 MB) = 20,800,000 bits" in summary
    assert summary.endswith("total 5,200,000 bytes (5.2 MB) = 0.004843 GiB")
    quiet = cost.memory(params=1_300_000, dtype="fp16", optimizer="sgd").quiet
    assert quiet == (
        "parameters 2600000 bytes; gradients 2600000 bytes; optimizer states 0 bytes; activations 0 bytes; "
        "total 5200000 bytes = 0.004843 GiB"
    )


def test_zero_table_bits_and_bytes_are_both_per_gpu() -> None:
    solution = cost.memory(params=7_500_000_000, dtype="fp16", optimizer="adam", mixed_precision=True, zero=3, gpus=64)
    table = next(step for step in solution.steps if step.kind == "cost.memory").blocks[0]
    assert table.columns[3:] == ["bits per GPU", "bytes per GPU", "GiB per GPU"]
    for row in table.rows:
        assert int(row[3].replace(",", "")) == 8 * int(row[4].replace(",", ""))
    zero = next(step for step in solution.steps if step.kind == "cost.zero").text
    assert "(90,000,000,000 + 15,000,000,000 + 15,000,000,000)/64 = 1,875,000,000 bytes (1.875 GB)" in zero


def test_comm_substitutes_and_answers_with_units() -> None:
    ring = cost_comm.comm(workers=8, size=Fraction(10**9))
    text = next(step for step in ring.steps if step.kind == "cost.comm").text
    assert "sent per worker = 2(N − 1)/N · S = 2·7/8 · 1 GB = 1,750,000,000 bytes (1.75 GB)" in text.splitlines()
    from dlsolve.render import board

    step = next(step for step in ring.steps if step.kind == "cost.comm")
    assert [board.uncovered(line, step.latex) for line in text.splitlines()[1:]] == ["", "", ""]  # said once
    assert r"\text{sent per worker} &= \frac{2(N-1)}{N} S = \frac{2 \cdot 7}{8} \cdot 1\text{ GB} = " in step.latex
    assert ring.summary == "ring-allreduce: 112 messages, 1,750,000,000 bytes (1.75 GB) sent per worker, 14 steps"
    server = cost_comm.comm(workers=8, size=Fraction(10**9), scheme="parameter-server").summary
    assert server.endswith("2 steps; the server's link carries 16,000,000,000 bytes (16 GB)")
    quiet = cost_comm.comm(workers=8, size=Fraction(10**9), scheme="parameter-server").quiet
    assert quiet == "messages 16; bytes per worker 1000000000; steps 2; server link bytes 16000000000"


def test_comm_time_on_its_own_line_in_board_notation() -> None:
    ring = cost_comm.comm(workers=8, size=Fraction(10**9), bandwidth=Fraction(25 * 10**9), latency=Fraction(5, 10**6))
    text = next(step for step in ring.steps if step.kind == "cost.comm").text
    assert text.splitlines()[-1] == (
        "time = steps × latency + steps × bytes per step / bandwidth = 14 × 5 × 10⁻⁶ s + 14 × 125,000,000 bytes / "
        "2.5 × 10¹⁰ bytes/s = 0.07007 s"
    )


def test_flops_in_powers_of_ten() -> None:
    solution = cost_comm.flops(params=Fraction(175 * 10**9), tokens=Fraction(300 * 10**9))
    assert solution.summary == "training ≈ 3.15 × 10²³ FLOPs"
    text = next(step for step in solution.steps if step.kind == "cost.flops").text
    assert "6ND = 6 · 1.75 × 10¹¹ · 3 × 10¹¹ = 3.15 × 10²³ FLOPs" in text and "e23" not in text
    assert cost.scientific(10**9) == "1 × 10⁹" and cost.scientific(123_456) == "123,456"
    step = next(step for step in solution.steps if step.kind == "cost.flops")
    assert step.latex == (
        r"C_{\text{train}} \approx 6ND = 6 \cdot 1.75 \times 10^{11} \cdot 3 \times 10^{11} = 3.15 \times 10^{23} "
        r"\text{ FLOPs}"
    )
    from dlsolve.render import board

    assert board.uncovered(step.text.splitlines()[-1], step.latex) == ""  # the formula once, in the display
    assert cost_comm.flops(params=Fraction(13 * 10**8)).summary == "training ≈ 7.8 × 10⁹ FLOPs per token"


def test_checkpoint_formulas_are_typeset_once() -> None:
    """The kept/recomputed formulas are in the display: the text beside it keeps only the prose."""
    from dlsolve.render import board

    step = next(s for s in cost.checkpoint(layers=20, every=5).steps if s.kind == "cost.checkpoint")
    prose = board.uncovered(step.text, step.latex)
    assert "⌊" not in prose and "36 forward operations" in prose


def test_steps_written_as_formulas() -> None:
    plain = next(s for s in cost.steps(examples=50_000, batch=128, epochs=10).steps if s.kind == "cost.steps")
    assert plain.text.splitlines() == ["iterations per epoch = ⌈50000/128⌉ = 391", "optimizer steps = 391 × 10 = 3,910"]
    both = cost.steps(examples=1000, batch=10, accumulate=4, gpus=2, drop_last=True).steps[0].text
    assert "⌊1000/(10·2)⌋ = 50 (drop_last)" in both and "⌈50/4⌉ = 13" in both and "b·a·g = 10·4·2 = 80" in both
    from dlsolve.render import board

    for step in (plain, cost.steps(examples=1000, batch=10, accumulate=4, gpus=2, drop_last=True).steps[0]):
        assert "·" not in step.latex  # \cdot in the display
        assert [board.uncovered(line, step.latex) for line in step.text.splitlines()] == [""] * len(
            step.text.splitlines()
        )  # each line said once, by the display
    zero = cost.memory(params=7_500_000_000, dtype="fp16", optimizer="adam", mixed_precision=True, zero=3, gpus=64)
    step = next(s for s in zero.steps if s.kind == "cost.zero")
    assert "{,}" in step.latex and "/64" not in board.uncovered(step.text, step.latex)
