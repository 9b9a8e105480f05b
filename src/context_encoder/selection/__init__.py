"""Choose the inpainting method for a hole by testing the methods on the photo itself.

Self-validation (the idea of Noise2Self and of gap-filling studies that cut artificial gaps
into known data): probe holes of the hole's own shape are cut into KNOWN pixels near it,
every candidate method fills the probes, and the fill that comes closest to the known truth
on the probes fills the real hole: a mix of the candidates' fills, weighted as the probes
say (a single candidate when one is far ahead).

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
4. Choice (:func:`blend_weights`). From the candidates' errors on the probe pixels, the
   weights (>= 0, summing to 1) whose mix of fills has the least squared error, with a
   ridge that spreads them a little; weights under ``min_weight`` are dropped. Mixing
   helps because the methods' errors differ: Telea's and Navier-Stokes' smooth fills,
   PatchMatch's copied texture and a model's prediction go wrong in different places.
   When the probes had to be smaller than the hole (no room for its own size), learned
   models are favoured by ``model_bonus_db`` per halving of the probe size: a model fills a
   small probe at a zoom it never trained at, while its lead over diffusion grows with the
   hole. With ``blend=False`` the single best candidate wins instead, ``default`` (first
   candidate unless named) keeping the choice unless another beats it by more than
   ``switch_db``. Without any probe (no room), :class:`Choice` names ``default`` with
   ``reason`` saying why.

The defaults (:class:`ProbeSettings`) were chosen on the "tune" split: 128 px crops of the
"tune" photos of :mod:`context_encoder.data.photos` and validation facades 1000-1059 (never
those ``evaluate`` reports on), thick and center holes, candidates Telea, NS, biharmonic,
PatchMatch and the shipped model for the hole kind (``python bench/auto_rule.py collect``
then ``fit``). Gaps to the best single candidate of each set (facades: the model; photos: a
classical method), for ``model_bonus_db = 3``, ``ridge = 0.1``: facades center -0.12 dB,
facades thick +0.17, photos center +0.04, photos thick +0.35; the earlier winner rule (Telea
unless another wins the probes by 1 dB) scored -1.35, -0.56, +0.40 and -0.17. Without the
model bonus the facades fell behind the model by over 1 dB (small probes undersell it); a
larger bonus cost the photos more than it gave the facades. Figures on the report split
are in the README.

A candidate is a ``fill_fn(rgb01, mask) -> rgb01``: float32 ``HxWx3`` in [0, 1] and a boolean
``HxW`` mask (possibly several disjoint holes) in, the image with the mask's pixels filled
out. :func:`classical_candidates` and :func:`inpainter_filler` build them from
:mod:`context_encoder.baselines` and from an inpainter; the classical ones fill a hole of
over :data:`COARSE_MIN_HOLE` pixels with Telea or Navier-Stokes :func:`coarse_to_fine`
(the real hole of a large photo: probes are never that large).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence

import cv2
import numpy as np
from scipy.optimize import nnls

from ..baselines import available_baselines, get_baseline
from ..metrics import psnr_from_mse
from ..pixels import check_rgb01, to_uint8
from .placement import mosaic, place_probes, probe_scale
from .settings import Choice, ProbeSettings

__all__ = [
    "BIHARMONIC_MAX_HOLE",
    "CLASSICAL_CANDIDATES",
    "COARSE_BAND",
    "COARSE_METHODS",
    "COARSE_MIN_HOLE",
    "PATCHMATCH_MAX_PIXELS",
    "Choice",
    "FillFn",
    "ProbeSettings",
    "auto_fill",
    "baseline_filler",
    "blend_weights",
    "choose_filler",
    "classical_candidates",
    "coarse_to_fine",
    "fill_with",
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

#: :func:`coarse_to_fine`: holes of more pixels are filled mostly at a coarser scale (a
#: 256 x 256 square's worth: the probes, at most ``count`` x ``ProbeSettings.pixels``
#: pixels, never are), and the band of the hole filled at full size, in px.
COARSE_MIN_HOLE = 65_536
COARSE_BAND = 8
#: The methods :func:`baseline_filler` runs :func:`coarse_to_fine` (diffusion fills).
COARSE_METHODS: tuple[str, ...] = ("telea", "ns")

_PREFILL_RADIUS = 3  # Telea radius of the quick fill of unknown pixels inside tiles


# ---------------------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------------------
def coarse_to_fine(method: Callable[[np.ndarray, np.ndarray], np.ndarray], u8: np.ndarray,
                   hole: np.ndarray) -> np.ndarray:
    """``method(u8, hole)`` for a hole of over :data:`COARSE_MIN_HOLE` pixels, run where it
    is cheap: on the photo halved (area averaging) until the hole has at most that many
    pixels, scaled back up (bilinear) into the hole's interior, and at full size only on
    the hole's outer :data:`COARSE_BAND` px, with that interior as context. A diffusion
    fill (Telea, Navier-Stokes) is smooth deep inside a large hole, so the interior loses
    little detail, and the cost falls with the hole. Measured on five scikit-image photos
    at 1024 x 1024 (retina, hubble_deep_field, astronaut, coffee, gravel), each with three
    thick holes of 41-47% (15 fills; ``python bench/coarse_fill.py``, 2-core CPU): Telea
    0.20-0.40 s instead of 1.16-1.79 s, Navier-Stokes 0.18-0.35 s instead of 1.13-1.57 s,
    and PSNR over the hole 16.65 dB against 15.82 (Telea) and 16.61 against 16.23 (NS),
    better in 12 of 15 for each (Telea -0.69 to +2.00 dB, NS -0.42 to +0.99). Smaller
    holes get ``method`` itself."""
    hole = np.asarray(hole) != 0
    if hole.shape != u8.shape[:2]:
        raise ValueError(f"hole shape {hole.shape} does not match the image's {u8.shape[:2]}")
    n = int(np.count_nonzero(hole))
    f = 1
    while n > COARSE_MIN_HOLE * f * f:
        f *= 2
    if f == 1:
        return method(u8, hole)
    h, w = hole.shape
    size = (-(-w // f), -(-h // f))
    small_hole = _shrink_mask(hole, size)
    if small_hole.all():  # context only in lines thinner than the scale: none left there
        return method(u8, hole)
    low = method(cv2.resize(u8, size, interpolation=cv2.INTER_AREA), small_hole)
    up = cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR).reshape(u8.shape)
    side = 2 * COARSE_BAND + 1
    core = cv2.erode(hole.astype(np.uint8), np.ones((side, side), np.uint8)) > 0
    context = u8.copy()
    context[core] = up[core]
    return method(context, hole & ~core)


def baseline_filler(name: str) -> FillFn:
    """A candidate from a classical method of :mod:`context_encoder.baselines`; Telea and
    Navier-Stokes go :func:`coarse_to_fine` on holes of over :data:`COARSE_MIN_HOLE` pixels."""
    method = get_baseline(name)

    def fill(rgb01: np.ndarray, mask: np.ndarray) -> np.ndarray:
        u8 = to_uint8(rgb01)
        out = coarse_to_fine(method, u8, mask) if name in COARSE_METHODS else method(u8, mask)
        return out.astype(np.float32) / np.float32(255.0)

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
    hole = check_rgb01(rgb01, hole)
    if not hole.any():
        raise ValueError("the hole is empty: there is nothing to choose a method for")
    return hole


def _shrink_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A mask resized to ``size`` (W, H): any overlap with the mask stays in the mask."""
    return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0


