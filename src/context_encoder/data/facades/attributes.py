"""Facade attributes as labels: what the generator itself decided for each building.

A labelled facade is drawn exactly as an unlabelled one (``render_chw``), from splits of its
own (``LABEL_SPLITS``: train, val, test), whose seeds share no building with each other nor
with the inpainting splits the shipped models were trained and validated on. Its labels are
read from the building's first draws (``building.draw_style``), the same draws the picture
is made from, so a label is the picture's by construction. A neighbouring building at one
side (a fifth of the pictures) keeps its own look: the label is the main building's.

Attributes (:data:`ATTRIBUTES`, the classes in label order):

* ``window``: what tops the windows: plain, a lintel, a pediment, or an arch.
* ``wall``: the wall material: plaster, brick or ashlar.
* ``shutters``: whether the windows have open shutters beside them.
"""

from __future__ import annotations

import numpy as np

from .building import draw_style
from .draws import Draws
from .render import check_size
from .style import WindowDecoration

__all__ = ["ATTRIBUTES", "LABEL_SPLITS", "facade_attributes", "label_split_id"]

#: attribute -> its classes, in label order
ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "window": ("plain", "lintel", "pediment", "arched"),
    "wall": ("plaster", "brick", "ashlar"),
    "shutters": ("none", "shutters"),
}

_LABEL_SPLIT_ID = {"train": 0x1AB0, "val": 0x1AB1, "test": 0x1AB2}  # the first seed word
LABEL_SPLITS: tuple[str, ...] = tuple(_LABEL_SPLIT_ID)


def label_split_id(split: str) -> int:
    """The seed id of a labelled split; ValueError for an unknown one."""
    if split not in _LABEL_SPLIT_ID:
        raise ValueError(f"unknown labelled facade split {split!r}; expected one of "
                         f"{', '.join(LABEL_SPLITS)}")
    return _LABEL_SPLIT_ID[split]


def facade_attributes(split: str, index: int, size: int = 128) -> dict[str, int]:
    """The labels of labelled facade ``index`` of ``split`` drawn at ``size`` px (an
    attribute -> class index mapping; the classes are :data:`ATTRIBUTES`)."""
    rng = Draws(np.random.default_rng([label_split_id(split), int(index)]))
    wall_kind, style = draw_style(rng, check_size(size))
    window = 3 if style.arched else {WindowDecoration.PLAIN: 0, WindowDecoration.LINTEL: 1,
                                     WindowDecoration.PEDIMENT: 2}[style.decoration]
    return {"window": window, "wall": int(wall_kind),
            "shutters": int(style.shutter_color is not None)}
