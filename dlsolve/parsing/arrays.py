"""Vectors, matrices, channels of matrices, tensors and named arrays (``--at NAME=VALUE``).

Part of :mod:`dlsolve.parsing` (see its docstring for the conventions)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput
from dlsolve.parsing.text import (
    _ASCII_MINUS,
    LARGE_ENTRIES,
    _check_length,
    _os_reason,
    _parse_expression,
    _quote,
    _typed_scalar,
    parse_scalar,
    read_source,
)
from dlsolve.values import (
    Matrix,
    Tensor,
)

if TYPE_CHECKING:
    # Start-up cost: ``fractions`` (with ``decimal`` and ``numbers``) is imported by the functions
    # that need it; ``conv-shape`` with whole numbers never does.

    import numpy as np

    from dlsolve.values import Scalar


# --------------------------------------------------------------------------- vectors and matrices


def _parse_entry(text: str, option: str, allow_inf: bool) -> Scalar:
    try:
        return parse_scalar(text, option, allow_inf=allow_inf)
    except BadInput:
        raise BadInput(f"cannot read matrix entry {_quote(text)} as a number", option=option) from None


def _rows_from_nested(text: str, option: str, allow_inf: bool) -> list[list[Scalar]]:
    node = _parse_expression(text, option, "a matrix")
    items = node.elts if isinstance(node, ast.List | ast.Tuple) else None
    if items is None:
        raise BadInput(f"expected a matrix such as [[1,2],[3,4]], got {_quote(text)}", option=option)
    rows: list[list[Scalar]] = []
    nested = all(isinstance(item, ast.List | ast.Tuple) for item in items)
    for item in items if nested else [node]:
        entries = item.elts if isinstance(item, ast.List | ast.Tuple) else []
        row = []
        for entry in entries:
            segment = ast.get_source_segment(text.strip(), entry) or ""
            row.append(_parse_entry(segment, option, allow_inf))
        rows.append(row)
    return rows


def _rows_from_text(text: str, option: str, allow_inf: bool) -> list[list[Scalar]]:
    stripped = text.translate(_ASCII_MINUS).strip()
    if stripped.startswith(("[", "((")):
        return _rows_from_nested(stripped, option, allow_inf)
    lines = [line.split("#", 1)[0] for line in stripped.replace(";", "\n").splitlines()]
    rows = []
    for line in lines:
        if "," in line and any(not piece.strip() for piece in line.split(",")):
            raise BadInput(
                f"empty entry in row {len(rows) + 1} ({line.strip()!r}: nothing between two commas)", option=option
            )
        items = line.replace(",", " ").replace("\t", " ").split()
        if items:
            rows.append([_parse_entry(item, option, allow_inf) for item in items])
    return rows


def _matrix_from_rows(rows: list[list[Scalar]], option: str) -> Matrix:
    if not rows or not rows[0]:
        raise BadInput("expected a matrix such as 1,2;3,4, got an empty one", option=option)
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width:
            raise BadInput(
                f"ragged matrix: row 1 has {width} entries but row {index + 1} has {len(row)}",
                option=option,
            )
    return Matrix(rows=tuple(tuple(row) for row in rows))


def _matrix_from_array(array: Any, option: str) -> Matrix:
    import numpy as np

    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.size == 0:
        raise BadInput(f"expected a non-empty 2-D array, got shape {list(array.shape)}", option=option)
    if array.dtype.kind not in "biuf":
        raise BadInput(f"expected numbers, got an array of dtype {array.dtype}", option=option)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise BadInput("the array contains NaN or infinite entries", option=option)
    if array.dtype.kind in "biu" and array.size <= LARGE_ENTRIES:
        from fractions import Fraction

        return Matrix(rows=tuple(tuple(Fraction(int(v)) for v in row) for row in array.tolist()))
    if array.size <= LARGE_ENTRIES:
        return Matrix(rows=tuple(tuple(float(v) for v in row) for row in array.tolist()))
    return Matrix(array=np.ascontiguousarray(array, dtype=np.float64))


def load_array(path_text: str, option: str) -> np.ndarray:
    """A NumPy array from a ``.npy`` file (never unpickles)."""
    import numpy as np

    try:
        return np.load(path_text, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise BadInput(f"cannot read array file {path_text!r}: {_os_reason(error)}", option=option) from None


def _typed_rows(value: Any, option: str, allow_inf: bool) -> list[list[Scalar]]:
    """Matrix rows from a list of lists (or one list: a row; or one number: 1 x 1)."""
    if not isinstance(value, list | tuple):
        return [[_typed_scalar(value, option, allow_inf)]]
    if all(isinstance(item, list | tuple) for item in value):
        return [[_typed_scalar(entry, option, allow_inf) for entry in row] for row in value]
    if any(isinstance(item, list | tuple) for item in value):
        raise BadInput("expected a matrix (a list of rows), got numbers and lists mixed", option=option)
    return [[_typed_scalar(entry, option, allow_inf) for entry in value]]


def parse_matrix(text: str | list[Any] | float, option: str, *, allow_inf: bool = False) -> Matrix:
    """A matrix from typed text, ``@file`` (.csv/.txt/.npy) or ``-`` (stdin); or a list of rows."""
    if not isinstance(text, str):
        return _matrix_from_rows(_typed_rows(text, option, allow_inf), option)
    if text.startswith("@") and text.lower().endswith(".npy"):
        return _matrix_from_array(load_array(text[1:], option), option)
    return _matrix_from_source(read_source(text, option), text, option, allow_inf)


def _matrix_from_source(source: str, text: str, option: str, allow_inf: bool) -> Matrix:
    """The matrix in ``source``, the text that the option value ``text`` referred to (read once:
    standard input cannot be read twice)."""
    _check_length(source, option)
    if text.startswith("@") and len(source) > 20 * LARGE_ENTRIES:
        import numpy as np

        try:
            array = np.loadtxt(text[1:], delimiter="," if text.lower().endswith(".csv") else None, ndmin=2)
        except ValueError as error:
            raise BadInput(f"cannot read {text[1:]!r} as numbers: {error}", option=option) from None
        return _matrix_from_array(array, option)
    return _matrix_from_rows(_rows_from_text(source, option, allow_inf), option)


def parse_vector(text: str | list[Any] | float, option: str) -> list[Scalar]:
    """A vector: one row or one column of a matrix (``1,0.1,0.01`` or ``1;2;3``)."""
    matrix = parse_matrix(text, option)
    rows, cols = matrix.shape
    if rows != 1 and cols != 1:
        raise BadInput(f"expected a vector, got a {rows}x{cols} matrix", option=option)
    values = [v for row in matrix.tolist() for v in row]
    return values


def _array_rank(text: str, source: str) -> int:
    """How many dimensions typed text means: 0 (one number), 1 (one row) or 2 (rows)."""
    stripped = source.strip()
    if stripped.startswith(("[[", "((")):
        return 2
    lines = [line for line in stripped.replace(";", "\n").splitlines() if line.split("#", 1)[0].strip()]
    if len(lines) > 1:
        return 2
    if stripped.startswith(("[", "(")):
        return 1
    return 1 if len(lines[0].replace(",", " ").split()) > 1 else 0


def parse_array(text: str, option: str) -> np.ndarray:
    """A scalar, vector or matrix as a NumPy array with as many dimensions as the text shows.

    ``3`` is 0-d, ``1,2,3`` (or ``[1,2,3]``) is 1-D, ``1,2;3,4`` (or ``[[1,2],[3,4]]``, or a file
    of several lines) is 2-D; a ``.npy`` file keeps its own dimensions (at most 2). Exact entries
    (every typed number) give an object array of Fractions; large or float ``.npy`` inputs float64.
    """
    import numpy as np

    if text.startswith("@") and text.lower().endswith(".npy"):
        array = load_array(text[1:], option)
        if array.ndim > 2:
            raise BadInput(f"expected at most 2 dimensions, got shape {list(array.shape)}", option=option)
        matrix = _matrix_from_array(array.reshape(1, -1) if array.ndim < 2 else array, option)
        rank = array.ndim
    else:
        source = read_source(text, option)
        matrix = parse_matrix(source if not text.startswith("@") or len(source) <= 20 * LARGE_ENTRIES else text, option)
        rank = _array_rank(text, source)
    if matrix.is_large:
        values = matrix.array
    elif matrix.is_exact:
        values = np.empty(matrix.shape, dtype=object)
        for i, row in enumerate(matrix.rows):
            for j, entry in enumerate(row):
                values[i, j] = entry
    else:
        values = matrix.to_numpy()
    if rank == 2:
        return values
    return values.reshape(()) if rank == 0 and values.size == 1 else values.reshape(-1)


def parse_assignment(text: str, option: str) -> tuple[str, np.ndarray]:
    """``NAME=VALUE`` -> (name, :func:`parse_array` of the value)."""
    if not isinstance(text, str):
        raise BadInput(f"expected NAME=VALUE text such as x=2 or W=1,2;3,4, got {text!r}", option=option)
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name:
        raise BadInput(f"expected NAME=VALUE such as x=2 or W=1,2;3,4, got {_quote(text)}", option=option)
    if not name.isidentifier() or not name.isascii() or name.startswith("__"):
        raise BadInput(f"{_quote(name)} is not a valid name (letters, digits and _)", option=option)
    return name, parse_array(value.strip(), f"{option} {name}")


def parse_assignments(texts: Sequence[str], option: str) -> dict[str, np.ndarray]:
    """Repeated ``NAME=VALUE`` options; a name given twice is refused."""
    return assignments_dict([parse_assignment(text, option) for text in texts], option)


def assignments_dict(pairs: Sequence[tuple[str, Any]] | None, option: str) -> dict[str, Any]:
    """Parsed ``NAME=VALUE`` pairs (a repeated option, each parsed by :func:`parse_assignment`) as a
    dict; a name given twice is refused."""
    values: dict[str, Any] = {}
    for name, value in pairs or []:
        if name in values:
            raise BadInput(f"{name} is given twice", option=option)
        values[name] = value
    return values


# --------------------------------------------------------------------------- multi-channel arrays (filter)


def _channels_from_array(array: Any, option: str) -> list[Matrix]:
    if array.ndim == 3:
        if 0 in array.shape:
            raise BadInput(f"expected a non-empty C x H x W array, got shape {list(array.shape)}", option=option)
        return [_matrix_from_array(array[index], option) for index in range(array.shape[0])]
    if array.ndim in (1, 2):
        return [_matrix_from_array(array, option)]
    raise BadInput(f"expected a 2-D (H x W) or 3-D (C x H x W) array, got shape {list(array.shape)}", option=option)


def _nested_channel_texts(text: str, option: str) -> list[str] | None:
    """The channel texts of a 3-level nested list ``[[[1,2],[3,4]], [[5,6],[7,8]]]``, else None."""
    node = _parse_expression(text, option, "a matrix")
    if not isinstance(node, ast.List | ast.Tuple) or not node.elts:
        return None

    def is_matrix(item: ast.expr) -> bool:
        return (
            isinstance(item, ast.List | ast.Tuple)
            and bool(item.elts)
            and all(isinstance(row, ast.List | ast.Tuple) for row in item.elts)
        )

    if not all(is_matrix(item) for item in node.elts):
        return None
    return [ast.get_source_segment(text, item) or "" for item in node.elts]


def parse_channels(text: str | list[Any], option: str) -> list[Matrix]:
    """A C x H x W stack of equally shaped matrices (C >= 1), one :class:`Matrix` per channel.

    Channels are typed as matrices separated by ``;;`` (``"1,2;3,4;;5,6;7,8"``), or as a 3-level
    nested list (``"[[[1,2],[3,4]],[[5,6],[7,8]]]"``), or read from ``@file.npy`` holding a 2-D or
    3-D array (``@file.txt``/``.csv`` and ``-`` may also use ``;;``). One plain matrix is one channel.
    A problem file gives a list of matrices (three levels of lists) or one matrix.
    """
    if not isinstance(text, str):
        three_levels = (
            isinstance(text, list | tuple)
            and bool(text)
            and all(isinstance(item, list | tuple) and item and isinstance(item[0], list | tuple) for item in text)
        )
        channels = [parse_matrix(item, option) for item in text] if three_levels else [parse_matrix(text, option)]
    elif text.startswith("@") and text.lower().endswith(".npy"):
        channels = _channels_from_array(load_array(text[1:], option), option)
    else:
        source = read_source(text, option)
        _check_length(source, option)
        stripped = source.strip()
        pieces = stripped.split(";;") if ";;" in stripped else None
        if pieces is None and stripped.startswith("[[["):
            pieces = _nested_channel_texts(stripped, option)
        if pieces is None:
            channels = [_matrix_from_source(source, text, option, False)]
        else:
            channels = []
            for index, piece in enumerate(pieces, 1):
                if not piece.strip():
                    raise BadInput(f"channel {index} is empty (channels are separated by ';;')", option=option)
                channels.append(_matrix_from_rows(_rows_from_text(piece, option, False), option))
    first = channels[0].shape
    for index, channel in enumerate(channels[1:], 2):
        if channel.shape != first:
            raise BadInput(
                f"channel 1 is {first[0]}x{first[1]} but channel {index} is {channel.shape[0]}x{channel.shape[1]}; "
                "all channels must have the same shape",
                option=option,
            )
    return channels


# --------------------------------------------------------------------------- batched tensors (norm)


def parse_tensor(text: str | list[Any], option: str) -> Tensor:
    """A batch as PyTorch lays it out: ``N x C`` (a matrix), ``N,C,L`` or ``N,C,H,W``.

    ``"1,2;3,4"`` is N x C; ``;;`` separates the N samples of an N,C,L batch, each a C x L matrix
    (``"1,2;3,4;;5,6;7,8"`` is 2x2x2); ``;;;`` separates the N samples of an N,C,H,W batch, each
    C channels of H x W separated by ``;;``; a batch of one sample ends with its separator
    (``"1,2;3,4;;"`` is 1x2x2). ``@file.npy`` holds an array of 2 to 5 dimensions. A problem file
    gives nested lists of 2 to 4 levels.
    """
    import numpy as np

    if not isinstance(text, str):
        return _typed_tensor(text, option)
    if text.startswith("@") and text.lower().endswith(".npy"):
        array = load_array(text[1:], option)
        if not 2 <= array.ndim <= 5 or array.size == 0 or array.dtype.kind not in "biuf":
            raise BadInput(f"expected a non-empty numeric array of 2 to 5 dimensions, got {array.shape}", option=option)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise BadInput("the array contains NaN or infinite entries", option=option)
        if array.dtype.kind in "biu" and array.size <= LARGE_ENTRIES:
            from fractions import Fraction

            return Tensor(array.shape, tuple(Fraction(int(v)) for v in array.ravel().tolist()))
        return Tensor(array.shape, tuple(float(v) for v in array.ravel().tolist()))
    source = read_source(text, option).strip()
    pieces = source.split(";;;")
    if len(pieces) > 1:
        samples = [parse_channels(piece, option) for piece in (pieces[:-1] if not pieces[-1].strip() else pieces)]
        shapes = {(len(sample), *sample[0].shape) for sample in samples}
        if len(shapes) > 1:
            raise BadInput(f"the samples (separated by ';;;') differ in shape: {sorted(shapes)}", option=option)
        matrices = [matrix for sample in samples for matrix in sample]
        shape: tuple[int, ...] = (len(samples), *shapes.pop())
    elif ";;" in source:
        trimmed = source[:-2] if source.endswith(";;") else source
        matrices = parse_channels(trimmed, option) if ";;" in trimmed else [parse_matrix(trimmed, option)]
        shape = (len(matrices), *matrices[0].shape)
    else:
        matrices = [parse_matrix(source, option)]
        shape = matrices[0].shape
    return Tensor(shape, tuple(v for matrix in matrices for row in matrix.tolist() for v in row))


def _typed_tensor(value: Any, option: str) -> Tensor:
    """A tensor from nested lists (2 to 4 levels), every sub-list of one level the same length."""
    depth, probe = 0, value
    while isinstance(probe, list | tuple) and probe:
        depth, probe = depth + 1, probe[0]
    if depth < 2:
        return _typed_tensor([value if isinstance(value, list | tuple) else [value]], option)
    if depth > 4:
        raise BadInput(f"expected 2 to 4 levels of lists (N x C, N,C,L or N,C,H,W), got {depth}", option=option)
    if depth == 2:
        matrices = [parse_matrix(value, option)]
        shape: tuple[int, ...] = matrices[0].shape
    elif depth == 3:
        matrices = parse_channels(value, option)
        shape = (len(matrices), *matrices[0].shape)
    else:
        samples = [parse_channels(sample, option) for sample in value]
        shapes = {(len(sample), *sample[0].shape) for sample in samples}
        if len(shapes) > 1:
            raise BadInput(f"the samples differ in shape: {sorted(shapes)}", option=option)
        matrices = [matrix for sample in samples for matrix in sample]
        shape = (len(samples), *shapes.pop())
    return Tensor(shape, tuple(v for matrix in matrices for row in matrix.tolist() for v in row))
