"""PyTorch's padding and rearranging layers for ``conv-shape --net``: Zero/Constant/Reflection/
Replication/CircularPad{1,2,3}d (``F.pad``'s shape rules and refusals, in PyTorch's order),
PixelShuffle, PixelUnshuffle and ChannelShuffle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dlsolve import fmt
from dlsolve.solvers.conv_geometry import Geometry
from dlsolve.solvers.layers_args import Applied, Context, Shape, _int, _is_int

# --------------------------------------------------------------------------- padding and rearranging layers

_SIDES = ("left", "right", "top", "bottom", "front", "back")
_AXIS_NAMES = ("W", "H", "D")


def _padding_tuple(ctx: Context, value: Any, n: int) -> tuple[int, ...]:
    """PyTorch's ``_ntuple(2n)``: an int for every side, or a tuple of ints kept as given (any length)."""
    if _is_int(value):
        return (value,) * (2 * n)
    if isinstance(value, tuple) and all(_is_int(v) for v in value):
        return value
    raise ctx.bad(f"padding must be a whole number or a tuple of whole numbers, got {value!r}")


def _axis_name(axis: int, shape: Shape, named: int) -> str:
    """``W``, ``H``, ``D`` for the last ``named`` axes (the layer's own), ``dim i`` for any other."""
    from_end = len(shape) - 1 - axis
    return _AXIS_NAMES[from_end] if from_end < named else f"dim {axis}"


def _padded_sizes(pads: tuple[int, ...], shape: Shape) -> list[tuple[int, int, int, int]]:
    """(axis, size, before, after) per padded axis, outermost first; pads run from the last axis back."""
    m = len(pads) // 2
    return [(len(shape) - 1 - i, shape[len(shape) - 1 - i], pads[2 * i], pads[2 * i + 1]) for i in reversed(range(m))]


def _pad_output(mode: str, pads: tuple[int, ...], shape: Shape, ctx: Context) -> Shape:
    """Output shape of ``F.pad(input, pads, mode)``, refusing what PyTorch refuses, in its order.

    Every padded axis becomes ``out = in + before + after`` (pads are ``(left, right, top, bottom,
    front, back)``: the last axis first). Constant: negative pads crop (each crop at most the size
    left). Reflect: ``|pad| < in`` on each side. Circular: each pad at most ``in`` and ``out ≥ 0``.
    Reflect/replicate: non-zero sizes besides the batch, and not every padded axis below 1.
    """
    ndim = len(shape)
    if len(pads) % 2:
        raise ctx.invalid("Padding length must be divisible by 2")
    if len(pads) > 2 * ndim:
        raise ctx.invalid(
            "Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pads)} and input of dimension {ndim}"
        )
    axes = _padded_sizes(pads, shape)
    out = list(shape)
    if mode == "constant":
        for axis, size, before, after in axes:
            cropped = size + min(before, 0)
            if cropped < 0 or cropped + min(after, 0) < 0:
                raise ctx.invalid(
                    f"narrow(): length must be non-negative (padding ({before}, {after}) crops more than "
                    f"the {size} entries of dimension {axis})"
                )
            out[axis] = size + before + after
        return tuple(out)
    m = len(pads) // 2
    if m not in (1, 2, 3) or ndim not in (m + 1, m + 2):
        raise ctx.invalid(f"Padding size {len(pads)} is not supported for {ndim}D input tensor.")
    if mode == "circular":
        for axis, size, before, after in axes:
            if before > size or after > size:
                raise ctx.invalid(
                    f"Padding value causes wrapping around more than once (padding ({before}, {after}) "
                    f"on dimension {axis} of size {size})"
                )
            if size + before + after < 0:
                raise ctx.invalid(
                    f"Negative padding value is resulting in an empty dimension ({size} + {before} + {after} "
                    f"on dimension {axis})"
                )
            out[axis] = size + before + after
        _circular_copies(ctx, axes, out)
        return tuple(out)
    non_batch = shape[1:] if ndim == m + 2 else shape
    if 0 in non_batch:
        raise ctx.invalid(
            f"Expected {m + 1}D or {m + 2}D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {fmt.shape(shape)}"
        )
    if mode == "reflect":
        for i, (axis, size, before, after) in enumerate(reversed(axes)):
            if before >= size or after >= size:
                raise ctx.invalid(
                    f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding input dimension, "
                    f"but got: padding ({before}, {after}) at dimension {axis} of input {fmt.shape(shape)}"
                )
    for axis, size, before, after in axes:
        out[axis] = size + before + after
    if all(out[axis] < 1 for axis, _, _, _ in axes):
        names = _AXIS_NAMES[:m][::-1]
        sizes = ", ".join(f"{name}: {shape[axis]}" for name, (axis, _, _, _) in zip(names, axes, strict=True))
        outs = " ".join(f"{name}: {out[axis]}" for name, (axis, _, _, _) in zip(names, axes, strict=True))
        raise ctx.invalid(f"input ({sizes}) is too small. Calculated output {outs}")
    negative = [out[axis] for axis, _, _, _ in axes if out[axis] < 0]
    if negative:
        raise ctx.invalid(f"Trying to create tensor with negative dimension {negative[0]}: {fmt.shape(out)}")
    return tuple(out)


