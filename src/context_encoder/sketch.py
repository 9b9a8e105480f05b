"""Training sketches for user-guided inpainting (DeepFill v2, Yu et al., "Free-Form Image
Inpainting with Gated Convolution", ICCV 2019).

DeepFill v2 trained its sketch-guided model on edges of the ground truth inside the hole
(from a learned edge detector, HED, binarised at 0.6); at test time the user draws inside
the hole. Here the edges are OpenCV's Canny on a lightly blurred grayscale, which needs no
weights and on the rendered facades finds the same structure a person would draw (window
and door outlines, cornices, floor lines) (a sketch takes about 0.5 ms at 128 px). A user draws a few of
the lines, not all, and sometimes none, so a training sketch is made partial:

  1. with probability ``p_empty`` the sketch is empty (the model must still inpaint well
     without one);
  2. otherwise the Canny edges inside the hole are split into strokes (8-connected
     components); strokes shorter than ``min_stroke`` pixels are Canny's specks, never
     drawn by a person, and are removed; each other stroke is kept with probability
     ``keep`` (a number, or a ``(low, high)`` range from which each sketch draws its own,
     so some sketches hold one or two strokes and others nearly all);
  3. the kept strokes are thinned out: each stroke pixel starts a gap with probability
     ``cut`` and a ``GAP`` x ``GAP`` square around it is erased, so lines come broken and
     shortened as hand-drawn ones do.

Everything random comes from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .pixels import to_uint8

__all__ = [
    "BLUR_SIGMA",
    "CANNY_HIGH",
    "CANNY_LOW",
    "CUT",
    "GAP",
    "KEEP",
    "MIN_STROKE",
    "P_EMPTY",
    "edge_map",
    "sketch_batch",
    "sketch_from_image",
]

#: Gaussian blur of the grayscale before Canny, in pixels at the model's 128 px: removes
#: the facades' wall grain and brick texture but not the outlines.
BLUR_SIGMA = 1.0
#: Canny hysteresis thresholds on the L2 gradient magnitude of the 0..255 grayscale (3x3
#: Sobel). Chosen by eye on rendered facades: 50/150 keeps brick joints, 80/200 keeps the
#: outlines of windows, doors, balconies and cornices and drops texture.
CANNY_LOW, CANNY_HIGH = 80, 200
#: Probability of an empty sketch.
P_EMPTY = 0.2
#: Range of the per-sketch probability of keeping a stroke.
KEEP: tuple[float, float] = (0.1, 1.0)
#: Probability that a stroke pixel starts a gap, and the side of the gap in pixels.
CUT, GAP = 0.02, 3
#: Strokes with fewer pixels are Canny's specks, never drawn.
MIN_STROKE = 5


def _gray_u8(image: np.ndarray) -> np.ndarray:
    """(H, W) uint8 from an RGB (H, W, 3) or gray (H, W) image, uint8 or float in [0, 1]."""
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"the image must be (H, W, 3) RGB or (H, W) gray, got shape {image.shape}")
    if image.dtype == np.uint8:
        u8 = image
    elif np.issubdtype(image.dtype, np.floating):
        if image.size and (np.nanmin(image) < 0.0 or np.nanmax(image) > 1.0 or
                           np.isnan(image).any()):
            raise ValueError("a float image must hold values in [0, 1] (map a [-1, 1] tensor "
                             "with (x + 1) / 2)")
        u8 = to_uint8(image)
    else:
        raise ValueError(f"the image must be uint8 or float, got {image.dtype}")
    return cv2.cvtColor(u8, cv2.COLOR_RGB2GRAY) if u8.ndim == 3 else np.ascontiguousarray(u8)


def edge_map(image: np.ndarray) -> np.ndarray:
    """Canny edges of the whole image, (H, W) bool (see ``BLUR_SIGMA``, ``CANNY_LOW/HIGH``)."""
    gray = cv2.GaussianBlur(_gray_u8(image), (0, 0), BLUR_SIGMA)
    return cv2.Canny(gray, CANNY_LOW, CANNY_HIGH, L2gradient=True) > 0


def _keep_range(keep: float | tuple[float, float]) -> tuple[float, float]:
    low, high = (keep, keep) if np.isscalar(keep) else keep  # type: ignore[misc]
    if not 0.0 <= low <= high <= 1.0:
        raise ValueError(f"keep must be a probability or a (low, high) range in [0, 1], got {keep!r}")
    return float(low), float(high)


def _drop_strokes(edges: np.ndarray, rng: np.random.Generator, keep: float,
                  min_stroke: int) -> np.ndarray:
    """Keep each 8-connected stroke of ``edges`` with probability ``keep``."""
    n, labels = cv2.connectedComponents(edges.astype(np.uint8), connectivity=8)
    sizes = np.bincount(labels.ravel(), minlength=n)  # (n,) pixels per stroke (5x faster
    kept = (rng.random(n) < keep) & (sizes >= min_stroke)  # than OpenCV's WithStats)
    kept[0] = False  # the background
    return kept[labels]


def _cut_strokes(strokes: np.ndarray, rng: np.random.Generator, cut: float) -> np.ndarray:
    """Erase a ``GAP`` x ``GAP`` square around each stroke pixel drawn with probability ``cut``."""
    ys, xs = np.nonzero(strokes)
    starts = rng.random(ys.size) < cut
    out = strokes.copy()
    r = GAP // 2
    for y, x in zip(ys[starts], xs[starts], strict=True):
        out[max(y - r, 0): y + r + 1, max(x - r, 0): x + r + 1] = False
    return out


def sketch_from_image(
    image: np.ndarray,
    hole: np.ndarray,
    rng: np.random.Generator,
    *,
    keep: float | tuple[float, float] = KEEP,
    p_empty: float = P_EMPTY,
    cut: float = CUT,
    min_stroke: int = MIN_STROKE,
) -> np.ndarray:
    """A training sketch of ``image``'s lines inside ``hole``: (H, W) float32, 1 = a stroke.

    ``image``: the ground truth, (H, W, 3) RGB or (H, W), uint8 or float in [0, 1].
    ``hole``: (H, W), non-zero = hole. The sketch is zero outside the hole. The steps and
    the defaults are described in the module docstring; a given ``rng`` state always gives
    the same sketch.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    gray = _gray_u8(image)
    hole = np.asarray(hole)
    if hole.shape != gray.shape:
        raise ValueError(f"the hole must be (H, W) = {gray.shape} like the image, got {hole.shape}")
    low, high = _keep_range(keep)
    for name, p in (("p_empty", p_empty), ("cut", cut)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    if rng.random() < p_empty:
        return np.zeros(gray.shape, np.float32)
    edges = edge_map(gray) & (hole != 0)
    strokes = _drop_strokes(edges, rng, rng.uniform(low, high), min_stroke)
    return _cut_strokes(strokes, rng, cut).astype(np.float32)


def sketch_batch(images: torch.Tensor, holes: torch.Tensor, rng: np.random.Generator,
                 **options: object) -> torch.Tensor:
    """Training sketches for a batch: ``images`` (B, 3, S, S) in [-1, 1] (the training
    tensors), ``holes`` (B, 1, S, S), 1 = hole; returns (B, 1, S, S) float32 on the images'
    device. ``options`` are ``sketch_from_image``'s keywords."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, S, S), got {tuple(images.shape)}")
    b, _, h, w = images.shape
    if tuple(holes.shape) != (b, 1, h, w):
        raise ValueError(f"holes must be (B, 1, H, W) = {(b, 1, h, w)}, got {tuple(holes.shape)}")
    rgb = ((images.detach().float().cpu() + 1.0) * 127.5).round().clamp(0, 255)
    rgb = rgb.to(torch.uint8).permute(0, 2, 3, 1).numpy()  # (B, S, S, 3)
    hole = holes.detach().cpu().numpy()[:, 0] != 0  # (B, S, S)
    out = np.stack([sketch_from_image(rgb[i], hole[i], rng, **options)  # type: ignore[arg-type]
                    for i in range(b)])
    return torch.from_numpy(out)[:, None].to(images.device)  # (B, 1, S, S)
