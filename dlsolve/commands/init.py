"""``dlsolve init xavier-uniform | xavier-normal | kaiming-uniform | kaiming-normal | lecun-normal | orthogonal``.

The six subcommands take the same options (declared once, in :func:`_init`); each is registered
with its own name and help.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Ints, option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import LayerCall

_HELP = {
    "xavier-uniform": "Xavier (Glorot) uniform: U(−b, b), b = gain·√(6/(fan_in + fan_out)).",
    "xavier-normal": "Xavier (Glorot) normal: N(0, std²), std = gain·√(2/(fan_in + fan_out)).",
    "kaiming-uniform": (
        "Kaiming (He) uniform: U(−b, b), b = √3·gain/√fan (nn.Linear/Conv's default: a = √5, so b = 1/√fan_in)."
    ),
    "kaiming-normal": "Kaiming (He) normal: N(0, std²), std = gain/√fan, gain = calculate_gain(nonlinearity, a).",
    "lecun-normal": "LeCun normal: N(0, std²), std = 1/√fan_in (kaiming_normal_ with nonlinearity='linear').",
    "orthogonal": "Orthogonal: gain × a random (semi-)orthogonal matrix; std = gain/√max(rows, cols).",
}


def _layer(value: Any, flag: str) -> LayerCall:
    """One layer call such as ``Conv2d(3, 64, 3)``."""
    from dlsolve.errors import BadInput

    calls = parsing.parse_layers(value, flag)
    if len(calls) != 1:
        raise BadInput(f"expected one layer such as Conv2d(3, 64, 3), got {len(calls)}", option=flag)
    return calls[0]


def _nonlinearity(value: Any, flag: str) -> str:
    from dlsolve.solvers.weight_init import NONLINEARITIES

    choices = [name.replace("_", "-") for name in NONLINEARITIES]
    return parsing.parse_choice(value, flag, choices).replace("-", "_")


def _mode(value: Any, flag: str) -> str:
    return parsing.parse_choice(value, flag, ("fan-in", "fan-out")).replace("-", "_")


def _init(method: str) -> Callable[..., Solution]:
    def init(
        layer: Annotated[
            LayerCall | None,
            option(
                "--layer",
                parse=_layer,
                help="The layer whose weight is initialized: Conv2d(3, 64, 3), Linear(256, 128).",
            ),
        ] = None,
        shape: Annotated[
            Ints | None,
            option("--shape", parse=parsing.parse_int_list, minimum=1, help="The weight's shape instead: 64,3,3,3."),
        ] = None,
        fan_in: Annotated[
            int | None, option("--fan-in", parse=parsing.parse_int, minimum=1, help="fan_in given directly.")
        ] = None,
        fan_out: Annotated[
            int | None, option("--fan-out", parse=parsing.parse_int, minimum=1, help="fan_out given directly.")
        ] = None,
        nonlinearity: Annotated[
            str | None,
            option(
                "--nonlinearity",
                parse=_nonlinearity,
                help="calculate_gain's nonlinearity: relu, leaky_relu, tanh, sigmoid, selu, linear, conv2d, ...",
            ),
        ] = None,
        a: Annotated[
            Any, option("--a", parse=parsing.parse_scalar, help="leaky_relu's negative slope (kaiming default 0).")
        ] = None,
        mode: Annotated[
            str, option("--mode", parse=_mode, help="fan_in (default: keeps the forward variance) or fan_out.")
        ] = "fan_in",
        gain: Annotated[
            Any, option("--gain", parse=parsing.parse_scalar, help="The gain itself, instead of a nonlinearity.")
        ] = None,
    ) -> Solution:
        from dlsolve.solvers.weight_init import initialize

        return initialize(
            method, layer=layer, shape=None if shape is None else tuple(shape), fan_in=fan_in, fan_out=fan_out,  # type: ignore[arg-type]
            nonlinearity=nonlinearity, a=a, mode=mode, gain=gain,
        )  # fmt: skip

    init.__name__ = init.__qualname__ = "init_" + method.replace("-", "_")
    init.__doc__ = (
        f"{_HELP[method]}\n\n"
        "Fans as PyTorch computes them from the weight (out, in, *k): fan_in = in·∏k, fan_out = out·∏k, "
        "so a conv's fan_in is C_in/groups·∏k. The working ends with the variance-propagation argument.\n\n"
        f'Example: dlsolve init {method} --layer "Conv2d(3, 64, 3)"'
        + (" --nonlinearity relu" if method.startswith("kaiming") else "")
        + ("\n\nExample: dlsolve init xavier-uniform --fan-in 256 --fan-out 128" if method == "xavier-uniform" else "")
    )
    return command(f"init {method}")(init)


for _method in _HELP:
    _init(_method)
