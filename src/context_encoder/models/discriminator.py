"""Context Encoder discriminator (Pathak et al., CVPR 2016).

Stride-2 4x4 convolutions (the first without BatchNorm) with LeakyReLU(0.2) down to a 4x4
map, then a 4x4 convolution to one logit. The center model's discriminator sees only the
predicted patch (2,765,568 parameters at 64x64); the full-image variant sees the image.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .layers import down_block, init_weights

__all__ = ["Discriminator"]


class Discriminator(nn.Module):
    """Returns one real/fake logit per image, shape (B,)."""

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or ModelConfig()
        num_down = (cfg.output_size // 4).bit_length() - 1
        w = cfg.disc_width
        widths = [min(w * 8, w << i) for i in range(num_down)]  # 64: 64, 128, 256, 512
        blocks = [down_block(cfg.in_channels, widths[0], norm=False)]
        blocks += [down_block(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)]
        self.features = nn.Sequential(*blocks)
        self.head = nn.Conv2d(widths[-1], 1, 4, bias=False)  # 4x4 -> 1x1
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten()  # (B,)
