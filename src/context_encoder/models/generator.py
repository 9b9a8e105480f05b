"""Context Encoder generator (Pathak et al., "Context Encoders: Feature Learning by
Inpainting", CVPR 2016).

Encoder: stride-2 4x4 convolutions down to a 4x4 map (the first without BatchNorm),
LeakyReLU(0.2); a bottleneck; decoder: transposed convolutions up to the output, ReLU,
Tanh at the end. No biases anywhere. With the default ``ModelConfig`` this is the paper's
128 px center-region generator (71,124,544 parameters).

Two options of the full-image generator come from DeepFill v2 (Yu et al., "Free-Form Image
Inpainting with Gated Convolution", ICCV 2019):
  * ``conv="gated"``: every spatial convolution of the encoder and decoder, and the
    channel-wise bottleneck's 1x1 convolution, is a ``GatedConv``. Kept plain: the output
    layer (a gate in front of Tanh would only scale the colours; DeepFill v2's output layer
    is not gated either) and the bottleneck's fully-connected layers (``fc``, its 4x4
    convolution form ``conv`` and the channel-wise FC), whose every output reads the whole
    4x4 map, so there is no per-pixel validity for a gate to learn.
  * ``guide="sketch"``: one more input channel after the mask, the user's sketch (1 = a
    stroke). Strokes outside the hole are ignored (the sketch is multiplied by the mask);
    no sketch is the same as an empty one. The sketch also enters every decoder layer, as
    one more input channel max-pooled to that layer's size (4x4 up to half the image):
    the Context Encoder has no skip connections, so without it a stroke's position would
    have to pass through the 4x4 bottleneck, which cannot carry a thin line's place to the
    pixel. (DeepFill v2 keeps its feature maps at a quarter of the image, so it needs no
    such path; this one is the project's.)

With ``refine_width > 0`` (the project's, after DeepFill v2's two stages) a second,
full-resolution stage (``models.refiner.Refiner``) reads the first one's result pasted into
the context, the mask and the sketch, and adds a correction to its pre-Tanh output.
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import ModelConfig
from .layers import (
    ChannelwiseFC,
    FCBottleneck,
    FCExpand,
    conv_block,
    down_block,
    init_weights,
    sketch_channel,
    up_block,
)
from .refiner import Refiner

__all__ = ["Generator", "build_encoder", "decoder_channels", "encoder_channels",
           "parameter_count"]


def encoder_channels(cfg: ModelConfig) -> list[int]:
    """Output widths of the stride-2 convolutions (128 px: 64, 64, 128, 256, 512)."""
    w = cfg.enc_width
    return [w] * (cfg.num_down - 3) + [w * 2, w * 4, w * 8]


def build_encoder(cfg: ModelConfig) -> nn.Sequential:
    """The encoder's stride-2 blocks, input to the 4x4 map (uninitialised): the generator's
    and ``features.Encoder``'s, so their weights share names and shapes."""
    gated = cfg.conv == "gated"
    enc = encoder_channels(cfg)
    blocks = [down_block(cfg.gen_in_channels, enc[0], norm=False, gated=gated)]
    blocks += [down_block(a, b, gated=gated) for a, b in zip(enc[:-1], enc[1:], strict=True)]
    return nn.Sequential(*blocks)


