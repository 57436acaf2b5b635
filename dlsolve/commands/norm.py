"""``dlsolve norm batch | layer | group | instance | rms``: normalization layers by hand, as PyTorch.

The subcommands share their options: each is declared once here (an ``Annotated`` alias) and each
subcommand lists the ones its PyTorch layer has.
"""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Ints, Vector, option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import Tensor

TENSOR_HELP = (
    "N x C matrix (rows ';', entries ','); N,C,L: samples separated by ';;', each C x L; N,C,H,W: samples "
    "separated by ';;;', channels by ';;'; a batch of one ends with its separator (1,2;3,4;;); @file.npy or -."
)


def _momentum(value: Any, flag: str) -> Any:
    """A number, or ``none`` (PyTorch's momentum=None: the cumulative moving average)."""
    if isinstance(value, str) and value.strip().lower() == "none":
        return "none"
    return parsing.parse_scalar(value, flag)


X = Annotated[Tensor, option("--x", "-x", parse=parsing.parse_tensor, help=f"Input x: {TENSOR_HELP}")]
Gamma = Annotated[
    Vector | None,
    option(
        "--gamma", parse=parsing.parse_vector, help="γ (weight): one per channel, or per normalized entry (default 1)."
    ),
]
Beta = Annotated[Vector | None, option("--beta", parse=parsing.parse_vector, help="β (bias), as γ (default 0).")]
Eps = Annotated[Any, option("--eps", parse=parsing.parse_scalar, help="ε added to the variance (default 1e-5).")]
Momentum = Annotated[
    Any,
    option(
        "--momentum",
        parse=_momentum,
        help="PyTorch's momentum m: new = (1 − m)·old + m·batch (default 0.1); none: cumulative average.",
    ),
]
RunningMean = Annotated[
    Vector | None,
    option("--running-mean", parse=parsing.parse_vector, help="Running mean before the call (default 0)."),
]
RunningVar = Annotated[
    Vector | None,
    option("--running-var", parse=parsing.parse_vector, help="Running variance before the call (default 1)."),
]
Tracked = Annotated[
    int,
    option(
        "--num-batches-tracked",
        parse=parsing.parse_int,
        minimum=0,
        help="Batches seen before this one (with --momentum none).",
    ),
]
Eval = Annotated[bool, option("--eval", help="Eval mode (model.eval()): the running statistics normalize.")]
NoAffine = Annotated[bool, option("--no-affine", help="affine=False: no γ, no β (y = x̂).")]
Backward = Annotated[bool, option("--backward", help="Also dL/dx, dL/dγ, dL/dβ from --grad-y.")]
GradY = Annotated[
    Tensor | None, option("--grad-y", parse=parsing.parse_tensor, help="dL/dy, the shape of x (implies --backward).")
]
NormalizedShape = Annotated[
    Ints | None,
    option(
        "--normalized-shape",
        parse=parsing.parse_int_list,
        minimum=1,
        help="The trailing dimensions normalized over, e.g. 3 or 4,4 (default: the last dimension).",
    ),
]
Blocks = Annotated[
    int,
    option(
        "--blocks",
        parse=parsing.parse_int,
        minimum=0,
        help="Stack this many pre-LN residual blocks with identity sublayers: x_(l+1) = x_l + LN(x_l).",
    ),
]
Full = Annotated[bool, option("--full", help="Every statistic in the table (default: the first 12).")]


def _grad(backward: bool, grad_y: Tensor | None) -> Tensor | None:
    if backward and grad_y is None:
        from dlsolve.errors import BadInput

        raise BadInput("--backward needs dL/dy: give --grad-y with the shape of x", option="--grad-y")
    return grad_y


@command("norm batch")
def norm_batch(
    x: X,
    gamma: Gamma = None,
    beta: Beta = None,
    eps: Eps = None,
    momentum: Momentum = None,
    running_mean: RunningMean = None,
    running_var: RunningVar = None,
    num_batches_tracked: Tracked = 0,
    eval_mode: Eval = False,
    no_affine: NoAffine = False,
    no_track: Annotated[
        bool, option("--no-track-running-stats", help="track_running_stats=False: batch statistics in both modes.")
    ] = False,
    backward: Backward = False,
    grad_y: GradY = None,
    full: Full = False,
) -> Solution:
    """Batch norm (BatchNorm1d/2d/3d): per channel over the batch, training or eval mode.

    Training: x̂ = (x − μ)/√(σ² + ε) with the batch's mean and *biased* variance (divided by M), y = γx̂ + β;
    the running statistics move by new = (1 − m)·old + m·batch with the *unbiased* variance
    (divided by M − 1); Keras's momentum is the opposite (the weight of the old value). --eval uses the
    running statistics. --grad-y: dx = (γ/σ)(g − mean(g) − x̂·mean(g·x̂)), dγ = Σg·x̂, dβ = Σg.

    Example: dlsolve norm batch --x "1,2;3,6;5,10" --gamma 1,2 --beta 0,1 --running-mean 0,0 --running-var 1,1

    Example: dlsolve norm batch --x "1,2;3,6;5,10" --running-mean 2,5 --running-var 4,9 --eps 0 --eval

    Example: dlsolve norm batch --x "1,2;3,6" --backward --grad-y "1,0;0,1"
    """
    from dlsolve.solvers.norm import normalize

    cumulative = momentum == "none"
    return normalize(
        "batch", x, gamma=gamma, beta=beta, eps=eps, momentum=None if cumulative else momentum,
        cumulative=cumulative, num_batches_tracked=num_batches_tracked, running_mean=running_mean,
        running_var=running_var, training=not eval_mode, affine=not no_affine, track_running_stats=not no_track,
        grad_y=_grad(backward, grad_y), full=full,
    )  # fmt: skip


