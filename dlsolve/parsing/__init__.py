"""The only place where user text becomes numbers, matrices and layers.

Nothing here calls ``eval``, ``exec`` or SymPy's string parsers: arithmetic and PyTorch layer
expressions are parsed with :mod:`ast` and walked through a whitelist of node types, so text such
as ``__import__('os').system('...')`` is refused without running anything.

Conventions:

* A scalar is an int, a decimal (``0.1`` is exactly 1/10), a fraction (``3/7``), scientific
  notation (``1e-3``) or simple arithmetic of these (``1/(4*3)``, ``2**-3``). Values are
  :class:`fractions.Fraction`, so they stay exact.
* A matrix is typed as rows separated by ``;`` (or newlines) with entries separated by ``,`` or
  spaces (``"1,2;3,4"``), or as a nested list (``"[[1,2],[3,4]]"``), or read from ``@path``
  (``.csv``, ``.txt``, ``.npy``), or ``-`` for standard input. Large inputs become float64.
* Every parser also takes the typed value a problem file or a JSON batch line holds (an int, a
  float, a list, a list of lists) and converts it directly, with the same checks and messages: no
  value is turned back into text to be parsed again. A float is read as the decimal it prints as
  (``0.1`` from TOML is exactly 1/10, as typed).

The package is split by job (:mod:`~dlsolve.parsing.text`, :mod:`~dlsolve.parsing.arrays`,
:mod:`~dlsolve.parsing.layers`, :mod:`~dlsolve.parsing.inputs`, :mod:`~dlsolve.parsing.answers`);
every parser is importable from here.
"""

from __future__ import annotations

from dlsolve.parsing.answers import (
    parse_answer,
)
from dlsolve.parsing.arrays import (
    assignments_dict,
    load_array,
    parse_array,
    parse_assignment,
    parse_assignments,
    parse_channels,
    parse_matrix,
    parse_tensor,
    parse_vector,
)
from dlsolve.parsing.inputs import (
    parse_float_series,
    parse_float_token,
    parse_loss_series,
    parse_preconditioner,
    parse_series_table,
    parse_source_file,
)
from dlsolve.parsing.layers import (
    parse_layers,
    parse_network,
    parse_network_file,
)
from dlsolve.parsing.text import (
    LARGE_ENTRIES,
    MAX_BITS,
    MAX_TEXT,
    parse_choice,
    parse_int,
    parse_int_list,
    parse_int_list_or_unknown,
    parse_labels,
    parse_padding,
    parse_positive,
    parse_scalar,
    read_source,
    split_items,
)
from dlsolve.values import ADAPTIVE_PRECONDITIONERS, UNKNOWN, LayerCall, Matrix, Preconditioner

__all__ = [
    "ADAPTIVE_PRECONDITIONERS",
    "LARGE_ENTRIES",
    "MAX_BITS",
    "MAX_TEXT",
    "UNKNOWN",
    "LayerCall",
    "Matrix",
    "Preconditioner",
    "assignments_dict",
    "load_array",
    "parse_answer",
    "parse_array",
    "parse_assignment",
    "parse_assignments",
    "parse_channels",
    "parse_choice",
    "parse_float_series",
    "parse_float_token",
    "parse_int",
    "parse_int_list",
    "parse_int_list_or_unknown",
    "parse_labels",
    "parse_layers",
    "parse_loss_series",
    "parse_matrix",
    "parse_network",
    "parse_network_file",
    "parse_padding",
    "parse_positive",
    "parse_preconditioner",
    "parse_scalar",
    "parse_series_table",
    "parse_source_file",
    "parse_tensor",
    "parse_vector",
    "read_source",
    "split_items",
]
