"""A second, refinement stage for the full-image generator (``refine_width > 0``), after
DeepFill v2's coarse-to-fine design (Yu et al., "Free-Form Image Inpainting with Gated
Convolution", ICCV 2019).

The Context Encoder decodes everything from a 4x4 bottleneck and has no skip connections,
so its last layers see a few pixels around each output pixel: a sketch passed to them can
sharpen an edge where a stroke lies, but cannot tell which side of a stroke a pixel lies
on, the region inside a drawn window from the wall around it. The refiner works at the
image's resolution with a wide view: it reads the coarse result pasted into the context,
the mask and (``guide="sketch"``) the sketch, goes down once to half size, runs dilated
3x3 convolutions (dilations 2, 4, 8, 16: a view of about 130 px of the image) and comes
back up. Its output is added to the coarse stage's pre-Tanh output.

Its last layer starts at zero, so a generator with a new refiner computes the same
function as the same generator without one, and a trained single-stage model can start a
two-stage one (``--init``, in ``training.trainer``). The other layers start from He's initialisation
(the paper's N(0, 0.02) would shrink the activations of these layers, which have no
BatchNorm, about fivefold per layer). Like DeepFill v2's refinement network it has no
normalisation; with ``conv="gated"`` every layer but the last is a ``GatedConv``, as in the
coarse stage. The project's addition: the paper has a single stage.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..config import ModelConfig
from .layers import GatedConv

__all__ = ["DILATIONS", "Refiner"]

#: Dilations of the half-size 3x3 convolutions.
DILATIONS: tuple[int, ...] = (2, 4, 8, 16)
SLOPE = 0.2  # LeakyReLU slope, as in the encoder


def _block(conv: nn.Conv2d | nn.ConvTranspose2d, gated: bool) -> nn.Module:
    act = nn.LeakyReLU(SLOPE, inplace=not gated)
    return GatedConv(conv, norm=False, act=act) if gated else nn.Sequential(conv, act)


def _he_init(block: nn.Module) -> None:
    """He's normal init for a LeakyReLU layer; a gated layer's feature half doubled, which
    undoes its gates' starting value of 0.5."""
    conv = block.conv if isinstance(block, GatedConv) else block[0]
    w = conv.weight.transpose(0, 1) if isinstance(conv, nn.ConvTranspose2d) else conv.weight
    fan_in = w.shape[1] * w.shape[2] * w.shape[3]  # (out, in, k, k) view
    if isinstance(conv, nn.ConvTranspose2d):
        fan_in //= conv.stride[0] * conv.stride[1]  # each output reads a quarter of the taps
    std = math.sqrt(2.0 / (1.0 + SLOPE**2) / fan_in)
    with torch.no_grad():
        w.normal_(0.0, std)
        if isinstance(block, GatedConv):
            w[: w.shape[0] // 2].mul_(2.0)
            nn.init.zeros_(block.gate_bias)


class Refiner(nn.Module):
    """``forward(x)``: ``x`` (B, 3 + 1 [+ 1], S, S), the coarse result in the hole and the
    context outside it, the mask and (``guide="sketch"``) the strokes in the hole; returns a
    correction (B, 3, S, S) to the coarse pre-Tanh output."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        w, gated = config.refine_width, config.conv == "gated"
        c_in = config.in_channels + 1 + (1 if config.guide == "sketch" else 0)
        k = 2 if gated else 1  # a gated layer computes features and gates
        layers = [_block(nn.Conv2d(c_in, k * w, 3, 1, 1, bias=False), gated),
                  _block(nn.Conv2d(w, k * 2 * w, 4, 2, 1, bias=False), gated)]  # to S/2
        layers += [_block(nn.Conv2d(2 * w, k * 2 * w, 3, 1, d, dilation=d, bias=False), gated)
                   for d in DILATIONS]
        layers.append(_block(nn.ConvTranspose2d(2 * w, k * w, 4, 2, 1, bias=False), gated))
        self.body = nn.Sequential(*layers)
        self.out = nn.Conv2d(w, config.in_channels, 3, 1, 1, bias=False)
        for block in self.body:
            _he_init(block)
        nn.init.zeros_(self.out.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(x))
