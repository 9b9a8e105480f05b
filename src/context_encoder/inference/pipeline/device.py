"""The tensor path of :class:`~context_encoder.inference.Inpainter`: every pixel operation of
a call, for all windows of all images at once, as batched torch operations on the device
that runs the generator.

The host only does the mask geometry: it groups each image's holes and places their
windows (:func:`~context_encoder.inference.windows.group_holes`, :meth:`~context_encoder.inference.windows.WindowGeometry.place`), and picks
each image's *canvas*, the part of the image the call reads or writes (the whole image where
the push-pull fill is needed, else the windows' pixels and the feather's reach around the
holes). The canvases' colours, each pixel's window (its ``owner``, -1 outside the holes), the
window indices and the resampling taps go to the device in one buffer (:class:`Upload`); the
filled canvases come back in one copy. On the device:

1. ``prepare``: the push-pull fill where needed, each window gathered from its canvas
   (reflected past the image), resized to S, and the model input built;
2. ``generate``: the generator (:meth:`Inpainter._run_generator`);
3. ``paste``: the prediction composited into its window, resized back and scattered into
   the pixels of the window's own holes;
4. ``feather``: the seam blend on every canvas, then the copy to the host.

Windows are batched by side and canvases by shape (one batch each where all are alike).
The results equal the NumPy path's (:mod:`..windows`) to float rounding.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ...config import ModelConfig
from ...masks import composite
from ...models import model_input
from ...pixels import reflect_index
from ..windows import HoleGroup, WindowGeometry, group_holes
from . import torch_ops as ops
from .host import host_pool

__all__ = ["DevicePipeline", "Upload"]

logger = logging.getLogger(__name__)

_OUTSIDE = -(1 << 40)  # a paste index outside the image: any sum with it stays negative
_CACHED_TAPS = 512  # resampling taps kept on the device (a few MB even for large sizes)


def _grow(box: tuple[int, ...], by: int, h: int, w: int) -> tuple[int, int, int, int]:
    """``box`` (y0, x0, y1, x1) grown by ``by`` px on each side, clipped to ``h x w``."""
    y0, x0, y1, x1 = box
    return max(y0 - by, 0), max(x0 - by, 0), min(y1 + by, h), min(x1 + by, w)


def _reach(feather: int) -> int:
    """How far from a hole the feather reads: the blur's radius (and the distance's)."""
    return max(ops.gaussian_radius(feather), feather + 1) if feather else 0


def _cat(parts: tuple[torch.Tensor, ...]) -> torch.Tensor:
    return parts[0] if len(parts) == 1 else torch.cat(parts)


class Upload:
    """Host arrays laid out in one buffer (pinned for CUDA) and copied to the device at once.

    ``reserve`` the arrays, fill the views :meth:`host` returns, then :meth:`send`."""

    _ALIGN = 64

    def __init__(self) -> None:
        self.items: dict[str, tuple[int, tuple[int, ...], np.dtype]] = {}
        self.size = 0
        self.buffer: torch.Tensor | None = None

    def reserve(self, name: str, shape: tuple[int, ...], dtype: Any) -> None:
        dtype = np.dtype(dtype)
        offset = -(-self.size // self._ALIGN) * self._ALIGN
        self.items[name] = (offset, tuple(shape), dtype)
        self.size = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize

    def host(self, pin: bool) -> dict[str, np.ndarray]:
        """Writable views of the reserved arrays in the host buffer."""
        self.buffer = torch.empty(max(self.size, 1), dtype=torch.uint8, pin_memory=pin)
        raw = self.buffer.numpy()
        return {name: raw[off : off + int(np.prod(shape, dtype=np.int64)) * dt.itemsize]
                .view(dt).reshape(shape) for name, (off, shape, dt) in self.items.items()}

    def send(self, device: torch.device) -> dict[str, torch.Tensor]:
        """The arrays on ``device``: one copy (none on the CPU)."""
        assert self.buffer is not None, "call host() first"
        dev = self.buffer.to(device, non_blocking=True)
        out = {}
        for name, (off, shape, dt) in self.items.items():
            n = int(np.prod(shape, dtype=np.int64)) * dt.itemsize
            tdtype = torch.from_numpy(np.empty(0, dt)).dtype
            out[name] = dev[off : off + n].view(tdtype).view(shape)
        return out


@dataclass
class _Canvas:
    """One image's part on the device."""

    image: int
    box: tuple[int, int, int, int]  # y0, x0, y1, x1 in the image
    smooth: bool  # the push-pull fill is needed (then the box is the whole image)
    labels: np.ndarray  # the components of group_holes, whole image
    holes: tuple[int, int, int, int]  # the holes' bounding box in the image
    offset: int = 0  # first pixel in the flat buffers

    @property
    def shape(self) -> tuple[int, int]:
        return self.box[2] - self.box[0], self.box[3] - self.box[1]

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]


