"""Where probe holes go: the hole's own pattern on known pixels near it
(:func:`place_probes`), and the tiles around them that the candidates fill (:func:`mosaic`)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy.signal import fftconvolve

from .settings import ProbeSettings

__all__ = ["bbox", "dilate", "mosaic", "place_probes", "probe_scale", "shrink_mask"]

_MAX_TRIES = 400  # candidate positions checked per pattern size


def bbox(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


def probe_scale(hole: np.ndarray, s: ProbeSettings) -> float:
    """The photo's scale while probing ``hole``: at most ``s.pixels`` hole pixels and a
    largest component's box of at most ``s.side`` px."""
    patterns = _components(hole)
    side = max(patterns[min(1, len(patterns) - 1)].shape)  # the largest component's box
    return min(1.0, math.sqrt(s.pixels / np.count_nonzero(hole)), s.side / side)


def shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A mask resized to ``size`` (W, H): any overlap with the mask stays in the mask."""
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0



def dilate(mask: np.ndarray, r: int) -> np.ndarray:
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
    y0, x0, y1, x1 = bbox(hole)
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
        taken[y0 : y + h + m, x0 : x + w + m] |= dilate(probe, m)[y0 : y + h + m, x0 : x + w + m]
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
    taken = dilate(unknown, s.margin)
    y0, x0, y1, x1 = bbox(hole)
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


def mosaic(img: np.ndarray, probes: list[np.ndarray], margin: int, tile: int = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """Square tiles around the probes (at least ``tile`` px), side by side: (image, mask).
    Every probe is masked in every tile it reaches, so no tile shows another probe's truth."""
    h, w = img.shape[:2]
    boxes = [bbox(p) for p in probes]
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
