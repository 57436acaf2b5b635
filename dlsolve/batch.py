"""Batch mode (``dlsolve solve -``): JSON Lines in, one JSON answer line out per input line, in order.

Each read of standard input is answered with one write and a flush, so a script may write one line
and wait for its answer; a bulk read is shared out among forked worker processes. A bad line gives an
``{"error": ...}`` line (with its line number) and the batch goes on.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from typing import Any

from dlsolve.errors import BadInput, DlsolveError, ExitStatus, InternalError, traceback_wanted


def input_batches(stream: Any) -> Iterator[list[Any]]:
    """The complete lines of ``stream`` in the batches they arrive: a batch is what one read returns.

    Reading what is available (``read1``) rather than whole lines lets the caller answer a batch with
    one write and one flush: fast for a file of 10,000 lines, and still prompt for a script that
    writes one line and waits for its answer. A text stream without a binary buffer (tests) is one batch.
    """
    binary = getattr(stream, "buffer", None)
    if binary is None or not hasattr(binary, "read1"):
        yield stream.read().splitlines()
        return
    pending: list[bytes] = []  # the start of a line longer than one read
    while chunk := binary.read1(1 << 16):
        if b"\n" not in chunk:
            pending.append(chunk)
            continue
        lines = b"".join([*pending, chunk]).split(b"\n")
        pending = [lines.pop()]
        yield lines
    if any(pending):
        yield [b"".join(pending)]


#: A read of at least this many lines (a bulk job, not a script writing a line at a time) is shared
#: out among worker processes when there are several CPUs.
PARALLEL_LINES = 500


def answer_lines(job: tuple[int, list[Any]]) -> tuple[str, bool]:
    """The JSON answer lines for ``lines``, numbered from ``first``; and whether any of them failed."""
    import json

    from dlsolve.cli import COMMANDS  # the registry (already imported: the CLI is running)
    from dlsolve.problems import run_command
    from dlsolve.render.json_view import dumps

    first, lines = job
    replies = []
    failed = False
    for number, line in enumerate(lines, first):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            try:
                request = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
                raise BadInput(f"{where}: not valid JSON ({error})") from None
            if not isinstance(request, dict) or not isinstance(request.get("command"), str):
                raise BadInput(f'{where}: expected {{"command": str, "args": {{...}}}}')
            args = request.get("args", {})
            if not isinstance(args, dict):
                raise BadInput(f"{where}: 'args' must be an object")
            reply = run_command(COMMANDS, request["command"], args, where).to_dict()
        except DlsolveError as error:
            failed = True
            reply = {"error": {**error.to_dict(), "line": number}}
        except Exception as error:  # a bug on this line: report it there, and go on with the batch
            if traceback_wanted():
                raise
            failed = True
            reply = {"error": {**InternalError.from_exception(error).to_dict(), "line": number}}
        replies.append(dumps(reply, indent=None) + "\n")
    return "".join(replies), failed


def worker_count() -> int:
    """Processes for a bulk batch: ``DLSOLVE_JOBS`` if set, else the CPUs this process may use."""
    setting = os.environ.get("DLSOLVE_JOBS", "").strip()
    if setting:
        if not setting.isdigit() or int(setting) < 1:
            raise BadInput(f"DLSOLVE_JOBS must be a whole number >= 1, got {setting!r}")
        return int(setting)
    affinity = getattr(os, "sched_getaffinity", None)
    return min(8, len(affinity(0)) if affinity else os.cpu_count() or 1)


class Workers:
    """Helper processes that answer parts of a bulk read while this process answers the first part.

    Forked (the solvers are already imported); with one CPU, or where fork is missing, there are none
    and this process answers everything.
    """

    def __init__(self, count: int) -> None:
        import multiprocessing

        forking = count > 1 and "fork" in multiprocessing.get_all_start_methods()
        self.count = count if forking else 1
        self.pool = multiprocessing.get_context("fork").Pool(count - 1) if forking else None

    def answer(self, first: int, lines: list[Any]) -> tuple[str, bool]:
        if self.pool is None:
            return answer_lines((first, lines))
        size = -(-len(lines) // self.count)
        jobs = [(first + start, lines[start : start + size]) for start in range(0, len(lines), size)]
        others = self.pool.map_async(answer_lines, jobs[1:])
        parts = [answer_lines(jobs[0]), *others.get()]
        return "".join(text for text, _ in parts), any(failed for _, failed in parts)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool.join()


def solve_batch(stdin: Any, stdout: Any) -> int:
    """JSON Lines in, one JSON answer line out per input line, in order; exit 1 if any failed.

    Each read is answered with one write and a flush. A bulk read (``PARALLEL_LINES`` lines or
    more) is split among ``DLSOLVE_JOBS`` processes (default: one per CPU, forked on first need),
    its answers joined back in input order.
    """
    jobs = worker_count()
    gc.freeze()  # start-up objects are permanent: the collector need not traverse them per batch line
    failed = False
    number = 1
    workers: Workers | None = None
    try:
        for lines in input_batches(stdin):
            if len(lines) >= PARALLEL_LINES:
                workers = workers or Workers(jobs)
                text, lines_failed = workers.answer(number, lines)
            else:
                text, lines_failed = answer_lines((number, lines))
            number += len(lines)
            failed = failed or lines_failed
            stdout.write(text)
            stdout.flush()
    finally:
        if workers is not None:
            workers.close()
    return int(ExitStatus.NO_VALID_ANSWER if failed else ExitStatus.SOLVED)