def _slice(size: int, start: int, end: int) -> tuple[int, int]:
    """(start, length) of ATen's ``slice(start, end)`` on an axis of ``size``: negative ends wrap once, then clamp."""
    start, end = (v + size if v < 0 else v for v in (start, end))
    start = min(max(start, 0), size)
    return start, min(max(end, start), size) - start


def _circular_copies(ctx: Context, axes: list[tuple[int, int, int, int]], out: list[int]) -> None:
    """Circular padding copies slices (the input's kept part, then each wrapped side); refuse what PyTorch refuses.

    A copy needs the source length equal to the destination's, or 1 (broadcast), and a wrapped side
    may not partly overlap the part it is copied from where PyTorch can see it (a contiguous slice).
    With a positive pad on one side and a crop on the other that removes more than the pad adds,
    PyTorch's slices disagree.
    """
    overlap = (
        "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
        "memory location. Please clone() the tensor before performing the operation."
    )
    targets, sources = list(out), list(out)
    for axis, size, before, after in axes:
        targets[axis] = _slice(out[axis], max(before, 0), out[axis] - max(after, 0))[1]
        sources[axis] = _slice(size, max(-before, 0), size - max(-after, 0))[1]
    copies: list[tuple[list[int], list[int], bool]] = [(targets, sources, False)]
    for axis, _, before, after in reversed(axes):
        total, kept_left, kept_right = out[axis], max(before, 0), max(after, 0)
        sides = []
        if before > 0:
            sides.append((_slice(total, 0, before), _slice(total, total - before - kept_right, total - kept_right)))
        if after > 0:
            sides.append((_slice(total, total - after, total), _slice(total, kept_left, kept_left + after)))
        for (target_start, target_length), (source_start, source_length) in sides:
            target, source = list(out), list(out)
            target[axis], source[axis] = target_length, source_length
            shared = min(target_start + target_length, source_start + source_length) - max(target_start, source_start)
            dense = all(v == 1 for v in out[:axis])  # else PyTorch cannot tell overlap and lets it pass
            partial = shared > 0 and (target_start, target_length) != (source_start, source_length)
            copies.append((target, source, dense and partial and 0 not in target))
    for target, source, overlapping in copies:
        if overlapping:
            raise ctx.invalid(overlap)
        for axis in reversed(range(len(out))):
            if target[axis] != source[axis] and source[axis] != 1:
                if target[axis] == 1:
                    broadcast = [t if t != 1 else v for t, v in zip(target, source, strict=True)]
                    raise ctx.invalid(
                        f"output with shape {fmt.shape(target)} doesn't match the broadcast shape "
                        f"{fmt.shape(broadcast)}"
                    )
                raise ctx.invalid(
                    f"The size of tensor a ({target[axis]}) must match the size of tensor b ({source[axis]}) at "
                    f"non-singleton dimension {axis} (circular padding copies slices of unequal length)"
                )


