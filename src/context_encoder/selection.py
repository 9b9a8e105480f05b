"""Choose the inpainting method for a hole by testing the methods on the photo itself.

Self-validation (the idea of Noise2Self and of gap-filling studies that cut artificial gaps
into known data): probe holes of the hole's own shape are cut into KNOWN pixels near it,
every candidate method fills the probes, and the method whose fill is closest to the known
truth (PSNR over the probe pixels) fills the real hole.

How :func:`choose_filler` works, for one hole (a boolean mask; the inpainter's group of
components filled together):

1. Cost first. The photo is shrunk (area averaging) until the hole holds at most
   ``ProbeSettings.pixels`` pixels and its bounding box is at most ``ProbeSettings.side``
   px, so probing costs about the same on a 1-megapixel photo as on a thumbnail.
2. Placement (:func:`place_probes`). The probe is the hole's pixel pattern, translated and
   optionally flipped. A probe keeps ``margin`` px away from the unknown pixels (the hole and
   any other hole) and from the other probes; positions whose centre is within ``reach``
   hole sides of the hole's centre are tried first (in an order drawn from ``rng``), then
   the rest of the image. When no position fits, the pattern is shrunk (``shrink`` sizes);
   when even the smallest does not fit, no probe is placed.
3. Filling. Each probe gets a square tile around it (twice its side plus margins); the
   tiles, side by side, form one small mosaic, and each candidate fills all probes of the
   mosaic in one call (a model batches its windows). Unknown pixels inside a tile are first
   filled with a quick Telea fill: they are context there, never scored.
4. Choice. The candidate with the highest PSNR over all probe pixels wins; ``default``
   (first candidate unless named) keeps the choice unless another beats it by more than
   ``switch_db``. Without any probe (no room), :class:`Choice` names ``default`` with
   ``reason`` saying why.

The defaults (:class:`ProbeSettings`) were chosen on the "tune" photos of
:mod:`context_encoder.data.photos` (32 crops of 256 px, thick and center holes; candidates
Telea first, NS, biharmonic, PatchMatch and the shipped model): with ``switch_db = 1`` and
Telea as the default the choice beat the best single method there (thick: 19.20 dB against
NS 18.96; center: 16.77 against Telea 16.57); without the margin it did worse (18.97 and
16.74), smaller probes (``side = 64``) or more of them (``count = 6``) did no better. Probes
favouring biharmonic by over 1 dB were right on average (+0.6 dB over Telea on the real
holes) but not always (down to -3 dB): probes are smaller than a hole that leaves no room.

A candidate is a ``fill_fn(rgb01, mask) -> rgb01``: float32 ``HxWx3`` in [0, 1] and a boolean
``HxW`` mask (possibly several disjoint holes) in, the image with the mask's pixels filled
out. :func:`classical_candidates` and :func:`inpainter_filler` build them from
:mod:`context_encoder.baselines` and from an inpainter.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.signal import fftconvolve

from .baselines import available_baselines, get_baseline

__all__ = [
    "BIHARMONIC_MAX_HOLE",
    "CLASSICAL_CANDIDATES",
    "PATCHMATCH_MAX_PIXELS",
    "Choice",
    "FillFn",
    "ProbeSettings",
    "auto_fill",
    "baseline_filler",
    "choose_filler",
    "classical_candidates",
    "inpainter_filler",
    "place_probes",
]

logger = logging.getLogger(__name__)

#: ``fill_fn(rgb01 HxWx3 float32, mask HxW bool) -> rgb01`` with the mask's pixels filled.
FillFn = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: Classical candidates by default (``mean`` is never the best on photos).
CLASSICAL_CANDIDATES: tuple[str, ...] = ("telea", "ns", "biharmonic", "patchmatch")

#: Above these sizes the slow methods are left out of :func:`classical_candidates`, so that
#: filling the real hole with the winner stays within about a second on a 2-core CPU:
#: biharmonic's sparse solve grows with the hole (~0.2 s for 16k hole pixels, ~1.5 s for
#: 65k), PatchMatch with the image it runs on (~0.7 s for 256x256).
BIHARMONIC_MAX_HOLE = 25_000
PATCHMATCH_MAX_PIXELS = 150_000

_PREFILL_RADIUS = 3  # Telea radius of the quick fill of unknown pixels inside tiles
_MAX_TRIES = 400  # candidate positions checked per pattern size


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
    switch_db: float = 1.0  # leave the default only for a gain of more than this
    tile: int = 0  # probe tiles at least this side (px of the shrunk photo)

    def __post_init__(self) -> None:
        for name in ("count", "pixels", "side"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ProbeSettings.{name} must be >= 1, got {getattr(self, name)}")
        if self.margin < 0 or self.reach <= 0 or self.switch_db < 0:
            raise ValueError("ProbeSettings: margin and switch_db must be >= 0, reach > 0; got "
                             f"{self.margin}, {self.switch_db}, {self.reach}")
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
    ``reason``: ``"probes"``, or why the default was taken.
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

    @property
    def fallback(self) -> bool:
        """True when no probe could be placed and ``method`` is the default."""
        return self.probes == 0


# ---------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------
def baseline_filler(name: str) -> FillFn:
    """A candidate from a classical method of :mod:`context_encoder.baselines`."""
    method = get_baseline(name)

    def fill(rgb01: np.ndarray, mask: np.ndarray) -> np.ndarray:
        u8 = np.clip(np.rint(rgb01 * 255.0), 0, 255).astype(np.uint8)
        return method(u8, mask).astype(np.float32) / np.float32(255.0)

    fill.__name__ = name
    return fill


def classical_candidates(names: Sequence[str] | None = None, *, hole_pixels: int | None = None,
                         image_pixels: int | None = None) -> dict[str, FillFn]:
    """Candidates for the classical methods ``names`` (default: those of
    :data:`CLASSICAL_CANDIDATES` that run here, PatchMatch only when installed).

    Given the size of the hole and of the image the winner will fill, biharmonic is left
    out above :data:`BIHARMONIC_MAX_HOLE` hole pixels and PatchMatch above
    :data:`PATCHMATCH_MAX_PIXELS` image pixels (also when named).
    """
    if names is None:
        names = [n for n in CLASSICAL_CANDIDATES if n in available_baselines()]
    slow = set()
    if hole_pixels is not None and hole_pixels > BIHARMONIC_MAX_HOLE:
        slow.add("biharmonic")
    if image_pixels is not None and image_pixels > PATCHMATCH_MAX_PIXELS:
        slow.add("patchmatch")
    return {n: baseline_filler(n) for n in names if n not in slow}


def inpainter_filler(inpainter: object) -> FillFn:
    """A candidate from an inpainter with ``inpaint_array(image, mask)`` (a
    :class:`~context_encoder.inference.Inpainter`; float32 images go in and come out)."""
    run = inpainter.inpaint_array  # type: ignore[attr-defined]

    def fill(rgb01: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.asarray(run(np.ascontiguousarray(rgb01, dtype=np.float32), mask), np.float32)

    return fill


# ---------------------------------------------------------------------------------------
# Inputs and scale
# ---------------------------------------------------------------------------------------
def _check_image_and_hole(rgb01: np.ndarray, hole: np.ndarray) -> np.ndarray:
    if not isinstance(rgb01, np.ndarray) or rgb01.ndim != 3 or rgb01.shape[2] != 3:
        raise ValueError(f"rgb01 must be an HxWx3 float array, got "
                         f"{getattr(rgb01, 'shape', type(rgb01).__name__)}")
    if rgb01.dtype.kind != "f":
        raise ValueError(f"rgb01 must be float in [0, 1], got dtype {rgb01.dtype}")
    hole = np.asarray(hole)
    if hole.shape != rgb01.shape[:2]:
        raise ValueError(f"hole shape {hole.shape} does not match the image's {rgb01.shape[:2]}")
    hole = hole != 0
    if not hole.any():
        raise ValueError("the hole is empty: there is nothing to choose a method for")
    if hole.all():
        raise ValueError("the hole covers the whole image: there is no context to probe")
    return hole


def _shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A mask resized to ``size`` (W, H): any overlap with the mask stays in the mask."""
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0