# ---------------------------------------------------------------------------------------
# Probing
# ---------------------------------------------------------------------------------------
def _prefill(img: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Unknown pixels filled by a quick Telea pass (context for the probes' fills)."""
    u8 = to_uint8(img)
    out = cv2.inpaint(u8, unknown.astype(np.uint8), _PREFILL_RADIUS, cv2.INPAINT_TELEA)
    res = img.copy()
    res[unknown] = out[unknown].astype(np.float32) / 255.0
    return res




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
        if not np.isfinite(diff).all():
            raise ValueError(f"candidate {name!r} returned NaN or inf in the probe holes")
        errors.append(diff.ravel())
        err = np.square(diff).mean(axis=1)
        scores[name] = psnr_from_mse(float(err.mean()))
        per_tile[name] = [psnr_from_mse(v) for v in np.bincount(owner, err, tiles) / np.maximum(count, 1)]
    e = np.stack(errors)
    return scores, per_tile, seconds, (e @ e.T) / e.shape[1]


def _winner(scores: Mapping[str, float], default: str, switch_db: float) -> str:
    best = max(scores, key=lambda k: scores[k])  # the first of equals: candidate order
    return best if scores[best] > scores[default] + switch_db else default


def blend_weights(gram: np.ndarray, names: Sequence[str], *, favour: Mapping[str, float]
                  | None = None, ridge: float = 0.0, min_weight: float = 0.05
                  ) -> dict[str, float]:
    """The mix of candidates whose probe error is least: weights ``w >= 0`` summing to 1
    minimising ``w @ gram @ w`` (the mean squared error of ``sum_k w_k fill_k`` over the
    probes; :func:`_score`), by non-negative least squares on a Cholesky factor.

    ``favour``: dB by which a candidate's errors count lower (its row and column of
    ``gram`` scaled by ``10 ** (-dB / 20)``). ``ridge``: adds ``ridge`` times the mean
    error to each candidate's own error, which spreads the weights (a hedge against probes
    that favour one candidate by chance). Weights under ``min_weight`` are dropped and
    the rest scaled back to a sum of 1. Returned heaviest first (candidate order among
    equals). Mixing fills whose errors differ lowers the error below each one's (the
    probes tell how much); one candidate far ahead takes all the weight.
    """
    g = np.array(gram, dtype=np.float64)
    k = len(names)
    if g.shape != (k, k):
        raise ValueError(f"gram must be {k}x{k} for {k} candidates, got {g.shape}")
    if not np.isfinite(g).all():
        raise ValueError("gram has non-finite entries: a candidate's errors are NaN or inf")
    for i, name in enumerate(names):
        if favour and favour.get(name):
            f = 10.0 ** (-favour[name] / 20.0)
            g[i, :] *= f
            g[:, i] *= f
    mean_error = max(float(np.trace(g)) / k, 1e-12)
    g += ridge * mean_error * np.eye(k)
    jitter = 1e-9 * mean_error
    factor = np.linalg.cholesky(g + jitter * np.eye(k))
    scale = 1e3 * math.sqrt(max(float(np.max(np.diag(g))), 1e-12))  # the sum-to-one row
    a = np.vstack([factor.T, np.full((1, k), scale)])
    w, _ = nnls(a, np.r_[np.zeros(k), scale])
    w = np.where((w >= min_weight * w.sum()) | (w == w.max()), w, 0.0)  # the heaviest stays
    w /= w.sum()
    order = sorted((i for i in range(k) if w[i] > 0), key=lambda i: -w[i])
    return {names[i]: float(w[i]) for i in order}


def _label(weights: Mapping[str, float]) -> str:
    return "+".join(weights)


def choose_filler(rgb01: np.ndarray, hole: np.ndarray, candidates: Mapping[str, FillFn],
                  rng: np.random.Generator, *, unknown: np.ndarray | None = None,
                  default: str | None = None, probes: ProbeSettings | None = None,
                  models: Collection[str] = ()) -> Choice:
    """Pick the candidate that best fills probe holes like ``hole`` on this photo.

    ``rgb01``: float ``HxWx3`` in [0, 1]; ``hole``: ``HxW`` bool; ``candidates``: name ->
    :data:`FillFn`; ``rng`` places the probes (same rng state, same choice). ``unknown``:
    every pixel without truth, when the image has holes besides ``hole``. ``default``: the
    answer when no probe fits, and (without ``probes.blend``) the incumbent for
    ``probes.switch_db`` (default: the first candidate). ``models``: the candidates that are
    learned models (favoured by ``probes.model_bonus_db`` when probes had to be smaller
    than the hole). See the module docstring for the procedure.
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
    scale = probe_scale(hole, s)
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
    tiles, mask = mosaic(_prefill(img, unknown), placed, s.margin, s.tile)
    scores, per_probe, seconds, gram = _score(candidates, tiles, mask, len(placed))
    if s.blend:
        bonus = s.model_bonus_db * math.log2(1.0 / size)  # 0 for probes of the hole's size
        weights = blend_weights(gram, list(candidates), favour=dict.fromkeys(models, bonus),
                                ridge=s.ridge, min_weight=s.min_weight)
    else:
        weights = {_winner(scores, default, s.switch_db): 1.0}
    method = _label(weights)
    logger.info("%d probes (size %.2f, scale %.2f): %s -> %s", len(placed), size, scale,
                {k: round(v, 2) for k, v in scores.items()},
                {k: round(v, 2) for k, v in weights.items()})
    return Choice(method, scores, seconds, len(placed), size, scale, per_probe=per_probe,
                  gram=gram.tolist(), weights=weights)


def fill_with(choice: Choice, candidates: Mapping[str, FillFn], rgb01: np.ndarray,
              hole: np.ndarray) -> np.ndarray:
    """``rgb01`` with ``hole`` filled as ``choice`` says: each candidate of its weights run
    once, their fills mixed by weight (float32)."""
    hole = np.asarray(hole) != 0
    out = np.zeros(rgb01.shape, np.float64)
    for name, w in choice.weights.items():
        out += w * np.asarray(candidates[name](rgb01, hole), np.float64)
    return out.astype(np.float32)


def auto_fill(rgb01: np.ndarray, hole: np.ndarray, candidates: Mapping[str, FillFn],
              rng: np.random.Generator, **kwargs: object) -> tuple[np.ndarray, Choice]:
    """Fill ``hole`` with the candidate :func:`choose_filler` picks; ``(filled, choice)``."""
    choice = choose_filler(rgb01, hole, candidates, rng, **kwargs)  # type: ignore[arg-type]
    return fill_with(choice, candidates, rgb01, hole), choice
