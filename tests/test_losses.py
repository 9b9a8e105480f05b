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
