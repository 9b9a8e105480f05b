"""The loss terms: the center model's ring weights follow the model config's geometry."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from context_encoder.config import ModelConfig
from context_encoder.losses import center_loss_weights, discriminator_loss, generator_loss
from context_encoder.masks import center_mask


def test_center_loss_weights() -> None:
    w = center_loss_weights(ModelConfig())[0, 0].numpy()
    assert w.shape == (64, 64) and w.dtype == np.float32
    assert np.all(w[4:60, 4:60] == 1.0)
    ring = np.ones((64, 64), dtype=bool)
    ring[4:60, 4:60] = False
    assert np.all(w[ring] == 10.0)
    # the inner region is exactly the blanked hole of center_mask
    hole = center_mask(128)[32:96, 32:96]
    assert np.array_equal(w == 1.0, hole)

    w2 = center_loss_weights(ModelConfig(image_size=64, overlap=2), overlap_weight=5.0)[0, 0]
    assert w2.shape == (32, 32)
    assert torch.all(w2[2:30, 2:30] == 1.0) and w2[0, 0] == 5.0 and w2[31, 31] == 5.0
    assert torch.all(center_loss_weights(ModelConfig(overlap=0)) == 1.0)
    with pytest.raises(ValueError):
        center_loss_weights(ModelConfig(), overlap_weight=-1.0)


def test_gan_losses_return_metrics() -> None:
    real, fake = torch.tensor([3.0, 2.0]), torch.tensor([-3.0, 1.0])
    loss, m = discriminator_loss(real, fake)
    assert m["d_loss"] == pytest.approx(loss.item())
    assert m["d_loss"] == pytest.approx(m["d_real"] + m["d_fake"])
    assert m["d_acc"] == pytest.approx(0.75)
    pred, target = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    g, gm = generator_loss(pred, target, torch.ones(1, 1, 4, 4), fake, 0.999, 0.001)
    assert gm["g_rec"] == pytest.approx(1.0)
    assert g.item() == pytest.approx(0.999 * 1.0 + 0.001 * gm["g_adv"])


def test_every_term_returns_loss_and_metrics() -> None:
    from context_encoder.losses import adversarial_loss, reconstruction_loss

    pred = torch.zeros(2, 3, 4, 4, requires_grad=True)
    rec, m = reconstruction_loss(pred, torch.ones(2, 3, 4, 4), torch.full((1, 1, 4, 4), 2.0))
    assert rec.item() == pytest.approx(2.0) and m == {"g_rec": pytest.approx(2.0)}
    rec.backward()
    assert pred.grad is not None and torch.all(pred.grad < 0)
    adv, m = adversarial_loss(torch.zeros(3, requires_grad=True))
    assert adv.item() == pytest.approx(np.log(2)) and m["g_adv"] == pytest.approx(np.log(2))


def test_discriminator_loss_trains_on_both_halves_in_one_backward() -> None:
    real = torch.tensor([0.5, -1.0], requires_grad=True)
    fake = torch.tensor([2.0, -0.5], requires_grad=True)
    loss, m = discriminator_loss(real, fake)
    loss.backward()
    # d/dx BCE(x, 1) = sigmoid(x) - 1 and d/dx BCE(x, 0) = sigmoid(x), over 2 logits each
    torch.testing.assert_close(real.grad, (torch.sigmoid(real.detach()) - 1) / 2)
    torch.testing.assert_close(fake.grad, torch.sigmoid(fake.detach()) / 2)
    assert m["d_acc"] == pytest.approx(0.5)
