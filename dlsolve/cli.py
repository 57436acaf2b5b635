"""The command line: parse options, call one solver, render. No maths here.

Every command is a function returning a :class:`~dlsolve.solution.Solution`, registered with
:func:`solver_command`, which adds the shared output options (``--json``, ``-q``, ``--latex``,
``--markdown``), renders the result, and records the function in :data:`COMMANDS` so that
``dlsolve solve`` can call it without going through the shell. Errors are mapped to exit statuses
in one place, :func:`main`.

Conventions for command functions: options that carry numbers, matrices or layers are ``str`` and
are parsed by :mod:`dlsolve.parsing` (exact arithmetic, one-line errors naming the option); flags
are ``bool``; defaults are plain Python values (``Annotated`` style), so a command can be called
directly with keyword arguments. Solver modules are imported inside the command body, so that
``dlsolve --help`` and ``conv-shape`` import neither NumPy nor SymPy.

Annotations are postponed (``from __future__ import annotations``): a command's option declarations
are evaluated only when Typer builds that command, and a run builds only the invoked one.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import inspect
import os
import re
import sys
import typing
from collections.abc import Callable
from typing import Annotated, Any

import click
import typer

from dlsolve import __version__
from dlsolve.errors import BadInput, DlsolveError, ExitStatus, InternalError, traceback_wanted
from dlsolve.solution import Solution

app = typer.Typer(
    name="dlsolve",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

OUTPUT_MODES = ("json", "quiet", "latex", "markdown")


class Command:
    """A registered command: its full name (``"filter apply"``) and the function that solves it."""

    def __init__(self, name: str, function: Callable[..., Solution]) -> None:
        self.name = name
        self.function = function

    @functools.cached_property
    def options(self) -> dict[str, str]:
        """Long option name (``"in"``, ``"output-padding"``) -> parameter name of ``function``.

        Computed on first use: resolving type hints for every command would slow every start.
        """
        return _long_options(self.function)


#: Every solver command by full name, for ``dlsolve solve`` and batch mode.
COMMANDS: dict[str, Command] = {}


#: The output options every solver command gets (Typer copies an option's info before changing it,
#: so the commands can share these).
OUTPUT_PARAMETERS: list[tuple[str, Any]] = [
    ("json", Annotated[bool, typer.Option("--json", help="Print the solution as JSON (schema in README).")]),
    ("quiet", Annotated[bool, typer.Option("--quiet", "-q", help="Print the answer only, plain.")]),
    ("latex", Annotated[bool, typer.Option("--latex", help="Print the working as LaTeX.")]),
    ("markdown", Annotated[bool, typer.Option("--markdown", help="Print the working as Markdown.")]),
]


def output_mode(**flags: bool) -> str:
    """The one output mode chosen by the flags (``rich`` when none)."""
    chosen = [mode for mode in OUTPUT_MODES if flags.get(mode)]
    if len(chosen) > 1:
        raise BadInput(f"choose one output mode, got {', '.join('--' + m for m in chosen)}", option="--" + chosen[0])
    return chosen[0] if chosen else "rich"


def _long_options(function: Callable[..., Any]) -> dict[str, str]:
    """Map each long option name of a Typer command function to its parameter name."""
    options = {}
    hints = typing.get_type_hints(function, include_extras=True)
    for name in inspect.signature(function).parameters:
        declared = [
            decl
            for meta in getattr(hints.get(name), "__metadata__", ())
            # In Annotated style Typer keeps the first declaration in ``default``.
            for decl in (getattr(meta, "default", None), *(getattr(meta, "param_decls", None) or ()))
            if isinstance(decl, str) and decl.startswith("--")
        ]
        for decl in declared or ["--" + name.strip("_").replace("_", "-")]:
            options[decl.split("/")[0][2:]] = name
    return options


def solver_command(
    name: str,
    group: typer.Typer | None = None,
    *,
    full_name: str | None = None,
    exit_status: Callable[[Solution], ExitStatus] | None = None,
    callback: bool = False,
    **settings: Any,
) -> Callable[[Callable[..., Solution]], Callable[..., int | None]]:
    """Register ``function`` as command ``name`` of ``group`` (the main app by default).

    The registered Typer command gets the shared output options appended; it calls ``function``
    and renders the Solution it returns in the chosen mode. ``exit_status`` (optional) maps the
    rendered Solution to the process exit status, for commands whose answer itself is a verdict
    (``train-loop`` exits 1 when it has findings); without it a rendered Solution exits 0.
    With ``callback=True`` the function becomes the callback of ``group`` (``invoke_without_command``):
    ``dlsolve NAME --opt ...`` solves, and ``dlsolve NAME SUB ...`` runs subcommand SUB without
    rendering anything for NAME.
    """

    def decorate(function: Callable[..., Solution]) -> Callable[..., int | None]:
        command = _RenderedCommand(function, exit_status=exit_status, callback=callback)
        COMMANDS[full_name or name] = Command(full_name or name, function)
        if callback:
            (group or app).callback(invoke_without_command=True, **settings)(command)
        else:
            (group or app).command(name, **settings)(command)
        return command

    return decorate


class _RenderedCommand:
    """What :func:`solver_command` registers with Typer: the solver function, rendered.

    Calling it takes the output flags off the keyword arguments, calls the solver and renders the
    Solution; it returns the exit status (None: 0). Typer reads the options from ``__signature__``,
    the solver's parameters followed by :data:`OUTPUT_PARAMETERS`. The signature and
    ``__annotations__`` are evaluated when Typer first builds this command, not at import: evaluating
    every command's option declarations would cost about 2 ms of every start.
    """

    def __init__(
        self,
        function: Callable[..., Solution],
        *,
        exit_status: Callable[[Solution], ExitStatus] | None,
        callback: bool,
    ) -> None:
        self.__wrapped__ = function
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__module__ = function.__module__
        self.__doc__ = function.__doc__
        self._exit_status = exit_status
        self._callback = callback

    @functools.cached_property
    def __annotations__(self) -> dict[str, Any]:
        # inspect evaluates the postponed text directly (typing.get_type_hints also re-walks each result).
        return {**inspect.get_annotations(self.__wrapped__, eval_str=True), **dict(OUTPUT_PARAMETERS)}

    @functools.cached_property
    def __signature__(self) -> inspect.Signature:
        # The annotations as evaluated above: each evaluation of the postponed text compiles it.
        hints = self.__annotations__
        signature = inspect.signature(self.__wrapped__)
        parameters = [
            parameter.replace(annotation=hints.get(parameter.name, parameter.empty))
            for parameter in signature.parameters.values()
        ]
        extra = (
            inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=hint)
            for key, hint in OUTPUT_PARAMETERS
        )
        return signature.replace(
            parameters=[*parameters, *extra], return_annotation=hints.get("return", signature.empty)
        )

    def __call__(self, *args: Any, **kwargs: Any) -> int | None:
        mode = output_mode(**{key: kwargs.pop(key) for key, _ in OUTPUT_PARAMETERS})
        if self._callback and click.get_current_context().invoked_subcommand:
            return None
        solution = self.__wrapped__(*args, **kwargs)
        from dlsolve.render import render

        render(solution, mode)
        return int(self._exit_status(solution)) if self._exit_status is not None else None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dlsolve {__version__}")
        raise typer.Exit()


@app.callback()
def _main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Solve deep-learning exam problems and show the working, step by step.

    Every command prints the working (default), or --json, -q (answer only), --latex, --markdown.
    Exit status: 0 solved, 1 the problem has no valid answer, 2 bad input or usage.
    """


