"""Shared building blocks: conv blocks, the fully-connected bottleneck, the channel-wise
fully-connected layer (Pathak et al., CVPR 2016, section 3.1) and the paper's init."""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "ChannelwiseFC",
    "FCBottleneck",
    "FCExpand",
    "down_block",
    "init_weights",
    "up_block",
]


def down_block(c_in: int, c_out: int, *, norm: bool = True) -> nn.Sequential:
    """Conv k4 s2 p1 (halves the side) + optional BatchNorm + LeakyReLU(0.2); no bias."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=False)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return nn.Sequential(*layers)


def up_block(c_in: int, c_out: int) -> nn.Sequential:
    """ConvTranspose k4 s2 p1 (doubles the side) + BatchNorm + ReLU; no bias."""
    return nn.Sequential(
        nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class FCBottleneck(nn.Module):
    """The paper's encoder bottleneck: (B, C, 4, 4) -> (B, D), then BN + LeakyReLU.

    Numerically the original 4x4 convolution with no padding on a 4x4 map (C*16*D weights),
    computed as one matrix multiply: the 4x4-convolution form spends most of a training
    step in its backward pass. ``weight`` has the Linear layout ``(D, C*4*4)``, which is the
    convolution weight ``(D, C, 4, 4)`` flattened.
    """

    def __init__(self, channels: int, dim: int, spatial: int = 4) -> None:
        super().__init__()
        self.channels, self.dim, self.spatial = channels, dim, spatial
        self.weight = nn.Parameter(torch.empty(dim, channels * spatial * spatial))
        self.norm = nn.BatchNorm1d(dim)
        self.act = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.linear(x.flatten(1), self.weight)  # (B, D)
        return self.act(self.norm(x))

    def load_conv_weight(self, w: torch.Tensor) -> None:
        """Copy a ``Conv2d(C, D, 4)`` weight ``(D, C, 4, 4)`` into this layer."""
        with torch.no_grad():
            self.weight.copy_(w.reshape(self.dim, -1))


class FCExpand(nn.Module):
    """The decoder's first layer: (B, D) -> (B, C, 4, 4), then BN + ReLU.

    Numerically ``ConvTranspose2d(D, C, 4)`` on a 1x1 map, computed as a matrix multiply.
    ``weight`` has the Linear layout ``(C*4*4, D)``.
    """

    def __init__(self, dim: int, channels: int, spatial: int = 4) -> None:
        super().__init__()
        self.channels, self.dim, self.spatial = channels, dim, spatial
        self.weight = nn.Parameter(torch.empty(channels * spatial * spatial, dim))
        self.norm = nn.BatchNorm2d(channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.nn.functional.linear(x.flatten(1), self.weight)  # (B, C*16)
        x = x.view(-1, self.channels, self.spatial, self.spatial)  # (B, C, 4, 4)
        return self.act(self.norm(x))

    def load_convtranspose_weight(self, w: torch.Tensor) -> None:
        """Copy a ``ConvTranspose2d(D, C, 4)`` weight ``(D, C, 4, 4)`` into this layer."""
        with torch.no_grad():
            self.weight.copy_(w.reshape(self.dim, -1).t())


class ChannelwiseFC(nn.Module):
    """Channel-wise fully-connected layer: each of the m feature maps (n x n) is fully
    connected to itself only (m * n^4 weights instead of m^2 * n^4); information crosses
    channels in the 1x1 convolution that follows. Equivalent to a grouped convolution with
    ``groups=m``, kernel n x n and m*n*n outputs, reshaped back to (m, n, n).
    """

    def __init__(self, channels: int, spatial: int = 4) -> None:
        super().__init__()
        self.channels, self.spatial = channels, spatial
        n2 = spatial * spatial
        self.weight = nn.Parameter(torch.empty(channels, n2, n2))  # (m, n^2 in, n^2 out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        y = torch.einsum("bci,cio->bco", x.reshape(b, c, h * w), self.weight)  # (B, m, n^2)
        return y.reshape(b, c, h, w)


@torch.no_grad()
def init_weights(module: nn.Module) -> None:
    """The paper's initialisation: weights N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (FCBottleneck, FCExpand, ChannelwiseFC)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
