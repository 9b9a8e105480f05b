"""Losses of the Context Encoder: weighted L2 reconstruction and the non-saturating GAN loss.

Every term returns ``(loss, metrics)``: the tensor to backpropagate and the values to log,
as detached 0-d fp32 tensors on the loss's device. Nothing here reads a value back to the
host, so a training step on a GPU never waits for it; the trainer reads the metrics back
every few steps (``float(m["g_rec"])`` reads one). ``generator_loss`` and
``discriminator_loss`` are the two sides of one GAN step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .config import ModelConfig

__all__ = [
    "adversarial_loss",
    "center_loss_weights",
    "discriminator_loss",
    "full_loss_weights",
    "generator_loss",
    "reconstruction_loss",
    "weighted_l2",
]

#: Metric name -> detached 0-d fp32 tensor on the loss's device.
Metrics = dict[str, torch.Tensor]


def center_loss_weights(
    config: ModelConfig, overlap_weight: float = 10.0, device: torch.device | str | None = None
) -> torch.Tensor:
    """(1, 1, h, h) weights over the predicted center square: 1 on the blanked square,
    ``overlap_weight`` on the ``config.overlap`` ring that overlaps the visible context (the
    paper: 10x)."""
    if not math.isfinite(overlap_weight) or overlap_weight < 0:
        raise ValueError(f"overlap_weight must be a finite number >= 0, got {overlap_weight}")
    h = config.hole_size
    w = torch.full((1, 1, h, h), float(overlap_weight), device=device)
    offset = config.center_span[0]
    lo, hi = (v - offset for v in config.blank_span)  # the blanked square inside the patch
    w[..., lo:hi, lo:hi] = 1.0
    return w


def full_loss_weights(mask: torch.Tensor, context_weight: float = 0.1) -> torch.Tensor:
    """Weights for a full-image prediction: 1 on hole pixels, ``context_weight`` elsewhere.
    ``mask``: (B, 1, H, W), 1 = hole."""
    return context_weight + (1.0 - context_weight) * mask


def weighted_l2(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """mean(weights * (pred - target)^2), computed in fp32."""
    diff = pred.float() - target.float()
    return (weights * diff * diff).mean()


def _bce(logits: torch.Tensor, label: float) -> torch.Tensor:
    """Binary cross-entropy of logits against a constant label, in fp32."""
    logits = logits.float()
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def reconstruction_loss(pred: torch.Tensor, target: torch.Tensor,
                        weights: torch.Tensor) -> tuple[torch.Tensor, Metrics]:
    """The paper's masked L2: ``weighted_l2`` of the prediction against the truth."""
    rec = weighted_l2(pred, target, weights)
    return rec, {"g_rec": rec.detach()}


def adversarial_loss(fake_logits: torch.Tensor) -> tuple[torch.Tensor, Metrics]:
    """The generator's non-saturating GAN loss: D should call its output real (label 1)."""
    adv = _bce(fake_logits, 1.0)
    return adv, {"g_adv": adv.detach()}


def generator_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    weights: torch.Tensor,
    fake_logits: torch.Tensor | None,
    lambda_rec: float = 0.999,
    lambda_adv: float = 0.001,
) -> tuple[torch.Tensor, Metrics]:
    """lambda_rec * weighted L2 + lambda_adv * non-saturating adversarial loss."""
    rec, metrics = reconstruction_loss(pred, target, weights)
    loss = lambda_rec * rec
    if fake_logits is not None and lambda_adv > 0:
        adv, adv_metrics = adversarial_loss(fake_logits)
        loss = loss + lambda_adv * adv
        metrics.update(adv_metrics)
    metrics["g_loss"] = loss.detach()
    return loss, metrics


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor
) -> tuple[torch.Tensor, Metrics]:
    """BCE on real (label 1) plus BCE on detached fake (label 0) logits: one tensor that
    carries both graphs, so one backward pass trains D on both halves."""
    loss_real, loss_fake = _bce(real_logits, 1.0), _bce(fake_logits, 0.0)
    loss = loss_real + loss_fake
    with torch.no_grad():
        acc = 0.5 * ((real_logits > 0).float().mean() + (fake_logits < 0).float().mean())
    return loss, {"d_loss": loss.detach(), "d_real": loss_real.detach(),
                  "d_fake": loss_fake.detach(), "d_acc": acc}