# --------------------------------------------------------------------------- error reporting


def report_error(error: DlsolveError, *, json_errors: bool) -> int:
    """Print ``error`` (JSON on stdout with --json, else one line on stderr); its exit status."""
    if json_errors:
        from dlsolve.render.json_view import dumps

        sys.stdout.write(dumps({"error": error.to_dict()}) + "\n")
    elif sys.stderr is not None:  # None when started with standard error closed (`2>&-`)
        sys.stderr.write(f"error: {error}\n")
    return int(error.exit_status)


def _usage_error(error: click.UsageError) -> DlsolveError:
    sentences = re.split(r"(?<=[.?!])\s+", " ".join(error.format_message().split()))
    message = " ".join(dict.fromkeys(sentences))  # Typer and Click may both add "Did you mean ...?"
    command = error.ctx.command_path if error.ctx else "dlsolve"
    return BadInput(f"{message} (see '{command} --help')")


def _app_for(args: list[str]) -> typer.Typer:
    """``app`` narrowed to the one command (or group) named by ``args[0]``, when there is one.

    Start-up cost: Typer builds the Click command of every registered command on every start, and a
    run needs only the invoked one. ``--help``, ``--version`` and unknown names use the whole app.
    """
    if not args or args[0].startswith("-"):
        return app
    commands = [info for info in app.registered_commands if info.name == args[0]]
    groups = [info for info in app.registered_groups if (info.name or info.typer_instance.info.name) == args[0]]
    if len(commands) + len(groups) != 1:
        return app
    narrowed = copy.copy(app)
    narrowed.registered_commands = commands
    narrowed.registered_groups = groups
    return narrowed


