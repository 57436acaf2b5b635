"""``cost memory``, ``cost checkpoint`` and ``cost steps``: the memory and step arithmetic of training.

Conventions (stated in every working, since exams and tools differ on them):

* Memory per component = elements × bytes per element. Bytes per element: fp32 and tf32 4 (tf32 is
  stored as 32 bits; only the matmul units read 19 of them), fp16 and bf16 2, fp8 and int8 1, int4 ½.
* Gradients have one element per parameter; optimizer states per parameter: SGD 0, momentum 1,
  Adagrad 1, RMSprop 1 (2 centered), Adam and AdamW 2 (m and v).
* Mixed precision (ZeRO's accounting, Rajbhandari et al. 2020): parameters and gradients in the
  low-precision dtype, and in fp32 the master weights plus every optimizer state: K = 4·(1 + states)
  bytes per parameter (12 for Adam: 16 bytes per parameter with the 2 + 2 of the fp16 copies).
* ZeRO over N_d GPUs: stage 1 divides the optimizer states (with the master weights) by N_d,
  stage 2 the gradients too, stage 3 the parameters too.
* Activations: the output tensor of every layer of the traced network, for the whole batch, in the
  training dtype (the input tensor is not counted). With ``--checkpoint-every k`` only every k-th
  layer's output is kept, and one segment of at most k − 1 outputs is rebuilt at a time.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step, Table

if TYPE_CHECKING:
    from dlsolve.values import LayerCall

#: Bytes per element of each dtype.
DTYPE_BYTES: dict[str, Fraction] = {
    "fp32": Fraction(4),
    "tf32": Fraction(4),
    "fp16": Fraction(2),
    "bf16": Fraction(2),
    "fp8": Fraction(1),
    "int8": Fraction(1),
    "int4": Fraction(1, 2),
}
#: Optimizer states per parameter.
OPTIMIZER_STATES: dict[str, int] = {
    "sgd": 0,
    "momentum": 1,
    "adagrad": 1,
    "rmsprop": 1,
    "rmsprop-centered": 2,
    "adam": 2,
    "adamw": 2,
}
GIB = 2**30

#: The steps this module writes (see :mod:`dlsolve.step_kinds`).
STEP_KINDS = {
    "cost.count": "the parameters (given, or counted from the network) and activation elements",
    "cost.memory": "memory per component: elements × bytes per element, in bits, bytes and GiB",
    "cost.zero": "what each ZeRO stage divides across the GPUs, and the memory per GPU",
    "cost.checkpoint": "activations kept and forward operations recomputed with checkpoints every k layers",
    "cost.optimal-checkpoint": "the checkpoint spacing that minimises the activation memory, near √n",
    "cost.steps": "iterations per epoch, the effective batch, and optimizer steps",
}


def _gib(size: Fraction) -> str:
    return fmt.decimal(float(size) / GIB, 4)


def count(value: Fraction | int) -> str:
    """A count as a board writes it: ``1,750,000,000``; a fraction as :func:`fmt.number` does."""
    value = Fraction(value)
    return f"{int(value):,}" if value.denominator == 1 else fmt.number(value)


def scientific(value: Fraction | int | float) -> str:
    """A large count in powers of ten: ``3.15 × 10²³`` (from 10⁹ on; smaller ones as :func:`count`);
    a small value too (``5 × 10⁻⁶``, below 10⁻³), where ``5e-6`` would be Python's notation."""
    if value and abs(value) < Fraction(1, 1000):
        pass
    elif abs(value) < 10**9:
        return count(Fraction(value)) if not isinstance(value, float) else fmt.decimal(value)
    mantissa, _, exponent = f"{float(value):.6g}".partition("e")
    if not exponent:  # .6g wrote it in full: no exponent form
        mantissa, _, exponent = f"{float(value):.5e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa} × 10{fmt.superscript(int(exponent))}"


def scientific_latex(value: Fraction | int | float) -> str:
    """:func:`scientific` typeset: ``3.15 \\times 10^{23}``, ``1{,}750``."""
    text = scientific(value).replace(",", "{,}")
    mantissa, times, power = text.partition(" × 10")
    if not times:
        return text
    digits = power.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-"))
    return f"{mantissa} \\times 10^{{{digits}}}"


