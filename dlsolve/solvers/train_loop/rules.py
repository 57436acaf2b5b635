"""The rules of ``train-loop``, written once: codes, titles, explanations, fixes and what ``--diff`` does.

Everything that lists the rules takes them from :data:`RULES`: the package docstring, the CLI help
(:func:`rules_help`), the README's rule table (:func:`rules_markdown`, through cog) and the answers.
Codes are stable.
"""

from __future__ import annotations

from typing import Any

from dlsolve.solution import FrozenRecord


class Rule(FrozenRecord):
    """A rule: stable code, short name, a title in words, the finding in detail (Markdown), why it
    matters, how to fix it, and what ``--diff`` does about it (Markdown). A :class:`FrozenRecord`,
    not a dataclass: ``dlsolve train-loop --help`` reads the rules, and start-up time counts."""

    _fields = ("code", "name", "title", "finding", "why", "fix", "diff")
    code: str
    name: str
    title: str
    finding: str
    why: str
    fix: str
    diff: str

    def __init__(self, code: str, name: str, title: str, finding: str, why: str, fix: str, diff: str) -> None:
        for key, value in zip(self._fields, (code, name, title, finding, why, fix, diff), strict=True):
            object.__setattr__(self, key, value)


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "DL001",
            "zero-grad-missing",
            "zero_grad() missing",
            "`zero_grad()` missing from a loop that calls `backward()` and `step()`",
            "backward() adds to .grad; without zero_grad() each step uses the sum of all past gradients.",
            "call optimizer.zero_grad() once per iteration, before loss.backward().",
            "inserts it before `backward()`",
        ),
        Rule(
            "DL002",
            "zero-grad-between-backward-and-step",
            "zero_grad() between backward() and step()",
            "`zero_grad()` between `backward()` and `step()` (the step sees zeros)",
            "zero_grad() after backward() erases the gradients just computed, so step() updates with zeros.",
            "move optimizer.zero_grad() before loss.backward() (or after optimizer.step()).",
            "moves it before `backward()`",
        ),
        Rule(
            "DL003",
            "step-before-backward",
            "step() before backward()",
            "`step()` before `backward()` in the loop body",
            "step() uses the gradients present when it is called: before backward() they are stale or zero.",
            "call optimizer.step() after loss.backward().",
            "moves `step()` after `backward()`",
        ),
        Rule(
            "DL004",
            "zero-grad-outside-loop",
            "zero_grad() only outside the loop",
            "`zero_grad()` only before the loop: gradients accumulate over iterations",
            "zero_grad() runs once, so gradients accumulate over every iteration of the loop "
            "(gradient accumulation needs zero_grad() inside the loop, after each conditional step()).",
            "move optimizer.zero_grad() into the loop, before loss.backward().",
            "moves it into the loop",
        ),
        Rule(
            "DL005",
            "backward-missing",
            "backward() missing",
            "`step()` in a loop with no `backward()`",
            "without loss.backward() no gradient is computed and step() changes nothing.",
            "call loss.backward() before optimizer.step().",
            "inserts `loss.backward()` before `step()` when the loop assigns exactly one loss, in the step's "
            "block, and calls `zero_grad()` (several losses or a conditional step: no fix)",
        ),
        Rule(
            "DL010",
            "loss-argument-order",
            "loss arguments swapped",
            "loss arguments swapped: PyTorch losses take `(input, target)`, predictions first",
            "PyTorch losses take (input, target): predictions first, targets second; "
            "swapped, CrossEntropyLoss/NLLLoss/BCE fail or compute a different quantity.",
            "call loss_fn(predictions, targets).",
            "swaps them",
        ),
        Rule(
            "DL020",
            "softmax-before-cross-entropy",
            "softmax before CrossEntropyLoss",
            "softmax before `CrossEntropyLoss` (also a model ending in `nn.Softmax`)",
            "CrossEntropyLoss applies log-softmax to raw logits itself; a softmax before it squashes the "
            "logits, shrinks the gradients and slows or stalls training.",
            "pass the raw logits to CrossEntropyLoss (remove the softmax).",
            "removes an inline softmax",
        ),
        Rule(
            "DL021",
            "sigmoid-before-bce-with-logits",
            "sigmoid before BCEWithLogitsLoss",
            "sigmoid before `BCEWithLogitsLoss`",
            "BCEWithLogitsLoss applies the sigmoid itself; a sigmoid before it applies it twice.",
            "pass the raw logits to BCEWithLogitsLoss (remove the sigmoid), or use BCELoss on probabilities.",
            "removes an inline sigmoid",
        ),
        Rule(
            "DL022",
            "nll-without-log-softmax",
            "NLLLoss without log-softmax",
            "`NLLLoss` on logits or probabilities (log-softmax missing); an output dlsolve cannot see into "
            "(another module's model, a remote call) is unknown and gives no finding",
            "NLLLoss expects log-probabilities; on logits or probabilities it is not the cross-entropy.",
            "apply F.log_softmax(outputs, dim=1) before NLLLoss, or use CrossEntropyLoss on the logits.",
            "on raw logits: `F.nll_loss` → `F.cross_entropy`, `nn.NLLLoss()` → `nn.CrossEntropyLoss()` when "
            "every use of the loss object is such a call (on probabilities: no fix)",
        ),
        Rule(
            "DL023",
            "bce-without-sigmoid",
            "BCELoss on raw logits",
            "`BCELoss` on raw logits (sigmoid missing)",
            "BCELoss expects probabilities in [0, 1]; raw logits make it fail or be wrong.",
            "use BCEWithLogitsLoss on the logits (numerically stable) or apply torch.sigmoid first.",
            "`F.binary_cross_entropy` → `F.binary_cross_entropy_with_logits`, `nn.BCELoss()` → "
            "`nn.BCEWithLogitsLoss()` when every use of the loss object is such a call",
        ),
        Rule(
            "DL030",
            "eval-without-model-eval",
            "evaluation without model.eval()",
            "evaluation without `model.eval()`: an evaluation loop, a forward pass on held-out data "
            "(`model(x_val)`, also inside the training loop), or one in an `evaluate`/`predict`-like function "
            "that never trains; the mode is judged by the order of the calls; not for a model seen entirely "
            "that has no dropout or batch norm (the mode changes nothing)",
            "in training mode dropout stays active and batch norm uses and updates batch statistics, "
            "so evaluation metrics are noisy and the running statistics change.",
            "call model.eval() before evaluating (and model.train() before training resumes).",
            "inserts `model.eval()` (and `model.train()` after the evaluation inside a training loop or a function)",
        ),
        Rule(
            "DL031",
            "eval-without-no-grad",
            "evaluation without torch.no_grad()",
            "the same evaluation without `torch.no_grad()`/`inference_mode()`",
            "without torch.no_grad() autograd records every operation: memory and time are wasted.",
            "wrap the evaluation in `with torch.no_grad():` (or torch.inference_mode()), or decorate the "
            "evaluation function with @torch.no_grad().",
            "wraps it in `with torch.no_grad():`",
        ),
        Rule(
            "DL032",
            "train-after-eval-without-model-train",
            "training resumes in evaluation mode",
            "training resumes after `model.eval()` without `model.train()` (chained calls such as "
            "`model.to(device).train()` count; not for a model without dropout or batch norm)",
            "after model.eval() the next epoch trains with dropout off and frozen batch-norm statistics.",
            "call model.train() at the start of each training epoch.",
            "inserts `model.train()`",
        ),
        Rule(
            "DL040",
            "loss-tensor-accumulated",
            "loss tensor accumulated",
            "loss tensor accumulated (`total += loss`, `losses.append(loss)`)",
            "adding the loss tensor keeps every iteration's autograd graph alive (memory grows each step).",
            "accumulate loss.item() (a Python float) instead.",
            "uses `loss.item()`",
        ),
        Rule(
            "DL041",
            "backward-under-no-grad",
            "backward() on a loss computed under no_grad",
            "`backward()` on a loss computed under `torch.no_grad()`/`inference_mode()`, or from model outputs "
            "computed there (also in a `no_grad`-decorated function or one only called under `no_grad`); "
            "`backward()` itself under `no_grad` on a loss computed with autograd on is fine",
            "a tensor computed under torch.no_grad()/inference_mode() has no grad_fn, nor has a loss computed "
            "from it: backward() raises 'element 0 of tensors does not require grad' (backward() itself may "
            "run under no_grad; the forward pass may not).",
            "compute the forward pass and the loss with autograd on (outside the no_grad block); keep no_grad "
            "for evaluation and for inputs that need no gradient (frozen features, teacher outputs).",
            "removes a `with torch.no_grad():` block that only assigns names and trains (dedents its body); "
            "a decorated function or a block doing more: no fix",
        ),
        Rule(
            "DL042",
            "scheduler-step-before-optimizer-step",
            "scheduler.step() before optimizer.step()",
            "`scheduler.step()` before `optimizer.step()` in the same iteration",
            "since PyTorch 1.1 scheduler.step() must follow optimizer.step(); before it, the first "
            "learning rate of the schedule is skipped (PyTorch warns).",
            "call scheduler.step() after optimizer.step().",
            "moves it after",
        ),
    )
}

