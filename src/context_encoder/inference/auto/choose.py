"""Choosing a fill for one hole by probing (:func:`choose_filler`, the procedure of
:mod:`context_encoder.inference.auto`) and the blend of candidates the probes favour
(:func:`blend_weights`)."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Collection, Mapping, Sequence

import cv2
import numpy as np
from scipy.optimize import nnls

from ...metrics import GRADIENT_FLOOR, neighbour_differences, psnr_from_mse
from ...pixels import check_rgb01, to_uint8
from .candidates import FillFn
from .probes import mosaic, place_probes, probe_scale, shrink_mask
from .settings import Choice, ProbeSettings

__all__ = ["DETAIL_SUFFIX", "blend_weights", "choose_filler", "detail_key", "detail_options",
           "detail_products", "high_pass", "label", "option_detail", "option_psnr",
           "spend_on_detail"]

logger = logging.getLogger(__name__)

_PREFILL_RADIUS = 3  # Telea radius of the quick fill of unknown pixels inside tiles

#: A candidate's detail (the high frequencies of its fill, :func:`high_pass`) is named after
#: it with this suffix among a choice's weights: ``{"ns": 0.6, "telea": 0.4,
#: "patchmatch detail": 0.5}`` adds half of PatchMatch's detail to the blend of the others.
DETAIL_SUFFIX = " detail"


def detail_key(name: str) -> str:
    """The weight's name of candidate ``name``'s detail (:data:`DETAIL_SUFFIX`)."""
    return name + DETAIL_SUFFIX


def high_pass(fill: np.ndarray, sigma: float) -> np.ndarray:
    """The detail of a fill: the fill minus its Gaussian blur of ``sigma`` px."""
    fill = np.asarray(fill, np.float32)
    return fill - cv2.GaussianBlur(fill, (0, 0), sigma)


def _check_image_and_hole(rgb01: np.ndarray, hole: np.ndarray) -> np.ndarray:
    hole = check_rgb01(rgb01, hole)
    if not hole.any():
        raise ValueError("the hole is empty: there is nothing to choose a method for")
    return hole


def _prefill(img: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Unknown pixels filled by a quick Telea pass (context for the probes' fills)."""
    u8 = to_uint8(img)
    out = cv2.inpaint(u8, unknown.astype(np.uint8), _PREFILL_RADIUS, cv2.INPAINT_TELEA)
    res = img.copy()
    res[unknown] = out[unknown].astype(np.float32) / 255.0
    return res




def detail_products(fills: Sequence[np.ndarray], truth: np.ndarray, mask: np.ndarray
                    ) -> tuple[np.ndarray, float]:
    """``(dgram, truth_energy)``: the fills' neighbour-difference products (``dgram[j, k]``
    the mean of ``d_j * d_k``, so a blend ``w`` has gradient energy ``w @ dgram @ w``) and
    the truth's gradient energy, inside ``mask``
    (:func:`~context_encoder.metrics.neighbour_differences`). Averaged per value (pair and
    channel), where the ``detail`` metric averages per pair: with the same
    ``GRADIENT_FLOOR``, the probes count a region as flat below three times the metric's
    level (where the detail metric sees a region as flat, the probes see it a little earlier)."""
    d = np.stack([neighbour_differences(np.asarray(f, np.float64), mask) for f in fills])
    t = neighbour_differences(np.asarray(truth, np.float64), mask)
    n = max(t.size, 1)
    return (d @ d.T) / n, float(t @ t) / n


def _score(candidates: Mapping[str, FillFn], mosaic: np.ndarray, mask: np.ndarray, tiles: int,
           sigma: float) -> tuple[dict[str, float], dict[str, list[float]], dict[str, float],
                                  np.ndarray, tuple[np.ndarray, float]]:
    """Per candidate: PSNR over all probe pixels, PSNR per tile, seconds; the error products
    of the candidates and then of their detail (``gram[j, k]``: the mean of ``v_j * v_k``
    over the probe pixels and channels, ``v`` a candidate's error or, for the second half,
    its fill's :func:`high_pass`), from which the error of any blend plus any detail
    follows; and the same vectors' detail products (:func:`detail_products`)."""
    truth = mosaic[mask].astype(np.float64)
    owner = np.nonzero(mask)[1] // (mask.shape[1] // tiles)  # tile of each probe pixel
    count = np.bincount(owner, minlength=tiles)
    scores, per_tile, seconds, errors, outs = {}, {}, {}, [], []
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
        outs.append(out)
        err = np.square(diff).mean(axis=1)
        scores[name] = psnr_from_mse(float(err.mean()))
        per_tile[name] = [psnr_from_mse(v) for v in np.bincount(owner, err, tiles) / np.maximum(count, 1)]
    details = [high_pass(o, sigma) for o in outs]
    e = np.stack(errors + [d[mask].astype(np.float64).ravel() for d in details])
    return scores, per_tile, seconds, (e @ e.T) / e.shape[1], detail_products(outs + details,
                                                                               mosaic, mask)


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


def _vector(option: Mapping[str, float], names: Sequence[str]) -> np.ndarray:
    return np.array([option.get(n, 0.0) for n in names])