def main(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv``; return the exit status. The one place errors become statuses."""
    args = list(sys.argv[1:] if argv is None else argv)
    json_errors = any(arg in ("--json", "--jsonl") for arg in args)
    if sys.stdout is None:  # started with standard output closed (`>&-`): Python sets it to None
        if sys.stderr is not None:
            sys.stderr.write("error: standard output is closed: there is nowhere to write the answer\n")
        return int(ExitStatus.BAD_INPUT)
    try:
        result = _app_for(args)(args=args, prog_name="dlsolve", standalone_mode=False)
        return result if isinstance(result, int) else int(ExitStatus.SOLVED)
    except DlsolveError as error:
        return report_error(error, json_errors=json_errors)
    except click.exceptions.NoArgsIsHelpError:
        return int(ExitStatus.BAD_INPUT)  # Typer has already printed the help
    except click.UsageError as error:
        return report_error(_usage_error(error), json_errors=json_errors)
    except click.exceptions.Exit as error:
        return int(error.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted\n")
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return int(ExitStatus.SOLVED)
    except click.ClickException as error:
        return report_error(BadInput(" ".join(error.format_message().split())), json_errors=json_errors)
    except Exception as error:  # a bug: say so in one line, never a traceback unless asked
        if traceback_wanted():
            raise
        return report_error(InternalError.from_exception(error), json_errors=json_errors)


def run() -> None:
    """Console-script entry point: run, flush, and leave without the interpreter's teardown.

    Tearing down SymPy and NumPy (freeing every module and object, a last garbage collection) takes
    about 100 ms after the answer is already written, and the shell waits for it. Everything of ours
    is written and closed by now, so flush the standard streams and ``os._exit``, as short-lived
    tools do to skip exit-time cleanup. Under a tracer or profiler (coverage, cProfile), which
    write their results at exit, leave normally.

    The collector's thresholds are raised first: a run is short, and with the default thresholds
    importing SymPy and rendering the sheet spend 30–50 ms in collections that find almost nothing
    (what they traverse lives until exit). Collection still happens, every 200,000 allocations of
    containers rather than 700 (the answer sheet makes about 150,000), so a long job stays bounded
    in memory.
    """
    gc.set_threshold(200_000, 20, 20)
    status = main()
    if sys.gettrace() is not None or sys.getprofile() is not None:
        sys.exit(status)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # gone, closed, or None (`>&-`)
            stream.flush()
    os._exit(status)


# --------------------------------------------------------------------------- commands
# Commands. Import solver modules inside the function bodies (startup cost: no NumPy/SymPy here).


solve_app_help = """Solve problem files as one answer sheet, check them, or run a JSON Lines batch.

Examples:

  dlsolve solve problems/midterm.toml

  dlsolve solve problems/*.toml --check -q

  dlsolve solve problems/midterm.toml --only 1a-i --markdown -o key.md

  echo '{"command": "conv-shape", "args": {"in": 28, "k": 3}}' | dlsolve solve -

Problem files are TOML ([[problem]] with id, title, question, command, args, expected, source,
note; see problems/README.md). --check compares each answer with `expected` (numbers within a
relative tolerance of 1e-6), prints a pass/fail table and exits 1 on any mismatch (2 if a
problem's input is bad: the sheet still shows the others). With `-`,
each input line {"command": ..., "args": {...}} gives one JSON answer line, in order; a bad line
gives an {"error": ...} line and the batch goes on; exit 1 if any line failed.
"""


@app.command("solve", help=solve_app_help)
def solve(
    files: Annotated[
        list[str], typer.Argument(help="Problem files (TOML) or folders of them, or - for JSON Lines on stdin.")
    ],
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Solve only this problem id, or ids matching 1a* (repeatable).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Compare answers with `expected`; exit 1 on a mismatch.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="All problems as one JSON document.")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per problem per line.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="One line per problem: id: answer.")] = False,
    latex: Annotated[bool, typer.Option("--latex", help="A standalone LaTeX answer key.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="A Markdown answer key.")] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> int:
    from pathlib import Path

    from dlsolve import problems

    if files == ["-"]:
        from dlsolve.batch import solve_batch

        return solve_batch(sys.stdin, sys.stdout)
    if "-" in files:
        raise BadInput("'-' (JSON Lines on stdin) cannot be mixed with problem files", option="FILE")
    flags = {"json": json_output, "quiet": quiet, "latex": latex, "markdown": markdown, "jsonl": jsonl}
    mode = output_mode(**{key: value for key, value in flags.items() if key != "jsonl"})
    if jsonl and mode != "rich":
        raise BadInput(f"choose one output mode, got --jsonl and --{mode}", option="--jsonl")
    loaded = problems.load_problems([Path(name) for name in files], only)
    stream = _open_output(output)
    try:
        outcomes = []
        for problem in loaded:
            outcome = problems.solve_problem(problem, COMMANDS, check=check)
            outcomes.append(outcome)
            if jsonl:
                from dlsolve.render.json_view import dumps

                stream.write(dumps(outcome.to_dict(), indent=None) + "\n")
        if not jsonl:
            from dlsolve.render import render_sheet

            render_sheet(outcomes, mode, stream, check=check)
    finally:
        if stream is not sys.stdout:
            stream.close()
    return int(max((outcome.exit_status for outcome in outcomes), default=ExitStatus.SOLVED))


def _open_output(path: str | None) -> Any:
    if path is None or path == "-":
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as error:
        raise BadInput(f"cannot write {path!r}: {error.strerror or error}", option="--output") from None


# --- begin attention ---
attention_app = typer.Typer(
    no_args_is_help=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(attention_app, name="attention")

_MATRIX_HELP = "matrix: rows ';', entries ',' (1,0;0,1), [[1,0],[0,1]], @file or -"


@solver_command("attention", attention_app, callback=True)
def attention_command(
    q: Annotated[
        str | None, typer.Option("--q", help=f"Queries Q, T x d_k, one row per token ({_MATRIX_HELP}).")
    ] = None,
    k: Annotated[str | None, typer.Option("--k", help="Keys K, S x d_k.")] = None,
    v: Annotated[str | None, typer.Option("--v", help="Values V, S x d_v.")] = None,
    x: Annotated[str | None, typer.Option("--x", help="Embeddings X, T x d_model (instead of --q/--k/--v).")] = None,
    x_kv: Annotated[
        str | None, typer.Option("--x-kv", help="Cross-attention: keys/values from X_kv, S x d_kv (K = X_kv Wk).")
    ] = None,
    x_v: Annotated[
        str | None,
        typer.Option("--x-v", help="Values from X_v, S x vdim (V = X_v Wv); --x-kv then gives only the keys."),
    ] = None,
    wq: Annotated[str | None, typer.Option("--wq", help="Wq, d_model x d_k: Q = X Wq.")] = None,
    wk: Annotated[str | None, typer.Option("--wk", help="Wk, d_model x d_k: K = X Wk.")] = None,
    wv: Annotated[str | None, typer.Option("--wv", help="Wv, d_model x d_v: V = X Wv.")] = None,
    wo: Annotated[str | None, typer.Option("--wo", help="Output projection Wo, (h d_v) x d_out.")] = None,
    bq: Annotated[str | None, typer.Option("--bq", help="Query bias (d_k entries): Q = X Wq + bq.")] = None,
    bk: Annotated[str | None, typer.Option("--bk", help="Key bias (d_k entries): K = X Wk + bk.")] = None,
    bv: Annotated[str | None, typer.Option("--bv", help="Value bias (d_v entries): V = X Wv + bv.")] = None,
    bo: Annotated[str | None, typer.Option("--bo", help="Output bias (with --wo): concat Wo + bo.")] = None,
    heads: Annotated[str, typer.Option("--heads", help="Heads (with --x): columns of Q, K, V split in h.")] = "1",
    scale: Annotated[str | None, typer.Option("--scale", help="Score scale (default 1/sqrt(d_k)).")] = None,
    no_scale: Annotated[bool, typer.Option("--no-scale", help="Do not scale the scores (scale 1).")] = False,
    causal: Annotated[bool, typer.Option("--causal", help="Causal mask: query i sees keys j <= i.")] = False,
    mask: Annotated[
        str | None, typer.Option("--mask", help="T x S mask: 0/1 (1 = may attend) or additive (-inf blocks).")
    ] = None,
    mask_type: Annotated[str, typer.Option("--mask-type", help="auto, bool or additive.")] = "auto",
    key_padding: Annotated[
        str | None, typer.Option("--key-padding", help="S flags, 1 = ignore the key (key_padding_mask).")
    ] = None,
    temperature: Annotated[str, typer.Option("--temperature", help="Softmax temperature T > 0.")] = "1",
    hard: Annotated[bool, typer.Option("--hard", help="Hard attention: argmax (T -> 0 limit).")] = False,
    exact: Annotated[bool, typer.Option("--exact", help="Exact SymPy weights (small exact inputs).")] = False,
    tokens: Annotated[str | None, typer.Option("--tokens", help="Query (and key) labels: This,exam,is.")] = None,
    key_tokens: Annotated[
        str | None, typer.Option("--key-tokens", help="Key labels (if not --tokens; the X_kv tokens with --x-kv).")
    ] = None,
    masked_rows: Annotated[
        str, typer.Option("--masked-rows", help="Fully masked rows: zero (SDPA) or nan (MHA).")
    ] = "zero",
) -> Solution:
    """Scaled dot-product attention softmax(Q K^T / sqrt(d_k)) V, step by step.

    Rows are tokens. Give Q, K, V, or embeddings X with Wq, Wk, Wv (Q = X Wq). Masks follow PyTorch:
    --causal is is_causal, --mask 0/1 has 1 = may attend, --key-padding has 1 = ignore.
    Subcommand 'shapes' gives multi-head shapes, parameters and multiply-adds.

    Example: dlsolve attention --q "1,0;0,1" --k "1,0;0,1" --v "1,2;3,4" --exact

    Example: dlsolve attention --x "1,0;0,1;1,1" --wq "1,0;0,1" --wk "1,0;0,1" --wv "1,0;0,1" --tokens "a,b,c" --hard

    Example: dlsolve attention --x "1,0;0,1" --x-kv "1;2;0" --wq "1;0" --wk "1" --wv "1" --key-tokens "x,y,z" --exact
    """
    from dlsolve import parsing
    from dlsolve.solvers.attention import MASK_TYPES, MASKED_ROW_MODES, attention

    def matrix(text: str | None, option: str, *, allow_inf: bool = False) -> parsing.Matrix | None:
        return None if text is None else parsing.parse_matrix(text, option, allow_inf=allow_inf)

    def vector(text: str | None, option: str) -> list[parsing.Scalar] | None:
        return None if text is None else parsing.parse_vector(text, option)

    return attention(
        matrix(q, "--q"),
        matrix(k, "--k"),
        matrix(v, "--v"),
        x=matrix(x, "--x"),
        x_kv=matrix(x_kv, "--x-kv"),
        x_v=matrix(x_v, "--x-v"),
        wq=matrix(wq, "--wq"),
        wk=matrix(wk, "--wk"),
        wv=matrix(wv, "--wv"),
        wo=matrix(wo, "--wo"),
        bq=vector(bq, "--bq"),
        bk=vector(bk, "--bk"),
        bv=vector(bv, "--bv"),
        bo=vector(bo, "--bo"),
        heads=parsing.parse_int(heads, "--heads", minimum=1),
        scale=None if scale is None else parsing.parse_positive(scale, "--scale"),
        no_scale=no_scale,
        causal=causal,
        mask=matrix(mask, "--mask", allow_inf=True),
        mask_type=parsing.parse_choice(mask_type, "--mask-type", MASK_TYPES),
        key_padding=vector(key_padding, "--key-padding"),
        temperature=parsing.parse_positive(temperature, "--temperature"),
        hard=hard,
        exact=exact,
        tokens=None if tokens is None else parsing.parse_labels(tokens, "--tokens"),
        key_tokens=None if key_tokens is None else parsing.parse_labels(key_tokens, "--key-tokens"),
        masked_rows=parsing.parse_choice(masked_rows, "--masked-rows", MASKED_ROW_MODES),
    )


@solver_command("shapes", attention_app, full_name="attention shapes")
def attention_shapes_command(
    batch: Annotated[str, typer.Option("--batch", "-b", help="Batch size B.")] = "1",
    seq: Annotated[str | None, typer.Option("--seq", help="Query sequence length T.")] = None,
    d_model: Annotated[str | None, typer.Option("--d-model", help="Model width d_model (embed_dim).")] = None,
    heads: Annotated[str | None, typer.Option("--heads", help="Number of heads h.")] = None,
    seq_kv: Annotated[str | None, typer.Option("--seq-kv", help="Key/value length S (default T).")] = None,
    d_k: Annotated[str | None, typer.Option("--d-k", help="Per-head query/key width (default d_model/h).")] = None,
    d_v: Annotated[str | None, typer.Option("--d-v", help="Per-head value width (default d_k).")] = None,
    kdim: Annotated[str | None, typer.Option("--kdim", help="Key input width (default d_model).")] = None,
    vdim: Annotated[str | None, typer.Option("--vdim", help="Value input width (default d_model).")] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="bias=False (no projection biases).")] = False,
    add_bias_kv: Annotated[bool, typer.Option("--add-bias-kv", help="add_bias_kv=True.")] = False,
) -> Solution:
    """Multi-head attention: every tensor shape, parameters (as nn.MultiheadAttention), multiply-adds.

    Example: dlsolve attention shapes --batch 32 --seq 10 --d-model 512 --heads 8
    """
    from dlsolve import parsing
    from dlsolve.solvers.attention_shapes import attention_shapes

    def size(text: str | None, option: str) -> int | None:
        return None if text is None else parsing.parse_int(text, option, minimum=1)

    for text, option in ((seq, "--seq"), (d_model, "--d-model"), (heads, "--heads")):
        if text is None:
            raise BadInput(f"{option} is required (see 'dlsolve attention shapes --help')", option=option)
    return attention_shapes(
        batch=parsing.parse_int(batch, "--batch", minimum=1),
        seq=parsing.parse_int(seq, "--seq", minimum=1),  # type: ignore[arg-type]
        d_model=parsing.parse_int(d_model, "--d-model", minimum=1),  # type: ignore[arg-type]
        heads=parsing.parse_int(heads, "--heads", minimum=1),  # type: ignore[arg-type]
        seq_kv=size(seq_kv, "--seq-kv"),
        d_k=size(d_k, "--d-k"),
        d_v=size(d_v, "--d-v"),
        kdim=size(kdim, "--kdim"),
        vdim=size(vdim, "--vdim"),
        bias=not no_bias,
        add_bias_kv=add_bias_kv,
    )


# --- end attention ---


# --- begin conv-shape ---
_SIZE = "One value for every spatial dimension, or one per dimension (28,32); ? for the unknown."


@solver_command("conv-shape")
def conv_shape_command(
    in_: Annotated[str | None, typer.Option("--in", help="Input size per spatial dimension. " + _SIZE)] = None,
    kernel: Annotated[str | None, typer.Option("--k", "--kernel", help="Kernel size k. " + _SIZE)] = None,
    stride: Annotated[str | None, typer.Option("--s", "--stride", help="Stride s (default 1; pools: k).")] = None,
    padding: Annotated[
        str | None, typer.Option("--p", "--padding", help="Padding p on each side, or same / valid (conv); ? unknown.")
    ] = None,
    dilation: Annotated[str | None, typer.Option("--d", "--dilation", help="Dilation d (default 1).")] = None,
    dims: Annotated[str | None, typer.Option("--dims", help="Spatial dimensions: 1, 2 or 3.")] = None,
    layer: Annotated[str | None, typer.Option("--layer", help="conv (default), transposed, maxpool, avgpool.")] = None,
    output_padding: Annotated[
        str | None, typer.Option("--output-padding", help="Transposed conv output_padding (default 0).")
    ] = None,
    ceil: Annotated[bool, typer.Option("--ceil", help="Pooling with ceil_mode=True.")] = False,
    groups: Annotated[str | None, typer.Option("--groups", help="Conv groups (default 1).")] = None,
    batch: Annotated[str | None, typer.Option("--batch", help="Batch size N (for the full shape).")] = None,
    channels: Annotated[str | None, typer.Option("--channels", help="Input channels C_in.")] = None,
    filters: Annotated[str | None, typer.Option("--filters", help="Output channels C_out (number of filters).")] = None,
    no_bias: Annotated[bool, typer.Option("--no-bias", help="bias=False (for the parameter count).")] = False,
    out: Annotated[str | None, typer.Option("--out", help="Output size, to solve for the option given as ?.")] = None,
    input_shape: Annotated[
        str | None, typer.Option("--input", help="Network mode: input tensor shape, e.g. 10,1,32,32.")
    ] = None,
    net: Annotated[
        str | None, typer.Option("--net", help="Network mode: layers such as 'Conv2d(1, 16, 3); ReLU()' or @file.")
    ] = None,
    net_file: Annotated[str | None, typer.Option("--net-file", help="Network mode: a file, one layer a line.")] = None,
) -> Solution:
    """Output shape of a conv / transposed conv / pooling layer, or of a whole network (PyTorch rules).

    Examples:

      dlsolve conv-shape --in 28 --k 3 --batch 32 --filters 128

      dlsolve conv-shape --in 28 --k 4 --s 2 --p ? --out 14

      dlsolve conv-shape --in 7 --k 3 --layer maxpool --s 2 --ceil

      dlsolve conv-shape --input 10,1,32,32 --net "Conv2d(1, 16, 3, padding=1); ReLU(); MaxPool2d(2)"

    Exit 1 when PyTorch would refuse the layer (with its reason) or no value of the unknown fits.
    """
    from dlsolve import parsing

    if net is not None or net_file is not None or input_shape is not None:
        from dlsolve.solvers.layers import network_shape

        single = {"--in": in_, "--k": kernel, "--s": stride, "--p": padding, "--d": dilation, "--dims": dims,
                  "--layer": layer, "--output-padding": output_padding, "--groups": groups, "--batch": batch,
                  "--channels": channels, "--filters": filters, "--out": out}  # fmt: skip
        flags = {"--ceil": ceil, "--no-bias": no_bias}
        mixed = [name for name, value in {**single, **flags}.items() if value not in (None, False)]
        if mixed:
            message = f"{mixed[0]} is a single-layer option; in network mode give the layers only"
            raise BadInput(message, option=mixed[0])
        if net is not None and net_file is not None:
            raise BadInput("give the layers with --net or --net-file, not both", option="--net-file")
        if input_shape is None:
            raise BadInput("network mode needs the input shape, e.g. --input 10,1,32,32", option="--input")
        if net is None and net_file is None:
            raise BadInput("network mode needs the layers: --net '...' or --net-file FILE", option="--net")
        shape = parsing.parse_int_list(input_shape, "--input", minimum=1)
        if len(shape) > 6 or max(shape) > _MAX_SIZE:
            raise BadInput(f"expected at most 6 sizes, each at most {_MAX_SIZE}; got {shape}", option="--input")
        text = parsing.read_source(net if net is not None else "@" + str(net_file), "--net" if net else "--net-file")
        return network_shape(shape, parsing.parse_layers(text, "--net" if net is not None else "--net-file"))

    from dlsolve.solvers.conv import KINDS, conv_shape

    kind = parsing.parse_choice(layer, "--layer", KINDS) if layer is not None else "conv"
    fields = {"size": (in_, "--in", 1), "kernel": (kernel, "--k", 1), "stride": (stride, "--s", 1),
              "padding": (padding, "--p", 0), "dilation": (dilation, "--d", 1),
              "output_padding": (output_padding, "--output-padding", 0)}  # fmt: skip
    values: dict[str, list[int] | str | None] = {}
    unknowns = []
    for field_name, (text, option, minimum) in fields.items():
        if text is None:
            values[field_name] = None
            continue
        words = ("same", "valid") if field_name == "padding" else ()
        value = parsing.parse_int_list_or_unknown(text, option, minimum=minimum, words=words)
        if value is None:
            unknowns.append(field_name)
        elif isinstance(value, list) and (len(value) > 3 or max(value) > _MAX_SIZE):
            raise BadInput(f"expected at most 3 values, each at most {_MAX_SIZE}; got {value}", option=option)
        values[field_name] = value
    if len(unknowns) > 1:
        raise BadInput(f"only one option may be ?, got {len(unknowns)}", option=fields[unknowns[1]][1])

    def count(text: str | None, option: str, minimum: int = 1) -> int | None:
        if text is None:
            return None
        value = parsing.parse_int(text, option, minimum=minimum)
        if value > _MAX_SIZE:
            raise BadInput(f"expected at most {_MAX_SIZE}, got {value}", option=option)
        return value

    out_sizes = None
    if out is not None:
        out_sizes = parsing.parse_int_list(out, "--out", minimum=1)
        if len(out_sizes) > 3 or max(out_sizes) > _MAX_SIZE:
            raise BadInput(f"expected at most 3 values, each at most {_MAX_SIZE}; got {out_sizes}", option="--out")
    return conv_shape(
        values["size"],  # type: ignore[arg-type]
        values["kernel"],  # type: ignore[arg-type]
        stride=values["stride"],  # type: ignore[arg-type]
        padding=values["padding"],
        dilation=values["dilation"],  # type: ignore[arg-type]
        dims=count(dims, "--dims"),
        layer=kind,
        output_padding=values["output_padding"],  # type: ignore[arg-type]
        ceil=ceil,
        groups=count(groups, "--groups") or 1,
        batch=count(batch, "--batch"),
        channels=count(channels, "--channels"),
        filters=count(filters, "--filters"),
        bias=not no_bias,
        out=out_sizes,
        unknown=unknowns[0] if unknowns else None,
    )


#: Largest size accepted for one dimension, channel count or batch (keeps the arithmetic in range).
_MAX_SIZE = 10**9


# --- end conv-shape ---


# --- begin train-loop ---
@solver_command("train-loop", exit_status=lambda s: ExitStatus(int(not s.answer["clean"])))
def train_loop(
    file: Annotated[str, typer.Argument(help="A Python file of PyTorch training code, or - for stdin.")],
    diff: Annotated[
        bool, typer.Option("--diff", help="Also print a corrected version (unified diff) of the mechanical fixes.")
    ] = False,
) -> Solution:
    """Find the classic bugs of a PyTorch training loop by static analysis (the code is never run).

    Rules (stable codes): DL001 zero_grad missing, DL002 zero_grad between backward and step, DL003
    step before backward, DL004 zero_grad outside the loop, DL005 backward missing, DL010 loss
    arguments (targets, predictions) instead of (input, target), DL020 softmax before
    CrossEntropyLoss, DL021 sigmoid before BCEWithLogitsLoss, DL022 NLLLoss without log-softmax,
    DL023 BCELoss on logits, DL030 evaluation without model.eval(), DL031 evaluation without
    torch.no_grad(), DL032 training after model.eval() without model.train(), DL040 loss tensor
    accumulated, DL041 backward() on a loss computed under no_grad, DL042 scheduler.step() before
    optimizer.step().
    Exit status 1 when there are findings, 0 when clean.

    Examples:

      dlsolve train-loop tests/data/train_loops/exam_2b.py

      dlsolve train-loop tests/data/train_loops/exam_2b.py --diff -q > fix.patch

      cat train.py | dlsolve train-loop - --json
    """
    from dlsolve import parsing
    from dlsolve.solvers import train_loop as solver

    source = parsing.read_source(file if file == "-" else "@" + file, "FILE")
    return solver.solve(source, "<stdin>" if file == "-" else file, diff=diff)


@solver_command("lr-curve")
def lr_curve(
    loss: Annotated[
        list[str] | None,
        typer.Option("--loss", help="A run's losses '2.3,1.9,...' (repeat per run), or @file.csv (a column per run)."),
    ] = None,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Label of the typed runs, in order (default A, B, C, ...).")
    ] = None,
) -> Solution:
    """Say from loss curves whether each run's learning rate is too high, too low or fine.

    Each curve is diverging (NaN/inf or growing: learning rate too high), oscillating without
    progress (too high), too slow (still falling almost linearly, far from a plateau: too low) or
    healthy; the evidence (growth, direction changes, swing/drop, final speed) and the thresholds
    are shown, with a plot of all curves. A CSV file has one column per run, labels in the header.

    Examples:

      dlsolve lr-curve --loss 2.3,2.8,4.1,7.9,15 --label A --loss 2.3,1.2,0.7,0.5,0.45,0.43 --label B

      dlsolve lr-curve --loss 2.3,2.25,2.2,2.15,2.1,2.05 --loss 2.3,1.5,2.1,1.4,2.2,1.6,2.0 -q

      dlsolve lr-curve --loss @tests/data/lr_curve_exam.csv
    """
    from dlsolve import parsing
    from dlsolve.solvers import lr_curve as solver

    values = [loss] if isinstance(loss, str) else list(loss or [])
    names = [label] if isinstance(label, str) else list(label or [])
    names = [name for text in names for name in parsing.parse_labels(text, "--label")]
    runs: list[tuple[str | None, list[float]]] = []
    typed = 0
    for text in values:
        if text.startswith("@") or text == "-":
            runs.extend(parsing.parse_series_table(parsing.read_source(text, "--loss"), "--loss"))
        else:
            runs.append((names[typed] if typed < len(names) else None, parsing.parse_float_series(text, "--loss")))
            typed += 1
    if len(names) > typed:
        raise BadInput(f"{len(names)} labels for {typed} typed run(s); give one --label per --loss", option="--label")
    defaults = iter(_default_labels({name for name, _ in runs if name is not None}, len(runs)))
    labelled = [(name if name is not None else next(defaults), series) for name, series in runs]
    seen = [name for name, _ in labelled]
    duplicate = next((name for name in seen if seen.count(name) > 1), None)
    if duplicate is not None:
        raise BadInput(f"two runs are labelled {duplicate!r}; labels must be unique", option="--label")
    return solver.solve(labelled)


def _default_labels(taken: set[str], count: int) -> list[str]:
    """``count`` run labels A, B, ..., Z, AA, AB, ... (as on exam plots), skipping those ``taken``."""
    import itertools
    import string

    names = ("".join(p) for size in itertools.count(1) for p in itertools.product(string.ascii_uppercase, repeat=size))
    return list(itertools.islice((name for name in names if name not in taken), count))


# --- end train-loop ---


# --- begin filter ---
filter_app = typer.Typer(
    help="Apply, pool, design and explain convolution filters, with the arithmetic shown.",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(filter_app, name="filter")

_IMAGE_HELP = (
    "Image: rows ';', entries ',' (1,2;3,4), [[1,2],[3,4]], @file (.csv/.txt/.npy C x H x W) or -; "
    "channels separated by ';;'."
)


def _axis_pair(text: str, option: str, minimum: int) -> tuple[int, int]:
    from dlsolve.parsing import parse_int_list
    from dlsolve.solvers.filters import axis_pair

    return axis_pair(parse_int_list(text, option, minimum=minimum), option)


@solver_command("apply", filter_app, full_name="filter apply")
def filter_apply(
    image: Annotated[str, typer.Option("--image", "-i", help=_IMAGE_HELP)],
    kernel: Annotated[
        str,
        typer.Option(
            "--kernel",
            "-k",
            help="Kernel matrix (one slice per channel, ';;'), or a name: sobel-x, box-blur:5, gaussian-blur:5:1.5.",
        ),
    ],
    stride: Annotated[str, typer.Option("--stride", "-s", help="Stride: 2, or rows,cols (2,1).")] = "1",
    padding: Annotated[str, typer.Option("--padding", "-p", help="Zero padding: 1, or rows,cols (1,0).")] = "0",
    mode: Annotated[str, typer.Option("--mode", help="xcorr (conv layer) or conv (flipped kernel).")] = "xcorr",
    cell: Annotated[str | None, typer.Option("--cell", help="Output cell i,j to write out in full.")] = None,
    bias: Annotated[
        str | None, typer.Option("--bias", help="Bias b added to every output cell (conv2d's bias): 1, -0.5, 1/3.")
    ] = None,
) -> Solution:
    """The output of a filter on an image, as a conv layer computes it, with every window's sum.

    xcorr (default) is PyTorch's conv2d (cross-correlation); conv flips the kernel (true convolution,
    scipy.signal.convolve2d). Several channels are summed, one kernel slice per channel; --bias b
    adds b to every output cell: y = (x * K) + b, as conv2d(input, weight, bias).

    Example: dlsolve filter apply --image "1,2,3,0;0,1,2,3;3,0,1,2;2,3,0,1" --kernel "2,0,1;0,1,2;1,0,2"

    Example: dlsolve filter apply -i "0,0,9,9;0,0,9,9;0,0,9,9" -k sobel-x --padding 1 --cell 1,1

    Example: dlsolve filter apply -i "1,2,0;0,1,3;2,1,0" -k "1,0;0,-1" --bias -1/2
    """
    from dlsolve.parsing import parse_channels, parse_choice, parse_int_list, parse_scalar
    from dlsolve.solvers.filter_kernels import kernel_from_text
    from dlsolve.solvers.filters import apply_filter

    image_channels = parse_channels(image, "--image")
    kernel_slices, name = kernel_from_text(kernel, "--kernel")
    cell_index = None
    if cell is not None:
        values = parse_int_list(cell, "--cell", minimum=0)
        if len(values) != 2:
            raise BadInput(f"expected a row and a column such as 1,2; got {len(values)} number(s)", option="--cell")
        cell_index = (values[0], values[1])
    return apply_filter(
        image_channels,
        kernel_slices,
        stride=_axis_pair(stride, "--stride", 1),
        padding=_axis_pair(padding, "--padding", 0),
        mode=parse_choice(mode, "--mode", ("xcorr", "conv")),
        cell=cell_index,
        kernel_name=name,
        bias=None if bias is None else parse_scalar(bias, "--bias"),
    )


@solver_command("pool", filter_app, full_name="filter pool")
def filter_pool(
    image: Annotated[str, typer.Option("--image", "-i", help=_IMAGE_HELP)],
    size: Annotated[str, typer.Option("--size", "-k", help="Window size: 2, or rows,cols (2,3).")] = "2",
    stride: Annotated[str | None, typer.Option("--stride", "-s", help="Stride (default: the window size).")] = None,
    padding: Annotated[str, typer.Option("--padding", "-p", help="Padding (at most size/2): 1 or rows,cols.")] = "0",
    op: Annotated[str, typer.Option("--op", help="max (default) or avg.")] = "max",
    ceil: Annotated[bool, typer.Option("--ceil", help="ceil_mode: round the output size up.")] = False,
    exclude_pad: Annotated[
        bool, typer.Option("--exclude-pad", help="avg: divide by real cells only (count_include_pad=False).")
    ] = False,
) -> Solution:
    """Max or average pooling with PyTorch's rules (max_pool2d, avg_pool2d), showing every window.

    Padding is -inf for max; avg divides by the window size including padding zeros unless --exclude-pad.

    Example: dlsolve filter pool --image "1,3,2,4;5,6,7,8;3,2,1,0;1,2,3,4" --size 2

    Example: dlsolve filter pool -i "1,2,3;4,5,6;7,8,9" --size 2 --stride 2 --padding 1 --op avg --exclude-pad
    """
    from dlsolve.parsing import parse_channels, parse_choice
    from dlsolve.solvers.filters import pool

    return pool(
        parse_channels(image, "--image"),
        size=_axis_pair(size, "--size", 1),
        stride=None if stride is None else _axis_pair(stride, "--stride", 1),
        padding=_axis_pair(padding, "--padding", 0),
        op=parse_choice(op, "--op", ("max", "avg")),
        ceil=ceil,
        exclude_pad=exclude_pad,
    )


@solver_command("design", filter_app, full_name="filter design")
def filter_design(
    what: Annotated[
        str,
        typer.Argument(
            help="vertical-edge, horizontal-edge, diagonal-edge-45/-135, sobel-x/-y, prewitt-x/-y, scharr-x/-y, "
            "laplacian-4/-8, box-blur, gaussian-blur, sharpen, identity, emboss."
        ),
    ],
    size: Annotated[str | None, typer.Option("--size", help="Size n (n x n) of box-blur/gaussian-blur.")] = None,
    sigma: Annotated[str | None, typer.Option("--sigma", help="Gaussian sigma (float weights).")] = None,
) -> Solution:
    """A standard kernel for a purpose, with the reasoning (sums, signs, brightness) and a check.

    Example: dlsolve filter design horizontal-edge

    Example: dlsolve filter design gaussian-blur --size 5
    """
    from dlsolve.parsing import parse_int, parse_positive
    from dlsolve.solvers.filter_kernels import design_filter

    return design_filter(
        what,
        size=None if size is None else parse_int(size, "--size", minimum=1),
        sigma=None if sigma is None else parse_positive(sigma, "--sigma"),
    )


@solver_command("explain", filter_app, full_name="filter explain")
def filter_explain(
    kernel: Annotated[str, typer.Option("--kernel", "-k", help="Kernel matrix (1,0,-1;2,0,-2;1,0,-1) or a name.")],
) -> Solution:
    """Say what a kernel does: edge detector (orientation, polarity), blur, sharpen, Laplacian, identity.

    Evidence: sum of weights, symmetry, separability, first moments, responses to step edges.

    Example: dlsolve filter explain --kernel "1,1,1;0,0,0;-1,-1,-1"

    Example: dlsolve filter explain --kernel "0,-1,0;-1,5,-1;0,-1,0"
    """
    from dlsolve.solvers.filter_kernels import explain_kernel, kernel_from_text

    slices, name = kernel_from_text(kernel, "--kernel")
    return explain_kernel(slices, name)


# --- end filter ---


# --- begin sgd-limit ---
@solver_command("sgd-limit")
def sgd_limit(
    x: Annotated[str, typer.Option("--x", help="Data rows x_i of X: '1,0.1,0.01' (one point), '1,0,1;0,1,1', @X.npy.")],
    y: Annotated[str | None, typer.Option("--y", help="Targets y_i (default: all ones, stated as a warning).")] = None,
    theta0: Annotated[str | None, typer.Option("--theta0", help="Starting point theta_0 (default 0).")] = None,
    p: Annotated[str | None, typer.Option("--p", help="Sampling probabilities p_i, sum 1 (default uniform).")] = None,
    reweight: Annotated[bool, typer.Option("--reweight", help="Scale the step of point i by 1/(n p_i).")] = False,
    precond: Annotated[
        str,
        typer.Option(
            "--precond",
            help="identity | diag:a,b,c | an SPD matrix '2,1;1,2' | adagrad | rmsprop | adam | epoch-rms.",
        ),
    ] = "identity",
    weight_decay: Annotated[
        str, typer.Option("--weight-decay", help="lambda >= 0 added to the gradient as lambda*theta (ridge).")
    ] = "0",
    full_batch: Annotated[bool, typer.Option("--full-batch", help="Mean-loss gradient every step (GD).")] = False,
    simulate: Annotated[bool, typer.Option("--simulate", help="Also run the optimizer (NumPy) and plot it.")] = False,
    steps: Annotated[str | None, typer.Option("--steps", help="Simulation steps (default 2000).")] = None,
    lr: Annotated[str | None, typer.Option("--lr", help="Simulation step size eta (default: a stable one).")] = None,
    seed: Annotated[str, typer.Option("--seed", help="Random seed of the sampling.")] = "0",
    schedule: Annotated[
        str, typer.Option("--schedule", help="Simulation steps: auto | constant | decay (eta*tau/(tau+t)).")
    ] = "auto",
) -> Solution:
    """Where GD/SGD/preconditioned SGD converge on least squares (implicit bias), with the derivation.

    f_i(theta) = (y_i - x_i^T theta)^2; update theta <- theta - eta M grad f_i(theta), point i drawn
    with probability p_i. Fixed SPD M, consistent system: the interpolating solution nearest theta_0 in
    the M^{-1} norm, theta_0 + M X^T (X M X^T)^+ (y - X theta_0). Inconsistent: constant steps do not
    converge; decaying steps give p-weighted least squares (OLS with --reweight or --full-batch).
    Weight decay: ridge. Adaptive M_t: closed form when all rows are parallel (one data point),
    otherwise a labelled simulation. Exact inputs give exact fractions.

    Examples:

      dlsolve sgd-limit --x "1,0.1,0.01" --y 1

      dlsolve sgd-limit --x "1,0.1,0.01" --y 1 --precond epoch-rms --simulate

      dlsolve sgd-limit --x "1,1,0;0,1,1" --y "1,2" --p "0.9,0.1" --precond "diag:1,2,3"

      dlsolve sgd-limit --x "1;1;1" --y "1,2,4" --full-batch --weight-decay 0.5
    """
    from dlsolve import parsing
    from dlsolve.solvers.sgd_limit import SCHEDULES, solve_sgd_limit

    return solve_sgd_limit(
        parsing.parse_matrix(x, "--x"),
        y=None if y is None else parsing.parse_vector(y, "--y"),
        theta0=None if theta0 is None else parsing.parse_vector(theta0, "--theta0"),
        p=None if p is None else parsing.parse_vector(p, "--p"),
        reweight=reweight,
        precond=parsing.parse_preconditioner(precond, "--precond"),
        weight_decay=parsing.parse_scalar(weight_decay, "--weight-decay"),
        full_batch=full_batch,
        simulate=simulate,
        steps=None if steps is None else parsing.parse_int(steps, "--steps", minimum=1),
        lr=None if lr is None else parsing.parse_positive(lr, "--lr"),
        seed=parsing.parse_int(seed, "--seed", minimum=0),
        schedule=parsing.parse_choice(schedule, "--schedule", SCHEDULES),
    )


# --- end sgd-limit ---


# --- begin convergence-bound ---
@solver_command("convergence-bound")
def convergence_bound_command(
    x: Annotated[
        str | None, typer.Option("--x", help="Data X, n x d, one point per row (1,0;0,2 or @file.csv/.npy).")
    ] = None,
    p: Annotated[
        str, typer.Option("--p", help="Sampling: uniform, importance (p_i ∝ ||x_i||^2) or probabilities 0.2,0.8.")
    ] = "uniform",
    eta: Annotated[
        str | None, typer.Option("--eta", help="Step size > 0 (default: the best of the textbook bound).")
    ] = None,
    y: Annotated[str | None, typer.Option("--y", help="Targets y (checked: X theta = y must be solvable).")] = None,
    half: Annotated[bool, typer.Option("--half", help="Use f_i = 1/2 (y_i - x_i^T theta)^2.")] = False,
    eps: Annotated[str | None, typer.Option("--eps", help="Steps to reduce the loss by this factor (0<eps<1).")] = None,
    simulate: Annotated[bool, typer.Option("--simulate", help="Monte Carlo SGD runs versus the bound.")] = False,
    runs: Annotated[str, typer.Option("--runs", help="Monte Carlo runs (with --simulate).")] = "200",
    steps: Annotated[str, typer.Option("--steps", help="SGD steps per run (with --simulate).")] = "50",
    seed: Annotated[str, typer.Option("--seed", help="Random seed (with --simulate).")] = "0",
    symbolic: Annotated[bool, typer.Option("--symbolic", help="Only the SymPy derivation, no data.")] = False,
) -> Solution:
    """SGD on interpolating least squares: E[L(theta_t+1) | theta_t] <= (1 - rho) L(theta_t), derived and checked.

    f_i = (y_i - x_i^T theta)^2 (--half: 1/2 of it), L = sum_i p_i f_i, H = sum_i p_i x_i x_i^T,
    R^2 = max ||x_i||^2, lambda_min = smallest NONZERO eigenvalue of H. Shows the derivation, the
    textbook rho(eta) = 4 eta lambda_min - 4 eta^2 lambda_max R^2 and its best eta, the tighter
    beta = max_i x_i^T H x_i, the exact worst-case factor (a generalised eigenvalue), uniform versus
    importance sampling and the randomized Kaczmarz rate.

    Example: dlsolve convergence-bound --x "1,0,0;0,2,0" --eps 1e-3

    Example: dlsolve convergence-bound --x "1,1,0;0,1,1" --p importance --simulate --runs 100

    Example: dlsolve convergence-bound --symbolic --half
    """
    from dlsolve import parsing
    from dlsolve.solvers import convergence

    if symbolic:
        return convergence.solve_symbolic(half)
    if x is None:
        raise BadInput("expected the data matrix X (or --symbolic for the derivation alone)", option="--x")
    choice = p.strip().lower()
    return convergence.solve_convergence_bound(
        parsing.parse_matrix(x, "--x"),
        p=choice if choice in convergence.SCHEMES else parsing.parse_vector(p, "--p"),
        eta=None if eta is None else parsing.parse_positive(eta, "--eta"),
        y=None if y is None else parsing.parse_vector(y, "--y"),
        half=half,
        eps=None if eps is None else parsing.parse_positive(eps, "--eps"),
        simulate_runs=parsing.parse_int(runs, "--runs", minimum=1) if simulate else None,
        simulate_steps=parsing.parse_int(steps, "--steps", minimum=1),
        seed=parsing.parse_int(seed, "--seed", minimum=0),
    )


# --- end convergence-bound ---
