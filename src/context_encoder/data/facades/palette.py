"""The colour palettes of the facades: RGB rows (0..255, float32), one table per material.

A building picks one row of a table and jitters it a little (``draws.pick_color``), so these
are the centres of the colour distributions, not the exact colours drawn.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ASHLAR", "AWNING", "AWNING_STRIPE", "BLIND", "BRICK", "DOOR", "FRAME", "GLASS", "INTERIOR",
    "IRON", "PLASTER", "ROOF", "SHUTTER", "SIGN", "SKY_TOP",
]


def _palette(rows: list[list[int]]) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32)


# walls
PLASTER = _palette([
    [232, 222, 200], [214, 200, 172], [226, 205, 160], [200, 168, 118], [226, 226, 220],
    [192, 190, 184], [222, 192, 176], [188, 122, 92], [236, 220, 168], [182, 196, 202],
    [206, 214, 190], [168, 150, 130], [240, 236, 226],
])
BRICK = _palette([
    [150, 72, 52], [126, 62, 46], [170, 96, 66], [186, 150, 106], [112, 72, 56],
    [160, 110, 86], [140, 84, 60],
])
ASHLAR = _palette([[214, 202, 176], [200, 190, 168], [226, 216, 196], [186, 176, 160],
                   [205, 185, 150]])

# windows and balconies
FRAME = _palette([
    [242, 240, 232], [226, 222, 212], [42, 72, 52], [72, 52, 36], [32, 32, 34],
    [122, 122, 120], [112, 76, 46], [62, 72, 92], [150, 42, 36], [236, 236, 236],
])
IRON = _palette([[34, 56, 42], [58, 42, 30], [26, 26, 28], [50, 58, 74]])
GLASS = _palette([[38, 48, 62], [28, 32, 40], [62, 82, 100], [46, 62, 70], [70, 74, 80],
                  [52, 58, 72]])
INTERIOR = _palette([[24, 30, 40], [18, 20, 26], [34, 38, 48]])
SHUTTER = _palette([
    [56, 96, 66], [72, 96, 122], [112, 76, 50], [142, 62, 50], [230, 228, 216],
    [152, 152, 142], [92, 112, 92], [60, 70, 60],
])
BLIND = _palette([[232, 222, 200], [226, 226, 220], [240, 236, 226]])

# ground floor
AWNING = _palette([[172, 40, 40], [40, 80, 142], [40, 112, 62], [204, 162, 52], [82, 82, 82],
                   [152, 62, 112], [120, 40, 40]])
AWNING_STRIPE = _palette([[232, 230, 220]])
DOOR = _palette([[92, 58, 34], [60, 40, 26], [36, 56, 46], [40, 44, 62], [120, 30, 30],
                 [30, 30, 30]])
SIGN = _palette([[30, 30, 32], [120, 30, 34], [30, 50, 90], [220, 214, 196], [40, 80, 50],
                 [150, 120, 60]])

# top of the picture
SKY_TOP = _palette([[92, 138, 198], [140, 168, 208], [170, 176, 186], [118, 150, 192],
                    [196, 200, 206]])
ROOF = _palette([[84, 90, 100], [70, 72, 80], [102, 106, 116], [122, 80, 64], [92, 96, 94]])