@dataclass
class _Window:
    canvas: _Canvas
    group: HoleGroup
    id: int = 0  # position in the generator batch


@dataclass
class _Plan:
    """Everything the host decided for one call."""

    canvases: list[_Canvas]
    by_shape: dict[tuple[bool, int, int], list[_Canvas]]  # contiguous in the flat buffers
    by_side: dict[int, list[_Window]]  # in generator order
    pixels: int
    sketch: bool
    feather: int
    keys: list[tuple] = field(default_factory=list)  # taps the device lacks


class DevicePipeline:
    """Runs :class:`~context_encoder.inference.Inpainter` calls on the generator's device.

    ``run_generator(x, hole, sketch)``: model inputs (N, S, S, 3) in [-1, 1] (with the
    model-scale holes and sketches (N, S, S) for the full task) to predictions
    (N, S', S', 3) in [0, 1]. Taps and stencils stay cached on the device between calls."""

    def __init__(self, config: ModelConfig, geometry: WindowGeometry, device: torch.device,
                 run_generator: Callable[..., torch.Tensor]) -> None:
        self.config, self.geometry, self.device = config, geometry, device
        self.run_generator = run_generator
        self._taps: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}
        self._stencils: dict[int, tuple[torch.Tensor, ...]] = {}  # per feather width

    # -- on the host -----------------------------------------------------------------------
    def _canvas(self, k: int, mask: np.ndarray, reach: int) -> tuple[_Canvas, list[HoleGroup]]:
        """Group image ``k``'s holes, place their windows and choose its canvas (``reach``:
        how far from the holes the feather reads)."""
        geo = self.geometry
        labels, groups = group_holes(mask, geo)
        h, w = mask.shape
        for g in groups:
            geo.place(g, h, w)
        boxes = np.array([g.box for g in groups])
        holes = (*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist())
        if any(geo.needs_smooth_context(mask, g) for g in groups):
            return _Canvas(k, (0, 0, h, w), True, labels, holes), groups
        # the windows' pixels (reflected into the image) and the feather's reach
        y0, x0, y1, x1 = _grow(holes, reach, h, w)
        for g in groups:
            rows = reflect_index(np.arange(g.top, g.top + g.side), h)
            cols = reflect_index(np.arange(g.left, g.left + g.side), w)
            y0, y1 = min(y0, int(rows.min())), max(y1, int(rows.max()) + 1)
            x0, x1 = min(x0, int(cols.min())), max(x1, int(cols.max()) + 1)
        return _Canvas(k, (y0, x0, y1, x1), False, labels, holes), groups

    @staticmethod
    def _feather_box(canvases: list[_Canvas], reach: int) -> tuple[int, int, int, int]:
        """The part of same-shaped canvases that the feather reads, in canvas coordinates."""
        h, w = canvases[0].shape
        boxes = np.array([[c.holes[0] - c.box[0], c.holes[1] - c.box[1],
                           c.holes[2] - c.box[0], c.holes[3] - c.box[1]] for c in canvases])
        union = (*boxes[:, :2].min(axis=0).tolist(), *boxes[:, 2:].max(axis=0).tolist())
        return _grow(union, reach, h, w)

    def _plan(self, masks: list[np.ndarray], sketch: bool, feather: int, pool: Any) -> _Plan:
        canvases, windows = [], []
        reach = [_reach(feather)] * len(masks)
        for canvas, groups in pool.map(self._canvas, range(len(masks)), masks, reach):
            canvases.append(canvas)
            windows += [_Window(canvas, g) for g in groups]
        by_shape: dict[tuple[bool, int, int], list[_Canvas]] = defaultdict(list)
        for c in canvases:
            by_shape[(c.smooth, *c.shape)].append(c)
        by_shape = dict(sorted(by_shape.items()))
        offset = 0
        for group in by_shape.values():
            for c in group:
                c.offset, offset = offset, offset + c.pixels
        by_side: dict[int, list[_Window]] = defaultdict(list)
        for win in windows:
            by_side[win.group.side].append(win)
        by_side = dict(sorted(by_side.items()))
        for i, win in enumerate(w for side in by_side.values() for w in side):
            win.id = i
        plan = _Plan(canvases, by_shape, by_side, offset, sketch, feather)
        plan.keys = [k for k in self._keys(plan) if k not in self._taps]
        return plan

    def _keys(self, plan: _Plan) -> list[tuple]:
        """The taps the device needs for ``plan``."""
        S = self.config.image_size
        keys = set()
        for side in plan.by_side:
            keys.add(("resample", side, S, ops.resample_kind(side, S)))
            keys.add(("resample", side, S, ops.resample_kind(side, S, smooth_up=False)))
            keys.add(("resample", S, side, ops.resample_kind(S, side)))
        for smooth, h, w in plan.by_shape:
            if smooth:
                shapes = ops.pyramid_shapes(h, w)
                for (a, b), (c, d) in zip(shapes, shapes[1:], strict=False):
                    keys |= {("resample", a, c, ops.AREA), ("resample", b, d, ops.AREA),
                             ("resample", c, a, ops.LINEAR), ("resample", d, b, ops.LINEAR)}
        return sorted(k for k in keys if k[1] != k[2])

    def _reserve(self, plan: _Plan) -> Upload:
        up = Upload()
        up.reserve("rgb", (plan.pixels, 3), np.float32)
        up.reserve("owner", (plan.pixels + 1,), np.int32)  # + one slot for "nowhere"
        if plan.sketch:
            up.reserve("sketch", (plan.pixels,), np.uint8)
        for side, wins in plan.by_side.items():
            up.reserve(f"index{side}", (len(wins), 4, side), np.int64)
            up.reserve(f"ids{side}", (len(wins),), np.int32)
        for j, key in enumerate(plan.keys):
            idx, w = ops.host_taps(key)
            up.reserve(f"tap{j}i", idx.shape, idx.dtype)
            up.reserve(f"tap{j}w", w.shape, w.dtype)
        if plan.feather and plan.feather not in self._stencils:
            for j, a in enumerate(ops.feather_stencil(plan.feather)):
                up.reserve(f"stencil{j}", a.shape, a.dtype)
        return up

    def _fill_host(self, plan: _Plan, host: dict[str, np.ndarray], rgbs: list[np.ndarray],
                   sketches: list[np.ndarray | None], pool: Any) -> None:
        luts = [np.full(int(c.labels.max()) + 1, -1, np.int32) for c in plan.canvases]
        for wins in plan.by_side.values():
            for win in wins:
                luts[win.canvas.image][win.group.labels] = win.id
        host["owner"][-1] = -1

        def fill(c: _Canvas) -> None:  # one image's canvas: colours, owners, sketch
            y0, x0, y1, x1 = c.box
            span = slice(c.offset, c.offset + c.pixels)
            host["rgb"][span].reshape(*c.shape, 3)[...] = rgbs[c.image][y0:y1, x0:x1]
            np.take(luts[c.image], c.labels[y0:y1, x0:x1], out=host["owner"][span].reshape(c.shape))
            if plan.sketch:
                s = sketches[c.image]
                host["sketch"][span].reshape(c.shape)[...] = 0 if s is None else s[y0:y1, x0:x1]

        list(pool.map(fill, plan.canvases))
        for side, wins in plan.by_side.items():
            self._fill_windows(host[f"index{side}"], host[f"ids{side}"], wins, rgbs)
        for j, key in enumerate(plan.keys):
            host[f"tap{j}i"][...], host[f"tap{j}w"][...] = ops.host_taps(key)
        if "stencil0" in host:
            for j, a in enumerate(ops.feather_stencil(plan.feather)):
                host[f"stencil{j}"][...] = a

    @staticmethod
    def _fill_windows(index: np.ndarray, ids: np.ndarray, wins: list[_Window],
                      rgbs: list[np.ndarray]) -> None:
        """Per window (B, 4, side): the flat canvas row starts and columns it reads
        (reflected past the image), and those it pastes to (``_OUTSIDE`` past the image)."""
        for b, win in enumerate(wins):
            c, g = win.canvas, win.group
            h, w = rgbs[c.image].shape[:2]
            y0, x0 = c.box[:2]
            cw = c.shape[1]
            ys, xs = np.arange(g.top, g.top + g.side), np.arange(g.left, g.left + g.side)
            index[b, 0] = c.offset + (reflect_index(ys, h) - y0) * cw
            index[b, 1] = reflect_index(xs, w) - x0
            index[b, 2] = np.where((ys >= 0) & (ys < h), c.offset + (ys - y0) * cw, _OUTSIDE)
            index[b, 3] = np.where((xs >= 0) & (xs < w), xs - x0, _OUTSIDE)
            ids[b] = win.id

    # -- on the device ---------------------------------------------------------------------
    def taps(self, key: tuple) -> tuple[torch.Tensor, torch.Tensor]:
        """The taps of ``key`` on the device (copied on a miss, which planning avoids)."""
        if key not in self._taps:
            logger.debug("taps %s were not planned: copied on their own", key)
            idx, w = ops.host_taps(key)
            self._taps[key] = (torch.from_numpy(idx).to(self.device),
                               torch.from_numpy(w).to(self.device))
        return self._taps[key]

    def _receive(self, plan: _Plan, dev: dict[str, torch.Tensor]) -> None:
        """Cache the taps and stencil that came with this call's upload."""
        # clones: views would keep the whole upload alive
        for j, key in enumerate(plan.keys):
            self._taps[key] = (dev[f"tap{j}i"].clone(), dev[f"tap{j}w"].clone())
        if "stencil0" in dev:
            self._stencils[plan.feather] = tuple(dev[f"stencil{j}"].clone() for j in range(3))
        if len(self._taps) > _CACHED_TAPS:  # sizes seen long ago: let them go
            for key in list(self._taps)[: len(self._taps) - _CACHED_TAPS]:
                self._taps.pop(key, None)

    def run(self, rgbs: list[np.ndarray], masks: list[np.ndarray],
            sketches: list[np.ndarray | None], stage: Callable[[str], Any],
            feather: int) -> list[np.ndarray]:
        """Float ``HxWx3`` predictions in [0, 1], valid in the hole pixels (zeros far from
        them); ``stage(name)``: a context around each stage (timing); ``feather``: the
        seam blend's width."""
        with torch.inference_mode():
            with stage("prepare"), host_pool(len(rgbs)) as pool:  # the host's part on threads
                sketch = self.config.task == "full" and any(s is not None for s in sketches)
                plan = self._plan(masks, sketch, feather, pool)
                up = self._reserve(plan)
                self._fill_host(plan, up.host(pin=self.device.type == "cuda"), rgbs, sketches,
                                pool)
                dev = up.send(self.device)
                self._receive(plan, dev)
                hole = dev["owner"][:-1] >= 0  # (P,)
                base = self._base(plan, dev["rgb"], hole)
                inputs = [self._inputs(side, dev, base, hole) for side in plan.by_side]
            with stage("generate"):
                x, m, s, _ = zip(*inputs, strict=True)
                preds = self.run_generator(_cat(x), _cat(m) if m[0] is not None else None,
                                           _cat(s) if sketch else None)
            with stage("paste"):
                pred = self._paste(plan, dev, inputs, preds)
            with stage("feather"):
                pred = self._feather(plan, dev["rgb"], hole, pred)
                return self._images(plan, self._download(pred), rgbs)

    def _download(self, pred: torch.Tensor) -> np.ndarray:
        """The one copy back to the host (into pinned memory from a GPU)."""
        if self.device.type != "cuda":
            return pred.cpu().numpy()
        host = torch.empty(pred.shape, dtype=pred.dtype, pin_memory=True)
        host.copy_(pred)
        return host.numpy()

    def _base(self, plan: _Plan, rgb: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The canvases (P, 3) with the push-pull fill in the holes where it is needed."""
        smooth = [(key, cs) for key, cs in plan.by_shape.items() if key[0]]
        if not smooth:
            return rgb
        base = rgb.clone()
        for (_, h, w), cs in smooth:
            span = slice(cs[0].offset, cs[0].offset + len(cs) * h * w)
            filled = ops.push_pull(rgb[span].view(-1, h, w, 3), hole[span].view(-1, h, w),
                                 self.taps)
            base[span] = filled.view(-1, 3)
        return base

    def _inputs(self, side: int, dev: dict[str, torch.Tensor], base: torch.Tensor,
                hole: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The model inputs of the windows of one side: ``(x, hole, sketch, context)``,
        (B, S, S, 3) and (B, S, S) (hole and sketch: full task only, else None)."""
        S = self.config.image_size
        index = dev[f"index{side}"]
        idx = index[:, 0, :, None] + index[:, 1, None, :]  # (B, s, s) canvas pixels
        context = ops.resize(base[idx], (S, S), ops.resample_kind(side, S), self.taps)
        context = context.clamp_(0.0, 1.0)  # (B, S, S, 3)
        x = context * 2.0 - 1.0
        if self.config.task == "full":
            m = self._footprint(hole[idx], side)  # any overlap with the hole is hole
            x = model_input(x, self.config, m)
            # a model pixel is a stroke if any pixel of its footprint is: thin lines survive
            s = self._footprint(dev["sketch"][idx], side) if "sketch" in dev else None
            return x, m, s, context
        return model_input(x, self.config), None, None, context  # the blanked square

    def _footprint(self, crop: torch.Tensor, side: int) -> torch.Tensor:
        """:func:`~context_encoder.inference.windows.resize_any` of (B, s, s) binary crops: (B, S, S) float 0/1."""
        S = self.config.image_size
        m = ops.resize(crop.float(), (S, S), ops.resample_kind(side, S, smooth_up=False),
                     self.taps)
        return (m > (0.0 if side >= S else 1e-3)).float()

    def _paste(self, plan: _Plan, dev: dict[str, torch.Tensor],
               inputs: list[tuple[torch.Tensor, ...]], preds: torch.Tensor) -> torch.Tensor:
        """Each prediction composited into its window, resized back to the window's side
        and written into the pixels of its own holes: (P, 3), zeros elsewhere."""
        S = self.config.image_size
        c0, c1 = self.config.center_span
        owner, nowhere = dev["owner"], plan.pixels
        out = torch.zeros(plan.pixels + 1, 3, device=self.device)
        start = 0
        for (side, wins), (_, m, _, context) in zip(plan.by_side.items(), inputs, strict=True):
            pred = preds[start : start + len(wins)]
            start += len(wins)
            if m is not None:  # full task: prediction in the hole, context around
                full = composite(pred, context, m[..., None])
            else:  # center task: the predicted center pasted into the context
                full = context
                full[:, c0:c1, c0:c1] = pred
            back = ops.resize(full, (side, side), ops.resample_kind(S, side), self.taps)
            index = dev[f"index{side}"]
            target = index[:, 2, :, None] + index[:, 3, None, :]  # (B, s, s)
            target = torch.where(target >= 0, target, nowhere)
            mine = owner[target] == dev[f"ids{side}"].view(-1, 1, 1)
            target = torch.where(mine, target, nowhere)
            out.index_copy_(0, target.view(-1), back.reshape(-1, 3))
        return out[:-1]

    def _feather(self, plan: _Plan, rgb: torch.Tensor, hole: torch.Tensor,
                 pred: torch.Tensor) -> torch.Tensor:
        pred = pred.clamp(0.0, 1.0)
        if not plan.feather:
            return pred
        for (_, h, w), cs in plan.by_shape.items():
            span = slice(cs[0].offset, cs[0].offset + len(cs) * h * w)
            y0, x0, y1, x1 = self._feather_box(cs, _reach(plan.feather))
            part = (slice(None), slice(y0, y1), slice(x0, x1))
            view = pred[span].view(-1, h, w, 3)
            view[part] = ops.feather(rgb[span].view(-1, h, w, 3)[part],
                                   hole[span].view(-1, h, w)[part], view[part], plan.feather,
                                   self._stencils[plan.feather])
        return pred

    @staticmethod
    def _images(plan: _Plan, flat: np.ndarray, rgbs: list[np.ndarray]) -> list[np.ndarray]:
        """Each image's prediction, whole-image sized, from the canvases (P, 3)."""
        out = []
        for c in plan.canvases:
            h, w = rgbs[c.image].shape[:2]
            block = flat[c.offset : c.offset + c.pixels].reshape(*c.shape, 3)
            if c.shape != (h, w):
                whole = np.zeros((h, w, 3), np.float32)
                whole[c.box[0] : c.box[2], c.box[1] : c.box[3]] = block
                block = whole
            out.append(block)
        return out
