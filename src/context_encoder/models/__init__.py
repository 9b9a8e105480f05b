"""The Context Encoder networks, with the DeepFill v2 options (gated convolutions, sketch
guidance), the refinement stage, and the warm start that builds a gated and/or guided
model from a plain one."""

from .discriminator import Discriminator
from .generator import Generator, activation_count, parameter_count
from .inputs import MEAN_FILL, model_input
from .layers import ChannelwiseFC, FCBottleneck, FCExpand, GatedConv
from .refiner import Refiner
from .warm_start import discriminator_from_plain, gated_from_plain

__all__ = [
    "activation_count",
    "ChannelwiseFC",
    "Discriminator",
    "FCBottleneck",
    "FCExpand",
    "GatedConv",
    "MEAN_FILL",
    "Generator",
    "Refiner",
    "discriminator_from_plain",
    "gated_from_plain",
    "model_input",
    "parameter_count",
]