def _pad_apply(n: int, mode: str) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    """ZeroPad/ConstantPad/ReflectionPad/ReplicationPad/CircularPad{n}d: ``out = in + before + after``."""

    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        pads = _padding_tuple(ctx, a["padding"], n)
        if "value" in a and (not isinstance(a["value"], int | float)):
            raise ctx.bad(f"value must be a number, got {a['value']!r}")
        if mode == "circular" and len(shape) not in (n + 1, n + 2):
            raise ctx.invalid(f"expected {n + 1}D or {n + 2}D input (got {len(shape)}D input)")
        out = _pad_output(mode, pads, shape, ctx)
        axes = _padded_sizes(pads, shape)
        sides = ", ".join(_SIDES[: len(pads)]) if len(pads) <= len(_SIDES) else "before, after per dimension"
        named = n if len(pads) == 2 * n else 0
        terms = [
            f"{_axis_name(axis, shape, named)} {size} + {before} + {after} = {out[axis]}"
            for axis, size, before, after in axes
        ]
        given = ", ".join(map(str, pads))
        lines = [
            f"padding ({sides}) = ({given}); out = in + before + after: "
            f"{', '.join(terms) or 'nothing padded'}; no parameters"
        ]
        return Applied(out, 0, lines)

    return apply


def _pixel_checks(ctx: Context, a: dict[str, Any], shape: Shape, op: str, argument: str) -> int:
    factor = _int(ctx, a[argument], argument)
    if len(shape) < 3:
        raise ctx.invalid(
            f"{op} expects input to have at least 3 dimensions, but got input with {len(shape)} dimension(s)"
        )
    if factor <= 0:
        raise ctx.invalid(f"{op} expects a positive {argument}, but got {factor}")
    return factor


def _pixel_shuffle_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    """PixelShuffle(r): ``(*, C, H, W) -> (*, C/r², H·r, W·r)``, C divisible by r²."""
    r = _pixel_checks(ctx, a, shape, "pixel_shuffle", "upscale_factor")
    channels, height, width = shape[-3:]
    if channels % (r * r):
        raise ctx.invalid(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}"
        )
    out = (*shape[:-3], channels // (r * r), height * r, width * r)
    lines = [
        f"C/r² = {channels}/{r}² = {out[-3]}, H·r = {height}·{r} = {out[-2]}, W·r = {width}·{r} = {out[-1]}; "
        "no parameters"
    ]
    return Applied(out, 0, lines, [], "end")


def _pixel_unshuffle_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    """PixelUnshuffle(r): ``(*, C, H, W) -> (*, C·r², H/r, W/r)``, H and W divisible by r.

    For the receptive field it is an r x r window with stride r (every output position gathers one block).
    """
    r = _pixel_checks(ctx, a, shape, "pixel_unshuffle", "downscale_factor")
    channels, height, width = shape[-3:]
    for name, offset, size in (("height", -2, height), ("width", -1, width)):
        if size % r:
            raise ctx.invalid(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({offset})={size} is not divisible by {r}"
            )
    out = (*shape[:-3], channels * r * r, height // r, width // r)
    lines = [
        f"C·r² = {channels}·{r}² = {out[-3]}, H/r = {height}/{r} = {out[-2]}, W/r = {width}/{r} = {out[-1]}; "
        "no parameters"
    ]
    window: str | Geometry = "end"
    if len(shape) in (3, 4):
        window = Geometry("conv", (r, r), (r, r), (0, 0), (1, 1), (0, 0))
    return Applied(out, 0, lines, [], window)


def _channel_shuffle_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    """ChannelShuffle(g): shape unchanged; the channels (dimension 1) must be divisible by g."""
    groups = _int(ctx, a["groups"], "groups")
    if len(shape) <= 2:
        raise ctx.invalid(f"channel_shuffle expects input with > 2 dims, but got input with sizes {fmt.shape(shape)}")
    if groups <= 0:
        raise ctx.invalid(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if shape[1] % groups:
        raise ctx.invalid(
            f"Number of channels must be divisible by groups. Got {shape[1]} channels and {groups} groups."
        )
    lines = [f"shape unchanged: C = {shape[1]} channels in {groups} groups of {shape[1] // groups}; no parameters"]
    return Applied(shape, 0, lines)
