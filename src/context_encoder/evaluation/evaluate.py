"""Evaluation the paper's way, side by side with the classical methods.

Pixels in [0, 1]; mean L1, mean L2 and PSNR over the hole, PSNR over the whole image and
SSIM; for arbitrary masks the same per hole-area bin (0-10%, 10-20%, ...). The images and
masks are deterministic: the same arguments score the same holes on every run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..baselines import InpaintFn, available_baselines, get_baseline
from ..checkpoint import model_name
from ..config import MEAN_RGB, center_span
from ..errors import UsageError
from ..inference import AUTO_METHODS, Filled, InpainterBase, load_inpainter
from ..inference.adapt import check_steps
from ..inference.auto.choose import DETAIL_SUFFIX
from ..masks import EVAL_MASK_KINDS, get_mask_generator
from ..metrics import AREA_BINS, area_bin, hole_metrics, sliced_wasserstein
from ..runtime import check_fits

__all__ = ["EVAL_MASKS", "EVAL_SETS", "METRIC_KEYS", "EvalResult", "check_eval_size",
           "default_model_for", "evaluate", "load_eval_images", "make_eval_masks"]

logger = logging.getLogger(__name__)

#: The mask kinds ``evaluate --mask`` accepts (from the mask registry).
EVAL_MASKS = EVAL_MASK_KINDS
#: Metrics averaged over all images, per method.
METRIC_KEYS = ("l1", "l2", "psnr", "psnr_full", "ssim", "detail")
#: Metrics averaged per hole-area bin.
BIN_METRIC_KEYS = ("l1", "l2", "psnr")
#: Images given to a model per call (bounds the memory of a large evaluation).
MODEL_BATCH = 50
#: Bytes held per image pixel while evaluating (images, masks, a method's fills, temporaries).
BYTES_PER_PIXEL = 24

#: The shipped models: one trained on the paper's center hole, one on free-form holes.
CENTER_MODEL = "facades-center-128"
FREEFORM_MODEL = "facades-freeform-128"


def default_model_for(mask: str) -> str:
    """The shipped model suited to a mask kind."""
    return CENTER_MODEL if mask == "center" else FREEFORM_MODEL


# -- images and masks --------------------------------------------------------------------

def _facade_images(count: int, size: int) -> list[np.ndarray]:
    """The facades validation split, indices 0..count-1 (never seen in training)."""
    from ..data import render_facade

    return [render_facade("val", i, size) for i in range(count)]


def _photos(split: str, textures: bool | None = None) -> Callable[[int, int], list[np.ndarray]]:
    """Crops of scikit-image's bundled photographs (:mod:`context_encoder.data.photos`)."""
    def images(count: int, size: int) -> list[np.ndarray]:
        from ..data.photos import photo_images

        return photo_images(split, size, count, textures=textures)

    return images


#: Named evaluation sets: ``name -> fn(count, size)`` returning HxWx3 uint8 images. Any
#: other ``data`` is read as a folder of images. ``photos``: the "report" photos (figures);
#: ``photos-tune``: the "tune" photos (defaults were chosen on these); ``textures``: the
#: report split's whole-frame textures (brick, grass).
EVAL_SETS: dict[str, Callable[[int, int], list[np.ndarray]]] = {
    "facades": _facade_images,
    "photos": _photos("report"),
    "photos-tune": _photos("tune"),
    "textures": _photos("report", textures=True),
}


def _folder_images(folder: str, count: int, size: int,
                   skipped: list[str] | None = None) -> list[np.ndarray]:
    """Up to ``count`` readable images of a folder, in name order: shorter side to ``size``,
    center crop. An unreadable file is left out (never replaced by another image), warned
    about and its path appended to ``skipped``."""
    from ..data import center_square, find_images, read_image_rgb

    images = []
    for path in find_images(folder):
        if len(images) == count:
            break
        try:
            images.append(center_square(read_image_rgb(path), size))
        except ValueError as e:
            logger.warning("skipping %s", e)
            if skipped is not None:
                skipped.append(str(path))
    if len(images) < count:
        logger.warning("%s has %d readable images, fewer than --count %d", folder,
                       len(images), count)
    return images


