"""The Context Encoder's encoder as a feature extractor: the generator's stride-2 blocks,
their weights as trained (or the paper's random init), and nothing of the decoder."""

from __future__ import annotations

import os

import torch
from torch import nn

from ..config import ModelConfig
from ..models.generator import build_encoder, encoder_channels
from ..models.layers import init_weights

__all__ = ["Encoder"]

_PREFIX = "encoder."  # the encoder's weights inside a generator's state dict
_RANGE_SLACK = 1e-3


class Encoder(nn.Module):
    """The encoder of a Context Encoder generator, as a plain ``nn.Module``.

    Input convention: RGB images ``(B, 3, H, W)`` as floats in [-1, 1] (``x / 127.5 - 1``
    of 8-bit pixels), ``H`` and ``W`` multiples of :attr:`reduction` (the models were
    trained at ``config.image_size``; other sizes give larger or smaller maps, for dense
    heads). Nothing is missing from a feature extractor's input: a full-image model's mask
    channel gets zeros (and a sketch-guided one's sketch channel zeros), exactly what the
    generator reads where no pixel is a hole. A wrong shape, dtype or range is refused
    with a ``ValueError`` that says what was expected.

    * :meth:`forward_features` returns the output of every stage (``len(channels)`` maps,
      each half the side of the one before, down to ``H / reduction``), for a detection or
      segmentation head.
    * :meth:`forward` returns the last stage's map averaged over space: a
      ``(B, num_features)`` vector, for a linear probe or a classification head.

    ``Encoder(config)`` draws the paper's init (weights N(0, 0.02), BatchNorm weight
    N(1, 0.02)): the "random Gaussian" baseline; like any new module it starts in training
    mode (call ``.eval()`` for features). :meth:`from_pretrained` takes the encoder of a
    shipped model, an exported file or a run folder, in eval mode. Trainable,
    ``torch.compile``-able, and its ``state_dict`` loads back into an ``Encoder`` of the same
    config. Unlike timm's, :meth:`forward_features` returns every stage's map, not the last
    one only.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config or ModelConfig()
        self.stages = build_encoder(self.config)
        init_weights(self)
        self.source = "random"  # what the weights are: "random", or the model they came from

    @property
    def channels(self) -> list[int]:
        """Channels of each stage's output."""
        return encoder_channels(self.config)

    @property
    def feature_info(self) -> list[dict[str, int | str]]:
        """Per stage, a dict with timm's keys: channels (``num_chs``), how much smaller than
        the input (``reduction``) and the module that makes it (``module``)."""
        return [{"num_chs": c, "reduction": 2 ** (i + 1), "module": f"stages.{i}"}
                for i, c in enumerate(self.channels)]

    @property
    def num_features(self) -> int:
        """Length of :meth:`forward`'s vector (the last stage's channels)."""
        return self.channels[-1]

    @property
    def reduction(self) -> int:
        """How much smaller the last map is than the input (32 at 128 px: 128 -> 4)."""
        return 2 ** len(self.channels)

    @property
    def extra_channels(self) -> int:
        """Input channels after RGB that are zeros here: a full-image model's mask and a
        sketch-guided model's sketch."""
        return self.config.gen_in_channels - self.config.in_channels

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, which: str = "best") -> Encoder:
        """The encoder of a shipped model (``context-encoder models`` lists them), an
        exported ``.safetensors`` file, or a run folder (its ``best`` checkpoint, or
        ``which="last"``), in eval mode."""
        from ..checkpoint import CheckpointError, model_name, read_generator_weights, state_mismatch

        weights, info = read_generator_weights(name_or_path, which)
        encoder = cls(info["config"])
        state = {k[len(_PREFIX):]: v for k, v in weights.items() if k.startswith(_PREFIX)}
        try:
            encoder.stages.load_state_dict(state)
        except RuntimeError as e:
            raise CheckpointError(f"{info['source']!r}: its encoder does not match its model "
                                  f"config: {state_mismatch(encoder.stages.state_dict(), state)}"
                                  ) from e
        encoder.source = model_name(name_or_path)
        return encoder.eval()

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            raise ValueError(f"Encoder input must be a float tensor, got "
                             f"{getattr(x, 'dtype', type(x).__name__)}")
        r = self.reduction
        if x.ndim != 4 or x.shape[1] != self.config.in_channels or x.shape[2] % r \
                or x.shape[3] % r or x.shape[2] == 0 or x.shape[3] == 0:
            raise ValueError(
                f"Encoder input must be (B, {self.config.in_channels}, H, W) with H and W "
                f"multiples of {r} (trained at {self.config.image_size}x"
                f"{self.config.image_size}), got {tuple(x.shape)}")
        if not torch.compiler.is_compiling():
            lo, hi = float(x.min()), float(x.max())
            if not (lo >= -1 - _RANGE_SLACK and hi <= 1 + _RANGE_SLACK):  # NaN fails too
                raise ValueError(f"Encoder input must be in [-1, 1] (x / 127.5 - 1 of 8-bit "
                                 f"pixels), got values in [{lo:.3g}, {hi:.3g}]")

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each stage's output: ``[(B, c, H/2, W/2), (B, c, H/4, W/4), ...]`` down to
        ``(B, num_features, H/reduction, W/reduction)``."""
        self._check(x)
        extra = self.extra_channels
        if extra:
            x = torch.cat([x, x.new_zeros(x.shape[0], extra, *x.shape[2:])], dim=1)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's map averaged over space: ``(B, num_features)``."""
        return self.forward_features(x)[-1].mean(dim=(2, 3))

    def extra_repr(self) -> str:
        c = self.config
        return (f"source={self.source!r}, image_size={c.image_size}, task={c.task!r}, "
                f"conv={c.conv!r}, num_features={self.num_features}")
