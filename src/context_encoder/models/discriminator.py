"""Context Encoder discriminator (Pathak et al., CVPR 2016).

Stride-2 4x4 convolutions (the first without BatchNorm) with LeakyReLU(0.2) down to a 4x4
map, then a 4x4 convolution to one logit. The center model's discriminator sees only the
predicted patch (2,765,568 parameters at 64x64); the full-image variant sees the image.
With ``guide="sketch"`` it also reads the sketch the generator was given, as one more input
channel (DeepFill v2, Yu et al., ICCV 2019, conditions its discriminator on it too).
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .layers import down_block, init_weights, sketch_channel

__all__ = ["Discriminator"]


class Discriminator(nn.Module):
    """Returns one real/fake logit per image, shape (B,).

    ``forward(x, sketch=None)``: ``sketch`` (B, 1, S, S) only with ``guide="sketch"``, the
    same one the generator saw (training sketches lie inside the hole); none = an empty one.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or ModelConfig()
        num_down = (cfg.output_size // 4).bit_length() - 1
        w = cfg.disc_width
        widths = [min(w * 8, w << i) for i in range(num_down)]  # 64: 64, 128, 256, 512
        blocks = [down_block(cfg.disc_in_channels, widths[0], norm=False)]
        blocks += [down_block(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Conv2d(widths[-1], 1, 4, bias=False)  # 4x4 -> 1x1
        init_weights(self)

    def forward(self, x: torch.Tensor, sketch: torch.Tensor | None = None) -> torch.Tensor:
        guide = sketch_channel(sketch, x, guided=self.config.guide == "sketch")
        if guide is not None:
            x = torch.cat([x, guide], dim=1)  # (B, 4, S, S)
        return self.head(self.features(x)).flatten()  # (B,)
