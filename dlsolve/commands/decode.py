"""``dlsolve decode greedy | beam``: greedy and beam-search decoding by hand over a next-token table."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Choice, option
from dlsolve.registry import command
from dlsolve.solution import Solution


def _model(value: Any, flag: str) -> dict[str, Any]:
    from dlsolve.token_model import read_token_table

    return read_token_table(value, flag)


def _max_len(value: Any, flag: str) -> int:
    return parsing.parse_int(value, flag, minimum=1)


# The options both subcommands take, declared once.
Model = Annotated[
    Choice,
    option(
        "--model",
        parse=_model,
        help='JSON or TOML file mapping each prefix (tokens joined by spaces; "" is the start) to its next-token '
        'probabilities, e.g. {"": {"A": 0.5, "B": 0.5}, "A": {"</s>": 1}, ...}; or that JSON itself.',
    ),
]
LogProbs = Annotated[bool, option("--log-probs", help="The model holds natural log-probabilities.")]
Eos = Annotated[str, option("--eos", help="The token that ends a hypothesis.")]
MaxLen = Annotated[
    int | None, option("--max-len", parse=_max_len, help="Cut hypotheses at this many tokens (eos included).")
]
LengthPenalty = Annotated[
    Any,
    option("--length-penalty", parse=parsing.parse_scalar, help="α: rank finished hypotheses by log P / L^α."),
]
Full = Annotated[bool, option("--full", help="Every candidate of every step (the default shows the best 12).")]


def _decode(method: str, model: Any, log_probs: bool, **settings: Any) -> Solution:
    from dlsolve.solvers.decode import decode
    from dlsolve.token_model import token_model

    return decode(token_model(model, "--model", log_probs=log_probs), method, **settings)


@command("decode greedy")
def decode_greedy(
    model: Model,
    log_probs: LogProbs = False,
    eos: Eos = "</s>",
    max_len: MaxLen = None,
    length_penalty: LengthPenalty = 0.0,
    full: Full = False,
) -> Solution:
    """Greedy decoding: the most probable next token at every step, compared with exhaustive search.

    Cumulative log-probability log P(y_1..y_t) = log P(y_1..y_{t−1}) + log p(y_t | y_<t); the working
    shows each step's candidates, and whether the greedy sequence is the most probable one.

    Examples:

      dlsolve decode greedy --model '{"": {"A": 0.6, "B": 0.4}, "A": {"</s>": 1}, "B": {"</s>": 1}}'

      dlsolve decode greedy --model problems/sequence_tree.json --max-len 2
    """
    return _decode("greedy", model, log_probs, eos=eos, max_len=max_len, length_penalty=length_penalty, full=full)


@command("decode beam")
def decode_beam(
    model: Model,
    beam: Annotated[int, option("--beam", "-k", parse=parsing.parse_int, help="Beam width K (at least 1).")] = 2,
    log_probs: LogProbs = False,
    eos: Eos = "</s>",
    max_len: MaxLen = None,
    length_penalty: LengthPenalty = 0.0,
    full: Full = False,
) -> Solution:
    """Beam search with width K: candidates, cumulative log-probabilities, survivors, finished hypotheses.

    Every active hypothesis is extended by every next token; the best K − (finished) candidates
    survive; one ending in </s> is finished and leaves the beam, which shrinks by one. Finished
    hypotheses are ranked by log P / L^α; the working compares greedy decoding and exhaustive search.

    Examples:

      dlsolve decode beam --beam 2 --model problems/sequence_tree.json

      dlsolve decode beam --beam 2 --model problems/sequence_beam_misses.json -q
    """
    return _decode(
        "beam", model, log_probs, beam=beam, eos=eos, max_len=max_len, length_penalty=length_penalty, full=full
    )
