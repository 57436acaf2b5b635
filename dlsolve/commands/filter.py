"""``dlsolve filter apply | pool | design | explain``: convolution filters by hand."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Channels, Pair, argument, option
from dlsolve.registry import command
from dlsolve.solution import Solution

_IMAGE_HELP = (
    "Image: rows ';', entries ',' (1,2;3,4), [[1,2],[3,4]], @file (.csv/.txt/.npy C x H x W) or -; "
    "channels separated by ';;'."
)


def _pair(value: Any, flag: str, minimum: int) -> tuple[int, int]:
    """One whole number for both axes, or ``rows,cols``."""
    from dlsolve.solvers.filters import axis_pair

    return axis_pair(parsing.parse_int_list(value, flag, minimum=minimum), flag)


def _pads(value: Any, flag: str, words: tuple[str, ...] = ()) -> Any:
    """Padding per axis: ``1`` (all sides), ``1,0`` (rows, cols), ``0:1,1:2`` (before:after per axis), or a word."""
    from dlsolve.errors import BadInput

    pads = parsing.parse_padding(value, flag, minimum=0, words=words)
    if isinstance(pads, str):
        if pads == parsing.UNKNOWN:
            raise BadInput("the padding cannot be ? here", option=flag)
        return pads
    if len(pads) == 1:
        return (pads[0], pads[0])
    if len(pads) == 2:
        return (pads[0], pads[1])
    raise BadInput(f"expected one padding or two (rows,cols), got {len(pads)}", option=flag)


def _kernel(value: Any, flag: str) -> tuple[list[Any], str | None]:
    """Kernel slices and the design name they came from (None for a typed matrix)."""
    if not isinstance(value, str):
        return parsing.parse_channels(value, flag), None
    from dlsolve.solvers.filter_kernels import kernel_from_text

    return kernel_from_text(value, flag)


def _cell(value: Any, flag: str) -> tuple[int, int]:
    from dlsolve.errors import BadInput

    values = parsing.parse_int_list(value, flag, minimum=0)
    if len(values) != 2:
        raise BadInput(f"expected a row and a column such as 1,2; got {len(values)} number(s)", option=flag)
    return (values[0], values[1])


#: The image option of apply and pool.
_IMAGE = option("--image", "-i", parse=parsing.parse_channels, help=_IMAGE_HELP)

_KERNEL_HELP = "Kernel matrix (one slice per channel, ';;'), or a name: sobel-x, box-blur:5, gaussian-blur:5:1.5."


@command("filter apply")
def filter_apply(
    image: Annotated[Channels, _IMAGE],
    kernel: Annotated[Pair, option("--kernel", "-k", parse=_kernel, help=_KERNEL_HELP)],
    stride: Annotated[
        Pair,
        option(
            "--stride",
            "-s",
            parse=_pair,
            minimum=1,
            help="Stride: 2, or rows,cols (2,1); default 1.",
            show_default=False,
        ),
    ] = (
        1,
        1,
    ),
    padding: Annotated[
        Pair,
        option(
            "--padding",
            "-p",
            parse=_pads,
            help="Zero padding: 1, rows,cols (1,0), or before:after per axis (0:1,1:2); default 0.",
            show_default=False,
        ),
    ] = (0, 0),
    dilation: Annotated[
        Pair,
        option(
            "--dilation",
            "-d",
            parse=_pair,
            minimum=1,
            help="Dilation: the kernel's taps d apart (conv2d's dilation): 2, or rows,cols; default 1.",
            show_default=False,
        ),
    ] = (1, 1),
    mode: Annotated[
        str,
        option(
            "--mode",
            parse=parsing.parse_choice,
            choices=("xcorr", "conv"),
            help="xcorr (conv layer) or conv (flipped kernel).",
        ),
    ] = "xcorr",
    cell: Annotated[
        Pair | None,
        option("--cell", parse=_cell, help="Output cell i,j (0-based: row i, column j) to write out in full."),
    ] = None,
    bias: Annotated[
        Any,
        option(
            "--bias",
            parse=parsing.parse_scalar,
            help="Bias b added to every output cell (conv2d's bias): 1, -0.5, 1/3.",
        ),
    ] = None,
    full: Annotated[bool, option("--full", help="Write out the first few cells, with their windows.")] = False,
) -> Solution:
    """The output of a filter on an image, as a conv layer computes it: one worked cell, then the output.

    xcorr (default) is PyTorch's conv2d (cross-correlation); conv flips the kernel (true convolution,
    scipy.signal.convolve2d). Several channels are summed, one kernel slice per channel; --bias b
    adds b to every output cell: y = (x * K) + b, as conv2d(input, weight, bias).

    Example: dlsolve filter apply --image "1,2,3,0;0,1,2,3;3,0,1,2;2,3,0,1" --kernel "2,0,1;0,1,2;1,0,2"

    Example: dlsolve filter apply -i "0,0,9,9;0,0,9,9;0,0,9,9" -k sobel-x --padding 1 --cell 1,1

    Example: dlsolve filter apply -i "1,2,0;0,1,3;2,1,0" -k "1,0;0,-1" --bias -1/2

    Example: dlsolve filter apply -i "1,2,3,4;5,6,7,8;9,10,11,12;13,14,15,16" -k "1,2;3,4" --dilation 2
    """
    from dlsolve.solvers.filters import apply_filter

    slices, name = kernel  # type: ignore[misc]
    return apply_filter(
        image,
        slices,
        stride=stride,  # type: ignore[arg-type]
        padding=padding,  # type: ignore[arg-type]
        dilation=dilation,  # type: ignore[arg-type]
        mode=mode,
        cell=cell,  # type: ignore[arg-type]
        kernel_name=name,
        bias=bias,
        full=full,
    )


@command("filter pool")
def filter_pool(
    image: Annotated[Channels, _IMAGE],
    size: Annotated[
        Pair,
        option(
            "--size",
            "-k",
            parse=_pair,
            minimum=1,
            help="Window size: 2, or rows,cols (2,3); default 2.",
            show_default=False,
        ),
    ] = (2, 2),
    stride: Annotated[
        Pair | None, option("--stride", "-s", parse=_pair, minimum=1, help="Stride (default: the window size).")
    ] = None,
    padding: Annotated[
        Pair,
        option(
            "--padding",
            "-p",
            parse=_pads,
            words=("same", "valid"),
            help="Padding (at most size/2): 1, rows,cols or before:after per axis (0:1,1:0); with --framework keras "
            "same or valid; default 0.",
            show_default=False,
        ),
    ] = (0, 0),
    op: Annotated[
        str, option("--op", parse=parsing.parse_choice, choices=("max", "avg"), help="max (default) or avg.")
    ] = "max",
    ceil: Annotated[bool, option("--ceil", help="ceil_mode: round the output size up.")] = False,
    exclude_pad: Annotated[
        bool, option("--exclude-pad", help="avg: divide by real cells only (count_include_pad=False).")
    ] = False,
    framework: Annotated[
        str,
        option(
            "--framework",
            parse=parsing.parse_choice,
            choices=("pytorch", "keras"),
            help="pytorch (default) or keras (MaxPooling2D/AveragePooling2D: --padding same or valid).",
        ),
    ] = "pytorch",
    full: Annotated[bool, option("--full", help="Write out the first few windows.")] = False,
) -> Solution:
    """Max or average pooling, PyTorch's rules (max_pool2d, avg_pool2d) or TF/Keras's: a worked window, the output.

    Padding is -inf for max; avg divides by the window size including padding zeros unless --exclude-pad.
    Keras (--framework keras --padding same): out = ceil(n/s), the extra padding at the bottom/right;
    max pads with -inf, avg divides by the real cells.

    Example: dlsolve filter pool --image "1,3,2,4;5,6,7,8;3,2,1,0;1,2,3,4" --size 2

    Example: dlsolve filter pool -i "1,2,3;4,5,6;7,8,9" --size 2 --stride 2 --padding 1 --op avg --exclude-pad

    Example: dlsolve filter pool -i "1,2,3;4,5,6;7,8,9" --size 2 --padding same --framework keras --op avg
    """
    from dlsolve.solvers.filter_pool import pool

    return pool(
        image,  # type: ignore[arg-type]
        size=size,  # type: ignore[arg-type]
        stride=stride,  # type: ignore[arg-type]
        padding=padding,  # type: ignore[arg-type]
        op=op,
        ceil=ceil,
        exclude_pad=exclude_pad,
        framework=framework,
        full=full,
    )


@command("filter transpose")
def filter_transpose(
    image: Annotated[Channels, _IMAGE],
    kernel: Annotated[
        Channels,
        option(
            "--kernel", "-k", parse=parsing.parse_channels, help="Kernel matrix (one slice per input channel, ';;')."
        ),
    ],
    stride: Annotated[
        Pair,
        option("--stride", "-s", parse=_pair, minimum=1, help="Stride: 2 or rows,cols; default 1.", show_default=False),
    ] = (1, 1),
    padding: Annotated[
        Pair,
        option(
            "--padding",
            "-p",
            parse=_pair,
            minimum=0,
            help="Padding p (cut from each side of the output): 1 or rows,cols; default 0.",
            show_default=False,
        ),
    ] = (0, 0),
    output_padding: Annotated[
        Pair,
        option(
            "--output-padding",
            parse=_pair,
            minimum=0,
            help="Extra rows/columns at the bottom/right (smaller than the stride or the dilation); default 0.",
            show_default=False,
        ),
    ] = (0, 0),
    dilation: Annotated[
        Pair,
        option(
            "--dilation", "-d", parse=_pair, minimum=1, help="Dilation: 2 or rows,cols; default 1.", show_default=False
        ),
    ] = (1, 1),
    bias: Annotated[
        Any, option("--bias", parse=parsing.parse_scalar, help="Bias b added to every output cell.")
    ] = None,
    full: Annotated[bool, option("--full", help="Also the output of the equivalent convolution.")] = False,
) -> Solution:
    """A transposed convolution by hand (conv_transpose2d, one output channel): scatter and equivalent views.

    Scatter: each input cell multiplies the whole kernel and adds the copy into the output at (i·s − p, j·s − p).
    Equivalent: insert s − 1 zeros between the inputs, pad by d(k − 1) − p, convolve with the flipped kernel.
    out = (n − 1)·s − 2p + d(k − 1) + output_padding + 1.

    Example: dlsolve filter transpose --image "0,1;2,3" --kernel "0,1;2,3" --stride 2

    Example: dlsolve filter transpose -i "1,2;3,4" -k "1,0,-1;1,0,-1;1,0,-1" --stride 2 --padding 1 --output-padding 1
    """
    from dlsolve.solvers.filter_transpose import transpose_filter

    return transpose_filter(
        image,  # type: ignore[arg-type]
        kernel,  # type: ignore[arg-type]
        stride=stride,  # type: ignore[arg-type]
        padding=padding,  # type: ignore[arg-type]
        output_padding=output_padding,  # type: ignore[arg-type]
        dilation=dilation,  # type: ignore[arg-type]
        bias=bias,
        full=full,
    )


_DESIGNS = (
    "vertical-edge, horizontal-edge, diagonal-edge-45/-135, sobel-x/-y, prewitt-x/-y, scharr-x/-y, "
    "laplacian-4/-8, box-blur, gaussian-blur, sharpen, identity, emboss."
)


@command("filter design")
def filter_design(
    what: Annotated[str, argument("WHAT", help=_DESIGNS)],
    size: Annotated[
        int | None,
        option("--size", parse=parsing.parse_int, minimum=1, help="Size n (n x n) of box-blur/gaussian-blur."),
    ] = None,
    sigma: Annotated[
        Any, option("--sigma", parse=parsing.parse_positive, help="Gaussian sigma (float weights).")
    ] = None,
    full: Annotated[bool, option("--full", help="Also the evidence filter explain gives.")] = False,
) -> Solution:
    """A standard kernel for a purpose, with the reasoning (sums, signs, brightness) and a check.

    Example: dlsolve filter design horizontal-edge

    Example: dlsolve filter design gaussian-blur --size 5
    """
    from dlsolve.solvers.filter_kernels import design_filter

    return design_filter(what, size=size, sigma=sigma, full=full)


@command("filter explain")
def filter_explain(
    kernel: Annotated[
        Pair, option("--kernel", "-k", parse=_kernel, help="Kernel matrix (1,0,-1;2,0,-2;1,0,-1) or a name.")
    ],
    full: Annotated[bool, option("--full", help="Also symmetry, separability and the step-edge responses.")] = False,
) -> Solution:
    """Say what a kernel does: edge detector (orientation, polarity), blur, sharpen, Laplacian, identity.

    Evidence: sum of weights, symmetry, separability, first moments, responses to step edges.

    Example: dlsolve filter explain --kernel "1,1,1;0,0,0;-1,-1,-1"

    Example: dlsolve filter explain --kernel "0,-1,0;-1,5,-1;0,-1,0"
    """
    from dlsolve.solvers.filter_kernels import explain_kernel

    slices, name = kernel  # type: ignore[misc]
    return explain_kernel(slices, name, full=full)
