"""The settings of probing (:class:`ProbeSettings`) and its result (:class:`Choice`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["Choice", "ProbeSettings"]


@dataclass(frozen=True)
class ProbeSettings:
    """How probes are placed and sized (see the module docstring)."""

    count: int = 4  # probes wanted per hole
    pixels: int = 8192  # hole pixels per probe at most; the photo is shrunk to get there
    side: int = 128  # probe bounding-box side at most, in px of the shrunk photo
    margin: int = 6  # px between a probe and unknown pixels or another probe
    reach: float = 2.0  # probes centred within reach * hole side of the hole are tried first
    flips: bool = True  # also try the pattern flipped left-right / upside down
    shrink: tuple[float, ...] = (1.0, 0.75, 0.5, 0.35)  # pattern sizes tried, in order
    switch_db: float = 1.0  # without blend: leave the default only for a gain over this
    tile: int = 0  # probe tiles at least this side (px of the shrunk photo)
    blend: bool = True  # fill with the mix of candidates the probes favour (see blend_weights)
    ridge: float = 0.1  # spreads the blend's weights (blend_weights)
    model_bonus_db: float = 1.0  # models' probe error counted this much lower per halving
    min_weight: float = 0.05  # blend weights below this are dropped (their fill is not run)
    units: int = 16  # groups of holes probed one by one at most; beyond, by size class (.units)
    # detail added to the blend (choose.spend_on_detail): at most this much of its probe PSNR
    # spent (0: the closest blend only), keeping at least the best single candidate's plus
    # detail_floor_db, plus detail_floor_per_halving_db per halving of the probe size (probes
    # smaller than the hole overstate the blend's lead); the detail is a candidate's fill
    # minus its Gaussian blur of detail_sigma px, added at one of detail_steps
    detail_budget_db: float = 1.0
    detail_floor_db: float = -0.2
    detail_floor_per_halving_db: float = 0.4
    detail_sigma: float = 1.0
    detail_steps: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0)

    def detail_floor_at(self, probe_size: float) -> float:
        """The floor (dB over the best single candidate's probe PSNR) the detail must keep
        for probes of ``probe_size`` (their side over the hole's, in (0, 1])."""
        return self.detail_floor_db + self.detail_floor_per_halving_db * math.log2(1 / probe_size)

    def __post_init__(self) -> None:
        for name in ("count", "pixels", "side", "units"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ProbeSettings.{name} must be >= 1, got {getattr(self, name)}")
        if self.margin < 0 or self.reach <= 0 or self.switch_db < 0 or self.tile < 0:
            raise ValueError("ProbeSettings: margin, switch_db and tile must be >= 0, reach > 0; "
                             f"got {self.margin}, {self.switch_db}, {self.tile}, {self.reach}")
        if min(self.ridge, self.model_bonus_db, self.detail_budget_db,
               self.detail_floor_per_halving_db) < 0:
            raise ValueError("ProbeSettings: ridge, model_bonus_db, detail_budget_db and "
                             "detail_floor_per_halving_db must be >= 0, got "
                             f"{self.ridge}, {self.model_bonus_db}, {self.detail_budget_db}, "
                             f"{self.detail_floor_per_halving_db}")
        if self.detail_sigma <= 0 or any(not 0 < a <= 2 for a in self.detail_steps):
            raise ValueError("ProbeSettings: detail_sigma must be > 0 and detail_steps in "
                             f"(0, 2], got {self.detail_sigma}, {self.detail_steps}")
        if not 0 <= self.min_weight < 0.5:
            raise ValueError(f"ProbeSettings.min_weight must be in [0, 0.5), got {self.min_weight}")
        if not self.shrink or any(not 0 < s <= 1 for s in self.shrink):
            raise ValueError(f"ProbeSettings.shrink must be sizes in (0, 1], got {self.shrink}")


@dataclass(frozen=True)
class Choice:
    """The method chosen for one hole and why.

    ``scores``: PSNR (dB) over the probe pixels per candidate (empty without probes);
    ``per_probe``: the PSNR over each probe's tile; ``gram``: the candidates' probe error
    products (candidate order; see :func:`_score`); ``seconds``: time each candidate took
    on the probes; ``probes``: probes placed;
    ``size``: probe size relative to the hole; ``scale``: the photo's scale while probing;
    ``reason``: ``"probes"``, or why the default was taken; ``weights``: the share of each
    candidate in the fill (one candidate at 1.0 unless blended; see :func:`blend_weights`).
    ``method`` names them, heaviest first, joined by ``+``, then the detail added, if any
    (``"ns+telea with patchmatch detail"``: :func:`~.choose.label`; its weight's key is
    ``"patchmatch detail"``, :data:`~.choose.DETAIL_SUFFIX`). ``gram`` covers the
    candidates and then their detail (:func:`~.choose._score`); ``detail_gram`` and
    ``detail_truth``: the same vectors' neighbour-difference products and the truth's
    gradient energy on the probes (:func:`~.choose.detail_products`), from which any
    option's detail follows.
    """

    method: str
    scores: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    probes: int = 0
    size: float = 1.0
    scale: float = 1.0
    reason: str = "probes"
    per_probe: dict[str, list[float]] = field(default_factory=dict)
    gram: list[list[float]] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    detail_gram: list[list[float]] = field(default_factory=list)
    detail_truth: float = 0.0

    def __post_init__(self) -> None:
        if not self.weights:
            object.__setattr__(self, "weights", {self.method: 1.0})

    @property
    def fallback(self) -> bool:
        """True when no probe could be placed and ``method`` is the default."""
        return self.probes == 0
