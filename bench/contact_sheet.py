"""Draw a contact sheet of procedural facades (validation split, indices 0..count-1).

Usage: python bench/contact_sheet.py --out docs/facades_contact_sheet.png --count 64 --size 128
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["contact_sheet", "main"]

logger = logging.getLogger(__name__)


def contact_sheet(count: int = 64, size: int = 128, split: str = "val", gap: int = 2,
                  start: int = 0) -> np.ndarray:
    """A square-ish grid of ``count`` facades, ``gap`` pixels of white between them."""
    from context_encoder.data.facades import render_facade

    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    sheet = np.full((rows * (size + gap) + gap, cols * (size + gap) + gap, 3), 255, np.uint8)
    for k in range(count):
        r, c = divmod(k, cols)
        y, x = gap + r * (size + gap), gap + c * (size + gap)
        sheet[y:y + size, x:x + size] = render_facade(split, start + k, size)
    return sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/facades_contact_sheet.png"))
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--split", default="val")
    parser.add_argument("--start", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sheet = contact_sheet(args.count, args.size, args.split, start=args.start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(args.out, optimize=True)
    logger.info("wrote %s (%dx%d)", args.out, sheet.shape[1], sheet.shape[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
