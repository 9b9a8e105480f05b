"""What every inpainter shares: the call convention (PIL or numpy, one image or a list), the
checks of images, masks and sketches done once at the entry, and the result that says what
filled each hole (:class:`Filled`, one :class:`GroupChoice` per group of holes).

A subclass implements :meth:`InpainterBase._fill` (float RGB predictions for checked
images and boolean holes); one that decides per hole what fills it (``auto``) implements
:meth:`InpainterBase._fill_with_choices` instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from PIL import Image

from ..io.images import mask_array, pil_to_array
from ..pixels import check_image, size_text, write_hole

__all__ = ["Filled", "GroupChoice", "ImageLike", "InpainterBase", "MaskLike", "describe"]

ImageLike = Any  # np.ndarray or PIL.Image.Image
MaskLike = Any


@dataclass(frozen=True)
class GroupChoice:
    """What filled one group of holes (the holes one context window fills together).

    ``box``: the group's bounding box ``(y0, x0, y1, x1)`` (end exclusive); ``holes``: its
    connected components; ``pixels``: its hole pixels; ``method``: what filled it (a
    method's name, or for a blend the names joined by ``+``, heaviest first); ``weights``:
    each method's share of the fill; ``scores``: PSNR (dB) over ``auto``'s probes per
    candidate (empty when nothing was probed); ``reason``: ``"probes"``, ``"named"`` (the
    caller named the method) or why ``auto`` took its default.
    """

    box: tuple[int, int, int, int]
    holes: int
    pixels: int
    method: str
    scores: dict[str, float] = field(default_factory=dict)
    reason: str = "probes"
    weights: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.weights:
            object.__setattr__(self, "weights", {self.method: 1.0})

    def to_json(self) -> dict[str, Any]:
        return {"box": list(self.box), "holes": self.holes, "pixels": self.pixels,
                "method": self.method, "weights": {k: round(v, 3) for k, v in self.weights.items()},
                "scores": {k: round(v, 3) for k, v in self.scores.items()},
                "reason": self.reason}


def describe(choices: Sequence[GroupChoice]) -> str:
    """One line: each method chosen with its count of holes, most holes first, e.g.
    ``"telea (2 holes), facades-freeform-128 (1 hole)"``; ``"nothing to fill"`` for none."""
    holes: dict[str, int] = {}
    for c in choices:
        holes[c.method] = holes.get(c.method, 0) + c.holes
    if not holes:
        return "nothing to fill"
    order = sorted(holes, key=lambda m: -holes[m])  # stable: first chosen first among equals
    return ", ".join(f"{m} ({holes[m]} hole{'s' if holes[m] != 1 else ''})" for m in order)


@dataclass(frozen=True)
class Filled:
    """One image as an inpainter filled it.

    ``image``: the result, of the input's type (PIL in, PIL out with the same mode; numpy
    in, numpy out with the same dtype and shape); ``choices``: what filled each group of
    holes (empty when the mask was empty); ``chosen``: whether the method was chosen per
    hole on the photo itself (``auto``) rather than named by the caller; ``method``: one
    line saying what filled the holes: the inpainter's name, or for ``auto``
    :func:`describe` of the choices (``"ns+telea (2 holes), facades-freeform-128 (1 hole)"``).
    """

    image: Any
    choices: tuple[GroupChoice, ...]
    chosen: bool
    method: str


def whole_mask_choice(hole: np.ndarray, method: str) -> GroupChoice:
    """The choice of a method named by the caller, for all of ``hole`` at once."""
    ys, xs = np.nonzero(hole)
    holes = cv2.connectedComponents(hole.astype(np.uint8), connectivity=8)[0] - 1
    return GroupChoice((int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1),
                       holes, int(ys.size), method, reason="named")


def _per_image(value: Any, n: int, what: str) -> list[Any]:
    """One ``value`` per image: a list of ``n``, or the same one for all."""
    if not isinstance(value, (list, tuple)):
        return [value] * n
    if len(value) != n:
        raise ValueError(f"got {n} images but {len(value)} {what}")
    return list(value)


class InpainterBase:
    """The call convention shared by the model, the classical methods, adaptation and
    ``auto``: PIL or numpy, one image or a list, and the result of :meth:`fill`."""

    #: The name that says what fills the holes (:attr:`Filled.method`).
    name: str = ""
    #: Whether the method follows a sketch (a sketch-guided model).
    takes_sketch: bool = False
    #: Whether the method is chosen per hole on the photo (:attr:`Filled.chosen`).
    chooses: bool = False

    def __call__(self, image: ImageLike | Sequence[ImageLike],
                 mask: MaskLike | Sequence[MaskLike],
                 sketch: MaskLike | Sequence[MaskLike] | None = None) -> Any:
        """Inpaint ``image`` where ``mask`` is non-zero; the filled image(s) alone (see
        :meth:`fill` for the conventions and for what filled the holes).

        ``image``: a PIL image or a numpy array (``HxW``, ``HxWx1``, ``HxWx3`` or ``HxWx4``;
        uint8, uint16 or float in [0, 1]), or a list of them. ``mask``: a PIL image or an
        array of the image's height and width, non-zero = hole (a multi-channel mask is a
        hole wherever any colour channel is non-zero); with a list of images, a list of
        masks or one mask for all. ``sketch``: see :meth:`fill`.
        """
        if isinstance(image, (list, tuple)):
            return [f.image for f in self.fill_many(image, mask, sketch)]
        return self.fill(image, mask, sketch).image

    def fill(self, image: ImageLike, mask: MaskLike, sketch: MaskLike | None = None) -> Filled:
        """Inpaint one image and say what filled its holes (:class:`Filled`).

        Returns the input's type: PIL in, PIL out with the same mode; numpy in, numpy out
        with the same dtype and shape. Pixels outside the hole are unchanged, and so is an
        alpha channel. An empty mask returns the image unchanged with a warning; a mask
        covering the whole image raises ``ValueError``.

        ``sketch`` (only for a model that :attr:`takes_sketch`; ``ValueError`` otherwise):
        the lines wanted inside the hole, like a mask: a PIL image or an array of the
        image's size, non-zero = a stroke; strokes outside the hole are ignored.
        """
        return self.fill_many([image], [mask], [sketch])[0]

    def fill_many(self, images: Sequence[ImageLike], masks: MaskLike | Sequence[MaskLike],
                  sketches: MaskLike | Sequence[MaskLike] | None = None) -> list[Filled]:
        """:meth:`fill` for several images in one call (batched where the method allows
        it); ``masks`` and ``sketches``: one per image, or one for all (None: no sketch)."""
        images = list(images)
        masks = _per_image(masks, len(images), "masks")
        sketches = _per_image(sketches, len(images), "sketches")
        arrays, back = [], []
        for img in images:
            if isinstance(img, Image.Image):
                a, restore = pil_to_array(img)
                arrays.append(a)
                back.append(restore)
            else:
                arrays.append(img)
                back.append(None)
        done = self._run(arrays, masks, sketches)
        return [Filled(r if f is None else f(r), tuple(choices), self.chooses,
                       self._method(choices))
                for (r, choices), f in zip(done, back, strict=True)]

    def inpaint_array(self, image: np.ndarray, mask: MaskLike,
                      sketch: MaskLike | None = None) -> np.ndarray:
        """Inpaint one numpy image (see :meth:`fill` for the conventions)."""
        return self._run([image], [mask], [sketch])[0][0]

    def inpaint_arrays(self, images: Sequence[np.ndarray], masks: Sequence[MaskLike],
                       sketches: Sequence[MaskLike | None] | None = None) -> list[np.ndarray]:
        """Inpaint several numpy images (batched where the method allows it); ``sketches``:
        one per image (None for an image without one), or None."""
        return [r for r, _ in self._run(images, masks, sketches)]

    def check_sketch(self) -> None:
        """``ValueError`` unless this method takes a sketch."""
        if not self.takes_sketch:
            what = self.name or type(self).__name__
            raise ValueError(f"{what!r} has no sketch input: inpaint without a sketch, or use "
                             "a sketch-guided model (trained with --guide sketch)")

    def _method(self, choices: Sequence[GroupChoice]) -> str:
        return describe(choices) if self.chooses else (self.name or type(self).__name__)

    # -- the one way in: checks once, fills the images with holes -----------------------
    def _run(self, images: Sequence[np.ndarray], masks: Sequence[MaskLike],
             sketches: Sequence[MaskLike | None] | None
             ) -> list[tuple[np.ndarray, list[GroupChoice]]]:
        if len(images) != len(masks):
            raise ValueError(f"got {len(images)} images but {len(masks)} masks")
        sketches = list(sketches) if sketches is not None else [None] * len(images)
        if len(sketches) != len(images):
            raise ValueError(f"got {len(images)} images but {len(sketches)} sketches")
        if any(s is not None for s in sketches):
            self.check_sketch()
        checked, strokes = [], []
        for i, (img, m, sketch) in enumerate(zip(images, masks, sketches, strict=True)):
            img = check_image(img)
            what = "mask" if len(images) == 1 else f"mask {i}"
            hole = mask_array(m, img.shape[:2], what)
            if hole.all():
                raise ValueError(
                    f"{what} covers the whole {size_text(img.shape[1], img.shape[0])} image: "
                    "there is no context to inpaint from"
                )
            checked.append((img, hole))
            if sketch is not None:  # strokes outside the hole are ignored
                sketch = mask_array(sketch, img.shape[:2], what.replace("mask", "sketch")) & hole
            strokes.append(sketch)
        todo = [i for i, (_, hole) in enumerate(checked) if hole.any()]
        if len(todo) < len(checked):
            warnings.warn("the mask is empty: nothing to inpaint, the image is returned unchanged",
                          UserWarning, stacklevel=3)
        results: dict[int, tuple[np.ndarray, list[GroupChoice]]] = {}
        if todo:
            args = [[checked[i][0] for i in todo], [checked[i][1] for i in todo]]
            if any(strokes[i] is not None for i in todo):
                args.append([strokes[i] for i in todo])
            filled = self._fill_with_choices(*args)
            for i, (rgb, choices) in zip(todo, filled, strict=True):
                img, hole = checked[i]
                results[i] = (write_hole(img, hole, rgb), choices)  # a copy
        return [results.get(i) or (img.copy(), []) for i, (img, _) in enumerate(checked)]

    def _fill_with_choices(self, images: list[np.ndarray], masks: list[np.ndarray],
                           sketches: list[np.ndarray | None] | None = None
                           ) -> list[tuple[np.ndarray, list[GroupChoice]]]:
        """Predictions (:meth:`_fill`) with what filled each image: this method, named."""
        preds = self._fill(images, masks, sketches) if sketches else self._fill(images, masks)
        name = self.name or type(self).__name__
        return [(p, [whole_mask_choice(m, name)]) for p, m in zip(preds, masks, strict=True)]

    def _fill(self, images: list[np.ndarray], masks: list[np.ndarray]) -> list[np.ndarray]:
        """Float ``HxWx3`` predictions in [0, 1], valid in the hole pixels."""
        raise NotImplementedError
