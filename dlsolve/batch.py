"""Batch mode (``dlsolve solve -``): JSON Lines in, one JSON answer line out per input line, in order.

Each read of standard input is answered with one write and a flush, so a script may write one line
and wait for its answer; a bulk read is shared out among forked worker processes. A bad line gives an
``{"error": ...}`` line (with its line number) and the batch goes on.
"""

from __future__ import annotations

import gc
import itertools
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

    from dlsolve import registry
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
            solution = registry.run(request["command"], args, where)
            working = request.get("working", False)
            if not isinstance(working, bool):
                raise BadInput(f"{where}: 'working' must be true or false")
            reply = solution.to_dict() if working else solution.answer_dict()
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


def _numbered(batches: Iterator[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    """``(number of the first line, lines)`` for each batch."""
    number = 1
    for lines in batches:
        yield number, lines
        number += len(lines)


def _forked_answers(jobs: Iterator[tuple[int, list[Any]]], count: int) -> Iterator[tuple[str, bool]]:
    """The answers of ``jobs`` from ``count`` forked worker processes, in input order.

    This process only reads and writes. At most two jobs per worker are in flight, so the input is
    read as fast as it is answered, not all at once into memory.
    """
    import multiprocessing
    import threading

    in_flight = threading.BoundedSemaphore(2 * count)

    def throttled() -> Iterator[tuple[int, list[Any]]]:
        for job in jobs:  # runs in the pool's feeder thread
            in_flight.acquire()
            yield job

    with multiprocessing.get_context("fork").Pool(count) as pool:
        for answer in pool.imap(answer_lines, throttled()):
            in_flight.release()
            yield answer


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def solve_batch(stdin: Any, stdout: Any) -> int:
    """JSON Lines in, one JSON answer line out per input line, in order; exit 1 if any failed.

    Each read is answered with one write and a flush, in this process, until a bulk read
    (``PARALLEL_LINES`` lines or more): from there on, reads are answered by ``DLSOLVE_JOBS`` forked
    worker processes (default: one per CPU), their answers written back in input order.
    """
    count = worker_count()
    gc.freeze()  # start-up objects are permanent: the collector need not traverse them per batch line

    def emit(answer: tuple[str, bool]) -> bool:
        text, answer_failed = answer
        stdout.write(text)
        stdout.flush()
        return answer_failed

    failed = False
    jobs = _numbered(input_batches(stdin))
    answers: Iterator[tuple[str, bool]] = iter(())
    for job in jobs:
        if len(job[1]) >= PARALLEL_LINES and count > 1 and _can_fork():
            answers = _forked_answers(itertools.chain([job], jobs), count)
            break
        failed = emit(answer_lines(job)) or failed
    for answer in answers:
        failed = emit(answer) or failed
    return int(ExitStatus.NO_VALID_ANSWER if failed else ExitStatus.SOLVED)
