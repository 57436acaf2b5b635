"""``filter design`` and ``filter explain``: standard kernels and what a given kernel does.

Conventions. Kernels are cross-correlation kernels (what a conv layer and ``filter apply`` compute:
the kernel is not flipped). Image rows grow downwards (y), columns to the right (x). An edge's
*orientation* is the direction of the edge line: a *vertical* edge detector responds to a change of
intensity from left to right; a *horizontal* edge detector to a change from top to bottom.

* ``sobel-x``/``prewitt-x``/``scharr-x`` are derivatives along x (gradient convention, as OpenCV):
  positive where the right side is brighter. ``-y`` versions: positive where the bottom is brighter.
* ``vertical-edge`` ``[[1,0,-1]]*3`` and ``horizontal-edge`` ``[[1,1,1],[0,0,0],[-1,-1,-1]]`` are the
  course convention: positive where the left (resp. top) side is brighter.
* ``diagonal-edge-45`` detects edges along "/" (positive where the top-left is brighter);
  ``diagonal-edge-135`` detects edges along "\\" (positive where the top-right is brighter).

Classification (``explain``) uses the moments of the kernel about its centre (row offset ``dy``,
column offset ``dx``): the sum ``m0 = Σ K`` (response to a flat region of 1s), the first moments
``g = (Σ K·dx, Σ K·dy)`` (response to the ramp ``x`` and the ramp ``y``: the direction of the
intensity increase the kernel favours) and the second moments ``Σ K·dx², Σ K·dy²``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step, Table
from dlsolve.solvers.filter_designs import DESIGNS as DESIGNS
from dlsolve.solvers.filter_designs import Rows, design_kernel, design_name, rotate180
from dlsolve.solvers.filter_designs import kernel_from_text as kernel_from_text
from dlsolve.solvers.filter_designs import rotate90 as rotate90
from dlsolve.solvers.filter_designs import transpose as transpose
from dlsolve.solvers.filter_grid import (
    check_magnitude,
    grid_from_rows,
    heatmap,
    json_matrix,
    matrix_quiet,
    short_matrix,
)
from dlsolve.solvers.filters import correlate
from dlsolve.values import Matrix, Scalar

# --------------------------------------------------------------------------- explain: the evidence


@dataclass(frozen=True)
class Evidence:
    """Measured properties of a kernel (exact for exact kernels)."""

    total: Scalar
    gradient: tuple[Scalar, Scalar]
    second: tuple[Scalar, Scalar, Scalar]  # Σ K dx², Σ K dy², Σ K dx dy
    symmetry: str  # "symmetric", "antisymmetric" (under 180° rotation), "none"
    mirror_lr: str  # "symmetric", "antisymmetric", "none" (left-right mirror)
    mirror_ud: str
    factors: tuple[list[Scalar], list[Scalar]] | None  # column, row with K = column ⊗ row
    tolerance: float


def _close(a: Scalar, b: Scalar, tolerance: float) -> bool:
    return a == b if tolerance == 0 else abs(float(a) - float(b)) <= tolerance


def _compare(rows: Rows, other: Rows, tolerance: float) -> str:
    flat, other_flat = [v for r in rows for v in r], [v for r in other for v in r]
    if all(_close(a, b, tolerance) for a, b in zip(flat, other_flat, strict=True)):
        return "symmetric"
    if all(_close(a, -b, tolerance) for a, b in zip(flat, other_flat, strict=True)):
        return "antisymmetric"
    return "none"


def _separable(rows: Rows, tolerance: float) -> tuple[list[Scalar], list[Scalar]] | None:
    """``(column, row)`` with ``K[i][j] = column[i]·row[j]`` when K has rank 1, else None."""
    pivot_row = next((i for i, r in enumerate(rows) if any(not _close(v, 0, tolerance) for v in r)), None)
    if pivot_row is None:
        return None
    row = rows[pivot_row]
    pivot_col = max(range(len(row)), key=lambda j: abs(row[j]))
    column = [r[pivot_col] / row[pivot_col] for r in rows]
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            if not _close(v, column[i] * row[j], tolerance):
                return None
    return column, list(row)


def evidence(rows: Rows) -> Evidence:
    """Sum, moments, symmetries and separability of ``rows``."""
    exact = all(isinstance(v, Fraction) for r in rows for v in r)
    biggest = max(abs(float(v)) for r in rows for v in r)
    tolerance = 0.0 if exact else 1e-9 * max(biggest, 1e-300)
    height, width = len(rows), len(rows[0])
    cy, cx = Fraction(height - 1, 2), Fraction(width - 1, 2)
    zero: Scalar = Fraction(0) if exact else 0.0
    total, gx, gy, mxx, myy, mxy = zero, zero, zero, zero, zero, zero
    for i, r in enumerate(rows):
        for j, v in enumerate(r):
            dy, dx = (i - cy, j - cx) if exact else (float(i - cy), float(j - cx))
            total += v
            gx += v * dx
            gy += v * dy
            mxx += v * dx * dx
            myy += v * dy * dy
            mxy += v * dx * dy
    return Evidence(
        total=total,
        gradient=(gx, gy),
        second=(mxx, myy, mxy),
        symmetry=_compare(rows, rotate180(rows), tolerance),
        mirror_lr=_compare(rows, [list(reversed(r)) for r in rows], tolerance),
        mirror_ud=_compare(rows, list(reversed(rows)), tolerance),
        factors=_separable(rows, tolerance),
        tolerance=tolerance,
    )


_POLARITY_TEXT = {
    "left-brighter": "positive where the left side is brighter than the right",
    "right-brighter": "positive where the right side is brighter than the left",
    "top-brighter": "positive where the top is brighter than the bottom",
    "bottom-brighter": "positive where the bottom is brighter than the top",
    "top-left-brighter": "positive where the top-left is brighter than the bottom-right",
    "bottom-right-brighter": "positive where the bottom-right is brighter than the top-left",
    "top-right-brighter": "positive where the top-right is brighter than the bottom-left",
    "bottom-left-brighter": "positive where the bottom-left is brighter than the top-right",
}

_ORIENTATION_TEXT = {
    "vertical": "vertical edges (intensity changing from left to right)",
    "horizontal": "horizontal edges (intensity changing from top to bottom)",
    "diagonal-45": "diagonal edges along '/' (intensity changing from top-left to bottom-right)",
    "diagonal-135": "diagonal edges along '\\' (intensity changing from top-right to bottom-left)",
    "oblique": "edges at an oblique angle",
}


def orientation_of(gradient: tuple[Scalar, Scalar], tolerance: float) -> tuple[str, str, float]:
    """Edge orientation, polarity and the angle (degrees) of the edge line, from the first moments.

    ``(gx, gy)`` points to where the intensity must increase for a positive response (x right, y down).
    The edge line is perpendicular to it.
    """
    gx, gy = gradient
    zero_x, zero_y = _close(gx, 0, tolerance), _close(gy, 0, tolerance)
    angle = math.degrees(math.atan2(-float(gy), float(gx)) + math.pi / 2) % 180
    if zero_y:
        return "vertical", "right-brighter" if gx > 0 else "left-brighter", 90.0
    if zero_x:
        return "horizontal", "bottom-brighter" if gy > 0 else "top-brighter", 0.0
    if _close(abs(gx), abs(gy), tolerance):
        if (gx > 0) == (gy > 0):
            return "diagonal-45", "bottom-right-brighter" if gx > 0 else "top-left-brighter", 45.0
        return "diagonal-135", "top-right-brighter" if gx > 0 else "bottom-left-brighter", 135.0
    horizontal_part = "right" if gx > 0 else "left"
    vertical_part = "bottom" if gy > 0 else "top"
    return "oblique", f"{vertical_part}-{horizontal_part}-brighter", angle


@dataclass(frozen=True)
class Classification:
    kind: str
    orientation: str | None
    polarity: str | None
    reason: str
    angle: float | None = None


def classify(rows: Rows, facts: Evidence) -> Classification:
    """The kind of filter ``rows`` is, from its evidence (see the module docstring)."""
    tol = facts.tolerance
    height, width = len(rows), len(rows[0])
    flat = [v for r in rows for v in r]
    nonzero = [v for v in flat if not _close(v, 0, tol)]
    s = facts.total
    has_gradient = not (_close(facts.gradient[0], 0, tol) and _close(facts.gradient[1], 0, tol))
    centre = rows[height // 2][width // 2] if height % 2 and width % 2 else None
    off_centre = [v for i, r in enumerate(rows) for j, v in enumerate(r) if (i, j) != (height // 2, width // 2)]
    if not nonzero:
        return Classification("none", None, None, "all weights are 0: the output is 0 everywhere")
    if centre is not None and all(_close(v, 0, tol) for v in off_centre):
        if _close(centre, 1, tol):
            return Classification("identity", None, None, "a single 1 at the centre: the output copies the input")
        return Classification(
            "scaling", None, None, f"a single weight {fmt.exact(centre)} at the centre: the input times that"
        )
    if _close(s, 0, tol) and has_gradient:
        orientation, polarity, angle = orientation_of(facts.gradient, tol)
        return Classification(
            "edge",
            orientation,
            polarity,
            f"weights sum to 0 (flat regions give 0) and the first moments are non-zero: a first-derivative "
            f"(edge) filter for {_ORIENTATION_TEXT[orientation]}, "
            + _POLARITY_TEXT.get(polarity, f"positive where the {polarity.replace('-brighter', '')} is brighter"),
            angle,
        )
    if _close(s, 0, tol):
        if _close(facts.second[0], 0, tol) and _close(facts.second[1], 0, tol):
            return Classification(
                "none", None, None, "weights sum to 0 but the first and second moments vanish (a higher-order filter)"
            )
        isotropic = _close(facts.second[0], facts.second[1], tol) and _close(facts.second[2], 0, tol)
        return Classification(
            "laplacian",
            None,
            None,
            "weights sum to 0 and the first moments vanish: a second-derivative (Laplacian-like) "
            "filter; flat regions and linear ramps give 0, edges give a zero crossing"
            + (", the same in every direction" if isotropic else ", not the same in every direction"),
        )
    if all(v >= 0 or _close(v, 0, tol) for v in flat) and len(nonzero) > 1:
        effect = (
            "the brightness is preserved (sum 1)"
            if _close(s, 1, tol)
            else f"the brightness is multiplied by the sum {fmt.number(s)}"
        )
        return Classification(
            "smoothing", None, None, f"all weights are non-negative: a weighted average (blur); {effect}"
        )
    if has_gradient and centre is not None and _close(facts.total, centre, tol):
        orientation, polarity, angle = orientation_of(facts.gradient, tol)
        return Classification(
            "emboss",
            orientation,
            polarity,
            f"the centre weight keeps the picture (sum {fmt.number(s)}) and the rest sums to 0 with non-zero "
            f"first moments: an edge response for {_ORIENTATION_TEXT[orientation]} added to the image (relief)",
            angle,
        )
    sharpening = (
        centre is not None
        and not has_gradient
        and float(s) > 0
        and centre == max(flat)
        and all(v <= 0 or _close(v, 0, tol) for v in off_centre)
        and float(facts.second[0] + facts.second[1]) < 0
    )
    if sharpening:
        return Classification(
            "sharpening",
            None,
            None,
            f"a positive centre with non-positive neighbours, sum {fmt.number(s)} > 0: the image plus a multiple "
            "of minus its Laplacian, so detail and edges are amplified",
        )
    return Classification("none", None, None, "it matches none of the standard patterns (see the evidence)")


_STEP_IMAGES: dict[str, Callable[[int, int, int, int], int]] = {
    # (i, j, height, width) -> 0/1 : bright side = 1
    "vertical step (right half bright)": lambda i, j, h, w: int(j >= w // 2),
    "horizontal step (bottom half bright)": lambda i, j, h, w: int(i >= h // 2),
    "diagonal step along '/' (bottom-right bright)": lambda i, j, h, w: int(i + j >= (h + w) // 2),
    "diagonal step along '\\' (top-right bright)": lambda i, j, h, w: int(j - i > 0),
}


def step_responses(rows: Rows) -> list[tuple[str, list[list[int]], Rows]]:
    """The kernel applied (valid cross-correlation) to small synthetic step-edge images."""
    height, width = len(rows), len(rows[0])
    size_h, size_w = height + 3, width + 3
    kernel = grid_from_rows(rows)
    results = []
    for label, pixel in _STEP_IMAGES.items():
        image = [[pixel(i, j, size_h, size_w) for j in range(size_w)] for i in range(size_h)]
        grid = grid_from_rows([[Fraction(v) for v in r] for r in image])
        response = correlate(grid, kernel, (1, 1), (size_h - height + 1, size_w - width + 1))
        results.append((label, image, response))
    return results


STEP_KINDS = {
    "filter.kernel": "the kernel as given or designed",
    "filter.purpose": "what a designed kernel is for",
    "filter.reasoning": "why a designed kernel's weights are what they are",
    "filter.sum": "the sum of the weights: the response to a flat region",
    "filter.symmetry": "the kernel's symmetries (rotation, mirrors)",
    "filter.separability": "whether the kernel is a column times a row",
    "filter.moments": "the first moments: the response to a ramp, the direction the kernel favours",
    "filter.step-edges": "the responses to synthetic step edges",
    "filter.verdict": "what the kernel does (the classification) and why",
}


def _evidence_steps(rows: Rows, facts: Evidence, *, full: bool = False) -> list[Step]:
    """Sum of weights, first moments and the step-edge table; ``full`` adds symmetry, separability and the
    response heatmaps."""
    s = facts.total
    flat_effect = (
        "flat regions give 0 (no overall brightness kept: a detector)"
        if _close(s, 0, facts.tolerance)
        else "flat regions keep their brightness"
        if _close(s, 1, facts.tolerance)
        else f"flat regions are multiplied by {fmt.number(s)}"
    )
    steps = [
        Step(
            "Sum of weights (response to a flat region)",
            f"Σ K = {fmt.number(s)}: a flat region of value v gives {fmt.exact(s)}·v; {flat_effect}",
            f"\\sum K = {fmt.latex_number(s)}",
            kind="filter.sum",
        )
    ]
    if full:
        steps.append(
            Step(
                "Symmetry",
                f"180° rotation: {facts.symmetry}; left-right mirror: {facts.mirror_lr}; "
                f"up-down mirror: {facts.mirror_ud}\n"
                "(antisymmetric under rotation = an odd, first-derivative-like filter; symmetric = even: blur, "
                "Laplacian, sharpen)",
                kind="filter.symmetry",
            )
        )
        if facts.factors is not None:
            column, row = facts.factors
            steps.append(
                Step(
                    "Separability",
                    f"K = column ⊗ row with column {fmt.vector(column)} and row {fmt.vector(row)} "
                    "(rank 1: filtering by the column then the row gives the same output, cheaper)",
                    f"K = {fmt.latex_vector(column)} {fmt.latex_matrix([row])}",
                    kind="filter.separability",
                )
            )
        else:
            steps.append(
                Step(
                    "Separability",
                    "not separable (rank > 1): K is not a column times a row",
                    kind="filter.separability",
                )
            )
    gx, gy = facts.gradient
    steps.append(
        Step(
            "First moments (the direction the kernel favours)",
            f"g_x = Σ K·dx = {fmt.number(gx)}, g_y = Σ K·dy = {fmt.number(gy)}: "
            + (
                "(0, 0), so no first-derivative response"
                if gx == 0 and gy == 0
                else f"the kernel responds most to intensity increasing along ({fmt.number(gx)}, {fmt.number(gy)})"
            )
            + " (dx, dy: column and row offsets from the centre, y down)",
            f"g_x = \\sum K\\,dx = {fmt.latex_number(gx)},\\quad g_y = \\sum K\\,dy = {fmt.latex_number(gy)}",
            kind="filter.moments",
        )
    )
    table_rows = []
    blocks = []
    for label, _image, response in step_responses(rows):
        values = [v for r in response for v in r]
        table_rows.append([label, fmt.number(max(values)), fmt.number(min(values))])
        if full and len(blocks) < 2 and len(response) <= 8 and len(response[0]) <= 8:
            blocks.append(heatmap(response, f"response to the {label}"))
    steps.append(
        Step(
            "Response to step edges (images 0 on one side of the edge, 1 on the other)",
            "",
            blocks=[Table(["image", "max response", "min response"], table_rows, "step-edge responses"), *blocks],
            kind="filter.step-edges",
        )
    )
    return steps


def explain_kernel(kernel: Sequence[Matrix], name: str | None = None, *, full: bool = False) -> Solution:
    """Classify a 2-D kernel: edge (orientation, polarity), smoothing, sharpening, identity, Laplacian, emboss.

    The working: the kernel, the sum of weights, the first moments, the step-edge table, the verdict;
    ``full`` adds symmetry, separability and response heatmaps.
    """
    if len(kernel) != 1:
        raise BadInput(f"expected one 2-D kernel, got {len(kernel)} channel slices", option="--kernel")
    matrix = kernel[0]
    if matrix.is_large:
        raise BadInput(f"the kernel is {matrix.shape[0]}x{matrix.shape[1]}; too large to explain", option="--kernel")
    check_magnitude(kernel, "--kernel")
    rows: Rows = matrix.tolist()
    if len(rows) * len(rows[0]) > 1024:
        raise BadInput("expected a kernel of at most 1024 entries", option="--kernel")
    facts = evidence(rows)
    verdict = classify(rows, facts)

    def build() -> list[Step]:
        return [
            Step(
                "The kernel",
                f"{len(rows)}x{len(rows[0])} kernel{' ' + name if name else ''} (cross-correlation: as a conv layer "
                "applies it, not flipped)",
                fmt.latex_matrix(rows),
                blocks=[heatmap(rows, "kernel")],
                kind="filter.kernel",
            ),
            *_evidence_steps(rows, facts, full=full),
            Step("Verdict", f"{verdict.kind}: {verdict.reason}", kind="filter.verdict"),
        ]

    summary = _verdict_summary(verdict)
    answer: dict[str, Any] = {
        "kind": verdict.kind,
        "orientation": verdict.orientation,
        "polarity": verdict.polarity,
        "sum": fmt.json_number(facts.total),
        "gradient": [fmt.json_number(v) for v in facts.gradient],
        "symmetry": facts.symmetry,
        "separable": facts.factors is not None,
        "factors": None
        if facts.factors is None
        else {
            "column": [fmt.json_number(v) for v in facts.factors[0]],
            "row": [fmt.json_number(v) for v in facts.factors[1]],
        },
        "reason": verdict.reason,
    }
    if verdict.angle is not None:
        answer["edge_angle_degrees"] = round(verdict.angle, 6)
    return Solution(
        command="filter explain",
        inputs={"kernel": name or f"{len(rows)}x{len(rows[0])}"},
        answer=answer,
        summary=summary,
        quiet=verdict.kind + (f" {verdict.orientation} {verdict.polarity}" if verdict.orientation else ""),
        steps=build,
    )


def _verdict_summary(verdict: Classification) -> str:
    if verdict.kind in ("edge", "emboss") and verdict.orientation and verdict.polarity:
        polarity = _POLARITY_TEXT.get(verdict.polarity, verdict.polarity)
        what = "edge detector" if verdict.kind == "edge" else "emboss filter"
        return f"{verdict.orientation} {what}: responds to {_ORIENTATION_TEXT[verdict.orientation]}; {polarity}"
    names = {
        "identity": "identity",
        "scaling": "a scaling of the input",
        "smoothing": "a smoothing (blur) filter",
        "laplacian": "a Laplacian-like (second-derivative) filter",
        "sharpening": "a sharpening filter",
        "none": "none of the standard filters",
    }
    return f"{names[verdict.kind]}: {verdict.reason}"


# --------------------------------------------------------------------------- design


def design_filter(what: str, *, size: int | None = None, sigma: Fraction | None = None, full: bool = False) -> Solution:
    """A standard kernel for ``what`` (a design name): its purpose, the kernel, why its weights are what they
    are, and a check by ``explain`` (``full``: the whole evidence of ``filter explain``)."""
    name = design_name(what, "WHAT")
    rows = design_kernel(name, size, sigma, "--size", "--sigma")
    design = DESIGNS[name]
    facts = evidence(rows)
    verdict = classify(rows, facts)

    def build() -> list[Step]:
        return [
            Step("Purpose", design.purpose, kind="filter.purpose"),
            Step(
                "Kernel",
                f"{name} ({len(rows)}x{len(rows[0])}, cross-correlation as a conv layer applies it)",
                fmt.latex_matrix(rows),
                blocks=[heatmap(rows, name)],
                kind="filter.kernel",
            ),
            Step("Why these weights", design.reasoning, kind="filter.reasoning"),
            *(_evidence_steps(rows, facts, full=True) if full else []),
            Step("Check (filter explain)", f"classified as {verdict.kind}: {verdict.reason}", kind="filter.verdict"),
        ]

    warnings = []
    if sigma is not None:
        warnings.append("with --sigma the weights are floats (exp is not exact)")
    answer: dict[str, Any] = {
        "name": name,
        "kernel": json_matrix(rows),
        "kernel_exact": [[fmt.exact(v) for v in r] for r in rows],
        "sum": fmt.json_number(facts.total),
        "kind": design.kind,
        "orientation": design.orientation,
        "polarity": design.polarity,
    }
    return Solution(
        command="filter design",
        inputs={"what": name, "size": size, "sigma": None if sigma is None else fmt.exact(sigma)},
        answer=answer,
        summary=f"{name}{short_matrix(rows)}",
        quiet=matrix_quiet(rows),
        steps=build,
        warnings=warnings,
        answer_latex=fmt.latex_matrix(rows),
    )
