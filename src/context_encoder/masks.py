"""Hole-mask generators: the paper's center and random-region masks plus modern variants.

Every generator is a pure function ``gen(size, rng, **options) -> np.ndarray`` returning a
boolean ``(H, W)`` array where ``True`` marks the hole. ``size`` is ``(H, W)`` or an int for a
square; all randomness comes from the explicit :class:`numpy.random.Generator` passed in, so
the same seed gives the same masks. Draw one mask per sample (:func:`batch_masks`), never one
mask for the whole batch.

Kinds (:data:`MASK_KINDS`):

* ``"center"``: the paper's central hole (Pathak et al., CVPR 2016). The network predicts the
  central ``H/2 x W/2`` patch, but only its inner ``(H/2 - 2*overlap) x (W/2 - 2*overlap)``
  square (56x56 at 128 px) is blanked in the input; :func:`center_loss_weights` gives the
  matching L2 weight map (the ``overlap`` ring that overlaps the visible context weighted 10x).
* ``"block"``: 1-4 random axis-aligned rectangles.
* ``"region"``: the paper's "random region" masks: thresholded bicubic-upsampled noise (blobs),
  a random window chosen so that the hole covers 20-30 % of the image.
* ``"freeform"``: DeepFill v2 free-form brush strokes (Yu et al., ICCV 2019) plus a box.
* ``"thin"``, ``"medium"``, ``"thick"``: the three LaMa evaluation settings (Suvorov et al.,
  WACV 2022), specified at 256 px and scaled to the requested size; at most 50 % hole.
* ``"mixed"``: a per-call weighted random choice among the others (:data:`DEFAULT_MIXED_WEIGHTS`).

Use :func:`get_mask_generator` to bind options from a config into a ``gen(size, rng)`` callable.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "DEFAULT_MIXED_WEIGHTS",
    "MASK_KINDS",
    "MaskGenerator",
    "Size",
    "batch_masks",
    "block_mask",
    "center_box",
    "center_loss_weights",
    "center_mask",
    "freeform_mask",
    "get_mask_generator",
    "hole_fraction",
    "medium_mask",
    "mixed_mask",
    "region_mask",
    "thick_mask",
    "thin_mask",
]

Size = int | tuple[int, int]
MaskGenerator = Callable[[Size, np.random.Generator], np.ndarray]

#: Every mask kind understood by :func:`get_mask_generator`.
MASK_KINDS: tuple[str, ...] = (
    "center",
    "block",
    "region",
    "freeform",
    "thin",
    "medium",
    "thick",
    "mixed",
)

#: Default mixture for :func:`mixed_mask`: mostly free-form strokes, some rectangles and
#: the paper's blob regions, a few large LaMa "thick" masks.
DEFAULT_MIXED_WEIGHTS: dict[str, float] = {
    "freeform": 0.5,
    "block": 0.2,
    "region": 0.2,
    "thick": 0.1,
}

_MIN_SIDE = 8
_REFERENCE_SIDE = 256.0  # DeepFill / LaMa parameters are specified at 256 px


# --------------------------------------------------------------------------------------------
# helpers


def _as_size(size: Size) -> tuple[int, int]:
    """Normalise ``size`` to ``(H, W)`` and check both sides are integers >= 8."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        h = w = int(size)
    else:
        try:
            h, w = size  # type: ignore[misc]
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or an (H, W) pair, got {size!r}") from None
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (h, w)):
            raise ValueError(f"size must hold integers, got {size!r}")
        h, w = int(h), int(w)
    if h < _MIN_SIDE or w < _MIN_SIDE:
        raise ValueError(f"mask size must be at least {_MIN_SIDE}x{_MIN_SIDE}, got {h}x{w}")
    return h, w


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


def _check_int_range(name: str, lo: int, hi: int, *, minimum: int) -> None:
    if lo < minimum:
        raise ValueError(f"min_{name} must be >= {minimum}, got {lo}")
    if lo > hi:
        raise ValueError(f"min_{name} ({lo}) must not exceed max_{name} ({hi})")


def _check_frac_range(name: str, lo: float, hi: float) -> None:
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"{name} fractions must satisfy 0 < min <= max <= 1, got [{lo}, {hi}]")


def _side_scale(h: int, w: int) -> float:
    """Linear scale from the 256 px reference to an ``h x w`` image (geometric mean side)."""
    return math.sqrt(h * w) / _REFERENCE_SIDE


