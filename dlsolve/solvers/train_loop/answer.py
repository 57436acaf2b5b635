"""``train-loop``'s answer: the findings in words with their lines, each once, as a :class:`Solution`.

The answer (``summary``, ``quiet``, JSON ``answer``) is computed eagerly; the working (one step per
finding, with why and how to fix it) is built only when it is read.
"""

from __future__ import annotations

import os
from typing import Any

from dlsolve.solution import Solution, Step
from dlsolve.solvers.train_loop.analyzer import inspect_source
from dlsolve.solvers.train_loop.edits import unified_diff
from dlsolve.solvers.train_loop.rules import NOT_CHECKED, RULES, Finding

STEP_KINDS = {
    "train-loop.parse": "the code parsed with Python's ast (never run); no longer written: the help says it",
    "train-loop.finding": "one finding: its line, what is wrong in this code, why it matters and the fix",
    "train-loop.no-finding": "no rule fired: how many rules were checked and what no rule checks",
    "train-loop.no-training-code": "the file has no training or evaluation code for the rules to check",
    "train-loop.diff": "the corrected code: the mechanical fixes as a unified diff",
}


def in_words(finding: Finding) -> str:
    """``line 19, zero_grad() missing (DL001): the loop at line 19 calls ...``."""
    return f"line {finding.line}, {RULES[finding.rule].title} ({finding.rule}): {finding.message}"


def solve(source: str, filename: str = "<stdin>", *, diff: bool = False) -> Solution:
    """Analyse PyTorch training code ``source`` and explain each finding (rules DL001-DL042)."""
    if not filename.startswith("<"):  # a problem file's "problems/../tests/x.py" is tests/x.py
        filename = os.path.normpath(filename)
    report = inspect_source(source, filename)
    findings = report.findings
    patch = unified_diff(source, report.corrected, filename) if diff else ""
    checked = f"{len(RULES)} rules checked"
    if findings:
        count = f"{len(findings)} finding{'s' if len(findings) > 1 else ''}"
        words = [in_words(f) for f in findings]
        if len(words) > 1:
            words = [f"({index}) {text}" for index, text in enumerate(words, 1)]
        summary = f"{count} in {filename}: " + "; ".join(words)
    elif not report.has_training_code:
        summary = (
            f"{filename}: no training loop found (no backward(), optimizer step, loss, model call or "
            "model.eval()/.train()): nothing to check"
        )
    else:
        summary = f"{filename}: no rule fired ({checked}); not checked: {NOT_CHECKED}"
    listing = "\n".join(f"{filename}:{f.line}:{f.col}: {f.rule} {f.message}" for f in findings)
    answer: dict[str, Any] = {
        "findings": [f.to_dict() for f in findings],
        "clean": not findings,
        "rules": sorted({f.rule for f in findings}),
        "count": len(findings),
        "bugs": [in_words(f) for f in findings],
        "rules_checked": len(RULES),
        "training_code": report.has_training_code,
    }
    if not findings:
        answer["not_checked"] = NOT_CHECKED
    if diff:
        answer["diff"] = patch

    def working() -> list[Step]:
        # the findings, each once; how the code is read (ast, never run) is the command's help, not a step
        steps = [
            Step(
                f"Line {f.line}: {RULES[f.rule].title} ({f.rule})",
                f"Line {f.line}, column {f.col}: {f.message}.\nWhy: {RULES[f.rule].why}\nFix: {RULES[f.rule].fix}",
                kind="train-loop.finding",
            )
            for f in findings
        ]
        if not report.has_training_code:
            steps.append(Step("No training loop found", summary + ".", kind="train-loop.no-training-code"))
        elif not findings:
            text = f"No rule fired ({checked}). That is not a proof of correctness: no rule checks {NOT_CHECKED}."
            steps.append(Step("No rule fired", text, kind="train-loop.no-finding"))
        if diff:
            shown = patch or "no mechanical fix applies (see each finding's fix)."
            steps.append(Step("Corrected version (mechanical fixes, unified diff)", shown, kind="train-loop.diff"))
        return steps

    return Solution(
        command="train-loop",
        inputs={"file": filename, "diff": diff},
        answer=answer,
        summary=summary,
        quiet=patch if diff else (listing or summary),
        steps=working,
    )
