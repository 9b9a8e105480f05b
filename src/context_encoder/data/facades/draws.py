"""Random draws for the renderer, all from one explicit ``numpy.random.Generator``.

The order of the draws is part of the dataset: a facade is the sequence of draws its seed
gives, so drawing one more number (or one fewer) anywhere changes every later choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import numpy as np

__all__ = ["Draws", "choose", "jitter_color", "pick_color"]

T = TypeVar("T")


class Draws:
    """Scalar draws from an explicit ``numpy.random.Generator``, buffered.

    A renderer makes about a hundred scalar draws per image; drawing them in blocks and
    handing them out as Python floats avoids numpy's per-call overhead. Array draws use
    ``gen`` directly. Fully deterministic given the generator's seed.
    """

    __slots__ = ("_buf", "_i", "gen")

    def __init__(self, gen: np.random.Generator) -> None:
        self.gen = gen
        self._buf: list[float] = []
        self._i = 0

    def random(self) -> float:
        """Uniform in [0, 1)."""
        if self._i >= len(self._buf):
            self._buf = self.gen.random(64).tolist()
            self._i = 0
        u = self._buf[self._i]
        self._i += 1
        return u

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def uniforms(self, lo: float, hi: float, n: int) -> np.ndarray:
        return np.array([lo + (hi - lo) * self.random() for _ in range(n)], np.float32)

    def integers(self, lo: int, hi: int | None = None) -> int:
        """Integer in [lo, hi) (or [0, lo) with one argument)."""
        if hi is None:
            lo, hi = 0, lo
        return lo + min(int(self.random() * (hi - lo)), hi - lo - 1)


def choose(rng: Draws, weights: Mapping[T, float]) -> T:
    """One key of ``weights`` drawn with its probability (the values sum to 1); much cheaper
    than ``Generator.choice(p=...)``."""
    u = rng.random()
    acc = 0.0
    for option, p in weights.items():
        acc += p
        if u < acc:
            return option
    return list(weights)[-1]  # rounding: u at or above the sum of the weights


def jitter_color(rng: Draws, color: np.ndarray, amount: float = 0.08) -> np.ndarray:
    """``color`` scaled by a random brightness and a random per-channel tint, each within
    ``1 +- amount``, clipped at 255."""
    brightness = rng.uniform(1.0 - amount, 1.0 + amount)
    tint = rng.uniforms(1.0 - amount, 1.0 + amount, 3)
    return np.minimum(color * (tint * np.float32(brightness)), np.float32(255))


def pick_color(rng: Draws, palette: np.ndarray, amount: float = 0.08) -> np.ndarray:
    """A random row of ``palette``, jittered by ``amount`` (see ``jitter_color``)."""
    return jitter_color(rng, palette[rng.integers(len(palette))], amount)