def _draw_box(canvas: np.ndarray, rng: np.random.Generator, bh: int, bw: int) -> None:
    """Fill a ``bh x bw`` rectangle (clipped to the canvas) at a uniform random position."""
    h, w = canvas.shape
    bh = int(min(max(bh, 1), h))
    bw = int(min(max(bw, 1), w))
    top = int(rng.integers(0, h - bh + 1))
    left = int(rng.integers(0, w - bw + 1))
    canvas[top : top + bh, left : left + bw] = 1


def _draw_polyline(canvas: np.ndarray, points: list[tuple[int, int]], width: int) -> None:
    """Draw a brush stroke through ``points`` (x, y) with round joints and caps."""
    radius = max(width // 2, 0)
    for p, q in zip(points[:-1], points[1:], strict=True):
        cv2.line(canvas, p, q, 1, thickness=max(width, 1), lineType=cv2.LINE_8)
    for p in points:
        cv2.circle(canvas, p, radius, 1, thickness=-1, lineType=cv2.LINE_8)


# --------------------------------------------------------------------------------------------
# center (the paper's task)


def center_box(size: Size, *, overlap: int = 0) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the central ``H/2 x W/2`` patch shrunk by ``overlap``.

    ``overlap=0`` is the patch the network predicts (``[32:96, 32:96]`` at 128 px); the
    default ``overlap=4`` of :func:`center_mask` gives the blanked hole (``[36:92, 36:92]``).
    Both sides must be even.
    """
    h, w = _as_size(size)
    if h % 2 or w % 2:
        raise ValueError(f"center masks need even sides, got {h}x{w}")
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0, got {overlap}")
    ph, pw = h // 2, w // 2
    if ph - 2 * overlap < 1 or pw - 2 * overlap < 1:
        raise ValueError(
            f"overlap {overlap} leaves no hole inside the {ph}x{pw} center patch of a {h}x{w} image"
        )
    top, left = (h - ph) // 2, (w - pw) // 2
    return top + overlap, left + overlap, ph - 2 * overlap, pw - 2 * overlap


def center_mask(
    size: Size, rng: np.random.Generator | None = None, *, overlap: int = 4
) -> np.ndarray:
    """The paper's center hole: the inner ``(H/2 - 2*overlap) x (W/2 - 2*overlap)`` square.

    This is the region blanked (mean-filled) in the input: 56x56 at 128 px with the default
    ``overlap=4``. The network still predicts the whole ``H/2 x W/2`` center
    (:func:`center_box` with ``overlap=0``). ``rng`` is unused (deterministic); it is accepted so
    the function fits the common ``gen(size, rng)`` interface.
    """
    h, w = _as_size(size)
    top, left, bh, bw = center_box((h, w), overlap=overlap)
    mask = np.zeros((h, w), dtype=bool)
    mask[top : top + bh, left : left + bw] = True
    return mask


def center_loss_weights(
    size: Size, *, overlap: int = 4, overlap_weight: float = 10.0
) -> np.ndarray:
    """float32 ``(H/2, W/2)`` L2 weight map over the predicted center patch.

    1 on the inner (blanked) region, ``overlap_weight`` on the ``overlap``-px ring that overlaps
    the visible context (the paper weights it 10x).
    """
    h, w = _as_size(size)
    center_box((h, w), overlap=overlap)  # validates evenness and overlap
    if not math.isfinite(overlap_weight) or overlap_weight < 0:
        raise ValueError(f"overlap_weight must be a finite number >= 0, got {overlap_weight}")
    ph, pw = h // 2, w // 2
    weights = np.full((ph, pw), overlap_weight, dtype=np.float32)
    weights[overlap : ph - overlap, overlap : pw - overlap] = 1.0
    return weights


# --------------------------------------------------------------------------------------------
# random rectangles


def block_mask(
    size: Size,
    rng: np.random.Generator,
    *,
    min_blocks: int = 1,
    max_blocks: int = 4,
    min_frac: float = 0.1,
    max_frac: float = 0.4,
) -> np.ndarray:
    """Union of ``min_blocks..max_blocks`` random axis-aligned rectangles.

    Each side is a uniform fraction in ``[min_frac, max_frac]`` of the image side (drawn
    independently for height and width); the position is uniform inside the image.
    """
    h, w = _as_size(size)
    rng = _check_rng(rng)
    _check_int_range("blocks", min_blocks, max_blocks, minimum=1)
    _check_frac_range("block side", min_frac, max_frac)
    canvas = np.zeros((h, w), dtype=np.uint8)
    for _ in range(int(rng.integers(min_blocks, max_blocks + 1))):
        fh, fw = rng.uniform(min_frac, max_frac, size=2)
        _draw_box(canvas, rng, round(fh * h), round(fw * w))
    return canvas.astype(bool)


# --------------------------------------------------------------------------------------------
# the paper's random region (thresholded smooth noise)

_REGION_CANVAS = 3  # noise canvas is this many times the mask size per axis
_REGION_WINDOWS = 64  # random windows tried per noise canvas (vectorised)
_REGION_CANVASES = 4  # noise canvases tried before adjusting the threshold


def region_mask(
    size: Size,
    rng: np.random.Generator,
    *,
    min_cover: float = 0.2,
    max_cover: float = 0.3,
    threshold: float = 0.25,
    cell_frac: float = 0.13,
) -> np.ndarray:
    """The paper's random-region mask: blobs of thresholded, bicubic-upsampled uniform noise.

    The original draws 600x600 uniform noise, upsamples it bicubically to 10000x10000 (one
    noise cell per ~16.7 px, i.e. ~0.13 of a 128 px image), holes where the noise is below 0.25,
    and crops random 128 px windows until 20-30 % of the window is hole. Here the canvas is
    3x the mask size, with a noise cell of ``cell_frac`` times the shorter side; windows are
    scored with an integral image. If no window of a few fresh canvases qualifies, the
    threshold is adapted on one window so the hole fraction is a uniform target in range:
    the result is always inside ``[min_cover, max_cover]``.
    """
    h, w = _as_size(size)
    rng = _check_rng(rng)
    if not 0.0 < min_cover <= max_cover < 1.0:
        raise ValueError(
            f"cover range must satisfy 0 < min_cover <= max_cover < 1, got [{min_cover}, {max_cover}]"
        )
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    if not 0.0 < cell_frac <= 1.0:
        raise ValueError(f"cell_frac must be in (0, 1], got {cell_frac}")
    n = h * w
    k_lo, k_hi = math.ceil(min_cover * n), math.floor(max_cover * n)
    if k_lo > k_hi:
        raise ValueError(
            f"no hole pixel count of a {h}x{w} mask gives a fraction in [{min_cover}, {max_cover}]"
        )

    ch, cw = _REGION_CANVAS * h, _REGION_CANVAS * w
    cell = max(2.0, cell_frac * min(h, w))
    gh, gw = math.ceil(ch / cell) + 1, math.ceil(cw / cell) + 1
    noise = np.empty((ch, cw), dtype=np.float32)
    for _ in range(_REGION_CANVASES):
        low = rng.random((gh, gw), dtype=np.float32)
        noise = cv2.resize(low, (cw, ch), interpolation=cv2.INTER_CUBIC)
        hole = noise < threshold
        integral = cv2.integral(hole.view(np.uint8), sdepth=cv2.CV_32S)
        ys = rng.integers(0, ch - h + 1, size=_REGION_WINDOWS)
        xs = rng.integers(0, cw - w + 1, size=_REGION_WINDOWS)
        counts = (
            integral[ys + h, xs + w]
            - integral[ys, xs + w]
            - integral[ys + h, xs]
            + integral[ys, xs]
        )
        ok = np.flatnonzero((counts >= k_lo) & (counts <= k_hi))
        if ok.size:
            y, x = int(ys[ok[0]]), int(xs[ok[0]])
            return hole[y : y + h, x : x + w].copy()

    # Last resort: keep the blob shapes of one window, choose its threshold so the hole
    # covers a uniform target fraction in range (ties in float noise are negligible).
    y, x = int(rng.integers(0, ch - h + 1)), int(rng.integers(0, cw - w + 1))
    window = noise[y : y + h, x : x + w]
    k = int(np.clip(round(rng.uniform(min_cover, max_cover) * n), k_lo, k_hi))
    order = np.argsort(window, axis=None, kind="stable")
    flat = np.zeros(n, dtype=bool)
    flat[order[:k]] = True
    return flat.reshape(h, w)


# --------------------------------------------------------------------------------------------
# DeepFill v2 free-form strokes

_FREEFORM_MEAN_ANGLE = 2.0 * math.pi / 5.0
_FREEFORM_ANGLE_RANGE = 2.0 * math.pi / 15.0


def freeform_mask(
    size: Size,
    rng: np.random.Generator,
    *,
    min_strokes: int = 1,
    max_strokes: int = 3,
    min_vertex: int = 4,
    max_vertex: int = 12,
    min_width: int | None = None,
    max_width: int | None = None,
    add_box: bool = True,
    box_min_frac: float = 0.1,
    box_max_frac: float = 0.4,
) -> np.ndarray:
    """DeepFill v2 free-form brush strokes (Yu et al., "Free-Form Image Inpainting with Gated
    Convolution", 2019), optionally OR'd with one random box.

    ``min_strokes..max_strokes`` strokes; each has ``min_vertex..max_vertex`` vertices from a
    uniform random start. Segment directions zig-zag as in DeepFill (alternating turns of
    ``2*pi/5 +- 2*pi/15``) around a random per-stroke rotation; segment lengths are
    ``N(r, r/2)`` clipped to ``[0, 2r]`` with ``r = sqrt(H^2 + W^2) / 8``; vertices are clipped
    to the image. The brush width is uniform in ``[min_width, max_width]``, by default
    ``[12, 40]`` px at 256 px scaled linearly (``[6, 20]`` at 128 px). Segments are drawn with
    round joints. With ``add_box``, a box with side fractions in ``[box_min_frac,
    box_max_frac]`` is added.
    """
    h, w = _as_size(size)
    rng = _check_rng(rng)
    _check_int_range("strokes", min_strokes, max_strokes, minimum=0)
    _check_int_range("vertex", min_vertex, max_vertex, minimum=2)
    scale = _side_scale(h, w)
    lo_w = max(1, round(12 * scale)) if min_width is None else int(min_width)
    hi_w = max(lo_w, round(40 * scale)) if max_width is None else int(max_width)
    _check_int_range("width", lo_w, hi_w, minimum=1)
    if add_box:
        _check_frac_range("box side", box_min_frac, box_max_frac)
    if max_strokes == 0 and not add_box:
        raise ValueError("freeform_mask with max_strokes=0 and add_box=False would be empty")

    radius = math.hypot(h, w) / 8.0
    canvas = np.zeros((h, w), dtype=np.uint8)
    for _ in range(int(rng.integers(min_strokes, max_strokes + 1))):
        n_vertex = int(rng.integers(min_vertex, max_vertex + 1))
        width = int(rng.integers(lo_w, hi_w + 1))
        a_min = _FREEFORM_MEAN_ANGLE - rng.uniform(0.0, _FREEFORM_ANGLE_RANGE)
        a_max = _FREEFORM_MEAN_ANGLE + rng.uniform(0.0, _FREEFORM_ANGLE_RANGE)
        rotation = rng.uniform(0.0, 2.0 * math.pi)
        x, y = float(rng.integers(0, w)), float(rng.integers(0, h))
        points = [(int(x), int(y))]
        for i in range(n_vertex - 1):
            turn = rng.uniform(a_min, a_max)
            angle = rotation + (2.0 * math.pi - turn if i % 2 == 0 else turn)
            length = float(np.clip(rng.normal(radius, radius / 2.0), 0.0, 2.0 * radius))
            x = float(np.clip(x + length * math.cos(angle), 0, w - 1))
            y = float(np.clip(y + length * math.sin(angle), 0, h - 1))
            points.append((round(x), round(y)))
        _draw_polyline(canvas, points, width)
    if add_box:
        fh, fw = rng.uniform(box_min_frac, box_max_frac, size=2)
        _draw_box(canvas, rng, round(fh * h), round(fw * w))
    if not canvas.any():  # only possible with min_strokes=0 and no box drawn
        canvas[int(rng.integers(0, h)), int(rng.integers(0, w))] = 1
    return canvas.astype(bool)


# --------------------------------------------------------------------------------------------
# LaMa evaluation masks (thin / medium / thick)


@dataclass(frozen=True)
class _LamaPreset:
    """A LaMa irregular-mask setting at 256 px: (min, max) ranges, sizes in pixels."""

    strokes: tuple[int, int]
    segments: tuple[int, int]
    width: tuple[int, int]
    length: tuple[int, int]
    boxes: tuple[int, int]
    box_side: tuple[int, int]


_LAMA_PRESETS: dict[str, _LamaPreset] = {
    "thin": _LamaPreset(
        strokes=(4, 50),
        segments=(1, 5),
        width=(4, 10),
        length=(10, 40),
        boxes=(0, 0),
        box_side=(0, 0),
    ),
    "medium": _LamaPreset(
        strokes=(4, 5),
        segments=(1, 5),
        width=(5, 50),
        length=(10, 100),
        boxes=(0, 3),
        box_side=(10, 50),
    ),
    "thick": _LamaPreset(
        strokes=(1, 5),
        segments=(1, 5),
        width=(10, 100),
        length=(10, 200),
        boxes=(0, 3),
        box_side=(30, 150),
    ),
}

_LAMA_RETRIES = 100


def _lama_draw(h: int, w: int, rng: np.random.Generator, p: _LamaPreset) -> np.ndarray:
    scale = _side_scale(h, w)

    def scaled(lo_hi: tuple[int, int]) -> tuple[int, int]:
        lo = max(1, round(lo_hi[0] * scale))
        return lo, max(lo, round(lo_hi[1] * scale))

    w_lo, w_hi = scaled(p.width)
    l_lo, l_hi = scaled(p.length)
    canvas = np.zeros((h, w), dtype=np.uint8)
    for _ in range(int(rng.integers(p.strokes[0], p.strokes[1] + 1))):
        width = int(rng.integers(w_lo, w_hi + 1))
        x, y = float(rng.integers(0, w)), float(rng.integers(0, h))
        points = [(int(x), int(y))]
        for _ in range(int(rng.integers(p.segments[0], p.segments[1] + 1))):
            angle = rng.uniform(0.0, 2.0 * math.pi)
            length = rng.uniform(l_lo, l_hi)
            x = float(np.clip(x + length * math.cos(angle), 0, w - 1))
            y = float(np.clip(y + length * math.sin(angle), 0, h - 1))
            points.append((round(x), round(y)))
        _draw_polyline(canvas, points, width)
    if p.boxes[1] > 0:
        b_lo, b_hi = scaled(p.box_side)
        for _ in range(int(rng.integers(p.boxes[0], p.boxes[1] + 1))):
            bh, bw = rng.integers(b_lo, b_hi + 1, size=2)
            _draw_box(canvas, rng, int(bh), int(bw))
    return canvas


def _lama_mask(size: Size, rng: np.random.Generator, preset: str, max_cover: float) -> np.ndarray:
    h, w = _as_size(size)
    rng = _check_rng(rng)
    if not 0.0 < max_cover <= 1.0:
        raise ValueError(f"max_cover must be in (0, 1], got {max_cover}")
    p = _LAMA_PRESETS[preset]
    limit = max_cover * h * w
    for _ in range(_LAMA_RETRIES):
        canvas = _lama_draw(h, w, rng, p)
        count = int(np.count_nonzero(canvas))
        if 0 < count <= limit:
            return canvas.astype(bool)
    # Practically unreachable: fall back to a single minimal dot, which is never empty and
    # never above max_cover for sizes >= 8.
    canvas = np.zeros((h, w), dtype=np.uint8)
    cv2.circle(canvas, (int(rng.integers(0, w)), int(rng.integers(0, h))), 1, 1, thickness=-1)
    return canvas.astype(bool)


def thin_mask(size: Size, rng: np.random.Generator, *, max_cover: float = 0.5) -> np.ndarray:
    """LaMa "thin" setting (at 256 px, scaled by ``sqrt(H*W)/256``): 4-50 polyline strokes of
    1-5 segments, brush width 4-10 px, segment length 10-40 px; no boxes.

    Redrawn (bounded) while the hole is empty or covers more than ``max_cover``.
    """
    return _lama_mask(size, rng, "thin", max_cover)


def medium_mask(size: Size, rng: np.random.Generator, *, max_cover: float = 0.5) -> np.ndarray:
    """LaMa "medium" setting (at 256 px, scaled): 4-5 polyline strokes of 1-5 segments, brush
    width 5-50 px, segment length 10-100 px, plus 0-3 boxes with sides 10-50 px.

    Redrawn (bounded) while the hole is empty or covers more than ``max_cover``.
    """
    return _lama_mask(size, rng, "medium", max_cover)


def thick_mask(size: Size, rng: np.random.Generator, *, max_cover: float = 0.5) -> np.ndarray:
    """LaMa "thick" setting (at 256 px, scaled): 1-5 polyline strokes of 1-5 segments, brush
    width 10-100 px, segment length 10-200 px, plus 0-3 boxes with sides 30-150 px.

    Redrawn (bounded) while the hole is empty or covers more than ``max_cover``.
    """
    return _lama_mask(size, rng, "thick", max_cover)


# --------------------------------------------------------------------------------------------
# mixture, registry, batches


def _normalised_weights(weights: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    names = list(weights)
    for name in names:
        if name == "mixed" or name not in _GENERATORS:
            allowed = ", ".join(k for k in MASK_KINDS if k != "mixed")
            raise ValueError(f"unknown mask kind {name!r} in mixed weights; choose from {allowed}")
    probs = np.array([float(weights[k]) for k in names], dtype=np.float64)
    if not np.all(np.isfinite(probs)) or np.any(probs < 0) or probs.sum() <= 0:
        raise ValueError(
            f"mixed weights must be finite, >= 0 and not all zero, got {dict(weights)}"
        )
    return names, probs / probs.sum()


def mixed_mask(
    size: Size, rng: np.random.Generator, *, weights: Mapping[str, float] | None = None
) -> np.ndarray:
    """A mask from a generator chosen at random (with ``rng``, per call) by ``weights``.

    ``weights`` maps kind names (any of :data:`MASK_KINDS` but ``"mixed"``) to non-negative
    weights, normalised to sum to 1; each chosen generator runs with its default options.
    Default :data:`DEFAULT_MIXED_WEIGHTS`: freeform 0.5, block 0.2, region 0.2, thick 0.1.
    """
    rng = _check_rng(rng)
    names, probs = _normalised_weights(DEFAULT_MIXED_WEIGHTS if weights is None else weights)
    choice = names[int(rng.choice(len(names), p=probs))]
    return _GENERATORS[choice](size, rng)


_GENERATORS: dict[str, Callable[..., np.ndarray]] = {
    "center": center_mask,
    "block": block_mask,
    "region": region_mask,
    "freeform": freeform_mask,
    "thin": thin_mask,
    "medium": medium_mask,
    "thick": thick_mask,
    "mixed": mixed_mask,
}


def get_mask_generator(kind: str, **options: object) -> MaskGenerator:
    """A ``gen(size, rng) -> bool mask`` callable for ``kind`` with ``options`` bound.

    Raises ``ValueError`` for an unknown kind and ``TypeError`` for an option the kind does not
    take (option values are checked when the generator is called). ``mixed`` weights are
    checked here.
    """
    if kind not in _GENERATORS:
        raise ValueError(f"unknown mask kind {kind!r}; choose from {', '.join(MASK_KINDS)}")
    func = _GENERATORS[kind]
    accepted = [
        p.name
        for p in inspect.signature(func).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"unknown option(s) {', '.join(map(repr, unknown))} for mask kind {kind!r}; "
            f"it accepts: {', '.join(accepted) if accepted else '(no options)'}"
        )
    if kind == "mixed" and options.get("weights") is not None:
        _normalised_weights(options["weights"])  # type: ignore[arg-type]
    return functools.partial(func, **options) if options else func


def batch_masks(gen: MaskGenerator, n: int, size: Size, rng: np.random.Generator) -> np.ndarray:
    """``(n, H, W)`` bool array of ``n`` independent draws of ``gen`` (one per sample)."""
    h, w = _as_size(size)
    rng = _check_rng(rng)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = np.empty((n, h, w), dtype=bool)
    for i in range(n):
        mask = gen((h, w), rng)
        if mask.shape != (h, w):
            raise ValueError(f"mask generator returned shape {mask.shape}, expected {(h, w)}")
        out[i] = mask
    return out


def hole_fraction(mask: np.ndarray) -> float:
    """Fraction of hole (``True``) pixels in ``mask`` (any shape, any truthy dtype)."""
    arr = np.asarray(mask)
    if arr.size == 0:
        raise ValueError("hole_fraction of an empty mask array is undefined")
    return float(np.count_nonzero(arr) / arr.size)