def load_eval_images(data: str, count: int, size: int,
                     skipped: list[str] | None = None) -> list[np.ndarray]:
    """Up to ``count`` evaluation images, HxWx3 uint8 at ``size`` x ``size``: a named set of
    :data:`EVAL_SETS` (``facades``: the validation split) or a folder's readable images (the
    paths of unreadable ones are appended to ``skipped``)."""
    if data in EVAL_SETS:
        return EVAL_SETS[data](count, size)
    return _folder_images(data, count, size, skipped)


def make_eval_masks(kind: str, count: int, size: int, seed: int = 0) -> list[np.ndarray]:
    """Deterministic masks: ``center`` is the predicted square of a center model of this
    size (64x64 at 128 px, 25% of the image); the others are drawn from ``(seed, index)``."""
    if kind not in EVAL_MASKS:
        raise UsageError(f"unknown mask {kind!r}; choose from {', '.join(EVAL_MASKS)}")
    if kind == "center":
        m = np.zeros((size, size), dtype=bool)
        a, b = center_span(size)
        m[a:b, a:b] = True
        return [m] * count
    gen = get_mask_generator(kind)
    return [gen((size, size), np.random.default_rng([seed, 1009, i])) for i in range(count)]


# -- scoring -----------------------------------------------------------------------------

@dataclass
class EvalResult:
    """The scores of one evaluation.

    ``methods``: name -> mean metrics (:data:`METRIC_KEYS`), ``seconds_per_image`` and
    ``bins`` (hole-area bin -> metrics and count); ``bins``: images per hole-area bin;
    ``examples``: column name -> the first images (``input``, each method, ``ground truth``).
    """

    count: int  # images scored
    mask: str
    skipped: list[str] = field(default_factory=list)  # unreadable files left out
    methods: dict[str, dict[str, Any]] = field(default_factory=dict)
    bins: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "skipped": self.skipped, "mask": self.mask,
                "methods": self.methods, "bins": self.bins}


def _mean(rows: Sequence[dict[str, float]], keys: Sequence[str]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in keys}


def _score(outputs: list[np.ndarray], images: list[np.ndarray], masks: list[np.ndarray],
           bins: list[str], seconds: float) -> dict[str, Any]:
    """Mean metrics of ``outputs`` over all images and per hole-area bin."""
    per = [hole_metrics(o, t, m) for o, t, m in zip(outputs, images, masks, strict=True)]
    entry: dict[str, Any] = _mean(per, METRIC_KEYS)
    entry["swd"] = sliced_wasserstein(outputs, images, masks)["swd"]
    entry["seconds_per_image"] = seconds / len(images)
    by_bin: dict[str, dict[str, float]] = {}
    for b in AREA_BINS:
        sel = [p for p, bb in zip(per, bins, strict=True) if bb == b]
        if sel:
            by_bin[b] = {**_mean(sel, BIN_METRIC_KEYS), "count": len(sel)}
    entry["bins"] = by_bin
    return entry


def _fill_with_model(inpainter: InpainterBase, images: list[np.ndarray],
                     masks: list[np.ndarray]) -> tuple[list[Filled], float]:
    """An inpainter's fills, in batches of :data:`MODEL_BATCH`, and their time (after a
    warm-up)."""
    inpainter(images[:2], masks[:2])  # warm-up: the first call pays for allocations
    t0 = time.perf_counter()
    filled: list[Filled] = []
    for i in range(0, len(images), MODEL_BATCH):
        filled += inpainter.fill_many(images[i : i + MODEL_BATCH], masks[i : i + MODEL_BATCH])
    return filled, time.perf_counter() - t0


def _chosen(filled: list[Filled]) -> dict[str, dict[str, float]]:
    """For auto: the holes each method or blend filled (``chosen``, most first), each
    method's share of the filled pixels (``shares``), and for each method whose detail was
    added, the share of the filled pixels that got it (``detail_added``)."""
    chosen: dict[str, float] = {}
    shares: dict[str, float] = {}
    detail: dict[str, float] = {}
    for c in (c for f in filled for c in f.choices):
        chosen[c.method] = chosen.get(c.method, 0) + c.holes
        for m, w in c.weights.items():
            if m.endswith(DETAIL_SUFFIX):
                m = m.removesuffix(DETAIL_SUFFIX)
                detail[m] = detail.get(m, 0.0) + c.pixels
            else:
                shares[m] = shares.get(m, 0.0) + w * c.pixels
    total = sum(shares.values()) or 1.0

    def share(d: dict[str, float]) -> dict[str, float]:
        return {m: round(v / total, 4) for m, v in sorted(d.items(), key=lambda kv: -kv[1])}

    return {"chosen": dict(sorted(chosen.items(), key=lambda kv: -kv[1])),
            "shares": share(shares), "detail_added": share(detail)}