_SI = ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "kB"))


def size(value: Fraction | int) -> str:
    """A byte count with its unit: ``1,750,000,000 bytes (1.75 GB)``, ``512 bytes``."""
    value = Fraction(value)
    text = f"{count(value)} bytes"
    for factor, unit in _SI:
        if abs(value) >= factor:
            return f"{text} ({fmt.decimal(float(value / factor))} {unit})"
    return text


def _latex_count(value: Fraction | int) -> str:
    """:func:`count` for a display: ``1{,}750{,}000{,}000`` (a comma in maths is punctuation)."""
    return count(value).replace(",", "{,}")


def _plural(number: int | Fraction, word: str) -> str:
    return f"{count(number)} {word}{'' if number == 1 else 's'}"


def _number(value: Fraction | int) -> int | float:
    value = Fraction(value)
    return int(value) if value.denominator == 1 else float(value)


def _activation_elements(calls: list[LayerCall], input_shape: list[int]) -> tuple[int, list[tuple[str, int]], int]:
    """(parameters, [(layer, output elements)], trainable parameters) of the traced network."""
    from dlsolve.solvers.layers import network_shape

    traced = network_shape(input_shape, calls).answer
    outputs = [(layer["layer"], math.prod(layer["shape"])) for layer in traced["layers"]]
    return traced["params"], outputs, traced["params"]


