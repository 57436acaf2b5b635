"""The command registry: every command's name, the module that declares it, and how to call it.

The command line (:mod:`dlsolve.cli`), batch mode (:mod:`dlsolve.batch`) and problem files
(:mod:`dlsolve.problems`) all find commands here; none of them imports another. A command module
under :mod:`dlsolve.commands` declares its options once, each with its parser (see
:func:`dlsolve.commands.option`), and registers its function with :func:`command`. This module never
imports Typer: a command's option declarations are read from its annotations, when first needed.

Adding a command: its module in :data:`COMMAND_MODULES` (in the order of ``dlsolve --help``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput, ExitStatus

if TYPE_CHECKING:
    from dlsolve.solution import Solution

#: Every command by full name (``"filter apply"``) -> the module that declares it.
COMMAND_MODULES: dict[str, str] = {
    "attention": "dlsolve.commands.attention",
    "attention shapes": "dlsolve.commands.attention",
    "conv-shape": "dlsolve.commands.conv_shape",
    "train-loop": "dlsolve.commands.train_loop",
    "lr-curve": "dlsolve.commands.lr_curve",
    "filter apply": "dlsolve.commands.filter",
    "filter pool": "dlsolve.commands.filter",
    "filter transpose": "dlsolve.commands.filter",
    "filter design": "dlsolve.commands.filter",
    "filter explain": "dlsolve.commands.filter",
    "sgd-limit": "dlsolve.commands.sgd_limit",
    "convergence-bound": "dlsolve.commands.convergence_bound",
    "backprop": "dlsolve.commands.backprop",
    "optim": "dlsolve.commands.optim",
    "optim ewma": "dlsolve.commands.optim",
    "lr-schedule step": "dlsolve.commands.lr_schedule",
    "lr-schedule multistep": "dlsolve.commands.lr_schedule",
    "lr-schedule exponential": "dlsolve.commands.lr_schedule",
    "lr-schedule cosine": "dlsolve.commands.lr_schedule",
    "lr-schedule cosine-warm-restarts": "dlsolve.commands.lr_schedule",
    "lr-schedule linear": "dlsolve.commands.lr_schedule",
    "lr-schedule onecycle": "dlsolve.commands.lr_schedule",
    "lr-schedule inverse-time": "dlsolve.commands.lr_schedule",
    "lr-schedule warmup-cosine": "dlsolve.commands.lr_schedule",
    "rnn": "dlsolve.commands.rnn",
    "decode greedy": "dlsolve.commands.decode",
    "decode beam": "dlsolve.commands.decode",
    "cost memory": "dlsolve.commands.cost",
    "cost checkpoint": "dlsolve.commands.cost",
    "cost comm": "dlsolve.commands.cost",
    "cost flops": "dlsolve.commands.cost",
    "cost steps": "dlsolve.commands.cost",
    "norm batch": "dlsolve.commands.norm",
    "norm layer": "dlsolve.commands.norm",
    "norm group": "dlsolve.commands.norm",
    "norm instance": "dlsolve.commands.norm",
    "norm rms": "dlsolve.commands.norm",
    "dropout": "dlsolve.commands.dropout",
    "init xavier-uniform": "dlsolve.commands.init",
    "init xavier-normal": "dlsolve.commands.init",
    "init kaiming-uniform": "dlsolve.commands.init",
    "init kaiming-normal": "dlsolve.commands.init",
    "init lecun-normal": "dlsolve.commands.init",
    "init orthogonal": "dlsolve.commands.init",
}

#: Command groups (``dlsolve filter apply``): group name -> its help. A group whose own name is also a
#: command (``attention``, with subcommand ``attention shapes``) solves when called without one.
GROUPS: dict[str, str] = {
    "filter": "Apply, pool, transpose, design and explain convolution filters, with the arithmetic shown.",
    "attention": "",
    "optim": "",
    "lr-schedule": "The learning rate at every epoch, as torch.optim.lr_scheduler computes it, with a plot.",
    "decode": "Greedy and beam-search decoding by hand over a table of next-token probabilities.",
    "cost": "Memory, compute and communication of training, by hand.",
    "norm": "Normalization layers by hand (batch, layer, group, instance, RMS), forward and backward, as PyTorch.",
    "init": "Weight initialization: the std and bound torch.nn.init draws from, with fans and gains.",
}

#: The commands registered so far (their modules imported), by full name.
COMMANDS: dict[str, Command] = {}


class Parameter:
    """One parameter of a command function as a caller by option name sees it."""

    def __init__(
        self, name: str, parser: Callable[[Any], Any] | None, kind: str, required: bool, default: Any = None
    ) -> None:
        self.name = name
        self.default = default
        self.parser = parser
        #: ``flag`` (a bool), ``list`` (a repeatable option) or ``value``.
        self.kind = kind
        self.required = required


class Command:
    """A registered command: its full name, its function, and how its exit status is decided.

    ``exit_status`` maps the Solution to the process exit status for commands whose answer is a
    verdict (``train-loop`` exits 1 when it has findings); by default a solved command exits 0.
    """

    def __init__(
        self,
        name: str,
        function: Callable[..., Solution],
        exit_status: Callable[[Solution], ExitStatus] | None = None,
    ) -> None:
        self.name = name
        self.function = function
        self.exit_status = exit_status

    @functools.cached_property
    def parameters(self) -> dict[str, Parameter]:
        """Long option name (``"in"``, ``"output-padding"``) or argument name -> its parameter.

        Read from the Typer declarations in the function's annotations, on first use: evaluating
        every command's annotations would slow every start.
        """
        hints = typing.get_type_hints(self.function, include_extras=True)
        found: dict[str, Parameter] = {}
        for name, signature_parameter in inspect.signature(self.function).parameters.items():
            hint = hints.get(name)
            metadata = getattr(hint, "__metadata__", ())
            declared = [
                declaration
                for meta in metadata
                # In Annotated style Typer keeps the first declaration in ``default``.
                for declaration in (getattr(meta, "default", None), *(getattr(meta, "param_decls", None) or ()))
                if isinstance(declaration, str) and declaration.startswith("--")
            ]
            parser = next((meta.parser for meta in metadata if getattr(meta, "parser", None) is not None), None)
            base = typing.get_args(hint)[0] if metadata else hint
            kind = "flag" if base is bool else "list" if _is_list(base) else "value"
            required = signature_parameter.default is inspect.Parameter.empty
            default = None if required else signature_parameter.default
            parameter = Parameter(name, parser, kind, required, default)
            for declaration in declared or ["--" + name.strip("_").replace("_", "-")]:
                found[declaration.split("/")[0][2:]] = parameter
        return found

    def call(self, args: Mapping[str, Any], where: str, base_dir: Path = Path()) -> Solution:
        """Solve with option-name ``args`` (``{"in": 28, "k": 3}``), values typed or text."""
        return self.function(**self.bind(args, where, base_dir))

    def bind(self, args: Mapping[str, Any], where: str, base_dir: Path = Path()) -> dict[str, Any]:
        """The function's keyword arguments for option-name ``args``, values typed or text.

        Each value goes through its option's own parser, as on the command line; ``@file`` paths
        (and options named ``file`` or ``*-file``) are relative to ``base_dir``.
        """
        parameters = self.parameters
        kwargs: dict[str, Any] = {}
        for key, value in args.items():
            parameter = parameters.get(key) or parameters.get(str(key).lstrip("-"))
            if parameter is None:
                known = ", ".join(sorted(parameters))
                raise BadInput(f"{where}: '{self.name}' has no option '{key}' (options: {known})")
            if parameter.kind == "flag":
                if not isinstance(value, bool):
                    raise BadInput(f"{where}: option '{key}' is a flag: write true or false")
                kwargs[parameter.name] = value
                continue
            items = value if parameter.kind == "list" and isinstance(value, list) else [value]
            converted = [_convert(parameter, _resolve_path(item, key, base_dir)) for item in items]
            kwargs[parameter.name] = converted if parameter.kind == "list" else converted[0]
        for parameter in {id(p): p for p in parameters.values()}.values():
            # As on the command line (Click converts defaults with the option's type): a default goes
            # through its parser too, so that the function sees the same values either way.
            if parameter.name not in kwargs and parameter.parser is not None and parameter.default is not None:
                kwargs[parameter.name] = parameter.parser(parameter.default)
        missing = [option for option, parameter in parameters.items() if parameter.required]
        missing = [option for option in missing if parameters[option].name not in kwargs]
        if missing:
            raise BadInput(f"{where}: '{self.name}' needs {', '.join(dict.fromkeys(missing))}")
        return kwargs


def _convert(parameter: Parameter, value: Any) -> Any:
    if parameter.parser is None:
        return value if isinstance(value, str) else str(value)
    return parameter.parser(value)


def _is_list(annotation: Any) -> bool:
    import types

    union = isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
    candidates = typing.get_args(annotation) if union else (annotation,)
    return any(typing.get_origin(candidate) is list or candidate is list for candidate in candidates)


def _resolve_path(value: Any, key: str, base_dir: Path) -> Any:
    if not isinstance(value, str):
        return value
    if value.startswith("@") and not Path(value[1:]).is_absolute():
        return "@" + str(base_dir / value[1:])
    if (key == "file" or key.endswith("-file")) and value != "-" and not Path(value).is_absolute():
        return str(base_dir / value)
    return value


def command(
    name: str, *, exit_status: Callable[[Solution], ExitStatus] | None = None
) -> Callable[[Callable[..., Solution]], Callable[..., Solution]]:
    """Register ``function`` as command ``name`` (a full name: ``"filter apply"``); returns it unchanged."""

    def register(function: Callable[..., Solution]) -> Callable[..., Solution]:
        COMMANDS[name] = Command(name, function, exit_status)
        return function

    return register


def get(name: str) -> Command | None:
    """The command called ``name``, its module imported on first use; None when there is none."""
    if name not in COMMANDS:
        module = COMMAND_MODULES.get(name)
        if module is None:
            return None
        importlib.import_module(module)
    return COMMANDS[name]


def load_all() -> dict[str, Command]:
    """Every command, in the order of :data:`COMMAND_MODULES`."""
    return {name: command for name in COMMAND_MODULES if (command := get(name)) is not None}


def find(name: str, where: str) -> Command:
    """The command called ``name``; BadInput naming the known ones when there is none."""
    found = get(name) if isinstance(name, str) else None
    if found is None:
        known = ", ".join(sorted({*COMMAND_MODULES, *COMMANDS}))
        raise BadInput(f"{where}: unknown command {name!r} (known: {known})")
    return found


def run(name: str, args: Mapping[str, Any], where: str, base_dir: Path = Path()) -> Solution:
    """Solve command ``name`` with option-name ``args``: what problem files and batch lines do."""
    return find(name, where).call(args, where, base_dir)