@command("norm layer")
def norm_layer(
    x: X,
    normalized_shape: NormalizedShape = None,
    gamma: Gamma = None,
    beta: Beta = None,
    eps: Eps = None,
    no_affine: NoAffine = False,
    backward: Backward = False,
    grad_y: GradY = None,
    blocks: Blocks = 0,
    full: Full = False,
) -> Solution:
    """Layer norm (LayerNorm(normalized_shape)): each sample over its trailing dimensions.

    x̂ = (x − μ)/√(σ² + ε) per sample (biased variance), y = γx̂ + β with γ, β per normalized entry;
    no running statistics, the same in training and eval. --blocks K stacks pre-LN residual blocks
    whose sublayers are the identity.

    Example: dlsolve norm layer --x "1,2,3;4,5,6" --gamma 1,1,1 --beta 0,0,0

    Example: dlsolve norm layer --x "1,2,3;4,5,6" --eps 0 --blocks 3
    """
    from dlsolve.solvers.norm import normalize

    return normalize(
        "layer", x, gamma=gamma, beta=beta, eps=eps, affine=not no_affine, normalized_shape=normalized_shape,
        grad_y=_grad(backward, grad_y), blocks=blocks, full=full,
    )  # fmt: skip


@command("norm group")
def norm_group(
    x: X,
    groups: Annotated[
        int, option("--groups", "-g", parse=parsing.parse_int, minimum=1, help="num_groups G (must divide C).")
    ],
    gamma: Gamma = None,
    beta: Beta = None,
    eps: Eps = None,
    no_affine: NoAffine = False,
    backward: Backward = False,
    grad_y: GradY = None,
    full: Full = False,
) -> Solution:
    """Group norm (GroupNorm(G, C)): each sample's channels in G groups of C/G, normalized per group.

    Statistics over (C/G)·∏spatial values per (sample, group), biased variance; γ, β per channel.

    Example: dlsolve norm group --x "1,3,2,6;0,4,4,8" --groups 2
    """
    from dlsolve.solvers.norm import normalize

    return normalize(
        "group", x, gamma=gamma, beta=beta, eps=eps, affine=not no_affine, groups=groups,
        grad_y=_grad(backward, grad_y), full=full,
    )  # fmt: skip


@command("norm instance")
def norm_instance(
    x: X,
    gamma: Gamma = None,
    beta: Beta = None,
    eps: Eps = None,
    momentum: Momentum = None,
    running_mean: RunningMean = None,
    running_var: RunningVar = None,
    eval_mode: Eval = False,
    affine: Annotated[
        bool, option("--affine", help="affine=True: learnable γ and β (PyTorch's default is off).")
    ] = False,
    track: Annotated[
        bool, option("--track-running-stats", help="track_running_stats=True: keep running statistics (default off).")
    ] = False,
    backward: Backward = False,
    grad_y: GradY = None,
    full: Full = False,
) -> Solution:
    """Instance norm (InstanceNorm1d/2d/3d): each (sample, channel) over its spatial positions.

    A 2-D input is one unbatched sample (C, L), as InstanceNorm1d reads it. With --track-running-stats
    the running statistics average the per-sample statistics over the batch.

    Example: dlsolve norm instance --x "1,2,4;3,5,9;;0,2,1;4,4,7"
    """
    from dlsolve.solvers.norm import normalize

    cumulative = momentum == "none"
    return normalize(
        "instance", x, gamma=gamma, beta=beta, eps=eps, momentum=None if cumulative else momentum,
        cumulative=cumulative, running_mean=running_mean, running_var=running_var, training=not eval_mode,
        affine=affine, track_running_stats=track, grad_y=_grad(backward, grad_y), full=full,
    )  # fmt: skip


@command("norm rms")
def norm_rms(
    x: X,
    normalized_shape: NormalizedShape = None,
    gamma: Gamma = None,
    eps: Annotated[
        Any,
        option(
            "--eps", parse=parsing.parse_scalar, help="ε (default: float64's machine epsilon 2⁻⁵², as PyTorch's None)."
        ),
    ] = None,
    no_affine: NoAffine = False,
    backward: Backward = False,
    grad_y: GradY = None,
    blocks: Blocks = 0,
    full: Full = False,
) -> Solution:
    """RMS norm (RMSNorm(normalized_shape)): y = γ·x/√(mean(x²) + ε) per sample, no centring, no β.

    Example: dlsolve norm rms --x "1,2,2;3,4,0" --gamma 1,2,1
    """
    from dlsolve.solvers.norm import normalize

    return normalize(
        "rms", x, gamma=gamma, eps=eps, affine=not no_affine, normalized_shape=normalized_shape,
        grad_y=_grad(backward, grad_y), blocks=blocks, full=full,
    )  # fmt: skip