def memory(
    *,
    params: int | None = None,
    net: list[LayerCall] | None = None,
    input_shape: list[int] | None = None,
    dtype: str = "fp32",
    optimizer: str = "adam",
    mixed_precision: bool = False,
    zero: int = 0,
    gpus: int = 1,
    checkpoint_every: int | None = None,
) -> Solution:
    """Training memory: parameters, gradients, optimizer states and activations (module docstring)."""
    if (params is None) == (net is None):
        raise BadInput("give the parameter count (--params) or a network (--net with --input)", option="--params")
    if net is not None and input_shape is None:
        raise BadInput("a network needs its input shape, e.g. --input 32,3,224,224", option="--input")
    if mixed_precision and dtype not in ("fp16", "bf16", "fp8"):
        raise BadInput(f"mixed precision trains in fp16, bf16 or fp8, not {dtype}", option="--dtype")
    if zero and gpus < 2:
        raise BadInput(f"ZeRO stage {zero} partitions across GPUs: give --gpus 2 or more", option="--gpus")
    outputs: list[tuple[str, int]] = []
    if net is not None:
        params, outputs, _ = _activation_elements(net, input_shape)  # type: ignore[arg-type]
    assert params is not None
    if params < 1:
        raise BadInput(f"expected a positive parameter count, got {params}", option="--params")
    width = DTYPE_BYTES[dtype]
    states = OPTIMIZER_STATES[optimizer]
    if mixed_precision:
        optimizer_bytes_each = 4 * (1 + states)  # fp32 master weights and states
        label = f"fp32 master weights + {_plural(states, 'state')} × 4 bytes"
    else:
        optimizer_bytes_each = states * width
        label = f"{_plural(states, 'state')} × {fmt.number(width)} bytes"
    parts = {"params": params * width, "grads": params * width, "optimizer": params * Fraction(optimizer_bytes_each)}
    divided = {1: ("optimizer",), 2: ("optimizer", "grads"), 3: ("optimizer", "grads", "params")}.get(zero, ())
    per_gpu = {name: size / gpus if name in divided else size for name, size in parts.items()}
    kept = [(name, count) for index, (name, count) in enumerate(outputs, 1)]
    if checkpoint_every is not None:
        if checkpoint_every < 1 or (outputs and checkpoint_every > len(outputs)):
            raise BadInput(
                f"expected 1 <= k <= {len(outputs)} (the layers), got {checkpoint_every}", option="--checkpoint-every"
            )
        stored = [item for index, item in enumerate(outputs, 1) if index % checkpoint_every == 0]
        segments = [outputs[start : start + checkpoint_every - 1] for start in range(0, len(outputs), checkpoint_every)]
        largest = max((sum(count for _, count in segment) for segment in segments), default=0)
        activation_elements = sum(count for _, count in stored) + largest
        kept = stored
    else:
        activation_elements = sum(count for _, count in outputs)
    activations = activation_elements * width
    total = sum(per_gpu.values(), Fraction(0)) + activations
    answer: dict[str, Any] = {
        "params": params,
        "params_bytes": _number(parts["params"]),
        "grads_bytes": _number(parts["grads"]),
        "optimizer_bytes": _number(parts["optimizer"]),
        "activations": activation_elements,
        "activations_bytes": _number(activations),
        "total_bytes": _number(total),
        "total_gib": float(total) / GIB,
        "per_gpu": {f"{name}_bytes": _number(size) for name, size in per_gpu.items()} if zero else None,
    }
    components = (
        ("parameters", params, width, per_gpu["params"]),
        ("gradients", params, width, per_gpu["grads"]),
        ("optimizer states", params, Fraction(optimizer_bytes_each), per_gpu["optimizer"]),
        ("activations", activation_elements, width, activations),
    )
    # bits and bytes are what one GPU holds (with ZeRO, after the division)
    rows = [
        [name, count(elements), fmt.number(bytes_each), count(stored * 8), count(stored), _gib(stored)]
        for name, elements, bytes_each, stored in components
    ]
    rows.append(["total", "", "", count(total * 8), count(total), _gib(total)])
    gpu = " per GPU" if zero else ""
    columns = ["component", "elements", "bytes each", f"bits{gpu}", f"bytes{gpu}", f"GiB{gpu}"]
    # -q: every component a grader may ask for (the activations' bytes, the weights'), then the total
    quiet = "; ".join(
        [f"{name} {fmt.number(stored)} bytes" for name, _, _, stored in components]
        + [f"total {fmt.number(total)} bytes = {_gib(total)} GiB{gpu}"]
    )
    held = [
        f"{name} {size(stored)}" + (f" = {count(stored * 8)} bits" if name == "parameters" else "")
        for name, _, _, stored in components
        if stored
    ]
    summary = (
        f"{count(params)} parameters in {dtype}{' (mixed precision)' if mixed_precision else ''} with {optimizer}: "
        f"{'; '.join(held)}; total {size(total)} = {_gib(total)} GiB{gpu}"
    )

    def working() -> list[Step]:
        steps = [
            Step(
                "Count what is stored",
                f"parameters Ψ = {count(params)}"
                + (
                    f" (counted from the network); activations: the outputs of its {len(outputs)} layers, "
                    f"{count(sum(c for _, c in outputs))} elements for the batch"
                    if outputs
                    else ""
                )
                + (
                    f"; checkpoints every {checkpoint_every} layers keep {len(kept)} outputs plus one "
                    f"rebuilt segment: {count(activation_elements)} elements"
                    if checkpoint_every
                    else ""
                ),
                kind="cost.count",
            ),
            Step(
                "Memory = elements × bytes per element",
                f"{dtype}: {fmt.number(width)} bytes per element; gradients one per parameter; optimizer "
                f"{optimizer}: {label} per parameter"
                + (
                    "; mixed precision keeps an fp32 master copy of the weights (ZeRO's accounting)"
                    if mixed_precision
                    else ""
                ),
                latex=r"M = \Psi\,(b_{\text{param}} + b_{\text{grad}} + b_{\text{opt}}) + A\,b_{\text{act}}",
                blocks=[Table(columns, rows)],
                kind="cost.memory",
            ),
        ]
        if zero:
            names = {"optimizer": "optimizer states", "grads": "gradients", "params": "parameters"}
            split = sum((parts[name] for name in divided), Fraction(0))
            whole = total - split / gpus
            sum_text = " + ".join(count(parts[name]) for name in divided)
            sum_latex = " + ".join(_latex_count(parts[name]) for name in divided)
            unit = size(total).partition(" bytes")[2].strip(" ()")
            latex = (
                rf"\text{{per GPU: }} \frac{{{sum_latex}}}{{{gpus}}}"
                + (f" + {_latex_count(whole)}" if whole else "")
                + rf" = {_latex_count(total)} \text{{ bytes}}"
                + (r"\ (" + unit.replace(" ", r" \text{ ") + "})" if unit else "")
            )
            steps.append(
                Step(
                    f"ZeRO stage {zero} over {gpus} GPUs",
                    f"stage {zero} divides the {', '.join(names[name] for name in divided)} by N_d = {gpus}; "
                    "what is not divided is held whole on every GPU (DeepSpeed's accounting); activations are "
                    f"per GPU's own batch. per GPU: ({sum_text})/{gpus}"
                    + (f" + {count(whole)}" if whole else "")
                    + f" = {size(total)}.",
                    latex,
                    kind="cost.zero",
                )
            )
        return steps

    return Solution(
        command="cost memory",
        inputs={
            "params": params,
            "dtype": dtype,
            "optimizer": optimizer,
            "mixed_precision": mixed_precision,
            "zero": zero,
            "gpus": gpus,
            "checkpoint_every": checkpoint_every,
        },
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=working,
    )


