"""The generator's input, as training and every inference path build it: the image in
[-1, 1] with the hole painted the dataset's mean colour (the paper's fill), for a full-image
model also the hole itself as a channel; for the center model the blanked square."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..config import MEAN_RGB, ModelConfig

__all__ = ["MEAN_FILL", "model_input"]

#: The mean colour in the model's [-1, 1] range, in float32 (``c / 255 * 2 - 1``).
MEAN_FILL: np.ndarray = np.asarray(MEAN_RGB, np.float32) / np.float32(255.0) * 2.0 - 1.0


def model_input(x: Any, config: ModelConfig, hole: Any = None, *,
                channels_last: bool = True) -> Any:
    """``x`` (images in [-1, 1], a numpy array or a torch tensor, ``(..., H, W, 3)`` with
    ``channels_last``, else ``(..., 3, H, W)``) with the hole at the mean colour: where
    ``hole`` is 1 (0/1 values of ``x``'s float type, shaped like ``x`` without the channel
    axis; a full-image model's hole), and for a center model also the blanked square
    ``config.blank_span``. A new array or tensor; ``x`` is unchanged."""
    fill = MEAN_FILL if channels_last else MEAN_FILL[:, None, None]
    numpy = isinstance(x, np.ndarray)
    if not numpy:  # a torch tensor
        fill = x.new_tensor(fill)
    if hole is not None:
        m = hole[..., None] if channels_last else hole[..., None, :, :]
        out = x * (1.0 - m) + fill * m
    else:
        out = x.copy() if numpy else x.clone()
    if config.task == "center":
        a, b = config.blank_span
        if channels_last:
            out[..., a:b, a:b, :] = fill
        else:
            out[..., a:b, a:b] = fill
    return out