def option_psnr(gram: np.ndarray, names: Sequence[str], options: Sequence[Mapping[str, float]],
                *, favour: Mapping[str, float] | None = None) -> list[float]:
    """Each option's PSNR on the probes (an option: weights per name of ``names``, the
    rows of ``gram``), favoured candidates' errors counted ``favour`` dB lower as in
    :func:`blend_weights`."""
    f = np.array([10.0 ** (-(favour or {}).get(n, 0.0) / 20.0) for n in names])
    g = np.asarray(gram) * np.outer(f, f)
    return [psnr_from_mse(float(w @ g @ w)) for w in (_vector(o, names) for o in options)]


def option_detail(dgram: np.ndarray, truth_energy: float, names: Sequence[str],
                  option: Mapping[str, float]) -> float:
    """An option's detail on the probes: its gradient energy over the truth's, with
    :data:`~context_encoder.metrics.GRADIENT_FLOOR` on both sides as in the metric."""
    w = _vector(option, names)
    return (float(w @ dgram @ w) + GRADIENT_FLOOR) / (truth_energy + GRADIENT_FLOOR)


def detail_options(blend: Mapping[str, float], names: Sequence[str],
                   steps: Sequence[float]) -> list[dict[str, float]]:
    """The blend, then the blend with each candidate's detail added at each of ``steps``:
    the fills :func:`spend_on_detail` chooses from."""
    return [dict(blend)] + [{**blend, detail_key(n): a} for n in names for a in steps]


def spend_on_detail(gram: np.ndarray, dgram: np.ndarray, truth_energy: float,
                    names: Sequence[str], blend: Mapping[str, float], *,
                    budget_db: float, floor_db: float, steps: Sequence[float],
                    favour: Mapping[str, float] | None = None) -> dict[str, float]:
    """The blend with the detail of one candidate added (its fill's :func:`high_pass`, at
    one of ``steps``), the most detailed of :func:`detail_options` (up to the truth's
    detail: more is noise) whose probe PSNR loses at most ``budget_db`` against the blend's
    and stays ``floor_db`` above the best single candidate's; the blend where none does. Of
    options equally detailed (to 0.01) the closer wins. The defaults auto uses are those of
    :class:`ProbeSettings` (``detail_budget_db``, ``detail_steps``; ``floor_db`` from
    :meth:`ProbeSettings.detail_floor_at`, which rises as the probes shrink).

    ``gram`` and ``dgram``: the probes' error and detail products over the candidates
    ``names`` and then their detail (:func:`_score`). High frequencies cost the blend
    little of its closeness (they are a small part of its error), where mixing in a
    detailed fill whole brings that fill's larger errors of shape and colour too."""
    ext = [*names, *(detail_key(n) for n in names)]
    options = detail_options(blend, names, steps)
    psnr = option_psnr(gram, ext, options, favour=favour)
    single = option_psnr(gram, ext, [{n: 1.0} for n in names], favour=favour)
    need = max(psnr[0] - budget_db, max(single) + floor_db)
    detail = [min(option_detail(dgram, truth_energy, ext, o), 1.0) for o in options]
    best = max((i for i in range(len(options)) if i == 0 or psnr[i] >= need),
               key=lambda i: (round(detail[i], 2), psnr[i]))
    return options[best]


def label(weights: Mapping[str, float]) -> str:
    """The method line of a choice: the mix's methods joined by ``+``, heaviest first, then
    ``" with NAME detail"`` where a candidate's detail is added (``"ns+telea with
    patchmatch detail"``)."""
    mix = "+".join(k for k in weights if not k.endswith(DETAIL_SUFFIX))
    added = [k for k in weights if k.endswith(DETAIL_SUFFIX)]
    return " with ".join([mix, *added])


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
        hole, unknown = shrink_mask(hole, dsize), shrink_mask(unknown, dsize)
    placed, sizes = place_probes(hole, rng, unknown=unknown, settings=s)
    if not placed:
        logger.info("no room for a probe around the hole; using %r", default)
        return Choice(default, scale=scale, size=0.0, reason="no room for a probe")
    size = float(np.mean(sizes))
    tiles, mask = mosaic(_prefill(img, unknown), placed, s.margin, s.tile)
    scores, per_probe, seconds, gram, (dgram, denergy) = _score(candidates, tiles, mask,
                                                                len(placed), s.detail_sigma)
    names = list(candidates)
    if s.blend:
        bonus = s.model_bonus_db * math.log2(1.0 / size)  # 0 for probes of the hole's size
        favour = dict.fromkeys(models, bonus)
        k = len(names)
        weights = blend_weights(gram[:k, :k], names, favour=favour, ridge=s.ridge,
                                min_weight=s.min_weight)
        if s.detail_budget_db > 0:
            weights = spend_on_detail(gram, dgram, denergy, names, weights, favour=favour,
                                      budget_db=s.detail_budget_db,
                                      floor_db=s.detail_floor_at(size), steps=s.detail_steps)
    else:
        weights = {_winner(scores, default, s.switch_db): 1.0}
    method = label(weights)
    logger.info("%d probes (size %.2f, scale %.2f): %s -> %s", len(placed), size, scale,
                {k: round(v, 2) for k, v in scores.items()},
                {k: round(v, 2) for k, v in weights.items()})
    return Choice(method, scores, seconds, len(placed), size, scale, per_probe=per_probe,
                  gram=gram.tolist(), weights=weights, detail_gram=dgram.tolist(),
                  detail_truth=denergy)
