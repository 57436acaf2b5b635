"""Random inputs that more than one golden generator draws (the same draws, so each file's cases stay put)."""

from __future__ import annotations

import random


def sequence_shape(rng: random.Random, width: int) -> list[int]:
    """A 3-D input (either axis order) or, one time in five, an unbatched 2-D one."""
    if rng.random() < 0.2:
        return [rng.randint(1, 9), width]
    return [rng.randint(1, 9), rng.randint(1, 9), width]
