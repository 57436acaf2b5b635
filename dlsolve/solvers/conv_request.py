"""``conv-shape`` as a whole: one layer or a network, with the limits that keep the arithmetic sane.

A Python caller gets the same checks as the command line: single-layer options and network mode
do not mix, at most one size is the unknown ``?``, sizes are at most :data:`MAX_SIZE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dlsolve.errors import BadInput
from dlsolve.values import UNKNOWN, LayerCall

if TYPE_CHECKING:
    from dlsolve.solution import Solution

#: Largest size accepted for one dimension, channel count or batch (keeps the arithmetic in range).
MAX_SIZE = 10**9

#: Field of :func:`dlsolve.solvers.conv.conv_shape` -> the option that gives it.
SIZE_OPTIONS = {
    "size": "--in",
    "kernel": "--k",
    "stride": "--s",
    "padding": "--p",
    "dilation": "--d",
    "output_padding": "--output-padding",
}


def _check_sizes(values: Sequence[int | tuple[int, int]], option: str, most: int) -> None:
    if len(values) > most or max(max(v) if isinstance(v, tuple) else v for v in values) > MAX_SIZE:
        raise BadInput(f"expected at most {most} values, each at most {MAX_SIZE}; got {list(values)}", option=option)


def _check_count(value: int | None, option: str) -> int | None:
    if value is not None and value > MAX_SIZE:
        raise BadInput(f"expected at most {MAX_SIZE}, got {value}", option=option)
    return value


def solve_conv_shape(
    *,
    size: list[int] | str | None = None,
    kernel: list[int] | str | None = None,
    stride: list[int] | str | None = None,
    padding: list[int | tuple[int, int]] | str | None = None,
    dilation: list[int] | str | None = None,
    dims: int | None = None,
    layer: str | None = None,
    output_padding: list[int] | str | None = None,
    ceil: bool = False,
    groups: int | None = None,
    batch: int | None = None,
    channels: int | None = None,
    filters: int | None = None,
    bias: bool = True,
    out: list[int] | None = None,
    input_shape: list[int] | None = None,
    net: list[LayerCall] | None = None,
    net_file: list[LayerCall] | None = None,
    framework: str | None = None,
    full: bool = False,
) -> Solution:
    """One layer's output shape (``size``, ``kernel``, ...; one of them may be ``"?"``, solved from
    ``out``) or, with ``input_shape`` and the layers (``net``, or ``net_file`` read from a file), a network's (see
    :func:`dlsolve.solvers.conv.conv_shape` and :func:`dlsolve.solvers.layers.network_shape`)."""
    single = {
        "--in": size,
        "--k": kernel,
        "--s": stride,
        "--p": padding,
        "--d": dilation,
        "--dims": dims,
        "--layer": layer,
        "--output-padding": output_padding,
        "--groups": groups,
        "--batch": batch,
        "--channels": channels,
        "--filters": filters,
        "--out": out,
        "--ceil": ceil or None,
        "--no-bias": None if bias else True,
    }
    if framework == "keras" and net is None and net_file is None and input_shape is None:
        framework_single = "keras"
    else:
        framework_single = "pytorch"
    if net is not None or net_file is not None or input_shape is not None:
        mixed = [name for name, value in single.items() if value is not None]
        if mixed:
            raise BadInput(
                f"{mixed[0]} is a single-layer option; in network mode give the layers only", option=mixed[0]
            )
        if net is not None and net_file is not None:
            raise BadInput("give the layers with --net or --net-file, not both", option="--net-file")
        layers = net if net is not None else net_file
        if layers is None:
            raise BadInput("network mode needs the layers: --net '...' or --net-file FILE", option="--net")
        from dlsolve.solvers.layers import network_shape
        from dlsolve.solvers.layers_keras import detect

        framework = framework or detect(layers)
        if input_shape is None and framework != "keras":
            raise BadInput("network mode needs the input shape, e.g. --input 10,1,32,32", option="--input")
        if input_shape is not None and (len(input_shape) > 6 or max(input_shape) > MAX_SIZE):
            raise BadInput(f"expected at most 6 sizes, each at most {MAX_SIZE}; got {input_shape}", option="--input")
        return network_shape(input_shape, layers, framework, full=full)

    from dlsolve.solvers.conv import conv_shape

    fields = {
        "size": size,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "output_padding": output_padding,
    }
    unknowns = [name for name, value in fields.items() if value == UNKNOWN]
    if len(unknowns) > 1:
        raise BadInput(f"only one option may be ?, got {len(unknowns)}", option=SIZE_OPTIONS[unknowns[1]])
    for name, value in fields.items():
        if isinstance(value, list):
            _check_sizes(value, SIZE_OPTIONS[name], 3)
    if out is not None:
        _check_sizes(out, "--out", 3)
    known = {name: None if value == UNKNOWN else value for name, value in fields.items()}
    return conv_shape(
        known["size"],  # type: ignore[arg-type]
        known["kernel"],  # type: ignore[arg-type]
        stride=known["stride"],  # type: ignore[arg-type]
        padding=known["padding"],
        dilation=known["dilation"],  # type: ignore[arg-type]
        dims=_check_count(dims, "--dims"),
        layer=layer or "conv",
        output_padding=known["output_padding"],  # type: ignore[arg-type]
        ceil=ceil,
        groups=_check_count(groups, "--groups") or 1,
        batch=_check_count(batch, "--batch"),
        channels=_check_count(channels, "--channels"),
        filters=_check_count(filters, "--filters"),
        bias=bias,
        out=out,
        unknown=unknowns[0] if unknowns else None,
        framework=framework_single,
    )
