"""The named kernels of ``filter design`` and ``--kernel NAME``: how each is built, what it is for, and why its
weights are what they are (conventions in :mod:`dlsolve.solvers.filter_kernels`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.parsing import parse_channels, parse_int, parse_positive
from dlsolve.values import Matrix, Scalar

Rows = list[list[Scalar]]

#: Largest box/Gaussian kernel that ``design`` builds.
MAX_DESIGN_SIZE = 31


def _ints(rows: Sequence[Sequence[int]]) -> Rows:
    return [[Fraction(v) for v in row] for row in rows]


def transpose(rows: Sequence[Sequence[Scalar]]) -> Rows:
    return [list(column) for column in zip(*rows, strict=True)]


def rotate180(rows: Sequence[Sequence[Scalar]]) -> Rows:
    return [list(reversed(row)) for row in reversed(rows)]


def rotate90(rows: Sequence[Sequence[Scalar]]) -> Rows:
    """Rotate counter-clockwise by 90° (as ``numpy.rot90``)."""
    return [list(column) for column in zip(*rows, strict=True)][::-1]


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class Design:
    """A named kernel: how to build it, what it is designed to be, and why its weights are what they are."""

    name: str
    purpose: str
    reasoning: str
    kind: str
    orientation: str | None = None
    polarity: str | None = None
    build: Callable[[int | None, Fraction | None], Rows] | None = None
    fixed: tuple[tuple[int, ...], ...] = ()
    sizable: bool = False

    def kernel(self, size: int | None = None, sigma: Fraction | None = None) -> Rows:
        if self.build is not None:
            return self.build(size, sigma)
        return _ints(self.fixed)


def _box(size: int | None, _sigma: Fraction | None) -> Rows:
    n = size or 3
    return [[Fraction(1, n * n)] * n for _ in range(n)]


def _binomial_row(n: int) -> list[int]:
    return [math.comb(n - 1, k) for k in range(n)]


def _gaussian(size: int | None, sigma: Fraction | None) -> Rows:
    """Exact binomial weights without sigma; sampled, normalised exp(−r²/2σ²) (floats) with sigma."""
    if sigma is None:
        n = size or 3
        row = _binomial_row(n)
        total = sum(row) ** 2
        return [[Fraction(a * b, total) for b in row] for a in row]
    s = float(sigma)
    n = size or min(2 * math.ceil(3 * s) + 1, MAX_DESIGN_SIZE)
    centre = (n - 1) / 2
    weights = [[math.exp(-((i - centre) ** 2 + (j - centre) ** 2) / (2 * s * s)) for j in range(n)] for i in range(n)]
    total = sum(map(sum, weights))
    return [[w / total for w in row] for row in weights]


_EDGE_REASON = (
    "Each {line} sums to zero, so a flat region (all pixels equal) gives 0: only a change of intensity "
    "{across} produces a response. The {positive} weights are positive, so the response is positive "
    "where the {bright} side is brighter and negative for the opposite edge. Sum of weights 0: the output "
    "has no overall brightness, only edges."
)

DESIGNS: dict[str, Design] = {
    d.name: d
    for d in [
        Design(
            "identity",
            "leave the image unchanged",
            "A single 1 at the centre: each output pixel copies the input pixel under the centre. Sum 1.",
            "identity",
            fixed=((0, 0, 0), (0, 1, 0), (0, 0, 0)),
        ),
        Design(
            "vertical-edge",
            "detect vertical edges (a change of intensity from left to right)",
            _EDGE_REASON.format(line="row", across="from left to right", positive="left-column", bright="left"),
            "edge",
            "vertical",
            "left-brighter",
            fixed=((1, 0, -1), (1, 0, -1), (1, 0, -1)),
        ),
        Design(
            "horizontal-edge",
            "detect horizontal edges (a change of intensity from top to bottom)",
            _EDGE_REASON.format(line="column", across="from top to bottom", positive="top-row", bright="top"),
            "edge",
            "horizontal",
            "top-brighter",
            fixed=((1, 1, 1), (0, 0, 0), (-1, -1, -1)),
        ),
        Design(
            "diagonal-edge-45",
            "detect diagonal edges running along '/' (bottom-left to top-right)",
            "The weights are antisymmetric about the '/' diagonal of zeros, so a flat region gives 0 and an "
            "edge along '/' gives the largest response; positive where the top-left is brighter than the "
            "bottom-right. Sum 0.",
            "edge",
            "diagonal-45",
            "top-left-brighter",
            fixed=((2, 1, 0), (1, 0, -1), (0, -1, -2)),
        ),
        Design(
            "diagonal-edge-135",
            "detect diagonal edges running along '\\' (top-left to bottom-right)",
            "The weights are antisymmetric about the '\\' diagonal of zeros, so a flat region gives 0 and "
            "an edge along '\\' gives the largest response; positive where the top-right is brighter than "
            "the bottom-left. Sum 0.",
            "edge",
            "diagonal-135",
            "top-right-brighter",
            fixed=((0, 1, 2), (-1, 0, 1), (-2, -1, 0)),
        ),
        Design(
            "sobel-x",
            "Sobel derivative along x (detects vertical edges)",
            "Sobel = smoothing [1,2,1] down the columns times the central difference [-1,0,1] along the "
            "rows. Rows sum to 0 (flat regions give 0); positive where the right side is brighter (the "
            "x-derivative). The centre row has weight 2 to reduce noise.",
            "edge",
            "vertical",
            "right-brighter",
            fixed=((-1, 0, 1), (-2, 0, 2), (-1, 0, 1)),
        ),
        Design(
            "sobel-y",
            "Sobel derivative along y (detects horizontal edges)",
            "Sobel-x transposed: smoothing [1,2,1] along the rows times the difference [-1,0,1] down the "
            "columns. Columns sum to 0; positive where the bottom is brighter (y grows downwards).",
            "edge",
            "horizontal",
            "bottom-brighter",
            fixed=((-1, -2, -1), (0, 0, 0), (1, 2, 1)),
        ),
        Design(
            "prewitt-x",
            "Prewitt derivative along x (detects vertical edges)",
            "Box smoothing [1,1,1] down the columns times the difference [-1,0,1] along the rows. Rows "
            "sum to 0; positive where the right side is brighter.",
            "edge",
            "vertical",
            "right-brighter",
            fixed=((-1, 0, 1), (-1, 0, 1), (-1, 0, 1)),
        ),
        Design(
            "prewitt-y",
            "Prewitt derivative along y (detects horizontal edges)",
            "Prewitt-x transposed. Columns sum to 0; positive where the bottom is brighter.",
            "edge",
            "horizontal",
            "bottom-brighter",
            fixed=((-1, -1, -1), (0, 0, 0), (1, 1, 1)),
        ),
        Design(
            "scharr-x",
            "Scharr derivative along x (vertical edges, better rotation invariance than Sobel)",
            "Smoothing [3,10,3] down the columns times the difference [-1,0,1]. Rows sum to 0; positive "
            "where the right side is brighter.",
            "edge",
            "vertical",
            "right-brighter",
            fixed=((-3, 0, 3), (-10, 0, 10), (-3, 0, 3)),
        ),
        Design(
            "scharr-y",
            "Scharr derivative along y (horizontal edges)",
            "Scharr-x transposed. Columns sum to 0; positive where the bottom is brighter.",
            "edge",
            "horizontal",
            "bottom-brighter",
            fixed=((-3, -10, -3), (0, 0, 0), (3, 10, 3)),
        ),
        Design(
            "laplacian-4",
            "Laplacian (4-neighbour): second derivative, responds to edges and blobs in every direction",
            "Sum of the second differences [1,-2,1] along x and along y: the centre minus its 4 neighbours "
            "(with a negative sign). Sum 0: flat regions and linear ramps give 0; an edge gives a "
            "positive/negative pair (a zero crossing) on its two sides.",
            "laplacian",
            fixed=((0, 1, 0), (1, -4, 1), (0, 1, 0)),
        ),
        Design(
            "laplacian-8",
            "Laplacian (8-neighbour, with the diagonals): second derivative in every direction",
            "The 8 neighbours minus 8 times the centre. Sum 0: flat regions and ramps give 0; edges give a "
            "zero crossing; more isotropic than the 4-neighbour version.",
            "laplacian",
            fixed=((1, 1, 1), (1, -8, 1), (1, 1, 1)),
        ),
        Design(
            "box-blur",
            "blur by averaging the neighbourhood (mean filter)",
            "All weights equal to 1/n², non-negative and summing to 1: each output is the average of its "
            "n x n window, so brightness is preserved and noise and detail are smoothed away.",
            "smoothing",
            build=_box,
            sizable=True,
        ),
        Design(
            "gaussian-blur",
            "blur with a Gaussian (weights fall off with distance from the centre)",
            "Without --sigma: binomial weights (the n-th row of Pascal's triangle, outer product with "
            "itself, divided by the total), an exact approximation of a Gaussian with σ² = (n−1)/4. With "
            "--sigma: exp(−(dx²+dy²)/(2σ²)) sampled at the offsets and divided by their sum (floats). "
            "Non-negative, sum 1 (brightness preserved), separable, closer pixels count more than in a box "
            "blur.",
            "smoothing",
            build=_gaussian,
            sizable=True,
        ),
        Design(
            "sharpen",
            "sharpen (boost detail)",
            "The identity minus the 4-neighbour Laplacian: centre 5, the 4 neighbours −1. Sum 1, so flat "
            "regions keep their brightness, while a pixel that differs from its neighbours is pushed "
            "further away from them (edges and detail are amplified).",
            "sharpening",
            fixed=((0, -1, 0), (-1, 5, -1), (0, -1, 0)),
        ),
        Design(
            "emboss",
            "emboss (relief effect lit from the bottom-right)",
            "The identity plus a diagonal derivative: the antisymmetric part responds to edges along '/' "
            "(positive where the bottom-right is brighter), the centre 1 keeps the picture. Sum 1.",
            "emboss",
            "diagonal-45",
            "bottom-right-brighter",
            fixed=((-2, -1, 0), (-1, 1, 1), (0, 1, 2)),
        ),
    ]
}

ALIASES = {
    "laplacian": "laplacian-4",
    "box": "box-blur",
    "blur": "box-blur",
    "mean": "box-blur",
    "gaussian": "gaussian-blur",
    "diagonal-edge": "diagonal-edge-45",
    "vertical": "vertical-edge",
    "horizontal": "horizontal-edge",
}

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def design_name(text: str, option: str) -> str:
    """The canonical design name for ``text`` (case-insensitive, ``_``/space = ``-``, aliases)."""
    name = "-".join(text.strip().lower().replace("_", "-").split())
    name = ALIASES.get(name, name)
    if name not in DESIGNS:
        raise BadInput(
            f"unknown kernel name {text.strip()[:40]!r}; expected one of {', '.join(DESIGNS)}", option=option
        )
    return name


def design_kernel(
    name: str, size: int | None, sigma: Fraction | None, option: str, sigma_option: str | None = None
) -> Rows:
    """The kernel of design ``name`` (checked ``size`` for box/Gaussian, ``sigma`` for Gaussian)."""
    design = DESIGNS[name]
    if size is not None and not design.sizable:
        raise BadInput(f"{name} has a fixed size; a size applies to box-blur and gaussian-blur", option=option)
    if sigma is not None and name != "gaussian-blur":
        raise BadInput("a sigma applies to gaussian-blur only", option=sigma_option or option)
    if size is not None and not 1 <= size <= MAX_DESIGN_SIZE:
        raise BadInput(f"expected a size from 1 to {MAX_DESIGN_SIZE}, got {size}", option=option)
    if sigma is not None and not Fraction(1, 1000) <= sigma <= MAX_DESIGN_SIZE:
        raise BadInput(
            f"expected a sigma from 0.001 to {MAX_DESIGN_SIZE}, got {fmt.number(sigma)}", option=sigma_option or option
        )
    return design.kernel(size, sigma)


def kernel_from_text(text: str, option: str = "--kernel") -> tuple[list[Matrix], str | None]:
    """Kernel slices from a matrix (``;;`` between channel slices) or a design name.

    Names: ``sobel-x``, ``box-blur:5`` (size 5), ``gaussian-blur:5:1.5`` (size 5, sigma 1.5), ...
    Returns the slices and the canonical name (None for a matrix).
    """
    head, *params = text.strip().split(":")
    if not _NAME.match(head.strip().lower().replace("_", "-")) or text.strip().lower() in ("inf", "nan"):
        return parse_channels(text, option), None
    name = design_name(head, option)
    if len(params) > 2:
        raise BadInput("expected NAME, NAME:SIZE or gaussian-blur:SIZE:SIGMA", option=option)
    size = parse_int(params[0], option, minimum=1) if params else None
    sigma = parse_positive(params[1], option) if len(params) == 2 else None
    rows = design_kernel(name, size, sigma, option)
    label = name + "".join(":" + p.strip() for p in params)
    return [Matrix(rows=tuple(tuple(r) for r in rows))], label
