"""Static analysis of PyTorch training code (``dlsolve train-loop``): find the classic loop bugs.

The code is parsed with :mod:`ast` and never imported or run. The analysis is heuristic but
conservative: a rule fires only on a pattern it recognises (names bound to ``nn.*Loss()``,
``torch.optim.*``, ``lr_scheduler.*`` or conventional names such as ``criterion``, ``optimizer``,
``model``; data flow from the loader's ``(inputs, targets)`` tuple through ``.to(device)`` and
friends); what it cannot see (a model from another module, a remote call) is unknown and gives no
finding. Calls to functions defined in the same file are followed (inlined, three levels deep), so
``for epoch ...: train(...); test(...)`` is analysed as one loop, in the order the calls run.

The package, by job:

* :mod:`.rules`: the rule list (:data:`RULES`), written once; the help text and README table come from it.
* :mod:`.vocabulary`: what names, calls and constructors mean in PyTorch code.
* :mod:`.scopes`: Python's scoping of names (:mod:`symtable`) on the AST.
* :mod:`.facts`: what the file binds, defines and calls; autograd mode.
* :mod:`.flow`: the kinds of values flowing through a function; model output kinds.
* :mod:`.base`: findings and the training events in execution order.
* :mod:`.checks_training`, :mod:`.checks_evaluation`, :mod:`.checks_losses`: the rules.
* :mod:`.edits`: the mechanical fixes (``--diff``); :mod:`.analyzer`: the run; :mod:`.answer`: the Solution.

Rules (stable codes):
"""

from __future__ import annotations

import importlib
from typing import Any

from dlsolve.solvers.train_loop.rules import NOT_CHECKED, RULES, Finding, Rule, rules_help, rules_markdown

#: Names imported on first use: the rules alone (``--help``) need none of the analysis modules.
_LAZY = {
    "Report": "analyzer",
    "analyze": "analyzer",
    "inspect_source": "analyzer",
    "parse_source": "analyzer",
    "STEP_KINDS": "answer",
    "solve": "answer",
    "Edit": "edits",
    "unified_diff": "edits",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__doc__ = (__doc__ or "") + "\n".join(f"* {rule.code} {rule.finding}." for rule in RULES.values()) + "\n"

__all__ = [
    "NOT_CHECKED",
    "RULES",
    "STEP_KINDS",
    "Edit",
    "Finding",
    "Report",
    "Rule",
    "analyze",
    "inspect_source",
    "parse_source",
    "rules_help",
    "rules_markdown",
    "solve",
    "unified_diff",
]
