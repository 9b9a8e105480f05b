"""The Context Encoder networks, with the DeepFill v2 options (gated convolutions, sketch
guidance)."""

from .discriminator import Discriminator
from .generator import Generator
from .layers import ChannelwiseFC, FCBottleneck, FCExpand, GatedConv

__all__ = [
    "ChannelwiseFC",
    "Discriminator",
    "FCBottleneck",
    "FCExpand",
    "GatedConv",
    "Generator",
]