#: What no rule checks: said whenever no rule fires, so that "no finding" is not read as "correct".
NOT_CHECKED = (
    "data leakage (such as augmenting or normalising before the train/validation split), initialization "
    "scale, learning-rate values, tensor shapes, and code in other modules"
)


class Finding(FrozenRecord):
    """One problem found: where (1-based line and column), which rule, and a message about this code."""

    _fields = ("file", "line", "col", "rule", "message")
    file: str
    line: int
    col: int
    rule: str
    message: str

    def __init__(self, file: str, line: int, col: int, rule: str, message: str) -> None:
        for key, value in zip(self._fields, (file, line, col, rule, message), strict=True):
            object.__setattr__(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: file, line, col (1-based), rule, message, why, fix."""
        rule = RULES[self.rule]
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "rule": self.rule,
            "message": self.message,
            "why": rule.why,
            "fix": rule.fix,
        }


def rules_help() -> str:
    """The rule list for ``--help`` and docstrings: ``DL001 zero_grad() missing, DL002 ...``."""
    return ", ".join(f"{rule.code} {rule.title}" for rule in RULES.values()) + "."


def rules_markdown() -> str:
    """The README's rule table (Markdown): rule, finding, what ``--diff`` does."""
    lines = ["| rule | finding | `--diff` fixes it |", "| --- | --- | --- |"]
    lines += [f"| {rule.code} | {rule.finding} | {rule.diff} |" for rule in RULES.values()]
    return "\n".join(lines) + "\n"