def checkpoint(*, layers: int, every: int) -> Solution:
    """Activation checkpointing on a chain of ``layers`` layers, keeping every ``every``-th output.

    Convention: the outputs of layers k, 2k, ... are kept during the forward pass (the input is
    always available); in the backward pass each segment's other outputs are rebuilt by running its
    layers forward again from the checkpoint before it, one segment at a time. So the forward
    operations recomputed are the layers whose outputs were not kept: n − ⌊n/k⌋, and the activations
    held at once are ⌊n/k⌋ + (k − 1), smallest near k = √n (2√n − 1 for a square n).
    """
    if layers < 1:
        raise BadInput(f"expected at least one layer, got {layers}", option="--layers")
    if every < 1 or every > layers:
        raise BadInput(f"expected 1 <= --every <= --layers ({layers}), got {every}", option="--every")
    kept = layers // every
    recomputed = layers - kept
    peak = kept + min(every - 1, layers - kept)
    best = min(
        range(1, layers + 1),
        key=lambda k: (layers // k + min(k - 1, layers - layers // k), abs(k - math.sqrt(layers))),
    )
    best_peak = layers // best + min(best - 1, layers - layers // best)
    answer = {
        "stored": kept,
        "recomputed": recomputed,
        "peak_activations": peak,
        "forward_ops": layers + recomputed,
        "best_every": best,
        "best_peak_activations": best_peak,
        "sqrt_n": math.sqrt(layers),
    }

    def working() -> list[Step]:
        return [
            Step(
                "Kept and recomputed",
                f"n = {layers} layers, checkpoints every k = {every}: "
                f"kept = ⌊n/k⌋ = ⌊{layers}/{every}⌋ = {kept} outputs; "
                f"recomputed = n − ⌊n/k⌋ = {layers} − {kept} = {recomputed} layers run forward again. "
                f"One training step costs {layers} + {recomputed} = {layers + recomputed} forward operations; at most "
                f"{kept} + {min(every - 1, layers - kept)} = {peak} outputs are held at once.",
                latex=rf"\text{{kept}} = \lfloor n/k \rfloor = \lfloor {layers}/{every} \rfloor = {kept} "
                rf"\text{{ outputs}},\quad \text{{recomputed}} = n - \lfloor n/k \rfloor = {layers} - {kept} = "
                rf"{recomputed} \text{{ layers run forward again}}",
                kind="cost.checkpoint",
            ),
            Step(
                "Best spacing",
                f"memory ≈ n/k + k is smallest at k = √n = {fmt.decimal(math.sqrt(layers))}: the best whole k is "
                f"{best}, holding {best_peak} outputs (without checkpoints: {layers}).",
                latex=r"\frac{d}{dk}\Big(\frac{n}{k} + k\Big) = 0 \Rightarrow k = \sqrt{n}",
                kind="cost.optimal-checkpoint",
            ),
        ]

    return Solution(
        command="cost checkpoint",
        inputs={"layers": layers, "every": every},
        answer=answer,
        summary=f"{kept} outputs kept, {recomputed} forward operations recomputed; best k = {best}",
        quiet=f"stored {kept}; recomputed {recomputed}; peak {peak}; best every {best}",
        steps=working,
    )


def steps(
    *, examples: int, batch: int, epochs: int = 1, drop_last: bool = False, accumulate: int = 1, gpus: int = 1
) -> Solution:
    """Iterations per epoch and optimizer steps, with gradient accumulation and data parallelism.

    Each of the ``gpus`` processes takes its own batch of ``batch`` examples per iteration
    (DistributedSampler): an epoch is ⌈n/(b·g)⌉ iterations (⌊·⌋ with ``drop_last``), and the
    optimizer steps every ``accumulate`` iterations, also after a last partial group:
    ⌈iterations/a⌉ steps per epoch; the effective batch is b·a·g.
    """
    for option, value in (
        ("--examples", examples),
        ("--batch", batch),
        ("--epochs", epochs),
        ("--accumulate", accumulate),
        ("--gpus", gpus),
    ):
        if value < 1:
            raise BadInput(f"expected a whole number >= 1, got {value}", option=option)
    per_iteration = batch * gpus
    iterations = examples // per_iteration if drop_last else -(-examples // per_iteration)
    if iterations == 0:
        raise BadInput(f"with --drop-last, {examples} examples make no full batch of {per_iteration}", option="--batch")
    per_epoch = -(-iterations // accumulate)
    effective = batch * accumulate * gpus
    answer = {
        "iterations_per_epoch": iterations,
        "optimizer_steps_per_epoch": per_epoch,
        "optimizer_steps": per_epoch * epochs,
        "iterations": iterations * epochs,
        "effective_batch": effective,
        "dropped_examples": examples - iterations * per_iteration if drop_last else 0,
    }
    left, right = ("⌊", "⌋") if drop_last else ("⌈", "⌉")
    latex_left, latex_right = (r"\lfloor ", r" \rfloor") if drop_last else (r"\lceil ", r" \rceil")
    divisor = f"({batch}·{gpus})" if gpus > 1 else f"{batch}"
    divisor_latex = rf"({batch} \cdot {gpus})" if gpus > 1 else f"{batch}"

    def working() -> list[Step]:
        lines = [
            f"iterations per epoch = {left}{examples}/{divisor}{right} = {iterations}"
            + (" (drop_last)" if drop_last else ""),
        ]
        latex = [rf"\text{{iterations per epoch}} = {latex_left}{examples}/{divisor_latex}{latex_right} = {iterations}"]
        if drop_last:
            latex[0] += r"\ \text{(drop\_last)}"
        if accumulate > 1:
            lines.append(f"optimizer steps per epoch = ⌈{iterations}/{accumulate}⌉ = {per_epoch}")
            latex.append(rf"\text{{optimizer steps per epoch}} = \lceil {iterations}/{accumulate} \rceil = {per_epoch}")
        lines.append(f"optimizer steps = {per_epoch} × {epochs} = {count(per_epoch * epochs)}")
        latex.append(rf"\text{{optimizer steps}} = {per_epoch} \times {epochs} = {per_epoch * epochs}")
        if accumulate > 1 or gpus > 1:
            lines.append(f"effective batch = b·a·g = {batch}·{accumulate}·{gpus} = {effective}")
            latex.append(rf"\text{{effective batch}} = b a g = {batch} \cdot {accumulate} \cdot {gpus} = {effective}")
        return [
            Step(
                "Iterations and steps",
                "\n".join(lines),
                latex=r"\begin{gathered} " + r" \\ ".join(latex) + r" \end{gathered}",
                kind="cost.steps",
            )
        ]

    return Solution(
        command="cost steps",
        inputs={
            "examples": examples,
            "batch": batch,
            "epochs": epochs,
            "drop_last": drop_last,
            "accumulate": accumulate,
            "gpus": gpus,
        },
        answer=answer,
        summary=f"{count(iterations)} iterations per epoch; {count(per_epoch * epochs)} optimizer steps; "
        f"effective batch {count(effective)}",
        quiet=f"{iterations} iterations/epoch; {per_epoch * epochs} optimizer steps",
        steps=working,
    )
