"""``dlsolve cost memory | checkpoint | comm | flops | steps``: the cost arithmetic of training."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Ints, Layers, option
from dlsolve.registry import command
from dlsolve.solution import Solution


def _choice(value: Any, flag: str, table: str) -> str:
    from dlsolve.solvers import cost, cost_comm

    choices = {"dtype": tuple(cost.DTYPE_BYTES), "optimizer": tuple(cost.OPTIMIZER_STATES), "scheme": cost_comm.SCHEMES}
    return parsing.parse_choice(value, flag, choices[table])


def _zero_stage(value: Any, flag: str) -> int:
    from dlsolve.errors import BadInput

    stage = parsing.parse_int(value, flag, minimum=0)
    if stage > 3:
        raise BadInput(f"ZeRO has stages 0, 1, 2 and 3; got {stage}", option=flag)
    return stage


def _non_negative(value: Any, flag: str) -> Any:
    from dlsolve.errors import BadInput

    number = parsing.parse_scalar(value, flag)
    if number < 0:
        raise BadInput(f"expected a number >= 0, got {value}", option=flag)
    return number


@command("cost memory")
def cost_memory(
    params: Annotated[
        int | None, option("--params", parse=parsing.parse_int, minimum=1, help="Parameter count (7e9), or --net.")
    ] = None,
    net: Annotated[
        Layers | None,
        option(
            "--net",
            parse=parsing.parse_network,
            help="Layers, as conv-shape --net (counts parameters and activations).",
        ),
    ] = None,
    input_shape: Annotated[
        Ints | None,
        option(
            "--input", parse=parsing.parse_int_list, minimum=1, help="With --net: the input batch shape, 32,3,224,224."
        ),
    ] = None,
    dtype: Annotated[
        str, option("--dtype", parse=_choice, table="dtype", help="fp32, tf32, fp16, bf16, fp8, int8 or int4.")
    ] = "fp32",
    optimizer: Annotated[
        str,
        option(
            "--optimizer",
            parse=_choice,
            table="optimizer",
            help="sgd, momentum, adagrad, rmsprop, rmsprop-centered, adam, adamw.",
        ),
    ] = "adam",
    mixed_precision: Annotated[
        bool, option("--mixed-precision", help="Low-precision weights and gradients, fp32 master weights and states.")
    ] = False,
    zero: Annotated[int, option("--zero", parse=_zero_stage, help="ZeRO stage 0-3 (with --gpus).")] = 0,
    gpus: Annotated[
        int, option("--gpus", parse=parsing.parse_int, minimum=1, help="GPUs (data parallel) for ZeRO.")
    ] = 1,
    checkpoint_every: Annotated[
        int | None,
        option("--checkpoint-every", parse=parsing.parse_int, minimum=1, help="Keep every k-th layer's output only."),
    ] = None,
) -> Solution:
    """Memory of training: parameters, gradients, optimizer states and activations, per dtype.

    Example: dlsolve cost memory --params 7e9 --dtype bf16 --optimizer adamw --mixed-precision --zero 2 --gpus 8

    Example: dlsolve cost memory --net "Conv2d(3, 16, 3); Flatten(); Linear(14400, 10)" --input 8,3,32,32
    """
    from dlsolve.solvers.cost import memory

    return memory(
        params=params,
        net=net,
        input_shape=input_shape,
        dtype=dtype,
        optimizer=optimizer,
        mixed_precision=mixed_precision,
        zero=zero,
        gpus=gpus,
        checkpoint_every=checkpoint_every,
    )  # type: ignore[arg-type]


@command("cost checkpoint")
def cost_checkpoint(
    layers: Annotated[int, option("--layers", parse=parsing.parse_int, minimum=1, help="Layers n in the chain.")],
    every: Annotated[
        int, option("--every", parse=parsing.parse_int, minimum=1, help="Keep every k-th layer's output.")
    ],
) -> Solution:
    """Activation checkpointing: outputs kept, forward operations recomputed, and the best spacing √n.

    Example: dlsolve cost checkpoint --layers 20 --every 5
    """
    from dlsolve.solvers.cost import checkpoint

    return checkpoint(layers=layers, every=every)


@command("cost comm")
def cost_comm(
    workers: Annotated[int, option("--workers", parse=parsing.parse_int, minimum=1, help="Workers N.")],
    size: Annotated[Any, option("--size", parse=parsing.parse_positive, help="Bytes each worker all-reduces (1e9).")],
    scheme: Annotated[
        str,
        option("--scheme", parse=_choice, table="scheme", help="ring-allreduce, parameter-server, all-to-all or tree."),
    ] = "ring-allreduce",
    bandwidth: Annotated[
        Any, option("--bandwidth", parse=parsing.parse_positive, help="Link bandwidth, bytes per second.")
    ] = None,
    latency: Annotated[Any, option("--latency", parse=_non_negative, help="Latency per step, seconds.")] = None,
) -> Solution:
    """Communication of one all-reduce: messages, bytes per worker, sequential steps, and the time.

    Example: dlsolve cost comm --workers 8 --size 1e9 --scheme ring-allreduce --bandwidth 25e9 --latency 5e-6
    """
    from dlsolve.solvers.cost_comm import comm

    return comm(workers=workers, size=size, scheme=scheme, bandwidth=bandwidth, latency=latency)


@command("cost flops")
def cost_flops(
    params: Annotated[
        Any, option("--params", parse=parsing.parse_positive, help="Parameters N (1.3e9), or --net.")
    ] = None,
    tokens: Annotated[Any, option("--tokens", parse=parsing.parse_positive, help="Training tokens D (300e9).")] = None,
    peak_tflops: Annotated[
        Any, option("--peak-tflops", parse=parsing.parse_positive, help="Peak TFLOP/s of one GPU (312).")
    ] = None,
    mfu: Annotated[
        Any, option("--mfu", parse=parsing.parse_positive, help="Model FLOPs utilisation, 0-1 (0.4).")
    ] = None,
    gpus: Annotated[int, option("--gpus", parse=parsing.parse_int, minimum=1, help="GPUs.")] = 1,
    net: Annotated[
        Layers | None,
        option("--net", parse=parsing.parse_network, help="Instead of --params: layers, counted exactly (MACs)."),
    ] = None,
    input_shape: Annotated[
        Ints | None,
        option("--input", parse=parsing.parse_int_list, minimum=1, help="With --net: the input batch shape."),
    ] = None,
    steps: Annotated[
        int, option("--steps", parse=parsing.parse_int, minimum=1, help="With --net: training steps.")
    ] = 1,
) -> Solution:
    """Training compute ≈ 6·N·D FLOPs (inference 2N per token), and the time on given hardware.

    With --net and --input instead: the network's multiply-accumulates counted layer by layer, and a
    training step ≈ 6 · MACs FLOPs.

    Example: dlsolve cost flops --net "Conv2d(3, 16, 3); Flatten(); Linear(14400, 10)" --input 8,3,32,32 --steps 100

    Example: dlsolve cost flops --params 1.3e9 --tokens 300e9 --peak-tflops 312 --mfu 0.4 --gpus 64
    """
    from dlsolve.errors import BadInput
    from dlsolve.solvers.cost_comm import flops, network_flops

    if net is not None:
        if params is not None or input_shape is None:
            raise BadInput("give --net with --input (the batch shape), or --params and --tokens", option="--net")
        return network_flops(net=net, input_shape=input_shape, steps=steps, peak_tflops=peak_tflops, mfu=mfu, gpus=gpus)
    if params is None:
        raise BadInput("give the parameter count (--params) or a network (--net with --input)", option="--params")
    return flops(params=params, tokens=tokens, peak_tflops=peak_tflops, mfu=mfu, gpus=gpus)


@command("cost steps")
def cost_steps(
    examples: Annotated[int, option("--examples", parse=parsing.parse_int, minimum=1, help="Training examples n.")],
    batch: Annotated[int, option("--batch", parse=parsing.parse_int, minimum=1, help="Batch size b per GPU.")],
    epochs: Annotated[int, option("--epochs", parse=parsing.parse_int, minimum=1, help="Epochs.")] = 1,
    drop_last: Annotated[
        bool, option("--drop-last", help="Drop the last partial batch (DataLoader drop_last).")
    ] = False,
    accumulate: Annotated[
        int, option("--accumulate", parse=parsing.parse_int, minimum=1, help="Gradient accumulation steps a.")
    ] = 1,
    gpus: Annotated[int, option("--gpus", parse=parsing.parse_int, minimum=1, help="Data-parallel GPUs g.")] = 1,
) -> Solution:
    """Iterations per epoch, effective batch and optimizer steps.

    Example: dlsolve cost steps --examples 50000 --batch 128 --epochs 10

    Example: dlsolve cost steps --examples 50000 --batch 128 --epochs 10 --drop-last --accumulate 4 --gpus 2
    """
    from dlsolve.solvers.cost import steps

    return steps(examples=examples, batch=batch, epochs=epochs, drop_last=drop_last, accumulate=accumulate, gpus=gpus)