def decoder_channels(cfg: ModelConfig) -> list[int]:
    """Output widths of the stride-2 transposed convolutions before the last one
    (center 128 px: 256, 128, 64)."""
    num_up = (cfg.output_size // 4).bit_length() - 1
    w = cfg.dec_width
    return [max(w, w * 8 >> (i + 1)) for i in range(num_up - 1)]


def parameter_count(cfg: ModelConfig) -> int:
    """The generator's parameters for ``cfg``, counted on the meta device: nothing is
    allocated, so an absurd width is measured before it is built."""
    with torch.device("meta"):
        return sum(p.numel() for p in Generator(cfg).parameters())


def activation_count(cfg: ModelConfig) -> int:
    """Values the layers of the generator and the discriminator output for one training
    image (what a training step keeps for the backward pass, about), counted on the meta
    device: nothing is allocated."""
    from .discriminator import Discriminator

    total = 0

    def count(_module: nn.Module, _inputs: object, out: object) -> None:
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel()

    s = cfg.image_size
    with torch.device("meta"):
        g, d = Generator(cfg), Discriminator(cfg)
        for m in (*g.modules(), *d.modules()):
            if not list(m.children()):
                m.register_forward_hook(count)
        x = torch.zeros(2, 3, s, s)  # two: batch norm refuses one value per channel
        pred = g(x, torch.zeros(2, 1, s, s)) if cfg.task == "full" else g(x)
        d(pred)
    return total // 2


class Generator(nn.Module):
    """Encoder-decoder that predicts the missing region.

    ``task="center"``: input (B, 3, S, S) with the hole already filled with the mean colour;
    output (B, 3, S/2, S/2), the center patch. ``task="full"``: input the masked image and
    its mask (B, 1, S, S), 1 = hole, and with ``guide="sketch"`` an optional sketch
    (B, 1, S, S), 1 = a stroke; output the whole image (B, 3, S, S).
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        cfg = self.config = config or ModelConfig()
        gated = cfg.conv == "gated"
        self.encoder = build_encoder(cfg)

        top = encoder_channels(cfg)[-1]  # channels of the 4x4 encoder map
        dec_in = cfg.dec_width * 8
        if cfg.bottleneck == "fc":
            self.bottleneck = nn.Sequential(
                FCBottleneck(top, cfg.bottleneck_dim), FCExpand(cfg.bottleneck_dim, dec_in)
            )
        elif cfg.bottleneck == "conv":
            self.bottleneck = nn.Sequential(
                nn.Conv2d(top, cfg.bottleneck_dim, 4, bias=False),  # 4x4 -> 1x1
                nn.BatchNorm2d(cfg.bottleneck_dim),
                nn.LeakyReLU(0.2, inplace=True),
                nn.ConvTranspose2d(cfg.bottleneck_dim, dec_in, 4, bias=False),  # 1x1 -> 4x4
                nn.BatchNorm2d(dec_in),
                nn.ReLU(inplace=True),
            )
        else:  # channelwise
            mix = conv_block(nn.Conv2d, top, dec_in, 1, 1, 0, norm=True,  # mixes channels
                             act=nn.ReLU(inplace=not gated), gated=gated)
            self.bottleneck = nn.Sequential(
                ChannelwiseFC(top, 4),
                nn.BatchNorm2d(top),
                nn.LeakyReLU(0.2, inplace=True),
                *([mix] if gated else mix),  # plain: conv, BN, ReLU (the paper's layout)
            )

        dec = decoder_channels(cfg)
        g = 1 if cfg.guide == "sketch" else 0  # the sketch enters every decoder layer
        ups = [up_block(a + g, b, gated=gated)
               for a, b in zip([dec_in, *dec[:-1]], dec, strict=True)]
        ups += [nn.ConvTranspose2d(dec[-1] + g, cfg.in_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.decoder = nn.Sequential(*ups)
        init_weights(self)
        # Built after the paper's init, so the single-stage model draws the same weights.
        self.refine = Refiner(cfg) if cfg.refine_width else None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.encoder(x)  # (B, 8w, 4, 4)
        return self.bottleneck(x)  # (B, 8w, 4, 4)

    def decode(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder up to its Tanh (the pre-Tanh output); ``guide`` (B, 1, S, S), the
        strokes in the hole, for a sketch-guided model: max-pooled to each layer's input size
        and appended as its last channel."""
        *layers, _tanh = self.decoder
        for layer in layers:
            if guide is not None:
                k = guide.shape[-1] // x.shape[-1]
                x = torch.cat([x, nn.functional.max_pool2d(guide, k) if k > 1 else guide], 1)
            x = layer(x)
        return x  # (B, 3, out, out)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None,
                sketch: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        guide = sketch_channel(sketch, x, guided=cfg.guide == "sketch")  # (B, 1, S, S) or None
        image = x
        if cfg.task == "full":
            if mask is None:
                raise ValueError("a full-image generator needs the mask: model(x, mask)")
            mask = mask.to(x.dtype)
            if guide is not None:
                guide = guide * mask  # strokes in the hole
            x = torch.cat([x, mask] if guide is None else [x, mask, guide], dim=1)  # 4 or 5 ch
        logits = self.decode(self.forward_features(x), guide)
        if self.refine is None:
            return torch.tanh(logits)
        pasted = torch.tanh(logits) * mask + image * (1 - mask)  # the coarse fill in context
        extra = [mask] if guide is None else [mask, guide]
        return torch.tanh(logits + self.refine(torch.cat([pasted, *extra], dim=1)))
