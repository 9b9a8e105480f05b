"""The CUDA path: mixed-precision training, resume and inference on a GPU.

Skipped where PyTorch sees no CUDA device (CI has none); on a GPU machine run
``pytest tests/test_cuda.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from context_encoder.checkpoint import load_generator
from context_encoder.data import render_facade
from context_encoder.inference import Inpainter, box_mask
from context_encoder.metrics import psnr
from context_encoder.training import TrainConfig, Trainer

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

TINY = dict(image_size=64, width=8, bottleneck_dim=16, batch_size=4, val_count=8,
            log_every=2, val_every=3, ckpt_every=3, sample_every=3, workers=2,
            progress=False, device="cuda")


def test_cuda_training_resumes_and_loads_on_cpu(tmp_path):
    cfg = TrainConfig(**TINY, steps=3, mask="mixed", out=str(tmp_path / "run"))
    trainer = Trainer(cfg)
    assert trainer.device.type == "cuda"
    assert trainer.amp_dtype in (torch.bfloat16, torch.float16)  # "auto" picks mixed precision
    first = trainer.fit()
    assert np.isfinite(first["val"]["psnr"])
    resumed = Trainer(TrainConfig(**TINY, steps=6, mask="mixed", out=cfg.out), resume=True)
    assert resumed.step == 3
    assert resumed.fit()["step"] == 6
    assert json.loads((Path(cfg.out) / "last.json").read_text())["step"] == 6
    gen, info = load_generator(cfg.out, device="cpu")  # written on a GPU, read on a CPU
    assert info["config"].task == "full"
    assert all(p.device.type == "cpu" and torch.isfinite(p).all() for p in gen.parameters())


def test_cuda_fp16_training_scales_the_loss(tmp_path):
    cfg = TrainConfig(**TINY, steps=3, precision="fp16", out=str(tmp_path / "run"))
    trainer = Trainer(cfg)
    assert trainer.scaler.is_enabled()
    assert np.isfinite(trainer.fit()["val"]["psnr"])


@pytest.mark.parametrize("model", ["facades-center-128", "facades-freeform-128"])
def test_cuda_inference_matches_cpu(model):
    image = render_facade("val", 3, 128)
    mask = box_mask(image.shape, "40,36,48,52")
    cpu = Inpainter.from_pretrained(model, device="cpu", precision="fp32")(image, mask)
    gpu32 = Inpainter.from_pretrained(model, device="cuda", precision="fp32")(image, mask)
    gpu = Inpainter.from_pretrained(model, device="cuda")(image, mask)  # bf16 on recent GPUs
    assert np.array_equal(gpu[~mask], image[~mask])  # outside the hole untouched
    ref = cpu.astype(np.float32) / 255
    for out, floor in ((gpu32, 45.0), (gpu, 30.0)):
        assert psnr(out.astype(np.float32) / 255, ref, mask) > floor
