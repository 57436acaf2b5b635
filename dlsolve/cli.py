"""The command line: build the Typer app from the registry, render, map errors to exit statuses.

Commands live in :mod:`dlsolve.commands` (one module each, options declared once with their
parsers) and are found through :mod:`dlsolve.registry`. This module adds the shared output options
(``--json``, ``-q``, ``--latex``, ``--markdown``) to every command, renders the Solution it returns,
and maps errors to exit statuses in one place, :func:`main`. No maths here.

Start-up: a run imports only the invoked command's module; ``--help`` imports them all (none of
them imports NumPy or SymPy at load time). A command's option declarations are evaluated only when
Typer builds that command (postponed annotations).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable
from typing import Annotated, Any

import click
import typer

from dlsolve import __version__, registry
from dlsolve.errors import BadInput, DlsolveError, ExitStatus, InternalError, traceback_wanted

OUTPUT_MODES = ("json", "quiet", "latex", "markdown", "html")

#: The output options every solver command gets (Typer copies an option's info before changing it,
#: so the commands can share these).
OUTPUT_PARAMETERS: list[tuple[str, Any]] = [
    ("json", Annotated[bool, typer.Option("--json", help="Print the solution as JSON (schema in README).")]),
    ("quiet", Annotated[bool, typer.Option("--quiet", "-q", help="Print the answer only, plain.")]),
    ("latex", Annotated[bool, typer.Option("--latex", help="Print the working as LaTeX.")]),
    ("markdown", Annotated[bool, typer.Option("--markdown", help="Print the working as Markdown.")]),
    ("html", Annotated[bool, typer.Option("--html", help="Print the working as one HTML page (MathML, no scripts).")]),
]

#: Options every solver command gets besides the output mode: checking a student's answer.
CHECK_PARAMETERS: list[tuple[str, Any]] = [
    (
        "answer",
        Annotated[
            str | None,
            typer.Option(
                "--answer", help="Check this answer (a number, shape, vector, matrix or words): verdict and diagnosis."
            ),
        ],
    ),
]

#: Commands of the command line that are not solvers: name -> ``module:function`` (a Typer command).
PLAIN_COMMANDS: dict[str, str] = {"solve": "dlsolve.commands.solve:solve"}

_CONTEXT = {"help_option_names": ["-h", "--help"]}


def output_mode(**flags: bool) -> str:
    """The one output mode chosen by the flags (``rich`` when none)."""
    chosen = [mode for mode in OUTPUT_MODES if flags.get(mode)]
    if len(chosen) > 1:
        raise BadInput(f"choose one output mode, got {', '.join('--' + m for m in chosen)}", option="--" + chosen[0])
    return chosen[0] if chosen else "rich"


class _RenderedCommand:
    """What the app registers with Typer for a solver command: the command's function, rendered.

    Calling it takes the output flags off the keyword arguments, calls the function and renders the
    Solution; it returns the exit status (None: 0). Typer reads the options from ``__signature__``,
    the function's parameters followed by :data:`OUTPUT_PARAMETERS`. The signature and
    ``__annotations__`` are evaluated when Typer first builds this command, not at import.
    With ``callback`` the command is its group's callback (``dlsolve attention --q ...`` solves,
    ``dlsolve attention shapes ...`` runs the subcommand without rendering anything here).
    """

    def __init__(self, command: registry.Command, *, callback: bool = False) -> None:
        function = command.function
        self.__wrapped__ = function
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__module__ = function.__module__
        self.__doc__ = function.__doc__
        self._exit_status = command.exit_status
        self._callback = callback
        self._name = command.name

    @functools.cached_property
    def __annotations__(self) -> dict[str, Any]:
        # inspect evaluates the postponed text directly (typing.get_type_hints also re-walks each result).
        return {
            **inspect.get_annotations(self.__wrapped__, eval_str=True),
            **dict(OUTPUT_PARAMETERS),
            **dict(CHECK_PARAMETERS),
        }

    @functools.cached_property
    def __signature__(self) -> inspect.Signature:
        hints = self.__annotations__
        signature = inspect.signature(self.__wrapped__)
        parameters = [
            parameter.replace(annotation=hints.get(parameter.name, parameter.empty))
            for parameter in signature.parameters.values()
        ]
        extra = [
            *(
                inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=False, annotation=hint)
                for key, hint in OUTPUT_PARAMETERS
            ),
            *(
                inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=hint)
                for key, hint in CHECK_PARAMETERS
            ),
        ]
        return signature.replace(
            parameters=[*parameters, *extra], return_annotation=hints.get("return", signature.empty)
        )

    def __call__(self, *args: Any, **kwargs: Any) -> int | None:
        mode = output_mode(**{key: kwargs.pop(key) for key, _ in OUTPUT_PARAMETERS})
        answer = kwargs.pop("answer", None)
        if self._callback and click.get_current_context().invoked_subcommand:
            return None
        solution = self.__wrapped__(*args, **kwargs)
        from dlsolve.render import render

        if answer is not None:
            from dlsolve.grading.sheet import Grader, sheet_solution

            verdict = Grader(self._name, self._name, kwargs, solution).grade(answer)
            render(sheet_solution([verdict], solution.warnings), mode)
            return int(ExitStatus.SOLVED if verdict.verdict == "correct" else ExitStatus.NO_VALID_ANSWER)
        render(solution, mode)
        return int(self._exit_status(solution)) if self._exit_status is not None else None


def _main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Solve deep-learning exam problems and show the working, step by step.

    Every command prints the working (default), or --json, -q (answer only), --latex, --markdown,
    --html; --answer VALUE checks a student's answer instead.
    Exit status: 0 solved, 1 the problem has no valid answer, 2 bad input or usage.
    """


