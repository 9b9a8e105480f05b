"""Procedural building facades: the embedded default dataset.

A stand-in for the Paris StreetView set used in the Context Encoder paper. Every image is a
deterministic function of ``(split, index, size)``: the random generator is seeded from the
split id and the index, so the same request always gives the same bytes and the train and
val splits never share an image. The layout does not depend on ``size``; only the pixel
grid does, so the same facade can be drawn at 64, 128 or 256 px.

Each building gets its own style: plaster, brick or ashlar walls; a regular grid of windows
(size, spacing, frame colour and thickness, glass with a reflection gradient, square or
arched tops, shutters, sills, lintels or pediments, blinds, balconies with railings); a
ground floor with shop fronts, signs, awnings or doors; sometimes a cornice, a mansard roof
with dormers or a parapet, and sky at the top; sometimes a neighbouring building at one
side; then a lighting gradient and mild grain. The window grid is periodic, so a hole in the
middle hides windows whose look and position follow from the rest of the facade.

Everything is drawn with vectorised numpy at the target resolution, channel-first
internally (whole-image numpy ops are several times faster on (3, H, W) than on (H, W, 3)),
at over a thousand 128 px images per second on one core.
"""

from .dataset import FacadesDataset
from .render import FACADE_SPLITS, render_facade

__all__ = ["FACADE_SPLITS", "FacadesDataset", "render_facade"]
