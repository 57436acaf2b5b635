"""Greedy and beam-search decoding by hand over a next-token model given as a table of prefixes.

Conventions:

* The model maps a prefix (tokens joined by single spaces, ``""`` at the start) to the distribution of
  the next token (:mod:`dlsolve.token_model`). A hypothesis ends when it emits ``eos`` (``</s>``);
  its length ``L`` counts the tokens it generated, ``eos`` included.
* Cumulative log-probability ``log P(y_1..y_t) = log P(y_1..y_{t−1}) + log p(y_t | y_<t)`` (natural
  log). Tokens of probability 0 are never expanded.
* Beam search with width K: at each step every active hypothesis is extended by every next token; the
  best ``K − (number finished)`` candidates by cumulative log-probability are selected; a selected
  candidate ending in ``eos`` is finished and leaves the beam, which shrinks by one; the others stay
  active. The search stops when nothing is active. At ``max_len`` tokens the selected hypotheses are
  cut (finished without ``eos``). Ties keep the earlier candidate (beam order, then the model's
  token order). Greedy decoding is beam search with K = 1.
* Finished hypotheses are ranked by ``score = log P / L^α`` (``α`` the length penalty; α = 0 ranks
  by probability).
* Exhaustive search enumerates every finished sequence of the tree (possible whenever every reached
  prefix has a distribution); the best of them is the most probable sequence (at α = 0), which beam
  search may miss.

Probabilities stay exact (Fractions) when the model gives exact numbers; log-probabilities are floats.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step, Table

if TYPE_CHECKING:
    from dlsolve.token_model import Probability, TokenModel

METHODS = ("greedy", "beam")
#: |sum − 1| of a distribution beyond which the model is refused (below it: a warning).
SUM_TOLERANCE = 0.01
#: Largest length penalty α (L^α must stay a float; usual values are 0 to 2).
MAX_LENGTH_PENALTY = 100
#: Candidate rows shown per step in the concise working (``full`` shows every one).
SHOW_CANDIDATES = 12

STEP_KINDS = {
    "decode.setup": "the search rule: cumulative log-probability, the beam width, the length penalty",
    "decode.step": "one step: every candidate with its cumulative log-probability, which survive and which finish",
    "decode.ranking": "the finished hypotheses ranked, with P and log P (--full, or with a length penalty's scores)",
    "decode.compare": "greedy against beam search against exhaustive search",
}


class Hypothesis:
    """A partial or finished sequence with its probability."""

    __slots__ = ("cut", "ended", "logprob", "prob", "tokens")

    def __init__(self, tokens: tuple[str, ...], prob: Probability, logprob: float) -> None:
        self.tokens = tokens
        self.prob = prob
        self.logprob = logprob
        self.ended = False  # emitted eos
        self.cut = False  # stopped at max_len without eos

    @property
    def prefix(self) -> str:
        return " ".join(self.tokens)

    def extend(self, token: str, p: Probability) -> Hypothesis:
        return Hypothesis((*self.tokens, token), self.prob * p, self.logprob + math.log(p))

    def text(self) -> str:
        return " ".join(self.tokens) + (" (cut)" if self.cut else "")

    def to_json(self, alpha: float) -> dict[str, Any]:
        data: dict[str, Any] = {
            "tokens": list(self.tokens),
            "prob": fmt.json_number(self.prob),
            "logprob": self.logprob,
        }
        if isinstance(self.prob, Fraction):
            data["prob_exact"] = fmt.exact(self.prob)
        if alpha:
            data["score"] = score(self, alpha)
        if self.cut:
            data["cut"] = True
        return data


def score(hypothesis: Hypothesis, alpha: float) -> float:
    """``log P / L^α``."""
    return hypothesis.logprob / len(hypothesis.tokens) ** alpha if alpha else hypothesis.logprob


def _key(hypothesis: Hypothesis, alpha: float) -> Any:
    """Sort key, best first: exact probability where possible (no float ties), else the score."""
    if not alpha and isinstance(hypothesis.prob, Fraction):
        return -hypothesis.prob
    return -score(hypothesis, alpha)


def _rank(hypotheses: Sequence[Hypothesis], alpha: float) -> list[Hypothesis]:
    return sorted(hypotheses, key=lambda h: _key(h, alpha))


class MissingPrefix(Exception):
    def __init__(self, prefix: str) -> None:
        super().__init__(prefix)
        self.prefix = prefix


def _next(model: TokenModel, hypothesis: Hypothesis) -> dict[str, Probability]:
    distribution = model.get(hypothesis.prefix)
    if distribution is None:
        raise MissingPrefix(hypothesis.prefix)
    return distribution


class Candidate:
    __slots__ = ("hypothesis", "p", "status")

    def __init__(self, hypothesis: Hypothesis, p: Probability) -> None:
        self.hypothesis = hypothesis
        self.p = p
        self.status = "pruned"


def beam_search(
    model: TokenModel, width: int, eos: str, max_len: int | None, *, shrink: bool = True
) -> tuple[list[Hypothesis], list[list[Candidate]]]:
    """Finished hypotheses (in the order they finished) and every step's candidates (see the module docstring).

    ``shrink=False`` is the other convention (Hugging Face's): a finished hypothesis is set aside but
    the beam keeps K active ones, until K have finished.
    """
    active = [Hypothesis((), Fraction(1), 0.0)]
    finished: list[Hypothesis] = []
    steps: list[list[Candidate]] = []
    while active and len(finished) < width:
        candidates = [Candidate(h.extend(token, p), p) for h in active for token, p in _next(model, h).items() if p > 0]
        if not candidates:
            break
        ranked = sorted(candidates, key=lambda c: _key(c.hypothesis, 0))
        active = []
        room = width - len(finished) if shrink else len(ranked)
        for candidate in ranked[:room]:
            if not shrink and (len(active) == width or len(finished) == width):
                break
            h = candidate.hypothesis
            if h.tokens[-1] == eos:
                h.ended, candidate.status = True, "finished"
                finished.append(h)
            elif max_len is not None and len(h.tokens) >= max_len:
                h.cut, candidate.status = True, "cut at max-len"
                finished.append(h)
            else:
                candidate.status = "kept"
                active.append(h)
        steps.append(candidates)
    return finished, steps


def exhaustive(model: TokenModel, eos: str, max_len: int | None) -> list[Hypothesis]:
    """Every finished sequence of the tree (raises MissingPrefix where a branch has no distribution)."""
    done: list[Hypothesis] = []
    stack = [Hypothesis((), Fraction(1), 0.0)]
    while stack:
        h = stack.pop()
        for token, p in _next(model, h).items():
            if p <= 0:
                continue
            child = h.extend(token, p)
            if token == eos:
                child.ended = True
                done.append(child)
            elif max_len is not None and len(child.tokens) >= max_len:
                child.cut = True
                done.append(child)
            else:
                stack.append(child)
    return done


def _check_sums(model: TokenModel) -> list[str]:
    warnings = []
    for prefix, distribution in model.items():
        total = sum(distribution.values(), Fraction(0))
        if abs(total - 1) > SUM_TOLERANCE:
            raise BadInput(
                f"the next-token probabilities after {prefix!r} sum to {fmt.decimal(total)}, not 1",
                option="--model",
            )
        if abs(total - 1) > 1e-9:
            warnings.append(
                f"the next-token probabilities after {prefix!r} sum to {fmt.decimal(total, 9)}, not exactly 1 "
                "(used as given)"
            )
    return warnings


def decode(
    model: TokenModel,
    method: str,
    *,
    beam: int = 2,
    eos: str = "</s>",
    max_len: int | None = None,
    length_penalty: float | Fraction = 0.0,
    full: bool = False,
) -> Solution:
    """Greedy (K = 1) or beam-search decoding of ``model``; compared with exhaustive search."""
    if method not in METHODS:
        raise BadInput(f"expected greedy or beam, got {method!r}", option="method")
    if beam < 1:
        raise BadInput(f"the beam width must be at least 1, got {beam}", option="--beam")
    if max_len is not None and max_len < 1:
        raise BadInput(f"expected a length of at least 1 token, got {max_len}", option="--max-len")
    if not 0 <= length_penalty <= MAX_LENGTH_PENALTY:
        raise BadInput(
            f"expected a number from 0 to {MAX_LENGTH_PENALTY}, got {fmt.decimal(length_penalty)}",
            option="--length-penalty",
        )
    if "" not in model:
        raise BadInput('the model has no distribution for the start (the prefix "")', option="--model")
    warnings = _check_sums(model)
    width = 1 if method == "greedy" else beam
    alpha = float(length_penalty)
    try:
        finished, steps = beam_search(model, width, eos, max_len)
        greedy = finished if width == 1 else beam_search(model, 1, eos, max_len)[0]
    except MissingPrefix as missing:
        raise BadInput(
            f"the prefix {missing.prefix!r} has no next-token distribution (add it, or end that sequence with {eos})",
            option="--model",
        ) from None
    if not finished:
        raise BadInput(
            "no hypothesis can be extended: every next-token probability at the start is 0", option="--model"
        )
    ranking = _rank(finished, alpha)
    best = ranking[0]
    try:
        every = _rank(exhaustive(model, eos, max_len), alpha)
        unexplored = None
    except MissingPrefix as missing:
        every, unexplored = [], missing.prefix
    optimum = every[0] if every else None
    misses = optimum is not None and _key(optimum, alpha) < _key(best, alpha)
    greedy_best = greedy[0] if greedy else None
    differs = greedy_best is not None and greedy_best.tokens != best.tokens
    answer: dict[str, Any] = {
        "method": method,
        "beam": width,
        "sequence": " ".join(best.tokens),
        "probability": fmt.json_number(best.prob),
        **({"probability_exact": fmt.exact(best.prob)} if isinstance(best.prob, Fraction) else {}),
        "best": best.to_json(alpha),
        "ranking": [h.to_json(alpha) for h in ranking],
        "greedy": greedy_best.to_json(alpha) if greedy_best else None,
        "greedy_differs": differs,
        "exhaustive_best": optimum.to_json(alpha) if optimum else None,
        "misses_best": misses if optimum else None,
    }
    name = "greedy decoding" if method == "greedy" else f"beam search (K = {width})"
    summary = f"{name}: {best.text()}, P = {_prob(best.prob)}, log P = {fmt.decimal(best.logprob)}"
    tied = [h for h in ranking[1:] if _key(h, alpha) == _key(best, alpha)]
    if tied:
        summary += f" (tied with {', '.join(h.text() for h in tied)}; the first found is listed first)"
    answer["tied"] = [list(h.tokens) for h in tied]
    if len(ranking) > 1:  # "Final ranking?": every finished hypothesis, best first

        def ranked(h: Hypothesis) -> str:
            return f"{h.text()} ({f'score {fmt.decimal(score(h, alpha))}' if alpha else _prob(h.prob)})"

        summary += "; ranking: " + ", ".join(map(ranked, ranking))
    if misses and optimum is not None:
        summary += f"; misses the most probable {optimum.text()} (P = {_prob(optimum.prob)})"
    quiet = f"{best.text()} P={_short(best.prob)} logP={fmt.decimal(best.logprob)}"
    if len(ranking) > 1:
        quiet += " | ranking: " + "; ".join(f"{h.text()} P={_short(h.prob)}" for h in ranking)

    def build() -> list[Step]:
        comparison = _compare(method, width, best, greedy_best, every, unexplored, alpha, misses)
        return [
            _setup(method, width, eos, max_len, alpha),
            *[_step(t, candidates, full) for t, candidates in enumerate(steps, 1)],
            # the Answer box ranks the finished hypotheses by probability: the table is --full detail
            # (or the working of a length penalty's scores)
            *([_ranking(ranking, alpha)] if full or alpha else []),
            comparison,
        ]

    return Solution(
        command=f"decode {method}",
        inputs={"method": method, "beam": width, "eos": eos, "max_len": max_len, "length_penalty": alpha},
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=build,
        warnings=warnings,
    )


# --------------------------------------------------------------------------- the working


def _prob(value: Probability) -> str:
    """``0.3``, ``1/3 ≈ 0.333333`` (exact) or a short decimal (from log-probabilities)."""
    return fmt.number(value) if isinstance(value, Fraction) else fmt.decimal(value)


def _short(value: Probability) -> str:
    return fmt.exact(value) if isinstance(value, Fraction) else fmt.decimal(value)


def _setup(method: str, width: int, eos: str, max_len: int | None, alpha: float) -> Step:
    lines = ["log P(y_1..y_t) = log P(y_1..y_{t−1}) + log p(y_t | y_<t) (natural log)"]
    if method == "greedy":
        lines.append(f"greedy: at each step take the most probable next token, until {eos}")
    else:
        lines.append(
            f"beam search, K = {width}: extend every active hypothesis by every token, keep the best "
            f"K − F candidates (F: hypotheses finished so far); one ending in {eos} is finished, leaves the beam, "
            "and the beam shrinks by one"
        )
    if max_len is not None:
        lines.append(f"at most {max_len} tokens: longer hypotheses are cut there")
    if alpha:  # else by probability, as the cumulative log P says
        lines.append(
            f"finished hypotheses ranked by score = log P / L^α with α = {fmt.decimal(alpha)} "
            f"(L: tokens, {eos} included)"
        )
    return Step("The search", "\n".join(lines), kind="decode.setup")


def _step(t: int, candidates: list[Candidate], full: bool) -> Step:
    ranked = sorted(candidates, key=lambda c: _key(c.hypothesis, 0))
    shown = ranked if full or len(ranked) <= SHOW_CANDIDATES else ranked[:SHOW_CANDIDATES]
    rows = [
        [
            c.hypothesis.prefix,
            _short(c.p),
            fmt.decimal(c.hypothesis.logprob),
            _short(c.hypothesis.prob),
            c.status,
        ]
        for c in shown
    ]
    if len(shown) < len(ranked):
        rows.append([f"… {len(ranked) - len(shown)} more, pruned", "", "", "", ""])
    kept = [c.hypothesis.prefix for c in ranked if c.status == "kept"]
    ended = [c.hypothesis.text() for c in ranked if c.status in ("finished", "cut at max-len")]
    text = f"{len(ranked)} candidate{'s' if len(ranked) != 1 else ''}; kept: {', '.join(kept) or 'none'}"
    if ended:
        text += f"; finished (leave the beam): {', '.join(ended)}"
    table = Table(["candidate", "p(token)", "log P", "P", "status"], rows)
    return Step(f"Step {t}", text, blocks=[table], kind="decode.step")


def _ranking(ranking: list[Hypothesis], alpha: float) -> Step:
    columns = ["rank", "sequence", "P", "log P"] + (["score"] if alpha else [])
    rows = [
        [str(i), h.text(), _prob(h.prob), fmt.decimal(h.logprob)] + ([fmt.decimal(score(h, alpha))] if alpha else [])
        for i, h in enumerate(ranking, 1)
    ]
    text = f"{len(ranking)} finished hypothes{'es' if len(ranking) != 1 else 'is'}, best first"
    return Step("Finished hypotheses", text, blocks=[Table(columns, rows)], kind="decode.ranking")


def _compare(
    method: str,
    width: int,
    best: Hypothesis,
    greedy: Hypothesis | None,
    every: list[Hypothesis],
    unexplored: str | None,
    alpha: float,
    misses: bool,
) -> Step:
    lines = []
    if method == "beam" and greedy is not None:
        if greedy.tokens == best.tokens:
            lines.append(f"greedy decoding finds the same sequence: {greedy.text()}")
        elif _key(greedy, alpha) == _key(best, alpha):
            lines.append(f"greedy decoding finds {greedy.text()}, tied with beam search's {best.text()}")
        else:
            lines.append(
                f"greedy decoding differs: {greedy.text()} (P = {_prob(greedy.prob)}) against beam search's "
                f"{best.text()} (P = {_prob(best.prob)})"
            )
    measure = "score" if alpha else "probability"
    optimum = every[0] if every else None
    if optimum is None:
        lines.append(f"exhaustive search not possible: the prefix {unexplored!r} has no distribution")
    elif misses:
        searched = "greedy decoding" if method == "greedy" else f"beam search with K = {width}"
        lines.append(
            f"exhaustive search: the best sequence by {measure} is {optimum.text()} (P = {_prob(optimum.prob)}, "
            f"log P = {fmt.decimal(optimum.logprob)}); {searched} misses it"
        )
    else:
        ties = [h.text() for h in every[1:] if _key(h, alpha) == _key(optimum, alpha)] if every else []
        tie_text = f" (tied with {', '.join(ties)})" if ties else ""
        lines.append(f"exhaustive search agrees: {optimum.text()} is the best sequence by {measure}{tie_text}")
    return Step("Compared", "\n".join(lines), kind="decode.compare")
