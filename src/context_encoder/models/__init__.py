"""The Context Encoder networks, with the DeepFill v2 options (gated convolutions, sketch
guidance) and the warm start that builds those from a plain model."""

from .discriminator import Discriminator
from .generator import Generator
from .layers import ChannelwiseFC, FCBottleneck, FCExpand, GatedConv
from .warm_start import discriminator_from_plain, gated_from_plain

__all__ = [
    "ChannelwiseFC",
    "Discriminator",
    "FCBottleneck",
    "FCExpand",
    "GatedConv",
    "Generator",
    "discriminator_from_plain",
    "gated_from_plain",
]