def _fill_with_baseline(fn: InpaintFn, images: list[np.ndarray], masks: list[np.ndarray]
                        ) -> tuple[list[np.ndarray], float]:
    t0 = time.perf_counter()
    outs = [fn(im, m) for im, m in zip(images, masks, strict=True)]
    return outs, time.perf_counter() - t0


def _column(model: str, adapt: int) -> str:
    return model_name(model) + (f"+adapt{adapt}" if adapt else "")


def check_eval_size(count: int, size: int,
                    fix: str = "lower the count (--count) or the size (--size)") -> None:
    """``UsageError`` for a count below 1, or one whose images, masks and a method's fills
    (held at once, with their temporaries) would not fit in this machine's memory."""
    if count < 1:
        raise UsageError(f"count must be >= 1, got {count}")
    check_fits(count * size * size * BYTES_PER_PIXEL, f"count {count} (images of {size} px)",
               fix)


def evaluate(
    *,
    models: Sequence[str] = (),
    methods: Sequence[str] | None = None,
    data: str = "facades",
    mask: str = "center",
    count: int = 100,
    seed: int = 0,
    size: int = 128,
    device: str = "auto",
    keep_examples: int = 6,
    adapt: int = 0,
) -> EvalResult:
    """Fill ``count`` images with each model and method and score the holes.

    ``models``: shipped names or paths of models (each becomes a method named after it), or
    ``auto`` (:class:`~context_encoder.inference.AutoInpainter` over the other models, or
    over the shipped model for ``mask`` when none is named); ``methods``: baseline names
    (default: every baseline that can run here). ``adapt``: steps of test-time adaptation
    for every model and for auto (columns ``NAME+adaptN``). Unknown names, models and masks
    fail before any image is filled.
    """
    check_eval_size(count, size)
    check_steps(adapt, "adapt")
    names = list(available_baselines()) if methods is None else list(methods)
    baselines = {name: get_baseline(name) for name in names}
    plain = [m for m in models if m not in AUTO_METHODS] or [default_model_for(mask)]
    inpainters = {_column(m, adapt): load_inpainter(m, models=plain, adapt_steps=adapt,
                                                    device=device) for m in models}
    skipped: list[str] = []
    images = load_eval_images(data, count, size, skipped)
    masks = make_eval_masks(mask, len(images), size, seed)
    res = EvalResult(count=len(images), mask=mask, skipped=skipped)
    bins = [area_bin(float(m.mean())) for m in masks]
    res.bins = {b: bins.count(b) for b in AREA_BINS if b in bins}
    shown = list(zip(images[:keep_examples], masks[:keep_examples], strict=True))
    res.examples["input"] = [np.where(m[..., None], np.array(MEAN_RGB, np.uint8), im)
                             for im, m in shown]
    res.examples["ground truth"] = images[:keep_examples]
    for name, inp in inpainters.items():  # models first, then baselines: the grid's order
        filled, seconds = _fill_with_model(inp, images, masks)
        outs = [f.image for f in filled]
        entry = _score(outs, images, masks, bins, seconds)
        if any(f.chosen for f in filled):  # auto: holes filled by each method or blend; each method's share
            entry.update(_chosen(filled))
        _add(res, name, entry, outs, keep_examples)
    for name, fn in baselines.items():
        outs, seconds = _fill_with_baseline(fn, images, masks)
        _add(res, name, _score(outs, images, masks, bins, seconds), outs, keep_examples)
    return res


def _add(res: EvalResult, name: str, entry: dict[str, Any], outs: list[np.ndarray],
         keep_examples: int) -> None:
    res.methods[name] = entry
    res.examples[name] = outs[:keep_examples]
    logger.info("%s: %s", name, {k: round(entry[k], 4) for k in METRIC_KEYS})
