"""Reading a next-token model for ``decode``: a JSON or TOML mapping from prefix to distribution.

The file maps a prefix (its tokens joined by single spaces; ``""`` is the start) to the next-token
distribution after it::

    {"": {"A": 0.5, "B": 0.4, "C": 0.1}, "A": {"A": 0.4, "</s>": 0.6}, "B": {"</s>": 1}}

    "" = { A = 0.5, B = 0.4, C = 0.1 }      # the same in TOML (quote "</s>" and the empty key)
    A = { A = 0.4, "</s>" = 0.6 }

Values are probabilities (numbers, or strings such as ``"1/3"``, read exactly by
:func:`dlsolve.parsing.parse_scalar`; a float is read as its shortest decimal, so 0.1 is 1/10), or
log-probabilities (floats) when ``log_probs``. Prefix keys are normalised to single spaces.
The text is parsed by :mod:`json` or :mod:`tomllib`, never evaluated.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput
from dlsolve.parsing import parse_scalar, read_source

if TYPE_CHECKING:
    from fractions import Fraction

    Probability = Fraction | float

TokenModel = dict[str, dict[str, "Probability"]]


def _structure(text: str, source: str, option: str) -> Any:
    """The parsed JSON or TOML (by the file's extension; text starting with ``{`` is JSON)."""
    suffix = Path(source).suffix.lower()
    if suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith("{")):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise BadInput(f"cannot read {source} as JSON: {error.msg} (line {error.lineno})", option=option) from None
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"cannot read {source} as TOML: {error}", option=option) from None


def _value(value: Any, where: str, option: str, log_probs: bool) -> Probability:
    from fractions import Fraction

    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadInput(f"{where}: expected a number, got {value!r}", option=option)
    if log_probs:
        try:
            number = float(value) if not isinstance(value, str) else float(parse_scalar(value, option))
        except BadInput:
            raise BadInput(f"{where}: expected a log-probability, got {value!r}", option=option) from None
        if not math.isfinite(number) or number > 0:
            raise BadInput(f"{where}: a log-probability must be finite and at most 0, got {value!r}", option=option)
        return math.exp(number)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BadInput(f"{where}: expected a probability, got {value!r}", option=option)
        probability: Probability = Fraction(repr(value))
    elif isinstance(value, int):
        probability = Fraction(value)
    else:
        probability = Fraction(parse_scalar(value, option))
    if not 0 <= probability <= 1:
        raise BadInput(f"{where}: a probability must be between 0 and 1, got {value!r}", option=option)
    return probability


def read_token_table(source: Any, option: str = "--model") -> dict[str, Any]:
    """The raw table: from a file name (``path``, ``@path``), ``-`` (standard input), JSON text, or a
    table already parsed (a problem file's inline table)."""
    if isinstance(source, dict):
        data: Any = source
    elif not isinstance(source, str):
        raise BadInput(f"expected a model file, got {source!r}", option=option)
    elif source.lstrip().startswith("{") or source == "-" or source.startswith("@"):
        data = _structure(read_source(source, option), "the model", option)
    else:
        data = _structure(read_source("@" + source, option), source, option)
    if not isinstance(data, dict) or not data:
        raise BadInput('expected a table of prefixes such as {"": {"A": 0.5, "B": 0.5}}', option=option)
    return data


def token_model(data: dict[str, Any], option: str = "--model", *, log_probs: bool = False) -> TokenModel:
    """Check a raw table and read its values as probabilities (or log-probabilities)."""
    model: TokenModel = {}
    for key, distribution in data.items():
        prefix = " ".join(str(key).split())
        where = f"prefix {prefix!r}"
        if prefix in model:
            raise BadInput(f"{where} is given twice", option=option)
        if not isinstance(distribution, dict) or not distribution:
            raise BadInput(f"{where}: expected a table of next tokens and probabilities", option=option)
        entries: dict[str, Probability] = {}
        for token, value in distribution.items():
            if not isinstance(token, str) or not token.strip() or len(token.split()) != 1:
                raise BadInput(f"{where}: a token must be one word without spaces, got {token!r}", option=option)
            entries[token.strip()] = _value(value, f"{where}, token {token!r}", option, log_probs)
        model[prefix] = entries
    return model


def load_token_model(source: Any, option: str = "--model", *, log_probs: bool = False) -> TokenModel:
    """The model in ``source`` (see :func:`read_token_table`), checked and read."""
    return token_model(read_token_table(source, option), option, log_probs=log_probs)
