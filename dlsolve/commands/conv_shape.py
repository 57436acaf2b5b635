"""``dlsolve conv-shape``: one layer's output shape, or a whole network's."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Ints, Layers, Sizes, option
from dlsolve.registry import command
from dlsolve.solution import Solution

_SIZE = "One value for every spatial dimension, or one per dimension (28,32); ? for the unknown."


def _sizes(value: Any, flag: str, minimum: int, words: tuple[str, ...] = ()) -> list[int] | str:
    return parsing.parse_int_list_or_unknown(value, flag, minimum=minimum, words=words)


def _layer_kind(value: Any, flag: str) -> str:
    from dlsolve.solvers.conv import KINDS

    return parsing.parse_choice(value, flag, KINDS)


@command("conv-shape")
def conv_shape(
    size: Annotated[
        Sizes | None, option("--in", parse=_sizes, minimum=1, help="Input size per spatial dimension. " + _SIZE)
    ] = None,
    kernel: Annotated[
        Sizes | None, option("--k", "--kernel", parse=_sizes, minimum=1, help="Kernel size k. " + _SIZE)
    ] = None,
    stride: Annotated[
        Sizes | None, option("--s", "--stride", parse=_sizes, minimum=1, help="Stride s (default 1; pools: k).")
    ] = None,
    padding: Annotated[
        Sizes | None,
        option(
            "--p",
            "--padding",
            parse=parsing.parse_padding,
            minimum=0,
            words=("same", "valid"),
            help="Padding p on each side, before:after per dimension (0:1,1:2), or same / valid; ? unknown.",
        ),
    ] = None,
    dilation: Annotated[
        Sizes | None, option("--d", "--dilation", parse=_sizes, minimum=1, help="Dilation d (default 1).")
    ] = None,
    dims: Annotated[
        int | None, option("--dims", parse=parsing.parse_int, minimum=1, help="Spatial dimensions: 1, 2 or 3.")
    ] = None,
    layer: Annotated[
        str | None, option("--layer", parse=_layer_kind, help="conv (default), transposed, maxpool, avgpool.")
    ] = None,
    output_padding: Annotated[
        Sizes | None,
        option("--output-padding", parse=_sizes, minimum=0, help="Transposed conv output_padding (default 0)."),
    ] = None,
    ceil: Annotated[bool, option("--ceil", help="Pooling with ceil_mode=True.")] = False,
    groups: Annotated[
        int | None, option("--groups", parse=parsing.parse_int, minimum=1, help="Conv groups (default 1).")
    ] = None,
    batch: Annotated[
        int | None, option("--batch", parse=parsing.parse_int, minimum=1, help="Batch size N (for the full shape).")
    ] = None,
    channels: Annotated[
        int | None, option("--channels", parse=parsing.parse_int, minimum=1, help="Input channels C_in.")
    ] = None,
    filters: Annotated[
        int | None,
        option("--filters", parse=parsing.parse_int, minimum=1, help="Output channels C_out (number of filters)."),
    ] = None,
    no_bias: Annotated[bool, option("--no-bias", help="bias=False (for the parameter count).")] = False,
    out: Annotated[
        Ints | None,
        option(
            "--out", parse=parsing.parse_int_list, minimum=1, help="Output size, to solve for the option given as ?."
        ),
    ] = None,
    input_shape: Annotated[
        Ints | None,
        option(
            "--input",
            parse=parsing.parse_int_list,
            minimum=1,
            help="Network mode: input tensor shape, e.g. 10,1,32,32.",
        ),
    ] = None,
    net: Annotated[
        Layers | None,
        option(
            "--net",
            parse=parsing.parse_network,
            help="Network mode: layers such as 'Conv2d(1, 16, 3); ReLU()' or @file.",
        ),
    ] = None,
    net_file: Annotated[
        Layers | None,
        option("--net-file", parse=parsing.parse_network_file, help="Network mode: a file, one layer a line."),
    ] = None,
    framework: Annotated[
        str | None,
        option(
            "--framework",
            parse=parsing.parse_choice,
            choices=("pytorch", "keras"),
            help="pytorch (default) or keras: TF/Keras SAME/VALID rules, (H, W, C) order (Keras layer names "
            "select it).",
        ),
    ] = None,
    full: Annotated[bool, option("--full", help="Network mode: every layer worked out, not one of each kind.")] = False,
) -> Solution:
    """Output shape, parameters and MACs of a conv / transposed conv / pooling layer, or of a whole network.

    PyTorch's rules by default; --framework keras (or Keras layer names in --net) applies TF/Keras's:
    SAME gives out = ceil(in/s) at any stride, VALID floor((in - d(k-1) - 1)/s) + 1, shapes (N, H, W, C).
    MACs are counted as torchinfo's Mult-Adds (weights and bias once per output position); FLOPs ~ 2 x MACs.

    Examples:

      dlsolve conv-shape --in 28 --k 3 --batch 32 --filters 128

      dlsolve conv-shape --in 28 --k 4 --s 2 --p '?' --out 14

      dlsolve conv-shape --in 7 --k 3 --layer maxpool --s 2 --ceil

      dlsolve conv-shape --input 10,1,32,32 --net "Conv2d(1, 16, 3, padding=1); ReLU(); MaxPool2d(2)"

      dlsolve conv-shape --in 28 --k 4 --s 2 --p same --framework keras

      dlsolve conv-shape --net "Input(shape=(28, 28, 1)); Conv2D(32, 3); MaxPooling2D(); Flatten(); Dense(10)"

    Exit 1 when PyTorch would refuse the layer (with its reason) or no value of the unknown fits.
    """
    from dlsolve.solvers.conv_request import solve_conv_shape

    return solve_conv_shape(
        size=size,
        kernel=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        dims=dims,
        layer=layer,
        output_padding=output_padding,
        ceil=ceil,
        groups=groups,
        batch=batch,
        channels=channels,
        filters=filters,
        bias=not no_bias,
        out=out,
        input_shape=input_shape,
        net=net,
        net_file=net_file,
        framework=framework,
        full=full,
    )
