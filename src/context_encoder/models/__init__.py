"""The Context Encoder networks."""

from .discriminator import Discriminator
from .generator import Generator
from .layers import ChannelwiseFC, FCBottleneck, FCExpand

__all__ = ["ChannelwiseFC", "Discriminator", "FCBottleneck", "FCExpand", "Generator"]
