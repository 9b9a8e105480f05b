"""Configuration dataclasses and the constants of the paper's recipe.

A model is rebuilt from its config alone: checkpoints store ``asdict(config)`` and loading
is ``Generator(ModelConfig(**d))``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

__all__ = [
    "MEAN_RGB",
    "ModelConfig",
    "mean_fill_value",
]

#: Dataset mean colour used by the paper to fill the hole (R, G, B of 255).
MEAN_RGB: tuple[int, int, int] = (117, 104, 123)


def mean_fill_value() -> tuple[float, float, float]:
    """The mean colour mapped to the network's [-1, 1] range."""
    return tuple(c / 127.5 - 1.0 for c in MEAN_RGB)  # type: ignore[return-value]


Task = Literal["center", "full"]
Bottleneck = Literal["fc", "conv", "channelwise"]
Conv = Literal["plain", "gated"]
Guide = Literal["none", "sketch"]


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a generator / discriminator pair.

    The defaults are the paper's 128 px center-region model: the generator reads a
    128x128 image whose central 56x56 is filled with the mean colour and predicts the
    64x64 center; a 4000-wide fully-connected bottleneck; the discriminator sees only the
    64x64 patch.

    ``task="full"`` is the arbitrary-region variant: the generator reads the masked image
    plus a mask channel and predicts the whole image; its discriminator sees the whole image.

    ``bottleneck``:
      * ``"fc"``: the paper's 4x4 -> ``bottleneck_dim`` layer, computed as a matrix multiply
        (identical outputs to the 4x4 convolution form, much faster backward pass).
      * ``"conv"``: the same layer written as a 4x4 convolution, as the original code does.
      * ``"channelwise"``: the paper's channel-wise fully-connected layer (each feature map
        connected only to itself, m*n^4 weights) followed by a 1x1 convolution; no
        ``bottleneck_dim``-wide layer, so the model is ~12x smaller.

    ``conv`` and ``guide`` (``task="full"`` only; DeepFill v2, Yu et al., ICCV 2019):
      * ``conv="gated"``: the generator's convolutions are gated (``models.layers.GatedConv``).
      * ``guide="sketch"``: the generator and the discriminator read one more input
        channel, a sketch of the lines wanted inside the hole (1 = a stroke).
    Checkpoints written before these fields existed load with the defaults.
    """

    image_size: int = 128
    task: Task = "center"
    bottleneck: Bottleneck = "fc"
    bottleneck_dim: int = 4000
    enc_width: int = 64
    dec_width: int = 64
    disc_width: int = 64
    in_channels: int = 3
    overlap: int = 4
    conv: Conv = "plain"
    guide: Guide = "none"

    def __post_init__(self) -> None:
        if self.image_size not in (64, 128, 256):
            raise ValueError(f"image_size must be 64, 128 or 256, got {self.image_size!r}")
        if self.task not in ("center", "full"):
            raise ValueError(f"task must be 'center' or 'full', got {self.task!r}")
        if self.bottleneck not in ("fc", "conv", "channelwise"):
            raise ValueError(
                f"bottleneck must be 'fc', 'conv' or 'channelwise', got {self.bottleneck!r}"
            )
        for name in ("bottleneck_dim", "enc_width", "dec_width", "disc_width", "in_channels"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if not 0 <= self.overlap < self.image_size // 4:
            raise ValueError(f"overlap must be in [0, {self.image_size // 4}), got {self.overlap}")
        for name, allowed in (("conv", get_args(Conv)), ("guide", get_args(Guide))):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
            if value != allowed[0] and self.task != "full":
                raise ValueError(f"{name}={value!r} is only for task='full', got "
                                 f"task={self.task!r}")

    # Derived geometry -------------------------------------------------------------------
    @property
    def hole_size(self) -> int:
        """Side of the predicted center patch (half the image side)."""
        return self.image_size // 2

    @property
    def output_size(self) -> int:
        return self.hole_size if self.task == "center" else self.image_size

    @property
    def num_down(self) -> int:
        """Stride-2 convolutions from the input down to the 4x4 feature map."""
        return int(math.log2(self.image_size // 4))

    @property
    def gen_in_channels(self) -> int:
        """Image, then the mask (``task="full"``), then the sketch (``guide="sketch"``)."""
        mask = 1 if self.task == "full" else 0
        return self.in_channels + mask + (1 if self.guide == "sketch" else 0)

    @property
    def disc_in_channels(self) -> int:
        """Image, then the sketch (``guide="sketch"``)."""
        return self.in_channels + (1 if self.guide == "sketch" else 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(unknown)}")
        return cls(**d)
