"""Warm starts: a gated and/or sketch-guided model built from a plain one's weights.

DeepFill v2 (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019)
trains its gated, sketch-guided networks from scratch. Here a plain full-image Context
Encoder (such as the shipped ``facades-freeform-128``) is converted into a gated and/or
sketch-guided one that computes the same function, so the new parts can be fine-tuned from
it on a CPU:

  * every ``GatedConv`` gets the plain convolution as its feature half and zero gate
    weights, so each gate is the constant ``g = sigmoid(gate_bias)`` (``gate``, 0.5 by
    default: the value a freshly initialised gated model starts from, where the sigmoid is
    steepest). The constant is undone exactly in front of it: the activations are
    positively homogeneous (``act(z / g) * g = act(z)`` for ReLU and LeakyReLU), so the
    feature BatchNorm's weight and bias (or, in the first layer, which has no BatchNorm,
    the convolution weight) are divided by ``g``. With ``g = 0.5`` the division and the
    product are exact in floating point.
  * the sketch channel's input weights are zero (in the first layer and in every decoder
    layer, which takes the sketch too): the model ignores the sketch until fine-tuning
    teaches it to follow one.
In both eval and training mode the converted generator's output equals the plain one's up
to float rounding (the wider convolutions sum in another order).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import replace

import torch
from torch import nn

from ..config import ModelConfig
from .discriminator import Discriminator
from .generator import Generator
from .layers import GatedConv

__all__ = ["discriminator_from_plain", "gated_from_plain"]


def _build(cls: type[nn.Module], config: ModelConfig) -> nn.Module:
    """A model whose weights will all be overwritten: built without moving the caller's
    random stream."""
    with torch.random.fork_rng(devices=[]):
        return cls(config)


def _plain(cls: type[nn.Module], state: Mapping[str, torch.Tensor], config: ModelConfig
           ) -> nn.Module:
    """The plain model of ``config`` (``conv="plain"``, ``guide="none"``) holding ``state``."""
    config = replace(config, conv="plain", guide="none")
    module = _build(cls, config)
    try:
        module.load_state_dict(dict(state))
    except RuntimeError as e:
        raise ValueError(
            f"the weights are not those of a plain model with conv='plain', guide='none' and "
            f"otherwise the config asked for ({config}): {e}"
        ) from e
    return module


def _copy_padded(src: torch.Tensor, dst: torch.Tensor) -> None:
    """``dst = src``, or, where ``dst`` has more input channels (dim 1 of a convolution
    weight: the sketch channel), ``src`` in the first ones and zeros in the rest."""
    if src.shape == dst.shape:
        dst.copy_(src)
    elif src.dim() == dst.dim() == 4 and src.shape[0] == dst.shape[0] and \
            src.shape[2:] == dst.shape[2:] and src.shape[1] < dst.shape[1]:
        dst.zero_()
        dst[:, : src.shape[1]].copy_(src)
    else:
        raise ValueError(f"cannot copy a {tuple(src.shape)} tensor into {tuple(dst.shape)}")


def _copy_module(src: nn.Module, dst: nn.Module) -> None:
    dst_state = dst.state_dict()  # tensors share storage with dst's parameters and buffers
    src_state = src.state_dict()
    if set(src_state) != set(dst_state):
        raise ValueError(f"{type(src).__name__} and {type(dst).__name__} hold other tensors")
    transposed = {f"{name}.weight" if name else "weight"
                  for name, m in dst.named_modules() if isinstance(m, nn.ConvTranspose2d)}
    for k, t in dst_state.items():
        if k in transposed:  # (in, out, k, k): the extra input channel is on dim 0
            _copy_padded(src_state[k].transpose(0, 1), t.transpose(0, 1))
        else:
            _copy_padded(src_state[k], t)


def _out_first(conv: nn.Module, weight: torch.Tensor) -> torch.Tensor:
    """A convolution weight viewed as (out, in, k, k) (ConvTranspose2d stores (in, out, ...))."""
    return weight.transpose(0, 1) if isinstance(conv, nn.ConvTranspose2d) else weight


def _load_gated(plain: nn.Sequential, gated: GatedConv, gate: float) -> None:
    """Feature half from ``plain`` (conv, [BatchNorm], act), zero gate weights, constant gate
    ``gate`` folded back into the BatchNorm affine (or the weight when there is none)."""
    conv = plain[0]
    has_norm = isinstance(gated.norm, nn.BatchNorm2d)
    c_out = gated.gate_bias.numel()
    src = _out_first(conv, conv.weight)  # (C, C_in, k, k)
    dst = _out_first(gated.conv, gated.conv.weight)  # (2C, C_in (+ sketch), k, k)
    dst.zero_()
    _copy_padded(src if has_norm else src / gate, dst[:c_out])
    gated.gate_bias.fill_(math.log(gate / (1.0 - gate)))  # sigmoid(gate_bias) = gate
    if has_norm:
        _copy_module(plain[1], gated.norm)
        gated.norm.weight.div_(gate)
        gated.norm.bias.div_(gate)


def _pairs(plain: Generator, target: Generator) -> Iterator[tuple[nn.Module, nn.Module]]:
    """(plain module, its counterpart) over the whole generator; a plain block
    (conv, [BatchNorm], act) faces a ``GatedConv`` in a gated model."""
    yield from zip(plain.encoder, target.encoder, strict=True)
    yield from zip(plain.decoder, target.decoder, strict=True)
    src, dst = plain.bottleneck, target.bottleneck
    if len(src) == len(dst):  # plain, or a bottleneck whose layers all stay plain
        yield from zip(src, dst, strict=True)
    else:  # channelwise: FC, BN, LeakyReLU, then conv, BN, ReLU -> one GatedConv
        yield from zip(src[:3], dst[:3], strict=True)
        yield src[3:], dst[3]


@torch.no_grad()
def gated_from_plain(plain_state: Mapping[str, torch.Tensor], config: ModelConfig, *,
                     gate: float = 0.5) -> dict[str, torch.Tensor]:
    """Generator weights for ``config`` (``conv="gated"`` and/or ``guide="sketch"``) that
    compute the same function as ``plain_state``, the weights of the plain generator with the
    same config but ``conv="plain"``, ``guide="none"``.

    ``gate`` in (0, 1) is every gate's initial value (see the module docstring). Load the
    result with ``Generator(config).load_state_dict(...)``.
    """
    if config.task != "full":
        raise ValueError(f"a warm start is for task='full' models, got task={config.task!r}")
    if not 0.0 < gate < 1.0:
        raise ValueError(f"gate must be in (0, 1), got {gate!r}")
    plain, target = _plain(Generator, plain_state, config), _build(Generator, config)
    for src, dst in _pairs(plain, target):
        if isinstance(dst, GatedConv):
            _load_gated(src, dst, gate)
        else:
            _copy_module(src, dst)
    return {k: v.detach().clone() for k, v in target.state_dict().items()}


@torch.no_grad()
def discriminator_from_plain(plain_state: Mapping[str, torch.Tensor], config: ModelConfig
                             ) -> dict[str, torch.Tensor]:
    """Discriminator weights for ``config`` (``guide="sketch"``) from a plain full-image
    discriminator's: the same weights, zero weights on the sketch input channel."""
    plain, target = _plain(Discriminator, plain_state, config), _build(Discriminator, config)
    _copy_module(plain, target)
    return {k: v.detach().clone() for k, v in target.state_dict().items()}
