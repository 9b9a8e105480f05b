"""Shared building blocks: conv blocks (plain, or gated as in DeepFill v2, Yu et al., ICCV
2019), the fully-connected bottleneck, the channel-wise fully-connected layer (Pathak et al.,
CVPR 2016, section 3.1), the sketch input channel and the paper's init."""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "ChannelwiseFC",
    "FCBottleneck",
    "FCExpand",
    "GatedConv",
    "conv_block",
    "down_block",
    "init_weights",
    "sketch_channel",
    "up_block",
]


class GatedConv(nn.Module):
    """Gated convolution (Yu et al., "Free-Form Image Inpainting with Gated Convolution",
    ICCV 2019): one convolution yields 2C channels, C features and C gates;
    ``out = act(norm(feature)) * sigmoid(gate + gate_bias)``, so the network learns per pixel
    and per channel how much of a feature to pass on (little where it was computed from
    hole pixels).

    Two choices differ from DeepFill v2, both so that a gated model can start from a plain
    Context Encoder (``models.warm_start``) and differ from it only by its gates:
      * ``act`` is the plain block's own activation (LeakyReLU(0.2) in the encoder, ReLU in
        the decoder), not ELU. Both are positively homogeneous (``act(a*z) = a*act(z)`` for
        ``a > 0``), which lets a constant gate be folded into the BatchNorm affine exactly.
      * BatchNorm stays where the plain block has it, on the feature half only; the gates
        are not normalised. DeepFill v2 has no normalisation.
    The convolution has no bias (as in the paper's blocks); the gate half has its own bias
    ``gate_bias`` (C values, initialised to 0: gates start at 0.5).
    """

    def __init__(self, conv: nn.Conv2d | nn.ConvTranspose2d, *, norm: bool, act: nn.Module) -> None:
        super().__init__()
        if conv.out_channels % 2:
            raise ValueError(f"a gated convolution needs 2C outputs, got {conv.out_channels}")
        channels = conv.out_channels // 2
        self.conv = conv
        self.norm = nn.BatchNorm2d(channels) if norm else nn.Identity()
        self.act = act
        self.gate_bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (B, 2C, H, W)
        feature, gate = y.chunk(2, dim=1)  # (B, C, H, W) each, strided views of y
        # BatchNorm's backward is ~8x slower on a strided view (CPU): copy it dense first.
        channels_last = y.is_contiguous(memory_format=torch.channels_last)
        feature = feature.contiguous(
            memory_format=torch.channels_last if channels_last else torch.contiguous_format)
        gate = torch.sigmoid(gate + self.gate_bias.view(1, -1, 1, 1))
        return self.act(self.norm(feature)) * gate


def conv_block(conv: type[nn.Conv2d] | type[nn.ConvTranspose2d], c_in: int, c_out: int,
               kernel: int, stride: int, padding: int, *, norm: bool, act: nn.Module,
               gated: bool = False) -> nn.Module:
    """Convolution (no bias) + optional BatchNorm + ``act``: ``nn.Sequential(conv, [bn], act)``,
    or one ``GatedConv`` whose convolution has ``2 * c_out`` outputs when ``gated``."""
    if gated:
        layer = conv(c_in, 2 * c_out, kernel, stride, padding, bias=False)
        return GatedConv(layer, norm=norm, act=act)
    layers: list[nn.Module] = [conv(c_in, c_out, kernel, stride, padding, bias=False)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(act)
    return nn.Sequential(*layers)


def down_block(c_in: int, c_out: int, *, norm: bool = True, gated: bool = False) -> nn.Module:
    """Conv k4 s2 p1 (halves the side) + optional BatchNorm + LeakyReLU(0.2); no bias."""
    act = nn.LeakyReLU(0.2, inplace=not gated)  # a gated block's feature is a view: no in-place
    return conv_block(nn.Conv2d, c_in, c_out, 4, 2, 1, norm=norm, act=act, gated=gated)


def up_block(c_in: int, c_out: int, *, gated: bool = False) -> nn.Module:
    """ConvTranspose k4 s2 p1 (doubles the side) + BatchNorm + ReLU; no bias."""
    act = nn.ReLU(inplace=not gated)
    return conv_block(nn.ConvTranspose2d, c_in, c_out, 4, 2, 1, norm=True, act=act, gated=gated)


def sketch_channel(sketch: torch.Tensor | None, x: torch.Tensor, *, guided: bool
                   ) -> torch.Tensor | None:
    """The sketch input of a model reading ``x`` (B, C, H, W): ``sketch`` as (B, 1, H, W) in
    ``x``'s dtype, zeros when a sketch-guided model (DeepFill v2's user guidance) is given
    none, ``None`` for a model without a sketch input."""
    if not guided:
        if sketch is not None:
            raise ValueError("this model has no sketch input (its config has guide='none'); "
                             "call it without a sketch or use a model built with guide='sketch'")
        return None
    b, _, h, w = x.shape
    if sketch is None:
        return x.new_zeros(b, 1, h, w)
    if tuple(sketch.shape) != (b, 1, h, w):
        raise ValueError(f"the sketch must have shape (B, 1, H, W) = {(b, 1, h, w)} like the "
                         f"image, got {tuple(sketch.shape)}")
    return sketch.to(x.dtype)


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
    """The paper's initialisation: weights N(0, 0.02); BatchNorm weight N(1, 0.02), bias 0;
    gate biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (FCBottleneck, FCExpand, ChannelwiseFC)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, GatedConv):
            nn.init.zeros_(m.gate_bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
