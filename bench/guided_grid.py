"""The README's sketch grid: the same hole filled under different sketches, through the
public ``Inpainter`` API (the path a user's ``inpaint --sketch`` call takes).

Each row is one validation facade (never trained on) with a square hole; the columns are

  1. the input, the hole in grey;
  2. the true edges of the hidden region drawn in white (what the model saw in training);
  3. the fill that follows them;
  4. a different sketch: a window outline with a cross (a drawn window) in the middle of
     the hole, whether or not the facade has a window there;
  5. the fill that follows it;
  6. the fill with no sketch;
  7. the truth.

    python bench/guided_grid.py [--model facades-guided-128] [--out docs/guided_grid.png]
                                [--first 0] [--rows 4] [--hole 56] [--zoom 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from context_encoder.inference import Inpainter
from context_encoder.io.images import save_image
from context_encoder.training import make_image_dataset
from context_encoder.training.validation import hole_edges

GREY = np.array([128, 128, 128], np.uint8)
INK = np.array([255, 255, 255], np.uint8)


def square_hole(size: int, side: int) -> np.ndarray:
    """(size, size) bool: a ``side`` px square hole in the middle."""
    hole = np.zeros((size, size), bool)
    a = (size - side) // 2
    hole[a:a + side, a:a + side] = True
    return hole


def drawn_window(hole: np.ndarray, margin: int = 10) -> np.ndarray:
    """A window as a person sketches one: an outline ``margin`` px inside the hole's bounding
    box with a vertical and a horizontal bar, 1 px lines."""
    ys, xs = np.nonzero(hole)
    top, bottom, left, right = ys.min() + margin, ys.max() - margin, xs.min() + margin, xs.max() - margin
    s = np.zeros_like(hole)
    s[top, left:right + 1] = s[bottom, left:right + 1] = True
    s[top:bottom + 1, left] = s[top:bottom + 1, right] = True
    s[top:bottom + 1, (left + right) // 2] = True
    s[(top + bottom) // 2, left:right + 1] = True
    return s & hole


def shown(image: np.ndarray, hole: np.ndarray, sketch: np.ndarray | None = None) -> np.ndarray:
    """The input as the user sees it: the hole grey, the sketch's strokes white."""
    out = image.copy()
    out[hole] = GREY
    if sketch is not None:
        out[sketch] = INK
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="facades-guided-128")
    p.add_argument("--out", default="docs/guided_grid.png")
    p.add_argument("--first", type=int, default=0, help="first validation facade")
    p.add_argument("--rows", type=int, default=4)
    p.add_argument("--hole", type=int, default=56, help="side of the square hole, px")
    p.add_argument("--zoom", type=int, default=2, help="pixel repeat, for the README")
    p.add_argument("--device", default="cpu")
    args = p.parse_args()

    inpaint = Inpainter.from_pretrained(args.model, device=args.device)
    size = inpaint.config.image_size
    facades = make_image_dataset("facades", size, split="val", load_size=None, train=False)
    hole = square_hole(size, args.hole)
    window = drawn_window(hole)
    rows = []
    for i in range(args.first, args.first + args.rows):
        real = facades[i]  # (3, S, S) in [-1, 1]
        image = ((real.permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)
        edges = hole_edges(real[None], torch.from_numpy(hole)[None, None].float())
        edges = edges[0, 0].numpy() > 0
        fills = inpaint([image] * 3, [hole] * 3, [edges, window, None])
        tiles = [shown(image, hole), shown(image, hole, edges), fills[0],
                 shown(image, hole, window), fills[1], fills[2], image]
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255)
                                    for t in tiles], axis=1))
    grid = np.concatenate(rows).repeat(args.zoom, 0).repeat(args.zoom, 1)
    print(save_image(grid, Path(args.out)))


if __name__ == "__main__":
    main()
