"""Test-time adaptation on one photo, with tiny generators."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from context_encoder.config import ModelConfig
from context_encoder.inference import adapt
from context_encoder.losses import weighted_l2
from context_encoder.models import Generator

adapt_generator, inference_window_sides = adapt.adapt_generator, adapt.inference_window_sides
sample_batch, scale_photo = adapt.sample_batch, adapt.scale_photo

#: A full-image model small enough to adapt in milliseconds.
TINY_FULL = ModelConfig(64, "full", "channelwise", enc_width=8, dec_width=8, disc_width=8)


@pytest.fixture
def photo():
    """A smooth photo (a tiny random model learns its colours in a few steps)."""
    y, x = np.mgrid[0:96, 0:120].astype(np.float32)
    rgb = np.stack([0.8 + 0 * x, 0.2 + x / 600, 0.6 - y / 500 + 0.05 * np.sin(x / 3)], axis=-1)
    hole = np.zeros((96, 120), dtype=bool)
    hole[30:60, 40:70] = True
    return rgb.astype(np.float32), hole


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: these steps are tiny, and two threads spinning against other
    processes on a 2-core machine make them ~30x slower (measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _generator(config: ModelConfig, seed: int = 0) -> Generator:
    """A random tiny generator whose BatchNorm statistics are those of random inputs, as a
    trained model's are of its data (adaptation keeps them)."""
    torch.manual_seed(seed)
    gen = Generator(config)
    for m in gen.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # a plain average over the calibration batches
    s = config.image_size
    with torch.no_grad():
        for _ in range(4):
            x = torch.rand(8, 3, s, s) * 2 - 1
            gen(x, (torch.rand(8, 1, s, s) > 0.7).float()) if config.task == "full" else gen(x)
    return gen.eval()


@pytest.mark.parametrize("config", [TINY_FULL, "tiny_center_config"])
def test_returns_a_copy_and_leaves_the_original(config, photo, request):
    if isinstance(config, str):
        config = request.getfixturevalue(config)
    gen = _generator(config)
    before = {k: v.clone() for k, v in gen.state_dict().items()}
    adapted = adapt_generator(gen, config, *photo, steps=2, batch=2)
    assert adapted is not gen and not adapted.training
    assert all(torch.equal(before[k], v) for k, v in gen.state_dict().items())
    changed = [k for k, v in adapted.state_dict().items() if not torch.equal(before[k], v)]
    assert changed  # the weights moved
    assert not any("running" in k for k in changed)  # BatchNorm statistics are kept


def test_deterministic_with_a_seed(photo):
    gen = _generator(TINY_FULL)
    a = adapt_generator(gen, TINY_FULL, *photo, steps=2, batch=2, seed=3).state_dict()
    b = adapt_generator(gen, TINY_FULL, *photo, steps=2, batch=2, seed=3).state_dict()
    c = adapt_generator(gen, TINY_FULL, *photo, steps=2, batch=2, seed=4).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def _loss_on(gen: Generator, config: ModelConfig, rgb, hole, seed: int = 9) -> float:
    sides = inference_window_sides(config, hole)
    sc = [scale_photo(np.where(hole[..., None], 0.5, rgb).astype(np.float32), ~hole, s,
                       config.image_size) for s in sides]
    b = sample_batch(config, sc, 16, np.random.default_rng(seed))
    with torch.no_grad():
        return weighted_l2(gen(b.x, b.hole), b.target, b.weights).item()


def test_loss_on_known_pixels_decreases(photo):
    gen = _generator(TINY_FULL)
    before = _loss_on(gen, TINY_FULL, *photo)
    adapted = adapt_generator(gen, TINY_FULL, *photo, steps=25, batch=4, lr=2e-3)
    assert _loss_on(adapted, TINY_FULL, *photo) < 0.5 * before


@pytest.mark.parametrize("config", [TINY_FULL, "tiny_center_config"])
def test_hole_pixels_never_matter(config, photo, request):
    if isinstance(config, str):
        config = request.getfixturevalue(config)
    rgb, hole = photo
    noisy = rgb.copy()
    noisy[hole] = np.random.default_rng(0).random((int(hole.sum()), 3))
    gen = _generator(config)
    a = adapt_generator(gen, config, rgb, hole, steps=2, batch=2).state_dict()
    b = adapt_generator(gen, config, noisy, hole, steps=2, batch=2).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_batch_weights_are_zero_on_the_real_hole(photo):
    rgb, hole = photo
    sc = [scale_photo(rgb, ~hole, 64, 64)]
    b = sample_batch(TINY_FULL, sc, 32, np.random.default_rng(0))
    assert b.x.shape == (32, 3, 64, 64) and b.hole.shape == (32, 1, 64, 64)
    # wherever the model is shown a hole without a loss weight, the pixel is the real hole
    assert (b.weights[b.hole == 0] > 0).all()
    assert (b.weights == 0).any()


def test_window_sides_follow_the_inpainter(tiny_center_config):
    hole = np.zeros((400, 600), dtype=bool)
    hole[100:160, 200:240] = True  # 60 px component
    hole[300:310, 10:20] = True  # 10 px component
    assert inference_window_sides(TINY_FULL, hole) == [120, 64]
    blank = 64 // 2 - 2 * tiny_center_config.overlap
    assert inference_window_sides(tiny_center_config, hole) == [-(-60 * 64 // blank), 32]


def test_errors_name_the_problem(photo):
    rgb, hole = photo
    gen = _generator(TINY_FULL)
    with pytest.raises(ValueError, match="hole shape"):
        adapt_generator(gen, TINY_FULL, rgb, hole[1:], steps=1)
    with pytest.raises(ValueError, match="covers the whole"):
        adapt_generator(gen, TINY_FULL, rgb, np.ones_like(hole), steps=1)
    with pytest.raises(ValueError, match="float"):
        adapt_generator(gen, TINY_FULL, (rgb * 255).astype(np.uint8), hole, steps=1)
    with pytest.raises(ValueError, match="lr"):
        adapt_generator(gen, TINY_FULL, rgb, hole, steps=1, lr=0.0)
