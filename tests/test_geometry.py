"""The center model's geometry is defined once (ModelConfig): a config with another overlap
moves the training input, the inference window's blanked square and the loss ring together,
and the evaluation hole is the predicted square of that config."""

from __future__ import annotations

import numpy as np
import torch

from context_encoder import Generator, ModelConfig
from context_encoder.config import MEAN_RGB, TrainConfig
from context_encoder.evaluation import make_eval_masks
from context_encoder.inference import Inpainter
from context_encoder.losses import center_loss_weights
from context_encoder.training import Trainer


def test_another_overlap_moves_every_copy_of_the_geometry(tmp_path) -> None:
    overlap = 6
    train = TrainConfig(image_size=64, bottleneck="channelwise", width=4, batch_size=2,
                        steps=1, overlap=overlap, val_count=2, out=str(tmp_path / "run"),
                        progress=False, workers=0)
    config = train.model_config()
    (a, b), (ba, bb) = config.center_span, config.blank_span
    assert (a, b, ba, bb) == (16, 48, 16 + overlap, 48 - overlap)

    # training: the input blanks exactly the blanked square, the target is the center
    trainer = Trainer(train)
    real = torch.rand(1, 3, 64, 64) * 2 - 1
    x, target, weights, _ = trainer.make_input(real, torch.zeros(1, 1, 64, 64))
    blanked = (x != real).any(dim=1)[0]
    assert blanked[ba:bb, ba:bb].all() and int(blanked.sum()) == (bb - ba) ** 2
    assert torch.equal(target, real[..., a:b, a:b])
    assert torch.equal(weights, center_loss_weights(config, train.overlap_weight))
    assert int((weights == 1).sum()) == (bb - ba) ** 2

    # inference: a hole filling the blanked square is seen in a 64 px window whose
    # blanked square is the same one, filled with the mean colour
    inp = Inpainter(Generator(config), config, device="cpu", precision="fp32", feather=0)
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[ba:bb, ba:bb] = True
    seen = []
    handle = inp.generator.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    try:
        inp.inpaint_array(image, hole)
    finally:
        handle.remove()
    model_in = seen[0][0].permute(1, 2, 0).float().numpy()
    fill = np.array(MEAN_RGB, np.float32) / 127.5 - 1.0
    assert np.allclose(model_in[hole], fill, atol=1e-6)
    assert np.allclose(model_in[~hole], image[~hole] / 127.5 - 1.0, atol=1e-6)

    # evaluation: the center hole is the config's predicted square
    eval_hole = make_eval_masks("center", 1, 64)[0]
    assert eval_hole[a:b, a:b].all() and int(eval_hole.sum()) == (b - a) ** 2
    assert ModelConfig(image_size=64, overlap=0).blank_span == config.center_span


def test_model_input_is_one_rule_for_numpy_and_torch():
    """The mean-filled input the trainer (torch, channels first) and the inference paths
    (numpy or torch, channels last) build is the same array."""
    from context_encoder.models import MEAN_FILL, model_input

    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (2, 64, 64, 3)).astype(np.float32)
    hole = (rng.random((2, 64, 64)) < 0.3).astype(np.float32)
    for task in ("full", "center"):
        cfg = ModelConfig(64, task, "channelwise", enc_width=8, dec_width=8, disc_width=8)
        h = hole if task == "full" else None
        a = model_input(x, cfg, h)
        b = model_input(torch.from_numpy(x), cfg, None if h is None else torch.from_numpy(h))
        c = model_input(torch.from_numpy(x).permute(0, 3, 1, 2), cfg,
                        None if h is None else torch.from_numpy(h), channels_last=False)
        assert np.array_equal(a, b.numpy()) and np.array_equal(a, c.permute(0, 2, 3, 1).numpy())
        blank = hole.astype(bool) if task == "full" else np.zeros((2, 64, 64), bool)
        if task == "center":
            p, q = cfg.blank_span
            blank[:, p:q, p:q] = True
        assert np.array_equal(a[blank], np.broadcast_to(MEAN_FILL, a[blank].shape))
        assert np.array_equal(a[~blank], x[~blank])
