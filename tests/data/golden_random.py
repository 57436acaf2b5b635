"""Random inputs that more than one golden generator draws (the same draws, so each file's cases stay put)."""

from __future__ import annotations

import random


def sequence_shape(rng: random.Random, width: int) -> list[int]:
    """A 3-D input (either axis order) or, one time in five, an unbatched 2-D one."""
    if rng.random() < 0.2:
        return [rng.randint(1, 9), width]
    return [rng.randint(1, 9), rng.randint(1, 9), width]


def transformer_text(rng: random.Random, kind: str, width: int, heads: int, options: str) -> str:
    """A transformer layer of ``kind`` (``Transformer``, ``encoder``/``decoder``, ``...-stack``) as the
    ``--net`` grammar writes it, with the layer options ``options`` already joined."""
    if kind == "Transformer":
        encoders, decoders = rng.randint(1, 2), rng.randint(1, 2)
        return f"Transformer({width}, {heads}, {encoders}, {decoders}, {options})"
    layer = "TransformerDecoderLayer" if kind.startswith("decoder") else "TransformerEncoderLayer"
    text = f"{layer}({width}, {heads}, {options})"
    if kind.endswith("stack"):
        norm = f", norm=LayerNorm({width})" if rng.random() < 0.5 else ""
        stack = "TransformerDecoder" if kind.startswith("decoder") else "TransformerEncoder"
        return f"{stack}({text}, {rng.randint(1, 3)}{norm})"
    return text