def _new_app(*, completion: bool = False, **settings: Any) -> typer.Typer:
    return typer.Typer(
        pretty_exceptions_enable=False,
        add_completion=completion,
        context_settings=_CONTEXT,
        rich_markup_mode="markdown",  # `[[problem]]` is text, not Rich markup; paragraphs reflow
        **settings,
    )


def _listed(doc: str | None) -> Callable[[], None]:
    """A command with no options and ``doc`` as its help: what ``dlsolve --help`` lists."""

    def listed() -> None:  # never called: a named command builds the real one
        raise AssertionError("a listed-only command was run")

    listed.__doc__ = doc
    return listed


def build_app(top: str | None = None, *, listing: bool = False) -> typer.Typer:
    """The Typer app with the commands named ``top`` (a command or group), or every command.

    Start-up cost: Typer builds the Click command of every registered command on every start, and a
    run needs only the invoked one, so a run registers only that one. ``--help``, ``--version`` and
    unknown names get the whole app; with ``listing`` its commands are registered with their help
    alone (the top-level help lists names and first lines: building every option of every command
    for it would make ``dlsolve --help`` cost as much as all the commands' own help pages).
    """
    names = [*PLAIN_COMMANDS, *registry.COMMAND_MODULES]
    wanted = [name for name in names if name.split()[0] == top] or names
    app = _new_app(name="dlsolve", no_args_is_help=True, completion=True)  # --install-completion (Typer's)
    app.callback()(_main_options)
    groups: dict[str, typer.Typer] = {}
    for name in wanted:
        if name in PLAIN_COMMANDS:
            module, function = PLAIN_COMMANDS[name].split(":")
            loaded = importlib.import_module(module)
            plain = _listed(loaded.SOLVE_HELP) if listing else getattr(loaded, function)
            app.command(name, help=loaded.SOLVE_HELP)(plain)
            continue
        command = registry.get(name)
        assert command is not None
        group_name, _, sub = name.partition(" ")
        if group_name in registry.GROUPS:
            if group_name not in groups:
                help_text = {"help": registry.GROUPS[group_name]} if registry.GROUPS[group_name] else {}
                groups[group_name] = _new_app(no_args_is_help=group_name != name, **help_text)
                app.add_typer(groups[group_name], name=group_name)
            if not sub:
                callback = _listed(command.function.__doc__) if listing else _RenderedCommand(command, callback=True)
                groups[group_name].callback(invoke_without_command=True)(callback)
            elif not listing:  # the top-level help lists a group by its own help
                groups[group_name].command(sub)(_RenderedCommand(command))
        else:
            app.command(name)(_listed(command.function.__doc__) if listing else _RenderedCommand(command))
    return app


def _app_for(args: list[str]) -> typer.Typer:
    """The app for a run with ``args``: only the command that ``args[0]`` names, when it names one;
    else every command, listed by its help alone. Shell completion names the command in COMP_WORDS."""
    if os.environ.get("_DLSOLVE_COMPLETE"):
        words = os.environ.get("COMP_WORDS", "").split()
        return build_app(words[1] if len(words) > 2 else None)
    top = args[0] if args and not args[0].startswith("-") else None
    named = top is not None and any(name.split()[0] == top for name in (*PLAIN_COMMANDS, *registry.COMMAND_MODULES))
    return build_app(top) if named else build_app(listing=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dlsolve {__version__}")
        raise typer.Exit()


# --------------------------------------------------------------------------- error reporting


def report_error(error: DlsolveError, *, json_errors: bool) -> int:
    """Print ``error`` (JSON on stdout with --json, else one line on stderr); its exit status."""
    if json_errors:
        from dlsolve.render.json_view import dumps

        sys.stdout.write(dumps({"error": error.to_dict()}) + "\n")
    elif sys.stderr is not None:  # None when started with standard error closed (`2>&-`)
        sys.stderr.write(f"error: {error}\n")
    return int(error.exit_status)


#: Other names of a subcommand, as textbooks say them: suggested when typed.
SYNONYMS = {
    "he-normal": "kaiming-normal",
    "he-uniform": "kaiming-uniform",
    "glorot-normal": "xavier-normal",
    "glorot-uniform": "xavier-uniform",
}


def _usage_error(error: click.UsageError) -> DlsolveError:
    sentences = re.split(r"(?<=[.?!])\s+", " ".join(error.format_message().split()))
    unknown = re.match(r"No such command '([^']+)'", sentences[0])
    if unknown and unknown.group(1) in SYNONYMS:
        sentences = [sentences[0], f"Did you mean '{SYNONYMS[unknown.group(1)]}' (the same initialization)?"]
    # Typer and Click may both add "Did you mean ...?", in different words: keep the first
    hinted = [index for index, sentence in enumerate(sentences) if "did you mean" in sentence.lower()]
    message = " ".join(dict.fromkeys(s for index, s in enumerate(sentences) if index not in hinted[1:]))
    command = error.ctx.command_path if error.ctx else "dlsolve"
    return BadInput(f"{message} (see '{command} --help')")


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
