"""What ``auto`` probes, and where: the cost of a call follows the pixels to fill, not the
number of holes.

A photo with a few holes gets one probing per group of holes (the holes one context
window fills together). A photo with many, such as a scan's dust and scratches (10,000
one-pixel holes), would cost a probing per group, tens of milliseconds each; beyond
``ProbeSettings.units`` groups, :func:`probe_units` sorts the groups into size classes
(the largest side of a group's box, by powers of two), probes one typical group of each
class (the median by hole pixels) and lets the class share its choice. A class's probes
keep a margin of at most the hole's own side from other holes (dense dust leaves no room
for the usual margin) and come in larger numbers when the hole is small
(:func:`class_settings`), so a choice for one-pixel dust rests on a few hundred probe
pixels, not on four.

Probing and filling run on crops (:func:`around`): each probing on its group's
neighbourhood (:func:`probe_pad`), the fills on the box of all holes with a model
window's margin, so a 40-megapixel photo with one small hole costs what its neighbourhood
costs.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence

from .settings import ProbeSettings

__all__ = ["around", "class_settings", "probe_pad", "probe_units", "union"]

#: Probe pixels wanted for a shared choice (a class of small holes), and the most probes.
CLASS_PROBE_PIXELS = 512
CLASS_MAX_PROBES = 32
#: Probe tiles of a shared choice are at least this side (px), so a one-pixel probe is
#: filled with a context like the real hole's, not from a sliver.
CLASS_TILE = 32

Box = tuple[int, int, int, int]


def union(boxes: Iterable[Box]) -> Box:
    """The box ``(y0, x0, y1, x1)`` holding all ``boxes``."""
    y0s, x0s, y1s, x1s = zip(*boxes, strict=True)
    return min(y0s), min(x0s), max(y1s), max(x1s)


def around(box: Box, pad: int, shape: tuple[int, ...]) -> Box:
    """``box`` grown by ``pad`` px on every side, within an image of ``shape``."""
    y0, x0, y1, x1 = box
    return max(0, y0 - pad), max(0, x0 - pad), min(shape[0], y1 + pad), min(shape[1], x1 + pad)


def probe_pad(side: int, s: ProbeSettings) -> int:
    """The neighbourhood probes for a hole of box side ``side`` are looked for in: the
    ``reach`` where they are tried first, their tiles and margins, and at least 64 px."""
    return max(64, s.tile) + math.ceil((s.reach + 2) * side) + 4 * s.margin


def probe_units(pixels: Sequence[int], sides: Sequence[int], limit: int
                ) -> list[tuple[int, list[int]]]:
    """``(probed group, groups sharing its choice)`` by group index, for groups of
    ``pixels`` hole pixels and ``sides`` largest box sides: each group on its own when
    there are at most ``limit``; else one unit per size class (the power of two of the
    side), probed on the class's median group by pixels."""
    if len(pixels) <= limit:
        return [(i, [i]) for i in range(len(pixels))]
    classes: dict[int, list[int]] = {}
    for i, side in enumerate(sides):
        classes.setdefault(max(0, math.ceil(math.log2(max(side, 1)))), []).append(i)
    units = []
    for key in sorted(classes):
        members = classes[key]
        by_size = sorted(members, key=lambda i: (int(pixels[i]), i))
        units.append((by_size[len(by_size) // 2], members))
    return units


def class_settings(s: ProbeSettings, group_pixels: int, side: int) -> ProbeSettings:
    """The settings for probing a size class: a margin of at most ``side`` px, enough
    probes for about :data:`CLASS_PROBE_PIXELS` probe pixels (at least ``s.count``, at most
    :data:`CLASS_MAX_PROBES`), tiles of at least :data:`CLASS_TILE` px."""
    count = min(CLASS_MAX_PROBES, max(s.count, math.ceil(CLASS_PROBE_PIXELS / max(group_pixels, 1))))
    return dataclasses.replace(s, margin=min(s.margin, max(1, side)), count=count,
                               tile=max(s.tile, CLASS_TILE))