def _probe_scale(hole: np.ndarray, s: ProbeSettings) -> float:
    patterns = _components(hole)
    side = max(patterns[min(1, len(patterns) - 1)].shape)  # the largest component's box
    return min(1.0, math.sqrt(s.pixels / np.count_nonzero(hole)), s.side / side)


def _bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


# ---------------------------------------------------------------------------------------
# Placement
# ---------------------------------------------------------------------------------------
def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    if r <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask.astype(np.uint8), k).astype(bool)


def _variants(pattern: np.ndarray, flips: bool) -> list[np.ndarray]:
    out = [pattern]
    if flips:
        for v in (pattern[:, ::-1], pattern[::-1], pattern[::-1, ::-1]):
            if not any(np.array_equal(v, o) for o in out):
                out.append(np.ascontiguousarray(v))
    return out


def _free_offsets(forbidden: np.ndarray, pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-left offsets where ``pattern`` lies inside the image and off ``forbidden``."""
    h, w = pattern.shape
    if h > forbidden.shape[0] or w > forbidden.shape[1]:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    hits = fftconvolve(forbidden.astype(np.float32), pattern[::-1, ::-1].astype(np.float32),
                       mode="valid")
    return np.nonzero(hits < 0.5)


def _components(hole: np.ndarray) -> list[np.ndarray]:
    """The hole's bounding-box pattern, then (for several components) each component's,
    largest first."""
    y0, x0, y1, x1 = _bbox(hole)
    crop = hole[y0:y1, x0:x1]
    n, labels, stats, _ = cv2.connectedComponentsWithStats(crop.astype(np.uint8), connectivity=8)
    patterns = [crop]
    if n > 2:
        for i in 1 + np.argsort(-stats[1:, cv2.CC_STAT_AREA], kind="stable"):
            t, le = stats[i, cv2.CC_STAT_TOP], stats[i, cv2.CC_STAT_LEFT]
            h, w = stats[i, cv2.CC_STAT_HEIGHT], stats[i, cv2.CC_STAT_WIDTH]
            patterns.append(labels[t : t + h, le : le + w] == i)
    return patterns


def _resized_pattern(pattern: np.ndarray, size: float) -> np.ndarray:
    if size == 1.0:
        return pattern
    dsize = (max(1, round(pattern.shape[1] * size)), max(1, round(pattern.shape[0] * size)))
    return cv2.resize(pattern.astype(np.uint8), dsize, interpolation=cv2.INTER_NEAREST) > 0


def _try_place(pattern: np.ndarray, taken: np.ndarray, centre: tuple[float, float],
               reach_px: float, want: int, s: ProbeSettings, rng: np.random.Generator
               ) -> list[np.ndarray]:
    """Up to ``want`` probes of ``pattern`` (and its flips) off ``taken``; each probe and
    its margin is added to ``taken``."""
    variants = _variants(pattern, s.flips)
    found = [(*_free_offsets(taken, v), k) for k, v in enumerate(variants)]
    ys = np.concatenate([f[0] for f in found])
    xs = np.concatenate([f[1] for f in found])
    ks = np.concatenate([np.full(f[0].size, f[2]) for f in found])
    h, w = pattern.shape
    dist = np.hypot(ys + h / 2 - centre[0], xs + w / 2 - centre[1])
    near, far = np.flatnonzero(dist <= reach_px), np.flatnonzero(dist > reach_px)
    order = np.concatenate([rng.permutation(near), rng.permutation(far)])[:_MAX_TRIES]
    m = s.margin
    probes: list[np.ndarray] = []
    for i in order:
        if len(probes) == want:
            break
        y, x, v = int(ys[i]), int(xs[i]), variants[int(ks[i])]
        if (taken[y : y + h, x : x + w] & v).any():
            continue
        probe = np.zeros_like(taken)
        probe[y : y + h, x : x + w] = v
        probes.append(probe)
        y0, x0 = max(y - m, 0), max(x - m, 0)
        taken[y0 : y + h + m, x0 : x + w + m] |= _dilate(probe, m)[y0 : y + h + m, x0 : x + w + m]
    return probes


def place_probes(hole: np.ndarray, rng: np.random.Generator, *,
                 unknown: np.ndarray | None = None, settings: ProbeSettings | None = None
                 ) -> tuple[list[np.ndarray], list[float]]:
    """Probe masks for ``hole`` (each an ``HxW`` bool array) and the size of each
    relative to the pattern it copies.

    Patterns, tried in order at each size of ``settings.shrink``: the hole's whole pixel
    pattern, then (when the hole has several components) each component's, largest first;
    probes are collected until there are ``settings.count``. ``unknown``: every pixel
    without truth (default: the hole; the hole is always added). An empty list when no
    probe fits even at the smallest size.
    """
    s = settings or ProbeSettings()
    hole = np.asarray(hole, dtype=bool)
    unknown = hole if unknown is None else (np.asarray(unknown, dtype=bool) | hole)
    if unknown.shape != hole.shape:
        raise ValueError(f"unknown shape {unknown.shape} does not match the hole's {hole.shape}")
    if not hole.any():
        raise ValueError("the hole is empty: there is no shape to probe with")
    taken = _dilate(unknown, s.margin)
    y0, x0, y1, x1 = _bbox(hole)
    centre = ((y0 + y1) / 2, (x0 + x1) / 2)
    reach_px = s.reach * max(y1 - y0, x1 - x0)
    probes: list[np.ndarray] = []
    sizes: list[float] = []
    patterns = _components(hole)
    for size in s.shrink:
        for pattern in patterns:
            p = _resized_pattern(pattern, size)
            if not p.any():
                continue
            new = _try_place(p, taken, centre, reach_px, s.count - len(probes), s, rng)
            probes += new
            sizes += [size] * len(new)
            if len(probes) == s.count:
                return probes, sizes
    return probes, sizes


# ---------------------------------------------------------------------------------------
# Probing
# ---------------------------------------------------------------------------------------
def _mosaic(img: np.ndarray, probes: list[np.ndarray], margin: int, tile: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Square tiles around the probes (at least ``tile`` px), side by side: (image, mask).
    Every probe is masked in every tile it reaches, so no tile shows another probe's truth."""
    h, w = img.shape[:2]
    boxes = [_bbox(p) for p in probes]
    side = max(tile, 2 * max(max(y1 - y0, x1 - x0) for y0, x0, y1, x1 in boxes) + 4 * margin)
    th, tw = min(side, h), min(side, w)  # the same for every tile
    every = np.logical_or.reduce(probes)
    tiles, masks = [], []
    for y0, x0, y1, x1 in boxes:
        top = min(max((y0 + y1 - th) // 2, 0), h - th)
        left = min(max((x0 + x1 - tw) // 2, 0), w - tw)
        tiles.append(img[top : top + th, left : left + tw])
        masks.append(every[top : top + th, left : left + tw])
    return np.ascontiguousarray(np.concatenate(tiles, axis=1)), np.concatenate(masks, axis=1)


def _prefill(img: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Unknown pixels filled by a quick Telea pass (context for the probes' fills)."""
    u8 = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    out = cv2.inpaint(u8, unknown.astype(np.uint8), _PREFILL_RADIUS, cv2.INPAINT_TELEA)
    res = img.copy()
    res[unknown] = out[unknown].astype(np.float32) / 255.0
    return res


def _psnr(mse: float) -> float:
    return 100.0 if mse <= 1e-10 else -10.0 * math.log10(mse)


def _score(candidates: Mapping[str, FillFn], mosaic: np.ndarray, mask: np.ndarray, tiles: int
           ) -> tuple[dict[str, float], dict[str, list[float]], dict[str, float], np.ndarray]:
    """Per candidate: PSNR over all probe pixels, PSNR per tile, seconds; and the
    candidates' error products (``gram[j, k]``: mean of ``err_j * err_k`` over the probe
    pixels and channels, in candidate order), from which any blend's error follows."""
    truth = mosaic[mask].astype(np.float64)
    owner = np.nonzero(mask)[1] // (mask.shape[1] // tiles)  # tile of each probe pixel
    count = np.bincount(owner, minlength=tiles)
    scores, per_tile, seconds, errors = {}, {}, {}, []
    for name, fn in candidates.items():
        t0 = time.perf_counter()
        out = np.asarray(fn(mosaic.copy(), mask.copy()))
        seconds[name] = time.perf_counter() - t0
        if out.shape != mosaic.shape:
            raise ValueError(f"candidate {name!r} returned shape {out.shape}, expected "
                             f"{mosaic.shape}")
        diff = out[mask].astype(np.float64) - truth
        errors.append(diff.ravel())
        err = np.square(diff).mean(axis=1)
        scores[name] = _psnr(float(err.mean()))
        per_tile[name] = [_psnr(v) for v in np.bincount(owner, err, tiles) / np.maximum(count, 1)]
    e = np.stack(errors)
    return scores, per_tile, seconds, (e @ e.T) / e.shape[1]


def _winner(scores: Mapping[str, float], default: str, switch_db: float) -> str:
    best = max(scores, key=lambda k: scores[k])  # the first of equals: candidate order
    return best if scores[best] > scores[default] + switch_db else default


def choose_filler(rgb01: np.ndarray, hole: np.ndarray, candidates: Mapping[str, FillFn],
                  rng: np.random.Generator, *, unknown: np.ndarray | None = None,
                  default: str | None = None, probes: ProbeSettings | None = None) -> Choice:
    """Pick the candidate that best fills probe holes like ``hole`` on this photo.

    ``rgb01``: float ``HxWx3`` in [0, 1]; ``hole``: ``HxW`` bool; ``candidates``: name ->
    :data:`FillFn`; ``rng`` places the probes (same rng state, same choice). ``unknown``:
    every pixel without truth, when the image has holes besides ``hole``. ``default``: the
    answer when no probe fits, and the incumbent for ``probes.switch_db`` (default: the
    first candidate). See the module docstring for the procedure.
    """
    hole = _check_image_and_hole(rgb01, hole)
    if not candidates:
        raise ValueError("choose_filler needs at least one candidate")
    default = next(iter(candidates)) if default is None else default
    if default not in candidates:
        raise ValueError(f"default {default!r} is not a candidate ({', '.join(candidates)})")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    s = probes or ProbeSettings()
    unknown = hole if unknown is None else (np.asarray(unknown) != 0) | hole
    scale = _probe_scale(hole, s)
    img = rgb01.astype(np.float32, copy=False)
    if scale < 1.0:
        dsize = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
        img = cv2.resize(img, dsize, interpolation=cv2.INTER_AREA)
        hole, unknown = _shrink_mask(hole, dsize), _shrink_mask(unknown, dsize)
    placed, sizes = place_probes(hole, rng, unknown=unknown, settings=s)
    if not placed:
        logger.info("no room for a probe around the hole; using %r", default)
        return Choice(default, scale=scale, size=0.0, reason="no room for a probe")
    size = float(np.mean(sizes))
    mosaic, mask = _mosaic(_prefill(img, unknown), placed, s.margin, s.tile)
    scores, per_probe, seconds, gram = _score(candidates, mosaic, mask, len(placed))
    method = _winner(scores, default, s.switch_db)
    logger.info("%d probes (size %.2f, scale %.2f): %s -> %s", len(placed), size, scale,
                {k: round(v, 2) for k, v in scores.items()}, method)
    return Choice(method, scores, seconds, len(placed), size, scale, per_probe=per_probe,
                  gram=gram.tolist())


def auto_fill(rgb01: np.ndarray, hole: np.ndarray, candidates: Mapping[str, FillFn],
              rng: np.random.Generator, **kwargs: object) -> tuple[np.ndarray, Choice]:
    """Fill ``hole`` with the candidate :func:`choose_filler` picks; ``(filled, choice)``."""
    choice = choose_filler(rgb01, hole, candidates, rng, **kwargs)  # type: ignore[arg-type]
    return np.asarray(candidates[choice.method](rgb01, np.asarray(hole) != 0)), choice
