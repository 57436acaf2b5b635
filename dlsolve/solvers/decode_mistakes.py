"""Named mistakes of ``decode greedy`` and ``decode beam`` (see :mod:`dlsolve.grading.mistakes`).

The right search is in :mod:`dlsolve.solvers.decode`: the beam shrinks by one when a hypothesis
finishes, and the best finished hypothesis wins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import DlsolveError
from dlsolve.grading.mistakes import mistake

if TYPE_CHECKING:
    from dlsolve.solution import Solution
    from dlsolve.solvers.decode import Hypothesis


def _fields(best: Hypothesis) -> dict[str, Any]:
    from fractions import Fraction

    fields: dict[str, Any] = {"sequence": " ".join(best.tokens), "probability": fmt.json_number(best.prob)}
    if isinstance(best.prob, Fraction):
        fields["probability_exact"] = fmt.exact(best.prob)
    return fields


def _search(kwargs: dict[str, Any], width: int, *, shrink: bool = True) -> dict[str, Any] | None:
    """The best finished hypothesis of beam search with ``width`` (by probability, or score with α)."""
    from dlsolve.solvers.decode import MissingPrefix, _rank, beam_search
    from dlsolve.token_model import token_model

    try:
        model = token_model(kwargs["model"], "--model", log_probs=kwargs.get("log_probs", False))
        finished, _ = beam_search(model, width, kwargs.get("eos", "</s>"), kwargs.get("max_len"), shrink=shrink)
    except (DlsolveError, MissingPrefix):
        return None
    return _fields(_rank(finished, float(kwargs.get("length_penalty") or 0))[0]) if finished else None


@mistake(
    "decode beam",
    "greedy",
    "decoded greedily (one hypothesis) instead of keeping K",
    step="decode.step",
)
def greedy_for_beam(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return None if kwargs.get("beam", 2) == 1 else _search(kwargs, 1)


@mistake(
    "decode beam",
    "beam-does-not-shrink",
    "kept K active hypotheses after one finished (the beam shrinks by one when a hypothesis ends)",
    step="decode.step",
)
def beam_does_not_shrink(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _search(kwargs, kwargs.get("beam", 2), shrink=False)


@mistake(
    "decode beam",
    "most-probable-sequence",
    "gave the most probable sequence of the whole tree, which beam search may not find",
    step="decode.compare",
)
def exhaustive_for_beam(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    best = solution.answer.get("exhaustive_best")
    if not best or not solution.answer.get("misses_best"):
        return None
    fields = {"sequence": " ".join(best["tokens"]), "probability": best["prob"]}
    return fields | ({"probability_exact": best["prob_exact"]} if "prob_exact" in best else {})


@mistake(
    "decode greedy",
    "most-probable-sequence",
    "gave the most probable sequence of the whole tree, which greedy decoding may not find",
    step="decode.compare",
)
def exhaustive_for_greedy(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return exhaustive_for_beam(kwargs, solution)
